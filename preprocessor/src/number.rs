//! Unsigned integer immediates as WAT writes them: decimal or `0x` hexadecimal digits, with
//! single `_` separators between digits (`1_000`, `0xff_ff`). Local indexes, branch depths and
//! the index of `argv` are read with [`parse_u32`], so `local.get 0x1` means local 1 here as it
//! does in the module Wasmtime compiles.

/// The value of an unsigned integer literal, or `None` if `text` is not one (a sign, a
/// fraction, a misplaced `_`) or does not fit in a `u32`.
pub(crate) fn parse_u32(text: &str) -> Option<u32> {
    let (digits, radix) = match text.strip_prefix("0x") {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    let well_formed = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c == '_' || c.is_digit(radix));
    if !well_formed {
        return None;
    }
    u32::from_str_radix(&digits.replace('_', ""), radix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_and_hex_with_separators() {
        assert_eq!(parse_u32("0"), Some(0));
        assert_eq!(parse_u32("1_000"), Some(1000));
        assert_eq!(parse_u32("0x0"), Some(0));
        assert_eq!(parse_u32("0xff_FF"), Some(0xffff));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
    }

    #[test]
    fn anything_else_is_not_an_immediate() {
        for text in [
            "",
            "_1",
            "1_",
            "1__0",
            "+1",
            "-1",
            "1.5",
            "1e3",
            "0x",
            "0xg",
            "4294967296",
        ] {
            assert_eq!(parse_u32(text), None, "{text:?}");
        }
    }
}

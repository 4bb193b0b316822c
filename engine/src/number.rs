//! Numbers written as WebAssembly text writes them, for arguments typed by a parameter: the
//! command line, catalog calls, `@use`.
//!
//! The forms are the spec's (`int` and `float` tokens of the text format):
//!
//! - integers in decimal or `0x` hex, with an optional sign and `_` between digits: `42`, `-7`,
//!   `0xff`, `1_000_000`. An i32 is written from -2^31 to 2^32-1 and an i64 from -2^63 to
//!   2^64-1: the upper half wraps to negative, so `4294967295` is the i32 -1, as in
//!   `(i32.const 4294967295)`;
//! - floats also as `2.5`, `-1e-3`, hex floats (`0x1.8p3`), `inf`, `-inf`, `nan`, and
//!   `nan:0x...` for a NaN with that payload; an integer form is read as the float nearest it,
//!   and `-0` as an f64 is negative zero.

use watsmith_preprocessor::abi::ValType;

use crate::value::Value;

/// Why a text is not a number of the type asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NumberError {
    /// Not a number in any WebAssembly text form.
    #[error(
        "`{text}` is not a number: write it as WebAssembly text does, e.g. `42`, `-7`, `0xff`, `1_000`, `2.5`, `-1e-3`, `inf`, `nan`"
    )]
    NotANumber {
        /// What was written.
        text: String,
    },
    /// An integer outside what its type's text form allows.
    #[error(
        "`{text}` is out of range for {ty}: write an {ty} from {min} to {max} (values above {signed_max} wrap to negative, as in WebAssembly text)"
    )]
    OutOfRange {
        /// What was written.
        text: String,
        /// `i32` or `i64`.
        ty: &'static str,
        /// The least value.
        min: i128,
        /// The largest value written (the unsigned maximum).
        max: u128,
        /// The largest value that stays positive.
        signed_max: i128,
    },
    /// A float where the type takes an integer.
    #[error(
        "`{text}` is not an integer, and an {ty} is one: write it without a fraction or exponent"
    )]
    NotAnInteger {
        /// What was written.
        text: String,
        /// `i32` or `i64`.
        ty: &'static str,
    },
}

/// Reads `text` as a number of type `ty`: [`Value::I32`], [`Value::I64`] or [`Value::F64`]
/// (bit-exact, NaN payloads included).
///
/// # Errors
/// [`NumberError`], naming the forms and the range to write instead.
pub fn parse_number(text: &str, ty: ValType) -> Result<Value, NumberError> {
    match ty {
        ValType::I32 => integer_of(text, "i32", 32).map(|n| Value::I32(n as u32 as i32)),
        ValType::I64 => integer_of(text, "i64", 64).map(|n| Value::I64(n as u64 as i64)),
        ValType::F64 => float(text)
            .map(Value::F64)
            .ok_or_else(|| NumberError::NotANumber {
                text: text.to_owned(),
            }),
    }
}

/// The text as an integer, if it is written as one: its sign and magnitude.
pub(crate) fn integer(text: &str) -> Option<(bool, u128)> {
    let (negative, unsigned) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    let (radix, digits) = match unsigned.strip_prefix("0x") {
        Some(hex) => (16, hex),
        None => (10, unsigned),
    };
    // `_` only between two digits.
    if digits.is_empty() || digits.starts_with('_') || digits.ends_with('_') {
        return None;
    }
    if digits.contains("__") {
        return None;
    }
    let mut magnitude: u128 = 0;
    for c in digits.chars().filter(|&c| c != '_') {
        let digit = c.to_digit(radix)?;
        magnitude = magnitude
            .saturating_mul(u128::from(radix))
            .saturating_add(u128::from(digit));
    }
    Some((negative, magnitude))
}

/// The text as a `bits`-bit integer's value, its upper half still unsigned (the caller wraps).
fn integer_of(text: &str, ty: &'static str, bits: u32) -> Result<u128, NumberError> {
    let Some((negative, magnitude)) = integer(text) else {
        return Err(if float(text).is_some() {
            NumberError::NotAnInteger {
                text: text.to_owned(),
                ty,
            }
        } else {
            NumberError::NotANumber {
                text: text.to_owned(),
            }
        });
    };
    let (unsigned_max, negative_max) = ((1u128 << bits) - 1, 1u128 << (bits - 1));
    let value = match negative {
        false if magnitude <= unsigned_max => magnitude,
        // Two's complement of the magnitude, in `bits` bits.
        true if magnitude <= negative_max => (unsigned_max + 1 - magnitude) & unsigned_max,
        _ => {
            return Err(NumberError::OutOfRange {
                text: text.to_owned(),
                ty,
                min: -(negative_max as i128),
                max: unsigned_max,
                signed_max: negative_max as i128 - 1,
            });
        }
    };
    Ok(value)
}

/// The text as an f64, by the text format's own rules (`wast`'s lexer): `None` if it is no
/// float token.
pub(crate) fn float(text: &str) -> Option<f64> {
    // The lexer would take `(`, `;` and spaces for more tokens; a number has none.
    if text.is_empty() || text.contains(|c: char| c.is_whitespace() || "();\"".contains(c)) {
        return None;
    }
    let buffer = wast::parser::ParseBuffer::new(text).ok()?;
    let float: wast::token::F64 = wast::parser::parse(&buffer).ok()?;
    Some(f64::from_bits(float.bits))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn i32_of(text: &str) -> Result<Value, NumberError> {
        parse_number(text, ValType::I32)
    }

    #[test]
    fn integers_take_every_text_form() {
        for (text, want) in [
            ("42", 42),
            ("-7", -7),
            ("+7", 7),
            ("0x10", 16),
            ("-0x10", -16),
            ("1_000", 1000),
            ("0xff_ff", 65535),
            ("-0", 0),
            ("2147483647", i32::MAX),
            ("-2147483648", i32::MIN),
            ("4294967295", -1),
            ("0xffffffff", -1),
        ] {
            assert_eq!(i32_of(text), Ok(Value::I32(want)), "{text}");
        }
        assert_eq!(
            parse_number("18446744073709551615", ValType::I64),
            Ok(Value::I64(-1))
        );
        assert_eq!(
            parse_number("-9223372036854775808", ValType::I64),
            Ok(Value::I64(i64::MIN))
        );
    }

    #[test]
    fn integers_outside_their_text_range_say_the_range() {
        let error = i32_of("4294967296").expect_err("past 2^32-1");
        assert!(matches!(error, NumberError::OutOfRange { .. }));
        assert_eq!(
            error.to_string(),
            "`4294967296` is out of range for i32: write an i32 from -2147483648 to 4294967295 (values above 2147483647 wrap to negative, as in WebAssembly text)"
        );
        assert!(matches!(
            i32_of("-2147483649"),
            Err(NumberError::OutOfRange { .. })
        ));
        assert!(matches!(
            parse_number("18446744073709551616", ValType::I64),
            Err(NumberError::OutOfRange { .. })
        ));
    }

    #[test]
    fn misplaced_separators_and_words_are_not_numbers() {
        for text in [
            "_1", "1_", "1__0", "0x", "0x_1", "", "-", "12abc", "one", "1 2", "(1)",
        ] {
            assert!(
                matches!(i32_of(text), Err(NumberError::NotANumber { .. })),
                "{text:?}: {:?}",
                i32_of(text)
            );
        }
        assert!(matches!(
            i32_of("2.5"),
            Err(NumberError::NotAnInteger { .. })
        ));
    }

    #[test]
    fn floats_are_bit_exact_nan_payloads_and_negative_zero_included() {
        let f = |text: &str| match parse_number(text, ValType::F64) {
            Ok(Value::F64(x)) => x.to_bits(),
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(f("-0"), (-0.0f64).to_bits());
        assert_eq!(f("-0.0"), (-0.0f64).to_bits());
        assert_eq!(f("2.5"), 2.5f64.to_bits());
        assert_eq!(f("1_000.5"), 1000.5f64.to_bits());
        assert_eq!(f("0x1.8p3"), 12.0f64.to_bits());
        assert_eq!(f("-inf"), f64::NEG_INFINITY.to_bits());
        assert_eq!(f("inf"), f64::INFINITY.to_bits());
        assert_eq!(f("nan"), 0x7ff8_0000_0000_0000);
        assert_eq!(f("nan:0x1"), 0x7ff0_0000_0000_0001);
        assert_eq!(f("-nan:0x4"), 0xfff0_0000_0000_0004);
        assert_eq!(f("42"), 42.0f64.to_bits());
        assert_eq!(f("0x10"), 16.0f64.to_bits());
        assert!(matches!(
            parse_number("nan:0x0", ValType::F64),
            Err(NumberError::NotANumber { .. })
        ));
    }
}

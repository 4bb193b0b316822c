//! Identifiers: `$name`, or quoted, `$"any name"`. The WAT spec makes an identifier its name,
//! however written, so `$"count"` and `$count` are one local, and `$"my local"` one that only
//! the quoted form can name. Every comparison of identifiers (locals, labels, called functions)
//! goes through [`canonical`].

use std::borrow::Cow;

use crate::data::decode_escapes;

/// The characters of an unquoted identifier after its `$`.
fn is_idchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-./:<=>?@\\^_`|~".contains(&b)
}

/// One spelling per identifier: `$name` when the name is made of identifier characters, else
/// the quoted form with its escapes written one way (`$"my local"`). Text that is no valid
/// quoted identifier (a bad escape, not UTF-8) is returned as it is, for Wasmtime to refuse.
pub(crate) fn canonical(text: &str) -> Cow<'_, str> {
    let Some(quoted) = text
        .strip_prefix("$\"")
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return Cow::Borrowed(text);
    };
    let Some(name) = decode_escapes(quoted).and_then(|bytes| String::from_utf8(bytes).ok()) else {
        return Cow::Borrowed(text);
    };
    if !name.is_empty() && name.bytes().all(is_idchar) {
        Cow::Owned(format!("${name}"))
    } else {
        Cow::Owned(format!("${name:?}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_plain_name_is_the_plain_identifier() {
        assert_eq!(canonical("$count"), "$count");
        assert_eq!(canonical("$\"count\""), "$count");
        assert_eq!(canonical("$\"c\\6funt\""), "$count");
        assert_eq!(canonical("$\"str.len\""), "$str.len");
    }

    #[test]
    fn names_only_quotes_can_hold_stay_quoted_in_one_spelling() {
        assert_eq!(canonical("$\"my local\""), "$\"my local\"");
        assert_eq!(canonical("$\"my\\20local\""), "$\"my local\"");
        assert_eq!(canonical("$\"\""), "$\"\"");
        assert_eq!(canonical("$\"bad \\q\""), "$\"bad \\q\"");
    }
}

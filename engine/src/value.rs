//! Values crossing the boundary: program arguments and results.

use serde::{Deserialize, Serialize};
use watsmith_preprocessor::abi::ValType;

/// An argument or a result, tagged with its type: `{"type": "i64", "value": 55}`.
///
/// A finite `f64` is a JSON number, written so that it reads back exactly; JSON has no NaN or
/// infinity, so those are strings in WebAssembly's text form: `"inf"`, `"-inf"`, `"nan"`, and
/// `"nan:0x..."` (with `-` for the sign bit) for a NaN whose payload is not the canonical one,
/// so that every f64 survives the round trip bit for bit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", content = "value", rename_all = "lowercase")]
pub enum Value {
    /// 32-bit integer.
    I32(i32),
    /// 64-bit integer.
    I64(i64),
    /// 64-bit float.
    F64(#[serde(with = "f64_text")] f64),
    /// UTF-8 text.
    Str(String),
    /// Raw bytes.
    Bytes(Vec<u8>),
}

/// An `f64` in JSON: a number when finite, else a string in WebAssembly's text form.
mod f64_text {
    use serde::{Deserialize, Deserializer, Serializer, de};

    /// The quiet bit and payload of a canonical NaN.
    pub(super) const CANONICAL: u64 = 1 << 51;
    pub(super) const PAYLOAD: u64 = (1 << 52) - 1;

    pub(super) fn serialize<S: Serializer>(x: &f64, serializer: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            return serializer.serialize_f64(*x);
        }
        serializer.serialize_str(&super::float_text(*x))
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Form {
        Number(f64),
        Text(String),
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
        match Form::deserialize(deserializer)? {
            Form::Number(x) => Ok(x),
            Form::Text(text) => parse(&text).ok_or_else(|| {
                de::Error::custom(format!(
                    "{text:?} is not an f64: a number, or \"inf\", \"-inf\", \"nan\", \"nan:0x...\""
                ))
            }),
        }
    }

    /// `inf`, `-inf`, `nan`, `-nan`, `nan:0x8` (the WebAssembly text forms; `+` allowed).
    pub(super) fn parse(text: &str) -> Option<f64> {
        let (negative, rest) = match text.as_bytes().first() {
            Some(b'-') => (true, &text[1..]),
            Some(b'+') => (false, &text[1..]),
            _ => (false, text),
        };
        let sign = if negative { 1u64 << 63 } else { 0 };
        let bits = match rest {
            "inf" => 0x7ff0_0000_0000_0000,
            "nan" => 0x7ff0_0000_0000_0000 | CANONICAL,
            _ => {
                let hex = rest.strip_prefix("nan:0x")?.replace('_', "");
                let payload = u64::from_str_radix(&hex, 16).ok()?;
                if payload == 0 || payload > PAYLOAD {
                    return None;
                }
                0x7ff0_0000_0000_0000 | payload
            }
        };
        Some(f64::from_bits(sign | bits))
    }
}

impl Value {
    /// Types an argument by its literal form alone, where no parameter type is known: a word
    /// written as a WebAssembly integer is an i64 (`42`, `-7`, `0xff`, `1_000`; up to 2^64-1,
    /// the upper half wrapping to negative as in `i64.const`); a word that starts like a number
    /// (a digit, a sign or a dot) and reads as a WebAssembly float is an f64 (`4.5`, `1e3`,
    /// `-inf`, `nan:0x1`, `0x1.8p3`); anything else is text (so `inf` and `nan` alone are
    /// words). Where the type is known, [`crate::parse_number`] reads the word as that type
    /// instead (`-0` as an f64 is negative zero there).
    pub fn from_literal(text: &str) -> Self {
        if let Ok(value) = crate::number::parse_number(text, ValType::I64) {
            return value;
        }
        let looks_numeric =
            text.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+' || c == '.');
        if looks_numeric && let Some(x) = crate::number::float(text) {
            return Self::F64(x);
        }
        Self::Str(text.to_owned())
    }

    /// The type's name as in the JSON form.
    pub fn type_name(&self) -> &'static str {
        match self {
            Self::I32(_) => "i32",
            Self::I64(_) => "i64",
            Self::F64(_) => "f64",
            Self::Str(_) => "str",
            Self::Bytes(_) => "bytes",
        }
    }
}

impl std::fmt::Display for Value {
    /// The plain form printed by `watsmith exec`: one value, no type.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::I32(n) => write!(f, "{n}"),
            Self::I64(n) => write!(f, "{n}"),
            // As the JSON form writes it: `nan`, `inf`, `nan:0x1`.
            Self::F64(x) => f.write_str(&float_text(*x)),
            Self::Str(s) => f.write_str(s),
            Self::Bytes(b) => {
                for byte in b {
                    write!(f, "{byte:02x}")?;
                }
                Ok(())
            }
        }
    }
}

/// An f64 as WebAssembly text writes it, so that it reads back bit for bit: a finite one as
/// [`format_f64`] writes it, the others `inf`, `-inf`, `nan` (the canonical NaN) and
/// `nan:0x...` for another payload, with `-` for the sign bit.
pub fn float_text(x: f64) -> String {
    use f64_text::{CANONICAL, PAYLOAD};
    if x.is_finite() {
        return format_f64(x);
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_infinite() {
        return format!("{sign}inf");
    }
    match x.to_bits() & PAYLOAD {
        CANONICAL => format!("{sign}nan"),
        payload => format!("{sign}nan:0x{payload:x}"),
    }
}

/// A float as watsmith writes it (`str.from_f64`, `arr.join`, `watsmith exec`): the shortest text
/// that reads back as the same value, in plain decimal for magnitudes from 1e-5 to 1e16 and in
/// scientific notation beyond (`1e300`, `5e-324`), so no number turns into hundreds of digits.
pub fn format_f64(x: f64) -> String {
    let magnitude = x.abs();
    if x.is_finite() && magnitude != 0.0 && !(1e-5..1e16).contains(&magnitude) {
        format!("{x:e}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_f64_survives_json_bit_for_bit() {
        let payload_nan = f64::from_bits(0x7ff0_0000_0000_0001);
        for (x, json) in [
            (1.5, "1.5"),
            (-0.0, "-0.0"),
            (0.1, "0.1"),
            (f64::INFINITY, r#""inf""#),
            (f64::NEG_INFINITY, r#""-inf""#),
            (f64::NAN, r#""nan""#),
            (-f64::NAN, r#""-nan""#),
            (payload_nan, r#""nan:0x1""#),
            (-payload_nan, r#""-nan:0x1""#),
        ] {
            let written = serde_json::to_string(&Value::F64(x)).expect("serialises");
            assert_eq!(written, format!(r#"{{"type":"f64","value":{json}}}"#));
            let Value::F64(back) = serde_json::from_str(&written).expect("parses") else {
                panic!("not an f64: {written}");
            };
            assert_eq!(back.to_bits(), x.to_bits(), "{written}");
        }
        let error = serde_json::from_str::<Value>(r#"{"type":"f64","value":"NaN!"}"#)
            .expect_err("not a float");
        assert!(error.to_string().contains("is not an f64"), "{error}");
    }

    #[test]
    fn floats_are_written_short_and_read_back_exactly() {
        for (x, text) in [
            (6.0, "6"),
            (0.1, "0.1"),
            (-2.5, "-2.5"),
            (1e15, "1000000000000000"),
            (1e16, "1e16"),
            (2.5e300, "2.5e300"),
            (1e-5, "0.00001"),
            (-1e-9, "-1e-9"),
            (5e-324, "5e-324"),
            (f64::INFINITY, "inf"),
        ] {
            assert_eq!(format_f64(x), text);
            assert_eq!(text.parse::<f64>(), Ok(x), "{text} reads back");
        }
    }

    #[test]
    fn literals_are_typed_by_their_form() {
        assert_eq!(Value::from_literal("42"), Value::I64(42));
        assert_eq!(Value::from_literal("-7"), Value::I64(-7));
        assert_eq!(Value::from_literal("4.5"), Value::F64(4.5));
        assert_eq!(Value::from_literal("1e3"), Value::F64(1000.0));
        assert_eq!(Value::from_literal("hello"), Value::Str("hello".into()));
        assert_eq!(Value::from_literal("inf"), Value::Str("inf".into()));
        assert_eq!(Value::from_literal("12abc"), Value::Str("12abc".into()));
        assert_eq!(Value::from_literal("0xff"), Value::I64(255));
        assert_eq!(Value::from_literal("1_000"), Value::I64(1000));
        assert_eq!(Value::from_literal("18446744073709551615"), Value::I64(-1));
        assert_eq!(Value::from_literal("-inf"), Value::F64(f64::NEG_INFINITY));
        assert!(
            matches!(Value::from_literal("+nan:0x1"), Value::F64(x) if x.to_bits() == 0x7ff0_0000_0000_0001)
        );
        assert_eq!(Value::from_literal("nan:0x1"), Value::Str("nan:0x1".into()));
    }

    #[test]
    fn json_form_is_tagged() {
        let json = serde_json::to_string(&Value::I64(55)).expect("serialises");
        assert_eq!(json, r#"{"type":"i64","value":55}"#);
        let back: Value = serde_json::from_str(r#"{"type":"str","value":"hi"}"#).expect("parses");
        assert_eq!(back, Value::Str("hi".into()));
    }
}

//! `str`: text functions over str values (`[u32 LE length][UTF-8 bytes]`).
//!
//! Offsets and lengths are in bytes, as the memory layout is; `chars` counts Unicode scalar
//! values. Functions that return a new str allocate it with the run's allocator (ENOMEM past the
//! memory limit). A pointer whose value does not lie inside memory is EBOUND, and text that is
//! not UTF-8 is ETRFM; the functions that return a bare i32 (`len`, `chars`, `find`, `compare`,
//! `eq`) cannot carry a status, so they return a value outside their range instead (see each
//! one). Floats are written by [`crate::value::format_f64`], which is also how `watsmith exec`
//! prints results, so `from_f64` of a result reads back as the same text.

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::ValType::{F64, I32, I64};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::arr::{self, Element};
use super::{Failure, doc, returned, signature, store, text, view};
use crate::capability::{Capability, FunctionDoc};
use crate::state::{self, RunState};
use crate::status::StatusCode;
use crate::value::format_f64;

/// The capability's name: its import module, and what a policy grants.
pub const NAME: &str = "str";

/// The `str` capability.
#[derive(Debug, Clone, Copy)]
pub struct Str;

const fn str_fn(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    signature(NAME, name, params, results)
}

/// `str.len`: the length in bytes.
pub const LEN: HostFunction = str_fn("len", &[I32], &[I32]);
/// `str.chars`: the number of Unicode scalar values.
pub const CHARS: HostFunction = str_fn("chars", &[I32], &[I32]);
/// `str.concat`: two strs one after the other.
pub const CONCAT: HostFunction = str_fn("concat", &[I32, I32], &[I32, I32]);
/// `str.slice`: the bytes between two offsets.
pub const SLICE: HostFunction = str_fn("slice", &[I32, I32, I32], &[I32, I32]);
/// `str.find`: the offset of a needle.
pub const FIND: HostFunction = str_fn("find", &[I32, I32, I32], &[I32]);
/// `str.compare`: bytewise order.
pub const COMPARE: HostFunction = str_fn("compare", &[I32, I32], &[I32]);
/// `str.eq`: equality.
pub const EQ: HostFunction = str_fn("eq", &[I32, I32], &[I32]);
/// `str.upper`: upper case.
pub const UPPER: HostFunction = str_fn("upper", &[I32], &[I32, I32]);
/// `str.lower`: lower case.
pub const LOWER: HostFunction = str_fn("lower", &[I32], &[I32, I32]);
/// `str.trim`: without surrounding whitespace.
pub const TRIM: HostFunction = str_fn("trim", &[I32], &[I32, I32]);
/// `str.replace`: every occurrence replaced.
pub const REPLACE: HostFunction = str_fn("replace", &[I32, I32, I32], &[I32, I32]);
/// `str.split`: the pieces between separators, as an array.
pub const SPLIT: HostFunction = str_fn("split", &[I32, I32], &[I32, I32]);
/// `str.from_i64`: an integer as text.
pub const FROM_I64: HostFunction = str_fn("from_i64", &[I64], &[I32, I32]);
/// `str.from_f64`: a float as text.
pub const FROM_F64: HostFunction = str_fn("from_f64", &[F64], &[I32, I32]);
/// `str.to_i64`: text as an integer.
pub const TO_I64: HostFunction = str_fn("to_i64", &[I32], &[I64, I32]);
/// `str.to_f64`: text as a float.
pub const TO_F64: HostFunction = str_fn("to_f64", &[I32], &[F64, I32]);

static FUNCTIONS: [FunctionDoc; 16] = [
    doc(
        LEN,
        "(S) the length of S in bytes, or -1 if S does not point at a str inside memory",
    ),
    doc(
        CHARS,
        "(S) the number of Unicode characters (scalar values) of S, or -1 if S lies outside memory or is not UTF-8",
    ),
    doc(
        CONCAT,
        "(A, B) A followed by B as a new str; EBOUND if a pointer lies outside memory, ETRFM if not UTF-8, ENOMEM",
    ),
    doc(
        SLICE,
        "(S, START, END) the bytes START..END (half-open byte offsets) of S as a new str; EBOUND if START > END or END > len, ETRFM if an offset splits a character",
    ),
    doc(
        FIND,
        "(HAYSTACK, NEEDLE, FROM) the byte offset of the first NEEDLE in HAYSTACK at or after byte FROM, or -1 if none (or FROM is out of 0..=len, or a bad or non-UTF-8 str)",
    ),
    doc(
        COMPARE,
        "(A, B) bytewise order of A and B: -1, 0 or 1; -2 if a pointer lies outside memory",
    ),
    doc(
        EQ,
        "(A, B) 1 if A and B hold the same bytes, else 0; -1 if a pointer lies outside memory",
    ),
    doc(
        UPPER,
        "(S) S in upper case (Unicode: \"straße\" gives \"STRASSE\"); EBOUND, ETRFM, ENOMEM",
    ),
    doc(
        LOWER,
        "(S) S in lower case (Unicode); EBOUND, ETRFM, ENOMEM",
    ),
    doc(
        TRIM,
        "(S) S without leading and trailing whitespace (Unicode); EBOUND, ETRFM, ENOMEM",
    ),
    doc(
        REPLACE,
        "(S, FROM, TO) S with every FROM replaced by TO (an empty FROM gives a copy of S); EBOUND, ETRFM, ENOMEM",
    ),
    doc(
        SPLIT,
        "(S, SEP) the pieces of S between the separators SEP as an array of str (arr handle; \"a,,b\" gives 3 pieces; an empty SEP splits into characters); EBOUND, ETRFM, ENOMEM",
    ),
    doc(
        FROM_I64,
        "(N) the integer N in decimal as a new str (\"-42\"); ENOMEM",
    ),
    doc(
        FROM_F64,
        "(X) the float X as a new str, shortest text that reads back exactly (\"2.5\", \"3\", \"1e300\", \"NaN\", \"inf\", \"-inf\"); ENOMEM",
    ),
    doc(
        TO_I64,
        "(S) S as a decimal i64, surrounding whitespace ignored (\" -42 \" gives -42); EPARSE if not an integer that fits, EBOUND, ETRFM",
    ),
    doc(
        TO_F64,
        "(S) S as an f64 (\"2.5\", \"1e3\", \"-7\", \"inf\", \"NaN\"), surrounding whitespace ignored; EPARSE if not a number, EBOUND, ETRFM",
    ),
];

/// An offset or length as an i32, for the functions that return one.
fn as_i32(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(-1)
}

fn chars(caller: &Caller<'_, RunState>, s: i32) -> i32 {
    text(caller, s).map_or(-1, |s| as_i32(s.chars().count()))
}

/// The byte offset of `needle` in `haystack` at or after `from`.
fn find(caller: &Caller<'_, RunState>, haystack: i32, needle: i32, from: i32) -> Option<usize> {
    let haystack = text(caller, haystack).ok()?;
    let needle = text(caller, needle).ok()?;
    let from = usize::try_from(from)
        .ok()
        .filter(|&f| f <= haystack.len())?;
    // A match starts on a character boundary: skip to the next one.
    let start = (from..=haystack.len()).find(|&i| haystack.is_char_boundary(i))?;
    haystack[start..].find(needle).map(|i| start + i)
}

fn compare(caller: &Caller<'_, RunState>, a: i32, b: i32) -> Result<std::cmp::Ordering, Failure> {
    Ok(view(caller, a)?.cmp(view(caller, b)?))
}

/// A new str made from the text at `s` by `f`, whose output `size` gives in bytes first: ENOMEM
/// before anything is built if the run could not hold it (a case mapping grows text up to
/// threefold: `ΐ` is 2 bytes, its upper case 6).
fn transformed(
    caller: &mut Caller<'_, RunState>,
    s: i32,
    size: impl FnOnce(&str) -> u64,
    f: impl FnOnce(&str) -> String,
) -> Result<i32, Failure> {
    super::fits(caller, size(text(caller, s)?))?;
    let out = f(text(caller, s)?);
    store(caller, out.as_bytes())
}

/// The bytes of `text` with each character mapped by `map` (as `str::to_uppercase` and
/// `str::to_lowercase` map them: character by character; the final sigma that lower case
/// treats apart is 2 bytes either way).
fn mapped_len<I: Iterator<Item = char>>(text: &str, map: impl Fn(char) -> I) -> u64 {
    text.chars()
        .map(|c| map(c).map(|m| m.len_utf8() as u64).sum::<u64>())
        .sum()
}

fn concat(caller: &mut Caller<'_, RunState>, a: i32, b: i32) -> Result<i32, Failure> {
    let (a, b) = (text(caller, a)?, text(caller, b)?);
    super::fits(caller, (a.len() as u64).saturating_add(b.len() as u64))?;
    let joined = [a, b].concat();
    store(caller, joined.as_bytes())
}

fn slice(caller: &mut Caller<'_, RunState>, s: i32, start: i32, end: i32) -> Result<i32, Failure> {
    let s = text(caller, s)?;
    let (Ok(start), Ok(end)) = (usize::try_from(start), usize::try_from(end)) else {
        return Err(StatusCode::EBOUND.into());
    };
    if start > end || end > s.len() {
        return Err(StatusCode::EBOUND.into());
    }
    let piece = s.get(start..end).ok_or(StatusCode::ETRFM)?.to_owned();
    store(caller, piece.as_bytes())
}

fn replace(caller: &mut Caller<'_, RunState>, s: i32, from: i32, to: i32) -> Result<i32, Failure> {
    let (s, from, to) = (text(caller, s)?, text(caller, from)?, text(caller, to)?);
    // Sized first: few matches of a short FROM with a 1 MB TO must not be built past the
    // memory (counting matches is linear in S, as the replacement is).
    if !from.is_empty() && to.len() > from.len() {
        let matches = s.matches(from).count() as u64;
        let grown = matches.saturating_mul((to.len() - from.len()) as u64);
        super::fits(caller, (s.len() as u64).saturating_add(grown))?;
    }
    let replaced = if from.is_empty() {
        s.to_owned()
    } else {
        s.replace(from, to)
    };
    store(caller, replaced.as_bytes())
}

fn split(caller: &mut Caller<'_, RunState>, s: i32, separator: i32) -> Result<i32, Failure> {
    let (s, separator) = (text(caller, s)?, text(caller, separator)?);
    // Admitted first: splitting 60 MB into characters must not build millions of pieces past
    // what the run's arrays may hold.
    let pieces = if separator.is_empty() {
        s.chars().count()
    } else {
        s.matches(separator).count() + 1
    } as u64;
    let room = state::room(caller)?;
    caller
        .data()
        .ledger
        .admits(arr::array_cost(pieces, s.len() as u64), room)?;
    let pieces: Vec<Element> = if separator.is_empty() {
        s.chars().map(|c| Element::Str(c.to_string())).collect()
    } else {
        s.split(separator)
            .map(|piece| Element::Str(piece.to_owned()))
            .collect()
    };
    arr::create(caller, pieces)
}

/// The text at `s` without surrounding whitespace, parsed as `T`; EPARSE if it is not one.
fn parsed<T: std::str::FromStr>(caller: &Caller<'_, RunState>, s: i32) -> Result<T, Failure> {
    Ok(text(caller, s)?
        .trim()
        .parse()
        .map_err(|_| StatusCode::EPARSE)?)
}

impl Capability for Str {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "text: length, slicing, search, comparison, case, splitting, numbers to and from text"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        type C<'a> = Caller<'a, RunState>;
        linker.func_wrap(NAME, "len", |c: C<'_>, s: i32| {
            view(&c, s).map_or(-1, |bytes| as_i32(bytes.len()))
        })?;
        linker.func_wrap(NAME, "chars", |c: C<'_>, s: i32| chars(&c, s))?;
        linker.func_wrap(NAME, "concat", |mut c: C<'_>, a: i32, b: i32| {
            returned(concat(&mut c, a, b))
        })?;
        linker.func_wrap(
            NAME,
            "slice",
            |mut c: C<'_>, s: i32, start: i32, end: i32| returned(slice(&mut c, s, start, end)),
        )?;
        linker.func_wrap(NAME, "find", |c: C<'_>, h: i32, n: i32, from: i32| {
            find(&c, h, n, from).map_or(-1, as_i32)
        })?;
        linker.func_wrap(NAME, "compare", |c: C<'_>, a: i32, b: i32| {
            compare(&c, a, b).map_or(-2, |order| order as i32)
        })?;
        linker.func_wrap(NAME, "eq", |c: C<'_>, a: i32, b: i32| {
            compare(&c, a, b).map_or(-1, |order| i32::from(order.is_eq()))
        })?;
        linker.func_wrap(NAME, "upper", |mut c: C<'_>, s: i32| {
            let size = |s: &str| mapped_len(s, char::to_uppercase);
            returned(transformed(&mut c, s, size, str::to_uppercase))
        })?;
        linker.func_wrap(NAME, "lower", |mut c: C<'_>, s: i32| {
            let size = |s: &str| mapped_len(s, char::to_lowercase);
            returned(transformed(&mut c, s, size, str::to_lowercase))
        })?;
        linker.func_wrap(NAME, "trim", |mut c: C<'_>, s: i32| {
            let size = |s: &str| s.trim().len() as u64;
            returned(transformed(&mut c, s, size, |s| s.trim().to_owned()))
        })?;
        linker.func_wrap(
            NAME,
            "replace",
            |mut c: C<'_>, s: i32, from: i32, to: i32| returned(replace(&mut c, s, from, to)),
        )?;
        linker.func_wrap(NAME, "split", |mut c: C<'_>, s: i32, sep: i32| {
            returned(split(&mut c, s, sep))
        })?;
        linker.func_wrap(NAME, "from_i64", |mut c: C<'_>, n: i64| {
            returned(store(&mut c, n.to_string().as_bytes()))
        })?;
        linker.func_wrap(NAME, "from_f64", |mut c: C<'_>, x: f64| {
            returned(store(&mut c, format_f64(x).as_bytes()))
        })?;
        linker.func_wrap(NAME, "to_i64", |c: C<'_>, s: i32| {
            returned(parsed::<i64>(&c, s))
        })?;
        linker.func_wrap(NAME, "to_f64", |c: C<'_>, s: i32| {
            returned(parsed::<f64>(&c, s))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mapped_size_is_what_the_case_mapping_writes() {
        // Characters whose case mapping grows (ΐ, ß, ŉ, İ), the final sigma, and plain text.
        for text in ["ΐ ß ŉ İ ﬃ", "ΟΔΟΣ ΟΔΟΣ.", "plain ASCII", "", "ǅ ᾈ"] {
            assert_eq!(
                mapped_len(text, char::to_uppercase),
                text.to_uppercase().len() as u64,
                "{text}"
            );
            assert_eq!(
                mapped_len(text, char::to_lowercase),
                text.to_lowercase().len() as u64,
                "{text}"
            );
        }
    }
}

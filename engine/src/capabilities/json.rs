//! `json`: reading values out of a JSON document held in a str, and quoting text to build one.
//!
//! Every reader takes the document and a path to the value:
//!
//! - dotted, with brackets: `items[2].price`, `a.b`, `["key.with.dots"].x` (a bracketed key is a
//!   JSON string literal, escapes included); the empty path is the whole document;
//! - or a JSON Pointer (RFC 6901) when it starts with `/`: `/items/2/price`, with `~0` for `~`
//!   and `~1` for `/`.
//!
//! A malformed path is EPARSE, like a document that is not JSON. A key or index that is not there
//! is ENOENT; a step into a value of another kind (a key on an array, an index on an object,
//! anything on a number) and a value of the wrong type for the reader are ETRFM.
//!
//! Programs loop over paths of one document (`items[0].price`, `items[1].price`, ...), so the
//! run keeps the last parsed document (`JsonState`) and parses again only when the bytes of the
//! document differ.

use serde_json::Value;
use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::ValType::{F64, I32, I64};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::arr::{self, Element};
use super::{Failure, doc, located, returned, signature, store, text, utf8};
use crate::capability::{Capability, FunctionDoc};
use crate::policy::Grant;
use crate::state::{self, Ledger, RunState};
use crate::status::StatusCode;

/// The capability's name: its import module, and what a policy grants.
pub const NAME: &str = "json";

/// The `json` capability.
#[derive(Debug, Clone, Copy)]
pub struct Json;

const fn json(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    signature(NAME, name, params, results)
}

/// `json.get_i64`: an integer.
pub const GET_I64: HostFunction = json("get_i64", &[I32, I32], &[I64, I32]);
/// `json.get_f64`: a number.
pub const GET_F64: HostFunction = json("get_f64", &[I32, I32], &[F64, I32]);
/// `json.get_str`: a string's text.
pub const GET_STR: HostFunction = json("get_str", &[I32, I32], &[I32, I32]);
/// `json.get_bool`: a boolean.
pub const GET_BOOL: HostFunction = json("get_bool", &[I32, I32], &[I32, I32]);
/// `json.get_json`: any value, as JSON text.
pub const GET_JSON: HostFunction = json("get_json", &[I32, I32], &[I32, I32]);
/// `json.len`: the size of an array or object.
pub const LEN: HostFunction = json("len", &[I32, I32], &[I32, I32]);
/// `json.type`: the kind of a value.
pub const TYPE: HostFunction = json("type", &[I32, I32], &[I32, I32]);
/// `json.keys`: an object's keys, as an array.
pub const KEYS: HostFunction = json("keys", &[I32, I32], &[I32, I32]);
/// `json.quote`: text as a JSON string literal.
pub const QUOTE: HostFunction = json("quote", &[I32], &[I32, I32]);

static FUNCTIONS: [FunctionDoc; 9] = [
    doc(
        GET_I64,
        "(DOC, PATH) the integer at PATH of the JSON text DOC (a float with no fraction up to 2^53 is accepted; ETRFM for an integer outside the i64 range, which JSON parsers round); PATH is `items[2].price`, `[\"a.b\"]`, \"\" for the whole document, or a JSON Pointer `/items/2/price`; EPARSE if DOC is not JSON or PATH is malformed, ENOENT if absent, ETRFM if not an integer",
    ),
    doc(
        GET_F64,
        "(DOC, PATH) the number at PATH of DOC as f64; EPARSE, ENOENT, ETRFM if not a number",
    ),
    doc(
        GET_STR,
        "(DOC, PATH) the text of the JSON string at PATH of DOC, as a new str; EPARSE, ENOENT, ETRFM if not a string, ENOMEM",
    ),
    doc(
        GET_BOOL,
        "(DOC, PATH) the boolean at PATH of DOC as 1 or 0; EPARSE, ENOENT, ETRFM if not a boolean",
    ),
    doc(
        GET_JSON,
        "(DOC, PATH) the value at PATH of DOC written as compact JSON text (a new str); EPARSE, ENOENT, ETRFM if a step of PATH does not fit its value (a key into an array), ENOMEM",
    ),
    doc(
        LEN,
        "(DOC, PATH) the number of elements of the array, or keys of the object, at PATH of DOC; EPARSE, ENOENT, ETRFM if neither",
    ),
    doc(
        TYPE,
        "(DOC, PATH) the kind of the value at PATH of DOC: 0 null, 1 bool, 2 number, 3 string, 4 array, 5 object; EPARSE, ENOENT",
    ),
    doc(
        KEYS,
        "(DOC, PATH) the keys of the object at PATH of DOC, in document order, as an array of str (arr handle); EPARSE, ENOENT, ETRFM if not an object, ENOMEM",
    ),
    doc(
        QUOTE,
        "(S) S as a JSON string literal, quotes and escapes included (\"a\\\"b\" for a\"b), to build JSON with str.concat; EBOUND, ETRFM, ENOMEM",
    ),
];

/// The last document a run parsed, kept so that reading many paths of one document parses it
/// once. Its bytes and its parsed tree are host memory, charged to the run's [`Ledger`] as the
/// tree is built.
#[derive(Debug, Default)]
pub(crate) struct JsonState {
    /// The bytes of the last document, and what parsing them gave.
    last: Option<(Vec<u8>, Result<Value, StatusCode>)>,
    /// What the last document is charged to the ledger.
    charged: u64,
    /// How many times a document was parsed.
    parses: u64,
}

impl JsonState {
    /// The parsed document of `bytes`: from the cache when the bytes are the last document's.
    /// A new document replaces the last one (whose bytes the ledger gets back); ENOMEM if it
    /// would take the run's host data past `room`, checked as the tree is built.
    fn document(
        &mut self,
        bytes: &[u8],
        ledger: &mut Ledger,
        room: u64,
    ) -> Result<&Value, StatusCode> {
        let cached = matches!(&self.last, Some((last, _)) if last.as_slice() == bytes);
        if !cached {
            self.last = None;
            ledger.release(std::mem::take(&mut self.charged));
            self.parses += 1;
            let mut left = room.saturating_sub(ledger.bytes());
            let copy = bytes.len() as u64;
            if copy > left {
                return Err(StatusCode::ENOMEM);
            }
            left -= copy;
            let before = left;
            let parsed = parse_within(bytes, &mut left)?;
            // A document that is not JSON keeps only its bytes: its partial tree is gone.
            let tree = if parsed.is_ok() { before - left } else { 0 };
            self.charged = copy + tree;
            ledger.charge(self.charged, room)?;
            self.last = Some((bytes.to_vec(), parsed));
        }
        match &self.last {
            Some((_, Ok(document))) => Ok(document),
            _ => Err(StatusCode::EPARSE),
        }
    }
}

/// Parses `bytes` as JSON, taking the heap the tree needs out of `left` (bytes) before each
/// allocation: `Ok(Err(EPARSE))` for a document that is not JSON (kept, like a parsed one), and
/// ENOMEM as soon as the tree would need more than `left`, so that no document builds a tree
/// larger than the run may hold (`[0,0,0,...]` takes about 36 times its text).
fn parse_within(bytes: &[u8], left: &mut u64) -> Result<Result<Value, StatusCode>, StatusCode> {
    use serde::de::DeserializeSeed as _;
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let mut out_of_room = false;
    let parsed = Charged {
        left,
        out_of_room: &mut out_of_room,
    }
    .deserialize(&mut deserializer)
    .and_then(|value| deserializer.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(Ok(value)),
        Err(_) if out_of_room => Err(StatusCode::ENOMEM),
        Err(_) => Ok(Err(StatusCode::EPARSE)),
    }
}

/// Bytes charged for each array element or object entry, besides its text: the value's slot,
/// and for an entry its key's `String` and the map's hash and index (doubled where the
/// collections grow by doubling).
const SLOT_BYTES: u64 = std::mem::size_of::<Value>() as u64;
const ENTRY_BYTES: u64 = 2 * (SLOT_BYTES + std::mem::size_of::<String>() as u64 + 16);

/// A JSON value built by serde, each allocation paid for out of `left` first.
struct Charged<'a> {
    left: &'a mut u64,
    out_of_room: &'a mut bool,
}

impl Charged<'_> {
    fn take<E: serde::de::Error>(&mut self, bytes: u64) -> Result<(), E> {
        match self.left.checked_sub(bytes) {
            Some(rest) => {
                *self.left = rest;
                Ok(())
            }
            None => {
                *self.out_of_room = true;
                Err(E::custom("the document does not fit the run's memory"))
            }
        }
    }

    fn reborrow(&mut self) -> Charged<'_> {
        Charged {
            left: self.left,
            out_of_room: self.out_of_room,
        }
    }
}

impl<'de> serde::de::DeserializeSeed<'de> for Charged<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Charged<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }

    fn visit_i64<E>(self, n: i64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_u64<E>(self, n: u64) -> Result<Value, E> {
        Ok(Value::from(n))
    }

    fn visit_f64<E>(self, n: f64) -> Result<Value, E> {
        // JSON has no NaN or infinity; serde_json refuses them before they get here.
        Ok(serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_str<E: serde::de::Error>(mut self, text: &str) -> Result<Value, E> {
        self.take(text.len() as u64)?;
        Ok(Value::String(text.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(mut self, text: String) -> Result<Value, E> {
        self.take(text.capacity() as u64)?;
        Ok(Value::String(text))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(mut self, mut seq: A) -> Result<Value, A::Error> {
        let mut elements: Vec<Value> = Vec::new();
        loop {
            if elements.len() == elements.capacity() {
                let more = elements.capacity().max(4);
                self.take(more as u64 * SLOT_BYTES)?;
                elements.reserve_exact(more);
            }
            match seq.next_element_seed(self.reborrow())? {
                Some(element) => elements.push(element),
                None => return Ok(Value::Array(elements)),
            }
        }
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = serde_json::Map::new();
        while let Some(key) = map.next_key_seed(Key(self.reborrow()))? {
            self.take(ENTRY_BYTES)?;
            let value = map.next_value_seed(self.reborrow())?;
            entries.insert(key, value);
        }
        Ok(Value::Object(entries))
    }
}

/// An object's key, paid for before it is copied.
struct Key<'a>(Charged<'a>);

impl<'de> serde::de::DeserializeSeed<'de> for Key<'_> {
    type Value = String;

    fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl serde::de::Visitor<'_> for Key<'_> {
    type Value = String;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E: serde::de::Error>(mut self, key: &str) -> Result<String, E> {
        self.0.take(key.len() as u64)?;
        Ok(key.to_owned())
    }

    fn visit_string<E: serde::de::Error>(mut self, key: String) -> Result<String, E> {
        self.0.take(key.capacity() as u64)?;
        Ok(key)
    }
}

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Step {
    /// An object key (`.name`, `["name"]`).
    Key(String),
    /// An array index (`[2]`).
    Index(usize),
    /// A JSON Pointer token: a key of an object, or the index of an array.
    Token(String),
}

/// The steps of a path; EPARSE if it is malformed.
fn parse_path(path: &str) -> Result<Vec<Step>, StatusCode> {
    match path.strip_prefix('/') {
        Some(pointer) => pointer
            .split('/')
            .map(|token| unescape_token(token).map(Step::Token))
            .collect(),
        None if path.is_empty() => Ok(Vec::new()),
        None => dotted_path(path),
    }
}

/// A JSON Pointer token with `~1` and `~0` decoded.
fn unescape_token(token: &str) -> Result<String, StatusCode> {
    let mut out = String::with_capacity(token.len());
    let mut chars = token.chars();
    while let Some(c) = chars.next() {
        match (c, c == '~') {
            (_, false) => out.push(c),
            (_, true) => match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return Err(StatusCode::EPARSE),
            },
        }
    }
    Ok(out)
}

/// `a.b[2]["c.d"]`: keys separated by dots, indexes and quoted keys in brackets.
fn dotted_path(path: &str) -> Result<Vec<Step>, StatusCode> {
    let mut steps = Vec::new();
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(inside) = rest.strip_prefix('[') {
            let (step, after) = bracket(inside)?;
            steps.push(step);
            rest = after;
            continue;
        }
        let key = if steps.is_empty() {
            rest
        } else {
            rest.strip_prefix('.').ok_or(StatusCode::EPARSE)?
        };
        let end = key.find(['.', '[', ']']).unwrap_or(key.len());
        if end == 0 {
            return Err(StatusCode::EPARSE);
        }
        steps.push(Step::Key(key[..end].to_owned()));
        rest = &key[end..];
    }
    Ok(steps)
}

/// The step inside `[...]` (`inside` follows the `[`) and the text after the `]`.
fn bracket(inside: &str) -> Result<(Step, &str), StatusCode> {
    if inside.starts_with('"') {
        let close = closing_quote(inside).ok_or(StatusCode::EPARSE)?;
        let key: String =
            serde_json::from_str(&inside[..=close]).map_err(|_| StatusCode::EPARSE)?;
        let after = inside[close + 1..]
            .strip_prefix(']')
            .ok_or(StatusCode::EPARSE)?;
        return Ok((Step::Key(key), after));
    }
    let (digits, after) = inside.split_once(']').ok_or(StatusCode::EPARSE)?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(StatusCode::EPARSE);
    }
    let index = digits.parse().map_err(|_| StatusCode::EPARSE)?;
    Ok((Step::Index(index), after))
}

/// The byte offset of the quote that closes the JSON string literal opening `text`.
fn closing_quote(text: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in text.bytes().enumerate().skip(1) {
        match (escaped, b) {
            (true, _) => escaped = false,
            (false, b'\\') => escaped = true,
            (false, b'"') => return Some(i),
            (false, _) => {}
        }
    }
    None
}

/// The value `steps` lead to from `root`.
fn resolve<'v>(root: &'v Value, steps: &[Step]) -> Result<&'v Value, StatusCode> {
    steps
        .iter()
        .try_fold(root, |value, step| match (value, step) {
            (Value::Object(map), Step::Key(key) | Step::Token(key)) => {
                map.get(key).ok_or(StatusCode::ENOENT)
            }
            (Value::Array(items), Step::Index(index)) => {
                items.get(*index).ok_or(StatusCode::ENOENT)
            }
            (Value::Array(items), Step::Token(token)) => {
                let index: usize = token.parse().map_err(|_| StatusCode::ETRFM)?;
                items.get(index).ok_or(StatusCode::ENOENT)
            }
            _ => Err(StatusCode::ETRFM),
        })
}

/// Applies `extract` to the value at the path `path` of the document `doc`.
fn lookup<T>(
    caller: &mut Caller<'_, RunState>,
    doc: i32,
    path: i32,
    extract: impl FnOnce(&Value) -> Result<T, StatusCode>,
) -> Result<T, Failure> {
    let room = state::room(caller)?;
    let memory = state::memory(caller)?;
    let (data, run) = memory.data_and_store_mut(&mut *caller);
    let steps = parse_path(utf8(located(data, path)?)?)?;
    let document = located(data, doc)?;
    let (json, ledger) = run
        .state_and_ledger::<JsonState>()
        .ok_or_else(|| wasmtime::format_err!("the json capability has no state in this run"))?;
    Ok(extract(resolve(
        json.document(document, ledger, room)?,
        &steps,
    )?)?)
}

/// An integer of the document: one written as an integer within the i64 range, or a float with
/// no fraction below 2^53 in magnitude. An integer past the i64 range is parsed as a float,
/// rounded (`-9223372036854775809` becomes -2^63), so a float past 2^53, where floats stop
/// holding every integer, may not be the number written: ETRFM rather than a wrong integer.
fn integer(value: &Value) -> Result<i64, StatusCode> {
    const TWO_POW_53: f64 = 9_007_199_254_740_992.0;
    let Value::Number(number) = value else {
        return Err(StatusCode::ETRFM);
    };
    if let Some(n) = number.as_i64() {
        return Ok(n);
    }
    match number.as_f64() {
        // Whole and exact: the cast is too.
        Some(x) if x.fract() == 0.0 && x.abs() <= TWO_POW_53 => Ok(x as i64),
        _ => Err(StatusCode::ETRFM),
    }
}

fn float(value: &Value) -> Result<f64, StatusCode> {
    value.as_f64().ok_or(StatusCode::ETRFM)
}

fn string(value: &Value) -> Result<String, StatusCode> {
    value.as_str().map(str::to_owned).ok_or(StatusCode::ETRFM)
}

fn boolean(value: &Value) -> Result<i32, StatusCode> {
    value.as_bool().map(i32::from).ok_or(StatusCode::ETRFM)
}

fn compact(value: &Value) -> Result<String, StatusCode> {
    serde_json::to_string(value).map_err(|_| StatusCode::ETRFM)
}

fn size(value: &Value) -> Result<i32, StatusCode> {
    let n = match value {
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        _ => return Err(StatusCode::ETRFM),
    };
    i32::try_from(n).map_err(|_| StatusCode::EBOUND)
}

fn kind(value: &Value) -> Result<i32, StatusCode> {
    Ok(match value {
        Value::Null => 0,
        Value::Bool(_) => 1,
        Value::Number(_) => 2,
        Value::String(_) => 3,
        Value::Array(_) => 4,
        Value::Object(_) => 5,
    })
}

fn keys(value: &Value) -> Result<Vec<Element>, StatusCode> {
    let Value::Object(map) = value else {
        return Err(StatusCode::ETRFM);
    };
    Ok(map.keys().map(|key| Element::Str(key.clone())).collect())
}

/// The text `extract` finds at the path, stored as a new str.
fn lookup_text(
    caller: &mut Caller<'_, RunState>,
    doc: i32,
    path: i32,
    extract: fn(&Value) -> Result<String, StatusCode>,
) -> Result<i32, Failure> {
    let text = lookup(caller, doc, path, extract)?;
    store(caller, text.as_bytes())
}

/// `json.quote`: sized first, so that text of control characters (each quoted in 6 bytes) is
/// ENOMEM before its quoted form is built past what the run could hold.
fn quote(caller: &mut Caller<'_, RunState>, s: i32) -> Result<i32, Failure> {
    super::fits(caller, quoted_len(text(caller, s)?))?;
    let quoted = serde_json::to_string(text(caller, s)?).map_err(|_| StatusCode::ETRFM)?;
    store(caller, quoted.as_bytes())
}

/// The bytes of `text` quoted as serde_json quotes it: `"` and `\` and the short escapes (`\n`,
/// `\t`, …) in 2, other control characters in 6 (`\u001f`), every other byte as is.
fn quoted_len(text: &str) -> u64 {
    let escaped: u64 = text
        .bytes()
        .map(|b| match b {
            b'"' | b'\\' | 0x08 | 0x0c | b'\n' | b'\r' | b'\t' => 2,
            0..=0x1f => 6,
            _ => 1,
        })
        .sum();
    escaped + 2
}

impl Capability for Json {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "reading numbers, text and structure out of JSON documents by path, and quoting text as JSON"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn new_state(&self, _grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        Ok(Some(Box::new(JsonState::default())))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        type C<'a> = Caller<'a, RunState>;
        linker.func_wrap(NAME, "get_i64", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup(&mut c, d, p, integer))
        })?;
        linker.func_wrap(NAME, "get_f64", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup(&mut c, d, p, float))
        })?;
        linker.func_wrap(NAME, "get_str", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup_text(&mut c, d, p, string))
        })?;
        linker.func_wrap(NAME, "get_bool", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup(&mut c, d, p, boolean))
        })?;
        linker.func_wrap(NAME, "get_json", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup_text(&mut c, d, p, compact))
        })?;
        linker.func_wrap(NAME, "len", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup(&mut c, d, p, size))
        })?;
        linker.func_wrap(NAME, "type", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup(&mut c, d, p, kind))
        })?;
        linker.func_wrap(NAME, "keys", |mut c: C<'_>, d: i32, p: i32| {
            returned(lookup(&mut c, d, p, keys).and_then(|k| arr::create(&mut c, k)))
        })?;
        linker.func_wrap(NAME, "quote", |mut c: C<'_>, s: i32| {
            returned(quote(&mut c, s))
        })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quoted_size_is_what_serde_json_writes() {
        let every_ascii: String = (0u8..128).map(char::from).collect();
        for text in [
            every_ascii.as_str(),
            "",
            "straße \u{1F600} \"q\"",
            "\u{7f}\u{2028}",
        ] {
            let quoted = serde_json::to_string(text).expect("text quotes");
            assert_eq!(quoted_len(text), quoted.len() as u64, "{quoted}");
        }
    }

    #[test]
    fn dotted_paths_have_keys_indexes_and_quoted_keys() {
        assert_eq!(
            parse_path(r#"items[2].price["a.b"]"#),
            Ok(vec![
                Step::Key("items".into()),
                Step::Index(2),
                Step::Key("price".into()),
                Step::Key("a.b".into()),
            ])
        );
        assert_eq!(parse_path(""), Ok(vec![]));
        assert_eq!(
            parse_path(r#"["q\"uote"]"#),
            Ok(vec![Step::Key("q\"uote".into())])
        );
    }

    #[test]
    fn pointers_decode_their_escapes() {
        assert_eq!(
            parse_path("/a~1b/~0/0"),
            Ok(vec![
                Step::Token("a/b".into()),
                Step::Token("~".into()),
                Step::Token("0".into()),
            ])
        );
        assert_eq!(parse_path("/a~2"), Err(StatusCode::EPARSE));
    }

    #[test]
    fn malformed_paths_are_eparse() {
        for path in [
            "a..b", ".a", "a.", "a[", "a[x]", "a[-1]", "a]", r#"a["b"#, "a[0]b",
        ] {
            assert_eq!(parse_path(path), Err(StatusCode::EPARSE), "{path}");
        }
    }

    #[test]
    fn the_same_document_is_parsed_once() {
        let mut state = JsonState::default();
        let mut ledger = Ledger::default();
        let room = 1 << 20;
        let doc = br#"{"a":[1,2]}"#;
        for _ in 0..3 {
            let root = state.document(doc, &mut ledger, room).expect("valid");
            assert_eq!(
                resolve(root, &[Step::Key("a".into())]).map(|v| v.to_string()),
                Ok("[1,2]".to_owned())
            );
        }
        assert_eq!(state.parses, 1);
        let charged = ledger.bytes();
        assert!(charged > doc.len() as u64, "the tree is charged: {charged}");
        assert_eq!(
            state.document(b"[1", &mut ledger, room),
            Err(StatusCode::EPARSE)
        );
        assert_eq!(
            state.document(b"[1", &mut ledger, room),
            Err(StatusCode::EPARSE)
        );
        assert_eq!(state.parses, 2, "a failed parse is cached too");
        assert_eq!(
            ledger.bytes(),
            2,
            "the last document's charge is given back"
        );
        assert!(state.document(doc, &mut ledger, room).is_ok());
        assert_eq!(state.parses, 3);
        assert_eq!(ledger.bytes(), charged);
    }

    #[test]
    fn a_tree_larger_than_the_room_is_enomem_while_it_is_built() {
        let mut state = JsonState::default();
        let mut ledger = Ledger::default();
        // 200,001 bytes of text, a tree of about 36 times that.
        let doc = format!("[{}0]", "0,".repeat(100_000));
        assert_eq!(
            state.document(doc.as_bytes(), &mut ledger, 4 << 20),
            Err(StatusCode::ENOMEM)
        );
        assert_eq!(ledger.bytes(), 0, "nothing stays charged");
        let root = state
            .document(doc.as_bytes(), &mut ledger, 64 << 20)
            .expect("fits");
        assert_eq!(root.as_array().map(Vec::len), Some(100_001));
        assert!(ledger.bytes() > 100_001 * SLOT_BYTES, "{}", ledger.bytes());
    }

    #[test]
    fn the_charged_parser_reads_what_serde_json_reads() {
        let doc =
            br#"{"a":[1,-2,3.5,"x\u00e9",true,null,{"b":{}},[]],"k\"q":18446744073709551615}"#;
        let mut left = u64::MAX;
        let ours = parse_within(doc, &mut left).expect("room").expect("valid");
        let theirs: Value = serde_json::from_slice(doc).expect("valid");
        assert_eq!(ours, theirs);
        assert_eq!(
            parse_within(b"[1] x", &mut left),
            Ok(Err(StatusCode::EPARSE)),
            "trailing text is not JSON"
        );
    }
}

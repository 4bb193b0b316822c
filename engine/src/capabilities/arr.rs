//! `arr`: arrays kept on the host, addressed by i32 handles that live as long as the run.
//!
//! Elements are i64, f64 or str, and one array may mix them. The heap (`Arrays`) belongs to the
//! run's state rather than to this capability, so that `str.split` and `json.keys` can return
//! arrays to a program that never imports `arr` itself.
//!
//! Host memory is charged to the run's one ledger ([`crate::state::Ledger`]) against its memory
//! cap: each array costs [`ARRAY_BYTES`], each element [`ELEMENT_BYTES`] plus the length of its
//! text, and growth that would take the host data plus the linear memory past
//! [`crate::Limits::memory_bytes`] fails with ENOMEM (and `memory.grow` past what the arrays
//! leave returns -1). A program that pushes forever therefore ends with ENOMEM, never with the
//! host out of memory.

use std::cmp::Ordering;
use std::fmt::Write as _;

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::ValType::{F64, I32, I64};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::{Failure, doc, returned, returned_status, signature, store, text};
use crate::capability::{Capability, FunctionDoc};
use crate::state::{self, Ledger, RunState};
use crate::status::StatusCode;
use crate::value::format_f64;

/// The capability's name: its import module, and what a policy grants.
pub const NAME: &str = "arr";

/// Host bytes charged for each array.
pub const ARRAY_BYTES: u64 = 32;
/// Host bytes charged for each element, besides the length of its text: the size of its slot.
pub const ELEMENT_BYTES: u64 = 32;

/// The `arr` capability.
#[derive(Debug, Clone, Copy)]
pub struct Arr;

const fn arr(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    signature(NAME, name, params, results)
}

/// `arr.new`: a new empty array.
pub const NEW: HostFunction = arr("new", &[], &[I32, I32]);
/// `arr.len`: the number of elements.
pub const LEN: HostFunction = arr("len", &[I32], &[I32]);
/// `arr.push_i64`: append an integer.
pub const PUSH_I64: HostFunction = arr("push_i64", &[I32, I64], &[I32]);
/// `arr.push_f64`: append a float.
pub const PUSH_F64: HostFunction = arr("push_f64", &[I32, F64], &[I32]);
/// `arr.push_str`: append a copy of a str.
pub const PUSH_STR: HostFunction = arr("push_str", &[I32, I32], &[I32]);
/// `arr.get_i64`: an integer element.
pub const GET_I64: HostFunction = arr("get_i64", &[I32, I32], &[I64, I32]);
/// `arr.get_f64`: a numeric element as a float.
pub const GET_F64: HostFunction = arr("get_f64", &[I32, I32], &[F64, I32]);
/// `arr.get_str`: a str element, copied into memory.
pub const GET_STR: HostFunction = arr("get_str", &[I32, I32], &[I32, I32]);
/// `arr.set_i64`: replace an element with an integer.
pub const SET_I64: HostFunction = arr("set_i64", &[I32, I32, I64], &[I32]);
/// `arr.set_f64`: replace an element with a float.
pub const SET_F64: HostFunction = arr("set_f64", &[I32, I32, F64], &[I32]);
/// `arr.set_str`: replace an element with a copy of a str.
pub const SET_STR: HostFunction = arr("set_str", &[I32, I32, I32], &[I32]);
/// `arr.sort`: sort in place.
pub const SORT: HostFunction = arr("sort", &[I32], &[I32]);
/// `arr.join`: the elements as one str.
pub const JOIN: HostFunction = arr("join", &[I32, I32], &[I32, I32]);

static FUNCTIONS: [FunctionDoc; 13] = [
    doc(
        NEW,
        "a new empty array: (handle, status); handles are never 0; ENOMEM past the memory limit",
    ),
    doc(
        LEN,
        "(H) the number of elements of array H, or -1 if H is not an array",
    ),
    doc(
        PUSH_I64,
        "(H, N) append the i64 N to array H; EBOUND if H is not an array, ENOMEM past the memory limit",
    ),
    doc(
        PUSH_F64,
        "(H, X) append the f64 X to array H; EBOUND if H is not an array, ENOMEM past the memory limit",
    ),
    doc(
        PUSH_STR,
        "(H, S) append a copy of the str S to array H; EBOUND if H is not an array or S lies outside memory, ETRFM if S is not UTF-8, ENOMEM",
    ),
    doc(
        GET_I64,
        "(H, I) element I (0-based) of array H as i64; EBOUND if H is not an array or I is out of range, ETRFM if the element is not an i64",
    ),
    doc(
        GET_F64,
        "(H, I) element I of array H as f64 (an i64 element converts); EBOUND, ETRFM if the element is a str",
    ),
    doc(
        GET_STR,
        "(H, I) element I of array H copied into memory as a str; EBOUND, ETRFM if the element is a number, ENOMEM",
    ),
    doc(
        SET_I64,
        "(H, I, N) replace element I of array H, whatever its type, with the i64 N; EBOUND if H is not an array or I is out of range",
    ),
    doc(
        SET_F64,
        "(H, I, X) replace element I of array H with the f64 X; EBOUND if H is not an array or I is out of range",
    ),
    doc(
        SET_STR,
        "(H, I, S) replace element I of array H with a copy of the str S; EBOUND, ETRFM if S is not UTF-8, ENOMEM",
    ),
    doc(
        SORT,
        "(H) sort array H in place: numbers ascending (i64 and f64 compare exactly, NaN last), or strs bytewise; EBOUND, ETRFM if it mixes strs and numbers",
    ),
    doc(
        JOIN,
        "(H, SEP) the elements of array H joined with the str SEP (numbers as str.from_i64/from_f64 write them); EBOUND, ETRFM, ENOMEM",
    ),
];

// The charge covers at least the slot the element takes in its array.
const _: () = assert!(std::mem::size_of::<Element>() as u64 <= ELEMENT_BYTES);

/// One element of an array.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Element {
    /// An integer.
    I64(i64),
    /// A float.
    F64(f64),
    /// Text.
    Str(String),
}

impl Element {
    /// The host bytes the element is charged.
    fn cost(&self) -> u64 {
        match self {
            Self::Str(text) => ELEMENT_BYTES + text.len() as u64,
            Self::I64(_) | Self::F64(_) => ELEMENT_BYTES,
        }
    }

    /// Appends the element as text: numbers as Rust's `{}` writes them (`3`, `2.5`, `NaN`).
    fn write_to(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = match self {
            Self::I64(n) => write!(out, "{n}"),
            Self::F64(x) => out.write_str(&format_f64(*x)),
            Self::Str(text) => out.write_str(text),
        };
    }
}

/// Orders two numbers exactly (an i64 and an f64 compare by value, not through a lossy cast),
/// NaN after everything.
fn numeric_order(a: &Element, b: &Element) -> Ordering {
    match (a, b) {
        (Element::I64(x), Element::I64(y)) => x.cmp(y),
        (Element::F64(x), Element::F64(y)) => float_order(*x, *y),
        (Element::I64(x), Element::F64(y)) => int_float_order(*x, *y),
        (Element::F64(x), Element::I64(y)) => int_float_order(*y, *x).reverse(),
        (Element::Str(x), Element::Str(y)) => x.cmp(y),
        // `sort` checks that numbers and strs are not mixed before sorting.
        (Element::Str(_), _) => Ordering::Greater,
        (_, Element::Str(_)) => Ordering::Less,
    }
}

fn float_order(x: f64, y: f64) -> Ordering {
    x.partial_cmp(&y)
        .unwrap_or_else(|| x.is_nan().cmp(&y.is_nan()))
}

fn int_float_order(int: i64, float: f64) -> Ordering {
    const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
    if float.is_nan() || float >= TWO_POW_63 {
        Ordering::Less
    } else if float < -TWO_POW_63 {
        Ordering::Greater
    } else {
        // |trunc| <= 2^63 and -2^63 is an i64: the cast is exact.
        let whole = float.trunc();
        int.cmp(&(whole as i64))
            .then_with(|| whole.partial_cmp(&float).unwrap_or(Ordering::Equal))
    }
}

/// The arrays of one run; the host bytes they take are charged to the run's [`Ledger`].
#[derive(Debug, Default)]
pub(crate) struct Arrays {
    arrays: Vec<Vec<Element>>,
}

/// What `elements` more elements of `text` bytes in all, in a new array, are charged: what
/// [`Arrays::create`] charges them, known before anything is built.
pub(crate) fn array_cost(elements: u64, text: u64) -> u64 {
    elements
        .saturating_mul(ELEMENT_BYTES)
        .saturating_add(text)
        .saturating_add(ARRAY_BYTES)
}

impl Arrays {
    /// The length `join` would give, computed without building it.
    pub(crate) fn joined_len(&self, handle: i32, separator: &str) -> Result<u64, StatusCode> {
        let array = self.array(handle)?;
        let separators =
            (array.len().saturating_sub(1) as u64).saturating_mul(separator.len() as u64);
        let elements = array
            .iter()
            .map(|element| match element {
                Element::Str(text) => text.len() as u64,
                // At most 24 bytes: `-9223372036854775808`, or an f64 as `format_f64` writes it.
                Element::I64(_) | Element::F64(_) => 24,
            })
            .fold(0u64, u64::saturating_add);
        Ok(separators.saturating_add(elements))
    }

    /// A new array holding `elements`: its handle, or ENOMEM if the run's host data would take
    /// more than `room` bytes.
    pub(crate) fn create(
        &mut self,
        elements: Vec<Element>,
        ledger: &mut Ledger,
        room: u64,
    ) -> Result<i32, StatusCode> {
        let handle = i32::try_from(self.arrays.len() + 1).map_err(|_| StatusCode::ENOMEM)?;
        let cost = elements.iter().map(Element::cost).sum::<u64>() + ARRAY_BYTES;
        ledger.charge(cost, room)?;
        self.arrays.push(elements);
        Ok(handle)
    }

    fn array(&self, handle: i32) -> Result<&Vec<Element>, StatusCode> {
        let index = usize::try_from(handle).map_err(|_| StatusCode::EBOUND)?;
        index
            .checked_sub(1)
            .and_then(|i| self.arrays.get(i))
            .ok_or(StatusCode::EBOUND)
    }

    fn array_mut(&mut self, handle: i32) -> Result<&mut Vec<Element>, StatusCode> {
        let index = usize::try_from(handle).map_err(|_| StatusCode::EBOUND)?;
        index
            .checked_sub(1)
            .and_then(|i| self.arrays.get_mut(i))
            .ok_or(StatusCode::EBOUND)
    }

    /// The number of elements of an array.
    pub(crate) fn len(&self, handle: i32) -> Result<usize, StatusCode> {
        Ok(self.array(handle)?.len())
    }

    /// Element `index` of an array.
    pub(crate) fn element(&self, handle: i32, index: i32) -> Result<&Element, StatusCode> {
        let array = self.array(handle)?;
        usize::try_from(index)
            .ok()
            .and_then(|i| array.get(i))
            .ok_or(StatusCode::EBOUND)
    }

    /// Appends `element`, or ENOMEM past `room`.
    pub(crate) fn push(
        &mut self,
        handle: i32,
        element: Element,
        ledger: &mut Ledger,
        room: u64,
    ) -> Result<(), StatusCode> {
        self.array(handle)?;
        ledger.charge(element.cost(), room)?;
        self.array_mut(handle)?.push(element);
        Ok(())
    }

    /// Replaces element `index` (of whatever type) with `element`.
    pub(crate) fn set(
        &mut self,
        handle: i32,
        index: i32,
        element: Element,
        ledger: &mut Ledger,
        room: u64,
    ) -> Result<(), StatusCode> {
        let old = self.element(handle, index)?.cost();
        let new = element.cost();
        if new > old {
            ledger.charge(new - old, room)?;
        } else {
            ledger.release(old - new);
        }
        let array = self.array_mut(handle)?;
        if let Some(slot) = usize::try_from(index).ok().and_then(|i| array.get_mut(i)) {
            *slot = element;
        }
        Ok(())
    }

    /// Sorts an array: all numbers, or all strs; ETRFM if it mixes them.
    pub(crate) fn sort(&mut self, handle: i32) -> Result<(), StatusCode> {
        let array = self.array_mut(handle)?;
        let strs = array
            .iter()
            .filter(|e| matches!(e, Element::Str(_)))
            .count();
        if strs != 0 && strs != array.len() {
            return Err(StatusCode::ETRFM);
        }
        array.sort_by(numeric_order);
        Ok(())
    }

    /// The elements written one after another, `separator` between them.
    pub(crate) fn join(&self, handle: i32, separator: &str) -> Result<String, StatusCode> {
        let mut out = String::new();
        for (i, element) in self.array(handle)?.iter().enumerate() {
            if i > 0 {
                out.push_str(separator);
            }
            element.write_to(&mut out);
        }
        Ok(out)
    }
}

/// A new array of `elements` in the run's heap: its handle.
pub(crate) fn create(
    caller: &mut Caller<'_, RunState>,
    elements: Vec<Element>,
) -> Result<i32, Failure> {
    let room = state::room(caller)?;
    let run = caller.data_mut();
    Ok(run.arrays.create(elements, &mut run.ledger, room)?)
}

fn push(caller: &mut Caller<'_, RunState>, handle: i32, element: Element) -> Result<(), Failure> {
    let room = state::room(caller)?;
    let run = caller.data_mut();
    Ok(run.arrays.push(handle, element, &mut run.ledger, room)?)
}

fn set(
    caller: &mut Caller<'_, RunState>,
    handle: i32,
    index: i32,
    element: Element,
) -> Result<(), Failure> {
    let room = state::room(caller)?;
    let run = caller.data_mut();
    Ok(run
        .arrays
        .set(handle, index, element, &mut run.ledger, room)?)
}

/// The str at `ptr`, copied into an element.
fn str_element(caller: &Caller<'_, RunState>, ptr: i32) -> Result<Element, Failure> {
    Ok(Element::Str(text(caller, ptr)?.to_owned()))
}

fn get_i64(caller: &Caller<'_, RunState>, handle: i32, index: i32) -> Result<i64, Failure> {
    match caller.data().arrays.element(handle, index)? {
        Element::I64(n) => Ok(*n),
        _ => Err(StatusCode::ETRFM.into()),
    }
}

fn get_f64(caller: &Caller<'_, RunState>, handle: i32, index: i32) -> Result<f64, Failure> {
    match caller.data().arrays.element(handle, index)? {
        Element::F64(x) => Ok(*x),
        Element::I64(n) => Ok(*n as f64),
        Element::Str(_) => Err(StatusCode::ETRFM.into()),
    }
}

fn get_str(caller: &mut Caller<'_, RunState>, handle: i32, index: i32) -> Result<i32, Failure> {
    let text = match caller.data().arrays.element(handle, index)? {
        Element::Str(text) => text.clone(),
        _ => return Err(StatusCode::ETRFM.into()),
    };
    store(caller, text.as_bytes())
}

fn join(caller: &mut Caller<'_, RunState>, handle: i32, separator: i32) -> Result<i32, Failure> {
    let separator = text(caller, separator)?;
    // Sized first: a 1 MB separator between many elements must not be built past the memory.
    super::fits(caller, caller.data().arrays.joined_len(handle, separator)?)?;
    let joined = caller.data().arrays.join(handle, separator)?;
    store(caller, joined.as_bytes())
}

impl Capability for Arr {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "arrays of i64, f64 and str kept by the host, addressed by i32 handles valid for the run"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        type C<'a> = Caller<'a, RunState>;
        linker.func_wrap(NAME, "new", |mut c: C<'_>| {
            returned(create(&mut c, Vec::new()))
        })?;
        linker.func_wrap(NAME, "len", |c: C<'_>, h: i32| {
            c.data()
                .arrays
                .len(h)
                .map_or(-1, |n| i32::try_from(n).unwrap_or(i32::MAX))
        })?;
        linker.func_wrap(NAME, "push_i64", |mut c: C<'_>, h: i32, v: i64| {
            returned_status(push(&mut c, h, Element::I64(v)))
        })?;
        linker.func_wrap(NAME, "push_f64", |mut c: C<'_>, h: i32, v: f64| {
            returned_status(push(&mut c, h, Element::F64(v)))
        })?;
        linker.func_wrap(NAME, "push_str", |mut c: C<'_>, h: i32, s: i32| {
            returned_status(str_element(&c, s).and_then(|e| push(&mut c, h, e)))
        })?;
        linker.func_wrap(NAME, "get_i64", |c: C<'_>, h: i32, i: i32| {
            returned(get_i64(&c, h, i))
        })?;
        linker.func_wrap(NAME, "get_f64", |c: C<'_>, h: i32, i: i32| {
            returned(get_f64(&c, h, i))
        })?;
        linker.func_wrap(NAME, "get_str", |mut c: C<'_>, h: i32, i: i32| {
            returned(get_str(&mut c, h, i))
        })?;
        linker.func_wrap(NAME, "set_i64", |mut c: C<'_>, h: i32, i: i32, v: i64| {
            returned_status(set(&mut c, h, i, Element::I64(v)))
        })?;
        linker.func_wrap(NAME, "set_f64", |mut c: C<'_>, h: i32, i: i32, v: f64| {
            returned_status(set(&mut c, h, i, Element::F64(v)))
        })?;
        linker.func_wrap(NAME, "set_str", |mut c: C<'_>, h: i32, i: i32, s: i32| {
            returned_status(str_element(&c, s).and_then(|e| set(&mut c, h, i, e)))
        })?;
        linker.func_wrap(NAME, "sort", |mut c: C<'_>, h: i32| {
            returned_status(c.data_mut().arrays.sort(h).map_err(Failure::from))
        })?;
        linker.func_wrap(NAME, "join", |mut c: C<'_>, h: i32, sep: i32| {
            returned(join(&mut c, h, sep))
        })?;
        Ok(())
    }
}

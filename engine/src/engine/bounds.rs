//! Bounds on the work a body asks of the compiler, checked before Wasmtime compiles it.
//!
//! Compilation runs outside every run limit (no fuel, no deadline), and its cost grows faster
//! than the body: 40,000 `i32.const` followed by 40,000 `i32.add` (under 1 MiB of text) keep
//! 40,000 values live at once and take Cranelift seconds. So the expanded function is walked
//! once with wasmparser's validator before compiling, and a body past any of these bounds is
//! refused with a `limit` diagnostic at the instruction that crossed it, in the model's text:
//!
//! - [`MAX_OPERATORS`] instructions in the function, after macro expansion, each `br_table`
//!   target counted as one more (Cranelift's work on a `br_table` grows with its targets: one of
//!   480,000 targets, under 1 MiB of text, took 0.9 s and 215 MB to compile);
//! - [`MAX_OPERAND_STACK`] values on the operand stack at once;
//! - [`MAX_CONTROL_DEPTH`] nested blocks, loops and ifs (the flat form has no syntax tree to
//!   bound it);
//! - [`MAX_LOCALS`] locals.
//!
//! An invalid function is left to Wasmtime's own validation, which reports it as usual.

use wasmtime::wasmparser::{
    BinaryReader, FuncValidatorAllocations, Parser, ValidPayload, Validator, WasmFeatures,
};
use watsmith_preprocessor::{Diagnostic, DiagnosticKind, Expanded};

use super::relocate::instruction_text_offset;
use crate::limits::{MAX_CONTROL_DEPTH, MAX_LOCALS, MAX_OPERAND_STACK, MAX_OPERATORS};
use crate::template::{self, Assembled};

/// A bound a function passes: which, and the offset in the binary of the instruction that
/// passed it (`None` for the locals, declared before any instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exceeded {
    Operators(usize),
    OperandStack(usize),
    ControlDepth(usize),
    Locals,
}

/// Refuses a module whose functions pass a bound, with a diagnostic located in `body`.
pub(super) fn check(
    body: &str,
    expanded: &Expanded,
    assembled: &Assembled,
    binary: &[u8],
) -> Result<(), Vec<Diagnostic>> {
    let Some(exceeded) = first_exceeded(binary) else {
        return Ok(());
    };
    let (offset, message, hint) = match exceeded {
        Exceeded::Operators(at) => (
            Some(at),
            format!(
                "the program has more than {MAX_OPERATORS} instructions after expansion (a `br_table` target counts as one), more than a body may compile"
            ),
            "compute in a loop instead of writing each step out, and index memory or an `arr` array instead of a long `br_table`",
        ),
        Exceeded::OperandStack(at) => (
            Some(at),
            format!("this instruction leaves more than {MAX_OPERAND_STACK} values on the stack"),
            "consume values as they are produced: add each one into a local instead of pushing them all first",
        ),
        Exceeded::ControlDepth(at) => (
            Some(at),
            format!("blocks, loops and ifs nest more than {MAX_CONTROL_DEPTH} deep here"),
            "flatten the nesting: use `br_table`, or a loop over a local, instead of a block per case",
        ),
        Exceeded::Locals => (
            None,
            format!("the program declares more than {MAX_LOCALS} locals"),
            "reuse locals, or keep many values in memory or an `arr` array",
        ),
    };
    let text_offset = offset.and_then(|at| instruction_text_offset(&assembled.text, binary, at));
    let mut diagnostic = template::diagnostic_at(body, expanded, assembled, text_offset, &message);
    diagnostic.kind = DiagnosticKind::Limit;
    diagnostic.hint = Some(hint.to_owned());
    Err(vec![diagnostic])
}

/// The number of targets of the `br_table` the reader is at (its default not counted), or 0 for
/// any other operator: the count that follows the opcode, read from a copy of the reader.
fn br_table_targets(reader: &BinaryReader<'_>) -> usize {
    const BR_TABLE: u8 = 0x0e;
    let mut ahead = reader.clone();
    match ahead.read_u8() {
        Ok(BR_TABLE) => ahead.read_var_u32().map_or(0, |count| count as usize),
        _ => 0,
    }
}

/// The first bound the module's functions pass, or `None` (also for a module that does not
/// validate: Wasmtime reports that).
fn first_exceeded(binary: &[u8]) -> Option<Exceeded> {
    let mut validator = Validator::new_with_features(WasmFeatures::all());
    let mut allocations = FuncValidatorAllocations::default();
    for payload in Parser::new(0).parse_all(binary) {
        let ValidPayload::Func(to_validate, function) = validator.payload(&payload.ok()?).ok()?
        else {
            continue;
        };
        let mut func = to_validate.into_validator(allocations);
        let mut reader = function.get_binary_reader();
        func.read_locals(&mut reader).ok()?;
        if func.len_locals() > MAX_LOCALS {
            return Some(Exceeded::Locals);
        }
        let mut operators = 0usize;
        while !reader.eof() {
            let at = reader.original_position();
            operators += 1 + br_table_targets(&reader);
            reader.visit_operator(&mut func.visitor(at)).ok()?.ok()?;
            if operators > MAX_OPERATORS {
                return Some(Exceeded::Operators(at));
            }
            if func.operand_stack_height() > MAX_OPERAND_STACK {
                return Some(Exceeded::OperandStack(at));
            }
            if func.control_stack_height() > MAX_CONTROL_DEPTH {
                return Some(Exceeded::ControlDepth(at));
            }
        }
        allocations = func.into_allocations();
    }
    None
}

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
//! - [`MAX_LOCALS`] locals;
//! - [`MAX_BLOCKS`] blocks, loops and ifs, of which at most [`MAX_LOOPS`] loops: compile time
//!   grows faster than their number, with the square of the loops' (16,000 loops of one `br_if`
//!   each, 48,000 instructions, compiled for 20 s; 16,000 ifs for 1 s);
//! - [`MAX_LIVENESS_WORK`]: the values that may be live across the function's blocks, summed
//!   over them (at every instruction that begins a block or branches, the locals and the values
//!   on the operand stack). Register allocation and SSA construction cost about that product:
//!   990 values on the stack across 24,000 loops, or 1,999 locals across 15,000 loops, each
//!   within every bound above, compiled for 10-20 s in up to 1.8 GB.
//!
//! Within the bounds, the slowest bodies found compile in about 0.3 s and 114 MB (999 locals
//! across 999 loops; 1,999 locals across 499 loops; 10 locals across 4,999 ifs: 0.2 s), measured
//! with `watsmith exec` on the 2-core development VM, December 2026.
//!
//! An invalid function is left to Wasmtime's own validation, which reports it as usual.

use wasmtime::wasmparser::{
    BinaryReader, FuncValidatorAllocations, Parser, ValidPayload, Validator, WasmFeatures,
};
use watsmith_preprocessor::{Diagnostic, DiagnosticKind, Expanded};

use super::relocate::instruction_text_offset;
use crate::limits::{
    MAX_BLOCKS, MAX_CONTROL_DEPTH, MAX_LIVENESS_WORK, MAX_LOCALS, MAX_LOOPS, MAX_OPERAND_STACK,
    MAX_OPERATORS,
};
use crate::template::{self, Assembled};

/// A bound a function passes: which, and the offset in the binary of the instruction that
/// passed it (`None` for the locals, declared before any instruction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exceeded {
    Operators(usize),
    OperandStack(usize),
    ControlDepth(usize),
    Locals,
    Loops(usize),
    Blocks(usize),
    Liveness(usize),
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
        Exceeded::Loops(at) => (
            Some(at),
            format!("the program has more than {MAX_LOOPS} loops, more than a body may compile"),
            "use one loop with a counter (or a `br_table` on it) instead of writing many loops out",
        ),
        Exceeded::Blocks(at) => (
            Some(at),
            format!(
                "the program has more than {MAX_BLOCKS} blocks, loops and ifs, more than a body may compile"
            ),
            "use one loop with a counter, and `br_table` or memory for many cases, instead of writing a block per case",
        ),
        Exceeded::Liveness(at) => (
            Some(at),
            format!(
                "the program keeps too many values live across too many blocks and branches (locals and stack values times blocks passes {MAX_LIVENESS_WORK}), more than a body may compile"
            ),
            "use fewer locals and keep fewer values on the stack, or loop over one block instead of writing many blocks out",
        ),
    };
    let text_offset = offset.and_then(|at| instruction_text_offset(&assembled.text, binary, at));
    let mut diagnostic = template::diagnostic_at(body, expanded, assembled, text_offset, &message);
    diagnostic.kind = DiagnosticKind::Limit;
    diagnostic.hint = Some(hint.to_owned());
    Err(vec![diagnostic])
}

/// What the operator the reader is at adds to the bounds, read from a copy of the reader.
#[derive(Debug, Clone, Copy, Default)]
struct Shape {
    /// Its `br_table` targets (its default not counted; 0 for any other operator).
    targets: usize,
    /// It begins a block or branches: `block`, `loop`, `if`, `else`, `br_if`, `br_table`.
    branches: bool,
    /// It is a `loop`.
    is_loop: bool,
    /// It begins a block, a loop or an if.
    begins: bool,
}

fn shape(reader: &BinaryReader<'_>) -> Shape {
    const BLOCK: u8 = 0x02;
    const LOOP: u8 = 0x03;
    const IF: u8 = 0x04;
    const ELSE: u8 = 0x05;
    const BR_IF: u8 = 0x0d;
    const BR_TABLE: u8 = 0x0e;
    let mut ahead = reader.clone();
    let branches = true;
    match ahead.read_u8() {
        Ok(BR_TABLE) => Shape {
            targets: ahead.read_var_u32().map_or(0, |count| count as usize),
            branches,
            ..Shape::default()
        },
        Ok(LOOP) => Shape {
            branches,
            is_loop: true,
            begins: true,
            ..Shape::default()
        },
        Ok(BLOCK | IF) => Shape {
            branches,
            begins: true,
            ..Shape::default()
        },
        Ok(ELSE | BR_IF) => Shape {
            branches,
            ..Shape::default()
        },
        _ => Shape::default(),
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
        let locals = usize::try_from(func.len_locals()).unwrap_or(usize::MAX);
        let mut operators = 0usize;
        let mut liveness = 0usize;
        let mut loops = 0usize;
        let mut blocks = 0usize;
        while !reader.eof() {
            let at = reader.original_position();
            let shape = shape(&reader);
            operators += 1 + shape.targets;
            loops += usize::from(shape.is_loop);
            blocks += usize::from(shape.begins);
            if shape.branches {
                let stack = func.operand_stack_height() as usize;
                liveness = liveness.saturating_add(locals + stack);
            }
            reader.visit_operator(&mut func.visitor(at)).ok()?.ok()?;
            if operators > MAX_OPERATORS {
                return Some(Exceeded::Operators(at));
            }
            if loops > MAX_LOOPS {
                return Some(Exceeded::Loops(at));
            }
            if blocks > MAX_BLOCKS {
                return Some(Exceeded::Blocks(at));
            }
            if liveness > MAX_LIVENESS_WORK {
                return Some(Exceeded::Liveness(at));
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

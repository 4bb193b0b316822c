//! From a `.wast` script to cases: each `assert_return` / `assert_trap` on an exported function
//! becomes a WAT-plus body (the function's own instructions, as the spec wrote them, inside a
//! block) with its arguments and what it must give; each assertion that cannot be expressed so
//! is counted under its reason.
//!
//! A body runs in the template's entry function, which has no parameters and returns a status,
//! so the function is adapted around its text, never inside it except for two rewrites:
//!
//! - the parameters become the first locals (same names, same order, so `local.get 0` still
//!   means the first parameter), loaded with `argv`; floats travel as their bits (an i32 or i64
//!   argument reinterpreted), so NaN payloads arrive exactly;
//! - the instructions run in `(block $_fn (result ...) ...)`, where `return` becomes `br $_fn`;
//! - the results are taken off the stack into locals (floats reinterpreted to bits) and given
//!   with `resv`, so every result is an `i32` or `i64` holding the exact bits;
//! - a call of a helper of the module without parameters or locals is inlined as a block;
//!   other calls make the function unsupported.
//!
//! Running each case in a fresh instance drops the state a module keeps between invocations,
//! so a case that reads the memory after an earlier invocation wrote it is skipped.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use wast::core::{
    FuncKind, ImportItems, InnerTypeKind, Instruction, MemoryKind, ModuleField, ModuleKind,
    NanPattern, ValType, WastArgCore, WastRetCore,
};
use wast::parser::{self, ParseBuffer};
use wast::token::Index;
use wast::{QuoteWat, Wast, WastArg, WastDirective, WastExecute, WastRet, Wat};
use watsmith_engine::{TrapKind, Value};

use super::text;

/// A value the harness can carry: the numeric types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Num {
    I32,
    I64,
    F32,
    F64,
}

impl Num {
    fn of(ty: &ValType<'_>) -> Option<Self> {
        match ty {
            ValType::I32 => Some(Self::I32),
            ValType::I64 => Some(Self::I64),
            ValType::F32 => Some(Self::F32),
            ValType::F64 => Some(Self::F64),
            ValType::V128 | ValType::Ref(_) => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::I32 => "i32",
            Self::I64 => "i64",
            Self::F32 => "f32",
            Self::F64 => "f64",
        }
    }

    /// The integer type of the same width, which carries the value's bits.
    fn bits(self) -> &'static str {
        match self {
            Self::I32 | Self::F32 => "i32",
            Self::I64 | Self::F64 => "i64",
        }
    }
}

/// A float result the spec allows: exact bits, or any NaN of a class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Float<T> {
    Bits(T),
    /// A NaN with the canonical payload, of either sign.
    CanonicalNan,
    /// A NaN with the quiet bit set, any payload and sign.
    ArithmeticNan,
}

/// One expected result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expected {
    I32(i32),
    I64(i64),
    F32(Float<u32>),
    F64(Float<u64>),
    Either(Vec<Expected>),
}

impl Expected {
    /// Whether the spec leaves the bits open: a NaN class rather than one value.
    pub(crate) fn is_nan_class(&self) -> bool {
        match self {
            Self::F32(Float::CanonicalNan | Float::ArithmeticNan)
            | Self::F64(Float::CanonicalNan | Float::ArithmeticNan) => true,
            Self::Either(choices) => choices.iter().any(Self::is_nan_class),
            Self::I32(_) | Self::I64(_) | Self::F32(Float::Bits(_)) | Self::F64(Float::Bits(_)) => {
                false
            }
        }
    }

    /// Whether `value` (a result as the body gives it: floats as their bits) is allowed.
    pub(crate) fn admits(&self, value: &Value) -> bool {
        match (self, value) {
            (Self::I32(want), Value::I32(got)) => want == got,
            (Self::I64(want), Value::I64(got)) => want == got,
            (Self::F32(want), Value::I32(got)) => {
                let got = *got as u32;
                match *want {
                    Float::Bits(bits) => bits == got,
                    Float::CanonicalNan => got & 0x7fff_ffff == 0x7fc0_0000,
                    Float::ArithmeticNan => got & 0x7fc0_0000 == 0x7fc0_0000,
                }
            }
            (Self::F64(want), Value::I64(got)) => {
                let got = *got as u64;
                match *want {
                    Float::Bits(bits) => bits == got,
                    Float::CanonicalNan => got & 0x7fff_ffff_ffff_ffff == 0x7ff8_0000_0000_0000,
                    Float::ArithmeticNan => got & 0x7ff8_0000_0000_0000 == 0x7ff8_0000_0000_0000,
                }
            }
            (Self::Either(choices), value) => choices.iter().any(|c| c.admits(value)),
            _ => false,
        }
    }
}

/// What an assertion requires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expect {
    Return(Vec<Expected>),
    Trap(TrapKind),
}

/// One assertion made a run of the pipeline.
#[derive(Debug, Clone)]
pub(crate) struct Case {
    /// The `.wast` file and the line of the assertion.
    pub(crate) file: &'static str,
    pub(crate) line: usize,
    /// The export invoked.
    pub(crate) function: String,
    pub(crate) body: Arc<str>,
    pub(crate) args: Vec<Value>,
    pub(crate) expect: Expect,
}

/// What one script gives: its cases, and how many assertions were skipped for which reason.
#[derive(Debug, Default)]
pub(crate) struct Script {
    pub(crate) cases: Vec<Case>,
    pub(crate) skipped: BTreeMap<&'static str, Vec<usize>>,
    /// Assertions about modules (`assert_invalid`, `assert_malformed`, ...), not functions.
    pub(crate) module_assertions: usize,
    /// The bodies of the functions no assertion invokes, with the line of each function: they
    /// must still preprocess and compile.
    pub(crate) uninvoked: Vec<(usize, Arc<str>)>,
}

// Reasons an assertion is skipped; the README lists them with their counts.
const IMPORTED: &str = "the function is an import";
const NOT_NUMERIC: &str = "a parameter, result or local of a vector or reference type";
const BLOCK_TYPE_USE: &str =
    "a block type names a type the module defines (a body has no type definitions)";
const REFERENCE: &str = "uses reference instructions (`ref.null`, `ref.is_null`, ...)";
const CALLS_WITH_PARAMS: &str =
    "calls a function of the module that has parameters or locals (only such helpers are inlined)";
const RECURSIVE: &str = "calls itself, or a helper that does (a body is one function)";
const INDIRECT: &str = "calls through a table";
const GLOBAL: &str = "uses a global";
const TABLE: &str = "uses a table";
const MEMORIES: &str = "uses a memory of a module with several or imported memories";
const EMPTY_MEMORY: &str = "uses a memory of 0 pages (the template's memory has at least one page)";
const DATA: &str = "uses a memory initialised by data segments";
const MAXIMUM: &str = "grows a memory that has a maximum (the template's memory has none)";
const STATE: &str = "needs the memory an earlier invocation of the module left";
const FORM: &str = "the module is given in binary or quoted form, or is not a core module";
const ARGUMENT: &str = "an argument or result of a vector or reference type";
const EXHAUSTION: &str = "expects the call stack to be exhausted (needs recursion)";
const MODULE_TRAP: &str = "expects a trap when the module is instantiated";
const TRAP_KIND: &str = "expects a trap that has no typed outcome in watsmith";
const NOT_FOUND: &str = "the module or export could not be resolved";
const TYPE_USE: &str = "the function's type is a reference to a non-function type";

/// Every skip reason, in the order the README gives them.
pub(crate) const REASONS: &[&str] = &[
    CALLS_WITH_PARAMS,
    RECURSIVE,
    INDIRECT,
    GLOBAL,
    TABLE,
    MEMORIES,
    EMPTY_MEMORY,
    DATA,
    MAXIMUM,
    STATE,
    IMPORTED,
    NOT_NUMERIC,
    REFERENCE,
    BLOCK_TYPE_USE,
    ARGUMENT,
    FORM,
    EXHAUSTION,
    MODULE_TRAP,
    TRAP_KIND,
    NOT_FOUND,
    TYPE_USE,
];

/// What a function's instructions touch, from the parsed instructions.
#[derive(Debug, Default, Clone, Copy)]
struct Uses {
    memory: bool,
    writes_memory: bool,
    grows_memory: bool,
    global: bool,
    table: bool,
    indirect: bool,
    reference: bool,
    /// A block type names a type of the module: `(block (type $t) ...)`.
    type_use: bool,
}

impl Uses {
    fn of(instructions: &[Instruction<'_>]) -> Self {
        let mut uses = Self::default();
        for instruction in instructions {
            let mut copy = instruction.clone();
            if copy.memarg_mut().is_some() {
                uses.memory = true;
            }
            use Instruction as I;
            match instruction {
                I::i32_store(_)
                | I::i64_store(_)
                | I::f32_store(_)
                | I::f64_store(_)
                | I::i32_store8(_)
                | I::i32_store16(_)
                | I::i64_store8(_)
                | I::i64_store16(_)
                | I::i64_store32(_)
                | I::memory_fill(_)
                | I::memory_copy(_)
                | I::memory_init(_) => {
                    uses.memory = true;
                    uses.writes_memory = true;
                }
                I::memory_grow(_) => {
                    uses.memory = true;
                    uses.writes_memory = true;
                    uses.grows_memory = true;
                }
                I::memory_size(_) | I::data_drop(_) => uses.memory = true,
                I::global_get(_) | I::global_set(_) => uses.global = true,
                I::call_indirect(_) | I::return_call_indirect(_) | I::call_ref(_) => {
                    uses.indirect = true;
                }
                I::table_get(_)
                | I::table_set(_)
                | I::table_size(_)
                | I::table_grow(_)
                | I::table_fill(_)
                | I::table_copy(_)
                | I::table_init(_)
                | I::elem_drop(_) => uses.table = true,
                I::block(ty) | I::loop_(ty) | I::if_(ty) if ty.ty.index.is_some() => {
                    uses.type_use = true;
                }
                I::ref_null(_) | I::ref_is_null | I::ref_func(_) | I::ref_as_non_null => {
                    uses.reference = true;
                }
                _ => {}
            }
        }
        uses
    }
}

/// A function of a module as the harness sees it.
#[derive(Debug)]
struct Function {
    /// `$name` as written in `call $name`.
    id: Option<String>,
    /// The line of its `func`.
    line: usize,
    params: Vec<(Option<String>, Num)>,
    results: Vec<Num>,
    locals: Vec<(Option<String>, Num)>,
    /// The byte range of its instructions in the script.
    body: (usize, usize),
    uses: Uses,
    /// Why it cannot be a body, whatever its module.
    unsupported: Option<&'static str>,
}

/// The single memory of a module, if it has exactly one of its own.
#[derive(Debug, Clone, Copy)]
enum Memory {
    None,
    One { min: u64, max: Option<u64> },
    Unsupported,
}

/// A module of the script, with its functions made bodies.
#[derive(Debug)]
struct Module {
    functions: Vec<Function>,
    bodies: Vec<Result<Arc<str>, &'static str>>,
    exports: HashMap<String, usize>,
    /// Which functions an invocation or assertion names.
    invoked: Vec<bool>,
    /// An invocation has written the memory: later reads see what a fresh instance does not.
    dirty: bool,
}

/// `$name`, quoted when the name has characters an identifier cannot hold.
fn identifier(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-./:<=>?@\\^_`|~".contains(&b));
    if plain {
        format!("${name}")
    } else {
        format!("${name:?}")
    }
}

fn function(
    text: &str,
    func: &wast::core::Func<'_>,
    types: &HashMap<String, usize>,
    fields: &[ModuleField<'_>],
) -> Function {
    let mut f = Function {
        id: func.id.map(|id| identifier(id.name())),
        line: func.span.linecol_in(text).0 + 1,
        params: Vec::new(),
        results: Vec::new(),
        locals: Vec::new(),
        body: (0, 0),
        uses: Uses::default(),
        unsupported: None,
    };
    let signature = match &func.ty.inline {
        Some(inline) => Some(inline),
        None => func.ty.index.as_ref().and_then(|index| {
            let position = match index {
                Index::Num(n, _) => Some(*n as usize),
                Index::Id(id) => types.get(id.name()).copied(),
            }?;
            let ModuleField::Type(ty) = fields
                .iter()
                .filter(|f| matches!(f, ModuleField::Type(_)))
                .nth(position)?
            else {
                return None;
            };
            match &ty.def.kind {
                InnerTypeKind::Func(signature) => Some(signature),
                _ => None,
            }
        }),
    };
    // `(func)` with neither a type use nor parameters or results has the empty signature.
    let empty = wast::core::FunctionType {
        params: Box::new([]),
        results: Box::new([]),
    };
    let signature = match (signature, &func.ty.index) {
        (Some(signature), _) => signature,
        (None, None) => &empty,
        (None, Some(_)) => {
            f.unsupported = Some(TYPE_USE);
            return f;
        }
    };
    let mut numeric = true;
    for (id, _, ty) in signature.params.iter() {
        match Num::of(ty) {
            Some(num) => f.params.push((id.map(|id| identifier(id.name())), num)),
            None => numeric = false,
        }
    }
    for ty in signature.results.iter() {
        match Num::of(ty) {
            Some(num) => f.results.push(num),
            None => numeric = false,
        }
    }
    match &func.kind {
        FuncKind::Import(..) => f.unsupported = Some(IMPORTED),
        FuncKind::Inline { locals, expression } => {
            for local in locals.iter() {
                match Num::of(&local.ty) {
                    Some(num) => f
                        .locals
                        .push((local.id.map(|id| identifier(id.name())), num)),
                    None => numeric = false,
                }
            }
            f.uses = Uses::of(&expression.instrs);
            match text::function_body(text, func.span.offset()) {
                Some(body) => f.body = body,
                None => f.unsupported = Some(NOT_FOUND),
            }
        }
    }
    if !numeric {
        f.unsupported = Some(NOT_NUMERIC);
    }
    f
}

/// The WAT-plus body of function `index`, or why there is none.
fn body(
    text: &str,
    functions: &[Function],
    memory: Memory,
    index: usize,
) -> Result<Arc<str>, &'static str> {
    let f = &functions[index];
    check(f, memory)?;
    let inline = |callee: &str, folded: bool| inline(text, functions, memory, callee, folded, 1);
    let (start, end) = f.body;
    let instructions = text::rewrite(&text[start..end], "$_fn", &inline)?;

    let mut out = String::new();
    let name = |list: &[(Option<String>, Num)], i: usize, prefix: &str| {
        list[i]
            .0
            .clone()
            .unwrap_or_else(|| format!("$_{prefix}{i}"))
    };
    let params: Vec<String> = (0..f.params.len())
        .map(|i| name(&f.params, i, "p"))
        .collect();
    for (name, (_, ty)) in params.iter().zip(&f.params) {
        out.push_str(&format!("(local {name} {})\n", ty.name()));
    }
    for i in 0..f.locals.len() {
        out.push_str(&format!(
            "(local {} {})\n",
            name(&f.locals, i, "l"),
            f.locals[i].1.name()
        ));
    }
    for (i, (_, ty)) in f.params.iter().enumerate() {
        if matches!(ty, Num::F32 | Num::F64) {
            out.push_str(&format!("(local $_a{i} {})\n", ty.bits()));
        }
    }
    for (i, ty) in f.results.iter().enumerate() {
        out.push_str(&format!("(local $_r{i} {})\n", ty.bits()));
    }
    for (i, (name, (_, ty))) in params.iter().zip(&f.params).enumerate() {
        match ty {
            Num::I32 | Num::I64 => out.push_str(&format!("(argv {i} {name})\n")),
            Num::F32 | Num::F64 => out.push_str(&format!(
                "(argv {i} $_a{i}) (local.set {name} ({}.reinterpret_{} (local.get $_a{i})))\n",
                ty.name(),
                ty.bits()
            )),
        }
    }
    if let Memory::One { min, .. } = memory
        && min > 1
        && f.uses.memory
    {
        // The template's memory has one page; grow it to the module's.
        out.push_str(&format!("(drop (memory.grow (i32.const {})))\n", min - 1));
    }
    out.push_str(&format!("(block $_fn{}\n", result_type(&f.results)));
    out.push_str(&instructions);
    out.push_str("\n)\n");
    for (i, ty) in f.results.iter().enumerate().rev() {
        if matches!(ty, Num::F32 | Num::F64) {
            out.push_str(&format!("{}.reinterpret_{} ", ty.bits(), ty.name()));
        }
        out.push_str(&format!("local.set $_r{i}\n"));
    }
    for i in 0..f.results.len() {
        out.push_str(&format!("(resv $_r{i})\n"));
    }
    Ok(out.into())
}

/// ` (result t ...)`, or nothing.
fn result_type(results: &[Num]) -> String {
    if results.is_empty() {
        return String::new();
    }
    let types: Vec<&str> = results.iter().map(|t| t.name()).collect();
    format!(" (result {})", types.join(" "))
}

/// Why a function cannot run as a body in this module, if it cannot.
fn check(f: &Function, memory: Memory) -> Result<(), &'static str> {
    if let Some(reason) = f.unsupported {
        return Err(reason);
    }
    let uses = f.uses;
    if uses.indirect {
        return Err(INDIRECT);
    }
    if uses.global {
        return Err(GLOBAL);
    }
    if uses.table {
        return Err(TABLE);
    }
    if uses.reference {
        return Err(REFERENCE);
    }
    if uses.type_use {
        return Err(BLOCK_TYPE_USE);
    }
    if uses.memory {
        match memory {
            Memory::Unsupported => return Err(MEMORIES),
            Memory::One { min: 0, .. } => return Err(EMPTY_MEMORY),
            Memory::One { max: Some(_), .. } if uses.grows_memory => return Err(MAXIMUM),
            Memory::None | Memory::One { .. } => {}
        }
    }
    Ok(())
}

/// The block that replaces `call callee`: the callee's instructions, if it has no parameters
/// and no locals.
fn inline(
    text: &str,
    functions: &[Function],
    memory: Memory,
    callee: &str,
    folded: bool,
    depth: usize,
) -> Result<String, &'static str> {
    let index = match callee.parse::<usize>() {
        Ok(index) => Some(index),
        Err(_) => functions
            .iter()
            .position(|f| f.id.as_deref() == Some(callee)),
    };
    let f = index.and_then(|i| functions.get(i)).ok_or(NOT_FOUND)?;
    check(f, memory)?;
    if !f.params.is_empty() || !f.locals.is_empty() {
        return Err(CALLS_WITH_PARAMS);
    }
    if depth > 8 {
        return Err(RECURSIVE);
    }
    let label = format!("$_inline{depth}");
    let nested =
        |callee: &str, folded: bool| inline(text, functions, memory, callee, folded, depth + 1);
    let (start, end) = f.body;
    let instructions = text::rewrite(&text[start..end], &label, &nested)?;
    let close = if folded { "" } else { " end" };
    Ok(format!(
        "block {label}{} {instructions}{close}",
        result_type(&f.results)
    ))
}

/// The kinds of the items of one `import` field, one per item.
fn imported<'i, 'a>(imports: &'i wast::core::Imports<'a>) -> Vec<&'i wast::core::ItemKind<'a>> {
    match &imports.items {
        ImportItems::Single { sig, .. } => vec![&sig.kind],
        ImportItems::Group1 { items, .. } => items.iter().map(|item| &item.sig.kind).collect(),
        ImportItems::Group2 { sig, items, .. } => vec![&sig.kind; items.len()],
    }
}

fn module(text: &str, fields: &[ModuleField<'_>]) -> Module {
    let mut types = HashMap::new();
    let mut type_count = 0;
    let mut memories = 0;
    let mut memory = Memory::None;
    let mut data = false;
    for field in fields {
        match field {
            ModuleField::Type(ty) => {
                if let Some(id) = ty.id {
                    types.insert(id.name().to_owned(), type_count);
                }
                type_count += 1;
            }
            ModuleField::Memory(m) => {
                memories += 1;
                memory = match &m.kind {
                    MemoryKind::Normal(ty) if !ty.limits.is64 && memories == 1 => Memory::One {
                        min: ty.limits.min,
                        max: ty.limits.max,
                    },
                    MemoryKind::Inline { .. } => {
                        data = true;
                        Memory::Unsupported
                    }
                    _ => Memory::Unsupported,
                };
            }
            ModuleField::Import(imports) => {
                let imports_memory = imported(imports)
                    .iter()
                    .any(|kind| matches!(kind, wast::core::ItemKind::Memory(_)));
                if imports_memory {
                    memories += 1;
                    memory = Memory::Unsupported;
                }
            }
            ModuleField::Data(_) => data = true,
            _ => {}
        }
    }
    if data {
        memory = Memory::Unsupported;
    }
    let mut functions = Vec::new();
    let mut exports = HashMap::new();
    for field in fields {
        match field {
            ModuleField::Func(func) => {
                for name in &func.exports.names {
                    exports.insert((*name).to_owned(), functions.len());
                }
                functions.push(function(text, func, &types, fields));
            }
            ModuleField::Import(imports) => {
                for kind in imported(imports) {
                    if matches!(kind, wast::core::ItemKind::Func(_)) {
                        functions.push(Function {
                            id: None,
                            line: 0,
                            params: Vec::new(),
                            results: Vec::new(),
                            locals: Vec::new(),
                            body: (0, 0),
                            uses: Uses::default(),
                            unsupported: Some(IMPORTED),
                        });
                    }
                }
            }
            _ => {}
        }
    }
    for field in fields {
        if let ModuleField::Export(export) = field
            && let wast::core::ExportKind::Func = export.kind
        {
            let index = match export.item {
                Index::Num(n, _) => Some(n as usize),
                Index::Id(id) => {
                    let id = identifier(id.name());
                    functions
                        .iter()
                        .position(|f| f.id.as_deref() == Some(id.as_str()))
                }
            };
            if let Some(index) = index {
                exports.insert(export.name.to_owned(), index);
            }
        }
    }
    let bodies = (0..functions.len())
        .map(|i| {
            let result = body(text, &functions, memory, i);
            match (result, data) {
                (Err(_), true) if functions[i].uses.memory => Err(DATA),
                (result, _) => result,
            }
        })
        .collect();
    Module {
        invoked: vec![false; functions.len()],
        functions,
        bodies,
        exports,
        dirty: false,
    }
}

fn argument(arg: &WastArg<'_>) -> Option<Value> {
    let WastArg::Core(core) = arg else {
        return None;
    };
    Some(match core {
        WastArgCore::I32(n) => Value::I32(*n),
        WastArgCore::I64(n) => Value::I64(*n),
        WastArgCore::F32(x) => Value::I32(x.bits as i32),
        WastArgCore::F64(x) => Value::I64(x.bits as i64),
        _ => return None,
    })
}

fn expected(ret: &WastRetCore<'_>) -> Option<Expected> {
    Some(match ret {
        WastRetCore::I32(n) => Expected::I32(*n),
        WastRetCore::I64(n) => Expected::I64(*n),
        WastRetCore::F32(p) => Expected::F32(match p {
            NanPattern::Value(x) => Float::Bits(x.bits),
            NanPattern::CanonicalNan => Float::CanonicalNan,
            NanPattern::ArithmeticNan => Float::ArithmeticNan,
        }),
        WastRetCore::F64(p) => Expected::F64(match p {
            NanPattern::Value(x) => Float::Bits(x.bits),
            NanPattern::CanonicalNan => Float::CanonicalNan,
            NanPattern::ArithmeticNan => Float::ArithmeticNan,
        }),
        WastRetCore::Either(choices) => {
            Expected::Either(choices.iter().map(expected).collect::<Option<_>>()?)
        }
        _ => return None,
    })
}

/// The typed outcome of a spec trap message.
fn trap_kind(message: &str) -> Option<TrapKind> {
    Some(match message {
        "integer divide by zero" => TrapKind::IntegerDivideByZero,
        "integer overflow" => TrapKind::IntegerOverflow,
        "invalid conversion to integer" => TrapKind::InvalidConversion,
        "unreachable" | "unreachable executed" => TrapKind::Unreachable,
        "out of bounds memory access" => TrapKind::MemoryOutOfBounds,
        _ => return None,
    })
}

/// Converts one script.
pub(crate) fn script(file: &'static str, text: &str) -> Script {
    // `names.wast` exports names with bidirectional-text characters, on purpose.
    let mut lexer = wast::lexer::Lexer::new(text);
    lexer.allow_confusing_unicode(true);
    let buffer = ParseBuffer::new_with_lexer(lexer).unwrap_or_else(|e| panic!("{file}: {e}"));
    let wast: Wast<'_> = parser::parse(&buffer).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut out = Script::default();
    // The current module (`None`: one the harness cannot use), and the named ones.
    let mut current: Option<usize> = None;
    let mut modules: Vec<Module> = Vec::new();
    let mut named: HashMap<String, Option<usize>> = HashMap::new();
    for directive in wast.directives {
        let line = directive.span().linecol_in(text).0 + 1;
        let (invoke, expect) = match directive {
            WastDirective::Module(QuoteWat::Wat(Wat::Module(m))) => {
                current = match &m.kind {
                    ModuleKind::Text(fields) => {
                        modules.push(module(text, fields));
                        Some(modules.len() - 1)
                    }
                    ModuleKind::Binary(_) => None,
                };
                if let Some(id) = m.id {
                    named.insert(id.name().to_owned(), current);
                }
                continue;
            }
            WastDirective::Module(_)
            | WastDirective::ModuleDefinition(_)
            | WastDirective::ModuleInstance { .. } => {
                current = None;
                continue;
            }
            WastDirective::Register { .. } => continue,
            WastDirective::Invoke(invoke) => (invoke, None),
            WastDirective::AssertReturn {
                exec: WastExecute::Invoke(invoke),
                results,
                ..
            } => {
                let results: Option<Vec<Expected>> = results
                    .iter()
                    .map(|r| match r {
                        WastRet::Core(core) => expected(core),
                        _ => None,
                    })
                    .collect();
                match results {
                    Some(results) => (invoke, Some(Ok(Expect::Return(results)))),
                    None => (invoke, Some(Err(ARGUMENT))),
                }
            }
            WastDirective::AssertTrap {
                exec: WastExecute::Invoke(invoke),
                message,
                ..
            } => match trap_kind(message) {
                Some(kind) => (invoke, Some(Ok(Expect::Trap(kind)))),
                None => (invoke, Some(Err(TRAP_KIND))),
            },
            WastDirective::AssertExhaustion { call, .. } => (call, Some(Err(EXHAUSTION))),
            WastDirective::AssertReturn { .. } | WastDirective::AssertTrap { .. } => {
                out.skipped.entry(MODULE_TRAP).or_default().push(line);
                continue;
            }
            _ => {
                out.module_assertions += 1;
                continue;
            }
        };
        let target = match invoke.module {
            Some(id) => named.get(id.name()).copied().flatten(),
            None => current,
        };
        let skip = |out: &mut Script, reason| {
            if expect.is_some() {
                out.skipped.entry(reason).or_default().push(line);
            }
        };
        let Some(target) = target else {
            skip(&mut out, FORM);
            continue;
        };
        let m = &mut modules[target];
        let Some(&index) = m.exports.get(invoke.name) else {
            skip(&mut out, NOT_FOUND);
            continue;
        };
        m.invoked[index] = true;
        let uses = m.functions[index].uses;
        let stale = m.dirty && uses.memory;
        m.dirty |= uses.writes_memory;
        let body = m.bodies[index].clone();
        let args: Option<Vec<Value>> = invoke.args.iter().map(argument).collect();
        let expect = match expect {
            None => continue,
            Some(Err(reason)) => {
                skip(&mut out, reason);
                continue;
            }
            Some(Ok(expect)) => expect,
        };
        let (body, args) = match (body, args) {
            (Err(reason), _) => {
                out.skipped.entry(reason).or_default().push(line);
                continue;
            }
            (_, None) => {
                out.skipped.entry(ARGUMENT).or_default().push(line);
                continue;
            }
            (Ok(_), _) if stale => {
                out.skipped.entry(STATE).or_default().push(line);
                continue;
            }
            (Ok(body), Some(args)) => (body, args),
        };
        out.cases.push(Case {
            file,
            line,
            function: invoke.name.to_owned(),
            body,
            args,
            expect,
        });
    }
    for m in &modules {
        for (i, body) in m.bodies.iter().enumerate() {
            if let (false, Ok(body)) = (m.invoked[i], body) {
                out.uninvoked.push((m.functions[i].line, body.clone()));
            }
        }
    }
    out
}

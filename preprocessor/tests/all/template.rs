//! A stand-in for the engine's template assembler, used until the engine crate exists: wraps an
//! expansion into a module exactly as `../shared/DIALECT.md` describes, with stand-in imports
//! for the few non-core host functions the fixtures call, and validates it with `wat` and
//! `wasmparser`.

use watsmith_preprocessor::Expanded;
use watsmith_preprocessor::abi::MACRO_HOST_FUNCTIONS;

/// Stand-in signatures of non-core host functions the fixtures call. The real ones are defined
/// by the engine's capabilities; these only need to be plausible for validation.
const STAND_IN_IMPORTS: &[(&str, &str)] = &[
    ("$core.log", "(param i32)"),
    ("$str.len", "(param i32) (result i32)"),
    ("$str.concat", "(param i32 i32) (result i32 i32)"),
    ("$str.to_i64", "(param i32) (result i64 i32)"),
    ("$kv.get", "(param i32) (result i32 i32)"),
    ("$kv.set", "(param i32 i32) (result i32)"),
    ("$math.pow", "(param f64 f64) (result f64)"),
    ("$http.get", "(param i32) (result i32 i32)"),
];

/// The module text: imports, memory, data, and the entry function around the body.
pub(crate) fn assemble(expanded: &Expanded) -> Result<String, String> {
    let mut imports = Vec::new();
    for call in &expanded.calls {
        let (module, name) = call
            .capability_and_function()
            .ok_or_else(|| format!("call of `{}` is not of the form $cap.fn", call.name))?;
        let signature = match MACRO_HOST_FUNCTIONS
            .iter()
            .find(|f| f.wat_name() == call.name)
        {
            Some(function) => {
                let import = function.import_wat();
                import[import.find("(param").unwrap_or(import.len())..import.len() - 2].to_owned()
            }
            None => STAND_IN_IMPORTS
                .iter()
                .find(|(n, _)| *n == call.name)
                .map(|(_, s)| (*s).to_owned())
                .ok_or_else(|| format!("no stand-in signature for `{}`", call.name))?,
        };
        imports.push(format!(
            "  (import \"{module}\" \"{name}\" (func {} {signature}))",
            call.name
        ));
    }
    Ok(format!(
        "(module\n{}\n  (memory (export \"memory\") 1)\n{}\n  (func $run (export \"run\") (result i32)\n{}\n(block $body\n{}\n)\n(i32.const 0)))\n",
        imports.join("\n"),
        expanded.data_wat(),
        expanded.locals_wat(),
        expanded.body
    ))
}

/// Assembles and validates; returns the error text if either fails.
pub(crate) fn validate(expanded: &Expanded) -> Result<(), String> {
    let module = assemble(expanded)?;
    let binary = wat::parse_str(&module).map_err(|e| format!("wat: {e}\n{module}"))?;
    wasmparser::Validator::new()
        .validate_all(&binary)
        .map_err(|e| format!("validation: {e}\n{module}"))?;
    Ok(())
}

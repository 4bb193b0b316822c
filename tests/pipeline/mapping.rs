//! Errors in the module the engine's template assembles are located at the model's own line
//! through the preprocessor's source map.

use watsmith_engine::{Registry, assemble};
use watsmith_preprocessor::preprocess;

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}

/// A `wat` error inside the module is reported at a line and column of the assembled text; the
/// body's part of it maps back to the model's own line, macro included.
#[test]
fn a_wat_error_inside_an_expansion_maps_back_to_the_macro_line() {
    // `$kv.nope` is left out of the imports the template writes, so `wast` rejects the call
    // inside the expansion of `check`.
    let source = "(local $v str)\n(local $k str)\n(argv 0 $k)\n(check $v (call $kv.nope (local.get $k)))\n(resv $v)\n";
    let expanded = preprocess(source).expect("the preprocessor does not know the capabilities");
    let expanded = watsmith_preprocessor::Expanded {
        calls: expanded
            .calls
            .iter()
            .filter(|c| c.name != "$kv.nope")
            .cloned()
            .collect(),
        ..expanded
    };
    let registry = Registry::builtin();
    let functions: Vec<_> = expanded
        .calls
        .iter()
        .map(|call| {
            let (capability, function) = call.capability_and_function().expect("$cap.fn");
            registry
                .function(capability, function)
                .expect("a real function")
        })
        .collect();
    let module = assemble(&expanded, &functions).text;
    let buffer = wast::parser::ParseBuffer::new(&module).expect("lexes");
    let mut wat = wast::parser::parse::<wast::Wat<'_>>(&buffer).expect("parses");
    let error = wat.encode().expect_err("unknown function");
    let error_offset = error.span().offset();
    let body_start = module.find("(block $body\n").expect("template") + "(block $body\n".len();
    assert!(error_offset >= body_start, "the error lies in the body");
    let location = expanded.locate(error_offset - body_start).expect("mapped");
    let (model_line, model_column) = line_col(source, location.span.start);
    assert_eq!(
        (model_line, model_column),
        (4, 17),
        "points at `$kv.nope` as the model wrote it"
    );
}

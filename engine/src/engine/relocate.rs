//! Errors in the assembled module, relocated to the body as the model wrote it.

use watsmith_preprocessor::{Diagnostic, Expanded};

use crate::template::{self, Assembled};

/// Encodes the module text with `wast`, mapping a text error back to the body.
pub(super) fn encode(
    body: &str,
    expanded: &Expanded,
    assembled: &Assembled,
) -> Result<Vec<u8>, Vec<Diagnostic>> {
    let fail = |error: wast::Error| {
        vec![template::diagnostic_at(
            body,
            expanded,
            assembled,
            Some(error.span().offset()),
            &error.message(),
        )]
    };
    let buffer = wast::parser::ParseBuffer::new(&assembled.text).map_err(fail)?;
    let mut wat = wast::parser::parse::<wast::Wat<'_>>(&buffer).map_err(fail)?;
    wat.encode().map_err(fail)
}

/// Locates a validation error: finds the operator at the error's binary offset and the text span
/// of that instruction (re-parsing with instruction spans on this rare path only).
pub(super) fn validation_diagnostic(
    body: &str,
    expanded: &Expanded,
    assembled: &Assembled,
    binary: &[u8],
    message: &str,
) -> Diagnostic {
    let offset = wasmtime::wasmparser::Validator::new_with_features(
        wasmtime::wasmparser::WasmFeatures::all(),
    )
    .validate_all(binary)
    .err()
    .map(|e| e.offset());
    let text_offset =
        offset.and_then(|offset| instruction_text_offset(&assembled.text, binary, offset));
    template::diagnostic_at(body, expanded, assembled, text_offset, message)
}

/// The text offset of the instruction at binary `offset` of the (single) function body.
pub(super) fn instruction_text_offset(text: &str, binary: &[u8], offset: usize) -> Option<usize> {
    use wasmtime::wasmparser::{Parser, Payload};
    let mut operator_offsets = Vec::new();
    for payload in Parser::new(0).parse_all(binary) {
        if let Ok(Payload::CodeSectionEntry(function)) = payload {
            let mut reader = function.get_operators_reader().ok()?;
            while !reader.eof() {
                let (_, at) = reader.read_with_offset().ok()?;
                operator_offsets.push(at);
            }
        }
    }
    let index = operator_offsets.iter().rposition(|&at| at <= offset)?;
    let mut buffer = wast::parser::ParseBuffer::new(text).ok()?;
    buffer.track_instr_spans(true);
    let wat = wast::parser::parse::<wast::Wat<'_>>(&buffer).ok()?;
    let wast::Wat::Module(module) = wat else {
        return None;
    };
    let wast::core::ModuleKind::Text(fields) = module.kind else {
        return None;
    };
    fields.iter().find_map(|field| match field {
        wast::core::ModuleField::Func(func) => match &func.kind {
            wast::core::FuncKind::Inline { expression, .. } => {
                let spans = expression.instr_spans.as_ref()?;
                spans
                    .get(index.min(spans.len().saturating_sub(1)))
                    .map(|span| span.offset())
            }
            wast::core::FuncKind::Import(..) => None,
        },
        _ => None,
    })
}

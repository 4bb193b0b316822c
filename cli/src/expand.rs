//! `watsmith expand`: print what the preprocessor makes of a body.

use std::io::Read;
use std::path::Path;

use anyhow::Context as _;

use crate::Exit;

pub(crate) fn run(file: &Path, json: bool) -> Exit {
    let source = match read_source(file) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("{} {error:#}", crate::color::error_label());
            return Exit::Input;
        }
    };
    let result = watsmith_preprocessor::preprocess(&source);
    if json {
        let report = watsmith_runtime::ExpandReport::of(result.clone());
        let json = serde_json::to_string_pretty(&report).expect("the report serialises");
        crate::emit(&format!("{json}\n"));
    } else {
        match &result {
            Ok(expanded) => {
                let rendered = expanded.render();
                // Warnings go to stderr with the diagnostics; stdout holds the expansion.
                let (expansion, warnings) = match rendered.split_once(";; warnings\n") {
                    Some((expansion, warnings)) => (expansion, Some(warnings)),
                    None => (rendered.as_str(), None),
                };
                crate::emit(expansion);
                if let Some(warnings) = warnings {
                    eprint!("{warnings}");
                }
            }
            Err(diagnostics) => eprint!("{}", diagnostics.render_with(crate::color::palette())),
        }
    }
    if result.is_ok() {
        Exit::Ok
    } else {
        Exit::Invalid
    }
}

/// `--module`: the module the engine compiles, with the imports of the functions it calls.
pub(crate) async fn module(file: &Path, env: &watsmith_runtime::Environment) -> Exit {
    let source = match read_source(file) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("{} {error:#}", crate::color::error_label());
            return Exit::Input;
        }
    };
    let runtime = match crate::args::Flags::default()
        .start(env, watsmith_runtime::Prewarm::OnDemand)
        .await
    {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    match runtime.assemble(&source) {
        Ok(text) => {
            crate::emit(&text);
            Exit::Ok
        }
        Err(diagnostics) => {
            eprint!(
                "{}",
                watsmith_preprocessor::Diagnostics::from(diagnostics)
                    .render_with(crate::color::palette())
            );
            Exit::Invalid
        }
    }
}

/// The body in `file` (`-`: standard input), read only up to the preprocessor's limit: a longer
/// input is refused as soon as the limit is passed, without reading the rest or echoing it.
pub(crate) fn read_source(file: &Path) -> anyhow::Result<String> {
    let limit = watsmith_preprocessor::limits::MAX_BODY_BYTES;
    let (name, reader): (String, Box<dyn Read>) = if file == Path::new("-") {
        (
            "standard input".to_owned(),
            Box::new(std::io::stdin().lock()),
        )
    } else {
        let opened = std::fs::File::open(file)
            .with_context(|| format!("cannot read `{}`", file.display()))?;
        (format!("`{}`", file.display()), Box::new(opened))
    };
    let mut bytes = Vec::new();
    reader
        .take(limit as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {name}"))?;
    if bytes.len() > limit {
        anyhow::bail!(
            "{name} holds more than {limit} bytes, the limit of a body; write a shorter program (move data into arguments or files)"
        );
    }
    String::from_utf8(bytes).map_err(|error| {
        anyhow::anyhow!(
            "{name} is not UTF-8 text (at byte {})",
            error.utf8_error().valid_up_to()
        )
    })
}

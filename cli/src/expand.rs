//! `watsmith expand`: print what the preprocessor makes of a body.

use std::io::Read as _;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;
use watsmith_preprocessor::{Diagnostic, Expanded};

use crate::Exit;

/// The `--json` form of an expansion.
#[derive(Serialize)]
struct Report<'a> {
    status: &'static str,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    expanded: Option<&'a Expanded>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    diagnostics: Vec<Diagnostic>,
}

pub(crate) fn run(file: &Path, json: bool) -> Exit {
    let source = match read_source(file) {
        Ok(source) => source,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Exit::Input;
        }
    };
    let result = watsmith_preprocessor::preprocess(&source);
    if json {
        let report = match &result {
            Ok(expanded) => Report {
                status: "ok",
                expanded: Some(expanded),
                diagnostics: Vec::new(),
            },
            Err(diagnostics) => Report {
                status: "invalid",
                expanded: None,
                diagnostics: diagnostics.as_slice().to_vec(),
            },
        };
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
            Err(diagnostics) => eprint!("{}", diagnostics.render()),
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
            eprintln!("error: {error:#}");
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
                watsmith_preprocessor::Diagnostics::from(diagnostics).render()
            );
            Exit::Invalid
        }
    }
}

pub(crate) fn read_source(file: &Path) -> anyhow::Result<String> {
    if file == Path::new("-") {
        let mut source = String::new();
        std::io::stdin()
            .read_to_string(&mut source)
            .context("cannot read standard input")?;
        return Ok(source);
    }
    std::fs::read_to_string(file).with_context(|| format!("cannot read `{}`", file.display()))
}

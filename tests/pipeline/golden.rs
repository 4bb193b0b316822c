//! Every accepted golden body of the preprocessor (`preprocessor/tests/fixtures/ok/*.wat`) is
//! assembled by the engine's template, with the real signatures of the host functions it
//! calls, and compiled by Wasmtime: an expansion that only looks right fails here.

use std::path::{Path, PathBuf};

use watsmith_engine::{Engine, EngineConfig};

fn ok_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../preprocessor/tests/fixtures/ok");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_ok_golden_assembles_and_compiles_in_the_real_template() {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    let files = ok_fixtures();
    assert!(files.len() >= 40, "only {} ok fixtures", files.len());
    let failures: Vec<String> = files
        .iter()
        .filter_map(|file| {
            let body = std::fs::read_to_string(file).expect("fixture");
            let outcome = engine.prepare(&body).err()?;
            let diagnostics: Vec<String> = outcome
                .diagnostics
                .iter()
                .map(|d| format!("line {}: {}", d.line, d.message))
                .collect();
            Some(format!("{}: {}", file.display(), diagnostics.join("; ")))
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(engine.cache_stats().len, files.len(), "each compiled once");
}

//! The catalog walk: every program under `catalog/programs/` parses strictly, has a unique name,
//! documents its parameters, results and examples, compiles, and gives its examples' results.

use std::collections::BTreeSet;
use std::path::Path;

use watsmith_catalog::{Program, Type};
use watsmith_engine::{Engine, EngineConfig};

fn programs() -> Vec<Program> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("catalog/programs exists")
        .map(|entry| entry.expect("entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wat"))
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|path| Program::load(path).unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

#[test]
fn every_program_is_documented_and_uniquely_named() {
    let programs = programs();
    assert!(programs.len() >= 36, "{} programs", programs.len());
    let names: BTreeSet<&str> = programs.iter().map(|p| p.front.name.as_str()).collect();
    assert_eq!(names.len(), programs.len(), "a name is used twice");
    for program in &programs {
        let front = &program.front;
        assert!(!front.description.is_empty(), "{}", front.name);
        assert!(!front.results.is_empty(), "{}: no results", front.name);
        assert!(
            front.examples.len() >= 2,
            "{}: fewer than 2 examples",
            front.name
        );
        assert!(
            program.body.contains(";; # checked:"),
            "{}: no example checked against an independent computation",
            front.name
        );
    }
}

#[test]
fn every_example_gives_its_results() {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    let failures: Vec<String> = programs()
        .iter()
        .flat_map(|program| program.check_examples(&engine))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_wrong_example_is_reported_with_the_difference() {
    let engine = Engine::new(&EngineConfig::default()).expect("engine");
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/fib.wat");
    let text = std::fs::read_to_string(&path).expect("fib").replacen(
        "results = [55]",
        "results = [56]",
        1,
    );
    let program = Program::parse(&path, text).expect("parses");
    let failures = program.check_examples(&engine);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("expected [I64(56)], got [I64(55)]"),
        "{failures:?}"
    );
}

#[test]
fn front_matter_errors_name_the_file_and_line() {
    let path = Path::new("catalog/programs/demo.wat");
    let unknown_key =
        ";; ---\n;; name = \"demo\"\n;; description = \"d\"\n;; colour = \"red\"\n;; ---\nnop\n";
    let error = Program::parse(path, unknown_key.to_owned()).expect_err("unknown key");
    assert_eq!(error.line, 4, "{error}");
    assert!(
        error
            .to_string()
            .starts_with("catalog/programs/demo.wat:4: "),
        "{error}"
    );
    assert!(error.message.contains("colour"), "{error}");

    let wrong_name = ";; ---\n;; name = \"other\"\n;; description = \"d\"\n;; ---\nnop\n";
    let error = Program::parse(path, wrong_name.to_owned()).expect_err("name");
    assert!(
        error.message.contains("differs from the file name"),
        "{error}"
    );

    let unclosed = ";; ---\n;; name = \"demo\"\n";
    assert!(Program::parse(path, unclosed.to_owned()).is_err());
    let no_front = "nop\n";
    assert_eq!(
        Program::parse(path, no_front.to_owned())
            .expect_err("none")
            .line,
        1
    );

    let bad_type = ";; ---\n;; name = \"demo\"\n;; description = \"d\"\n;;\n;; [[params]]\n;; name = \"n\"\n;; type = \"u64\"\n;; ---\nnop\n";
    let error = Program::parse(path, bad_type.to_owned()).expect_err("type");
    assert_eq!(error.line, 7, "{error}");
}

#[test]
fn examples_are_typed_by_the_declared_parameters() {
    let path = Path::new("demo.wat");
    let text = ";; ---\n;; name = \"demo\"\n;; description = \"d\"\n;;\n;; [[params]]\n;; name = \"x\"\n;; type = \"f64\"\n;;\n;; [[results]]\n;; name = \"y\"\n;; type = \"f64\"\n;;\n;; [[examples]]\n;; args = [2]\n;; results = [2.0]\n;;\n;; [[examples]]\n;; args = [\"two\"]\n;; results = [2.0]\n;; ---\nnop\n";
    let program = Program::parse(path, text.to_owned()).expect("parses");
    let front = &program.front;
    assert_eq!(front.params[0].ty, Type::F64);
    assert_eq!(
        front.examples[0].args(&front.params),
        Ok(vec![watsmith_engine::Value::F64(2.0)])
    );
    assert!(front.examples[1].args(&front.params).is_err());
    let close = [watsmith_engine::Value::F64(2.0 + 1e-12)];
    assert_eq!(front.examples[0].check(&front.results, &close), Ok(()));
    let far = [watsmith_engine::Value::F64(2.1)];
    assert!(front.examples[0].check(&front.results, &far).is_err());
}

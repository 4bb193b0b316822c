//! The catalog walk: every program under `catalog/programs/` parses strictly, has a unique name,
//! documents its parameters, results and examples, compiles, and gives its examples' results.

use std::collections::BTreeSet;
use std::path::Path;

use watsmith_catalog::{Checker, Program, Type};
use watsmith_engine::EngineConfig;

fn checker() -> Checker {
    super::install_tls();
    Checker::new(&EngineConfig::default()).expect("checker")
}

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
    assert!(programs.len() >= 40, "{} programs", programs.len());
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
    let checker = checker();
    let failures: Vec<String> = programs()
        .iter()
        .flat_map(|program| checker.check(program))
        .collect();
    assert!(failures.is_empty(), "{failures:#?}");
}

#[test]
fn a_wrong_example_is_reported_with_the_difference() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/fib.wat");
    let text = std::fs::read_to_string(&path).expect("fib").replacen(
        "results = [55]",
        "results = [56]",
        1,
    );
    let program = Program::parse(&path, text).expect("parses");
    let failures = checker().check(&program);
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("expected [56], got [55]"),
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

const HEADER: &str = ";; ---\n;; name = \"demo\"\n;; description = \"d\"\n;; capabilities = [\"http\"]\n;;\n;; [[params]]\n;; name = \"url\"\n;; type = \"str\"\n;;\n;; [[results]]\n;; name = \"body\"\n;; type = \"str\"\n;;\n";
const GET: &str = "(local $url str) (local $body str) (argv 0 $url)\n(check $body (call $http.get (local.get $url)))\n(resv $body)\n";

fn demo(front: &str) -> Result<Program, watsmith_catalog::CatalogError> {
    Program::parse(
        Path::new("demo.wat"),
        format!("{HEADER}{front};; ---\n{GET}"),
    )
}

#[test]
fn fixture_paths_are_checked_where_they_are_written() {
    let error = demo(";; [fixture.files]\n;; \"../outside.txt\" = \"x\"\n").expect_err("escapes");
    assert_eq!(error.line, 14, "{error}");
    assert!(error.message.contains("without `..`"), "{error}");
    let error =
        demo(";; [fixture]\n;; files = { \"/etc/passwd\" = \"x\" }\n").expect_err("absolute");
    assert!(error.message.contains("must be relative"), "{error}");
    let error = demo(";; [fixture.http]\n;; \"no-slash\" = \"x\"\n").expect_err("http path");
    assert!(error.message.contains("must start with `/`"), "{error}");
    let error = demo(";; [fixture]\n;; smtp = {}\n").expect_err("unknown key");
    assert_eq!(error.line, 15, "{error}");
    let error =
        demo(";; [[examples]]\n;; args = [\"x\"]\n;; results = [\"y\"]\n;; error = \"ENOENT\"\n")
            .expect_err("both");
    assert!(error.message.contains("has no results"), "{error}");
}

#[test]
fn examples_run_against_their_fixture_and_nothing_else() {
    let checker = checker();
    let served = demo(
        ";; [fixture.http]\n;; \"/a.txt\" = \"A\"\n;;\n\
         ;; [[examples]]\n;; args = [\"{server}/a.txt\"]\n;; results = [\"A\"]\n;;\n\
         ;; [[examples]]\n;; args = [\"{server}/b.txt\"]\n;; error = \"EREMOTE\"\n;;\n\
         ;; [[examples]]\n;; args = [\"{server}/a.txt\"]\n;; error = \"ENOENT\"\n;;\n\
         ;; [[examples]]\n;; args = [\"http://127.0.0.1:9/a.txt\"]\n;; results = [\"A\"]\n",
    )
    .expect("parses");
    let failures = checker.check(&served);
    assert_eq!(failures.len(), 2, "{failures:#?}");
    assert!(
        failures[0].starts_with(
            "demo: example 3: expected the run to end with ENOENT, the run ended `ok`"
        ),
        "{failures:#?}"
    );
    // The run's allowlist is the fixture's server: another loopback port is refused.
    assert!(
        failures[1].starts_with("demo: example 4: the run ended `error` (EACCESS)"),
        "{failures:#?}"
    );
    // The server's paths are the checked program's: another program's fixture is gone.
    let other = demo(";; [[examples]]\n;; args = [\"{server}/a.txt\"]\n;; error = \"EREMOTE\"\n")
        .expect("parses");
    assert_eq!(checker.check(&other), Vec::<String>::new());
}

#[test]
fn every_example_sees_a_fresh_world() {
    let checker = checker();
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("programs/kv_set.wat");
    let kv_set = Program::load(&path).expect("kv_set");
    // Twice: the first check's kv_set("colour", "blue") is not seen by the second, whose
    // example 1 expects "red" again.
    assert_eq!(checker.check(&kv_set), Vec::<String>::new());
    assert_eq!(checker.check(&kv_set), Vec::<String>::new());
}

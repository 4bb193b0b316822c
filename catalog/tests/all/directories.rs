//! The built-in catalog and user directories: broken programs are reported with their file and
//! line while the rest load, and a user program may not take a built-in name unless allowed.

use watsmith_catalog::Catalog;

const DOUBLE: &str = ";; ---
;; name = \"double\"
;; description = \"twice the argument\"
;;
;; [[params]]
;; name = \"n\"
;; type = \"i64\"
;;
;; [[results]]
;; name = \"twice\"
;; type = \"i64\"
;; ---
(local $n i64) (argv 0 $n) (local.set $n (i64.add (local.get $n) (local.get $n))) (resv $n)
";

#[test]
fn the_builtin_catalog_loads_without_problems() {
    let catalog = Catalog::builtin();
    assert!(catalog.problems().is_empty(), "{:?}", catalog.problems());
    assert!(catalog.programs().len() >= 36);
    assert!(catalog.get("fib").is_some());
}

#[test]
fn a_user_directory_adds_programs_and_reports_broken_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("double.wat"), DOUBLE).expect("write");
    std::fs::write(
        dir.path().join("broken.wat"),
        ";; ---\n;; name = \"broken\"\n;; descripton = \"typo\"\n;; ---\nnop\n",
    )
    .expect("write");
    let mut catalog = Catalog::builtin();
    catalog.add_dir(dir.path(), false).expect("readable");
    assert!(catalog.get("double").is_some(), "the good program loads");
    let problems = catalog.problems();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].path.ends_with("broken.wat"));
    assert_eq!(problems[0].line, 3);
    assert!(
        problems[0].message.contains("descripton"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_user_program_may_shadow_a_builtin_only_when_allowed() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("fib.wat"),
        DOUBLE.replace("\"double\"", "\"fib\""),
    )
    .expect("write");
    let mut refused = Catalog::builtin();
    refused.add_dir(dir.path(), false).expect("readable");
    assert!(
        refused.problems()[0]
            .message
            .contains("`fib` is already defined by catalog/programs/fib.wat")
    );
    assert!(
        refused
            .get("fib")
            .is_some_and(|p| p.front.description.starts_with("The")),
        "the built-in fib stays"
    );
    let mut allowed = Catalog::builtin();
    allowed.add_dir(dir.path(), true).expect("readable");
    assert!(allowed.problems().is_empty());
    assert_eq!(
        allowed.get("fib").map(|p| p.front.description.as_str()),
        Some("twice the argument")
    );
    assert!(
        Catalog::builtin()
            .add_dir(&dir.path().join("missing"), false)
            .is_err()
    );
}

#[test]
fn prewarming_compiles_every_program_once_keeps_them_and_locates_one_that_does_not() {
    use std::sync::Arc;

    use watsmith_catalog::Prepared;
    use watsmith_engine::{Engine, EngineConfig};

    let engine = Arc::new(Engine::new(&EngineConfig::default()).expect("engine"));
    let catalog = Arc::new(Catalog::builtin());
    let prepared = Prepared::new(Arc::clone(&catalog), Arc::clone(&engine));
    assert_eq!(prepared.warm(), 0);
    assert!(prepared.prewarm().is_empty());
    // Every program, `ai_complete` too: the model is the grant's, not the engine's.
    assert_eq!(prepared.warm(), catalog.programs().len());
    let compiled = engine.cache_stats().misses;
    assert_eq!(compiled as usize, catalog.programs().len());
    // A call takes the pre-linked program itself: no lookup of the body, nothing compiled.
    let fib = catalog.get("fib").expect("fib");
    let first = prepared.program(fib).expect("warm");
    let again = prepared.program(fib).expect("warm");
    assert!(Arc::ptr_eq(&first, &again));
    let stats = engine.cache_stats();
    assert_eq!((stats.hits, stats.misses), (0, compiled));
    // A second prewarm has nothing left to do.
    assert!(prepared.prewarm().is_empty());
    assert_eq!(engine.cache_stats().misses, compiled);

    let dir = tempfile::tempdir().expect("temp dir");
    let bad = DOUBLE.replace("(resv $n)", "(resv $m)");
    std::fs::write(dir.path().join("double.wat"), bad).expect("write");
    let user = Prepared::new(
        Arc::new(Catalog::from_dir(dir.path()).expect("readable")),
        engine,
    );
    let problems = user.prewarm();
    assert_eq!(problems.len(), 1);
    assert_eq!(problems[0].line, 13, "{}", problems[0]);
    assert!(problems[0].message.contains("$m"), "{}", problems[0]);
}

#[test]
fn a_cold_program_is_prepared_on_its_first_call_and_kept() {
    use std::sync::Arc;

    use watsmith_catalog::Prepared;
    use watsmith_engine::{Engine, EngineConfig};

    let engine = Arc::new(Engine::new(&EngineConfig::default()).expect("engine"));
    let catalog = Arc::new(Catalog::builtin());
    let prepared = Prepared::new(Arc::clone(&catalog), Arc::clone(&engine));
    let gcd = catalog.get("gcd").expect("gcd");
    assert!(prepared.get(gcd).is_none());
    prepared.program(gcd).expect("compiles");
    assert_eq!(prepared.warm(), 1, "only the program called");
    assert!(prepared.get(gcd).is_some());
    assert_eq!(engine.cache_stats().misses, 1);
}

//! One engine shared by many runs on several threads: no run sees another's memory or results,
//! and the cache compiles each body once.

use watsmith_engine::{
    CacheState, Compiler, Engine, EngineConfig, Policy, Status, StatusCode, Value,
};

use super::{engine, exec};

#[test]
fn runs_on_many_threads_are_isolated() {
    let engine = engine();
    // Each run stores its argument in memory, spins, and reads it back: a shared memory would
    // show another run's value.
    let body = "(local $n i64) (local $i i32) (argv 0 $n)
        (i64.store (i32.const 1024) (local.get $n))
        (loop $spin (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $spin (i32.lt_u (local.get $i) (i32.const 20000))))
        (local.set $n (i64.load (i32.const 1024)))
        (resv $n)";
    std::thread::scope(|scope| {
        for thread in 0..4i64 {
            let engine = &engine;
            scope.spawn(move || {
                for run in 0..25i64 {
                    let mine = thread * 1000 + run;
                    let outcome = exec(engine, body, vec![Value::I64(mine)]);
                    assert_eq!(outcome.status, Status::Ok);
                    assert_eq!(outcome.results, [Value::I64(mine)]);
                }
            });
        }
    });
    let stats = engine.cache_stats();
    assert_eq!(stats.hits + stats.misses, 100);
    assert!(stats.len == 1, "one body, one compiled program");
}

#[test]
fn the_second_run_of_a_body_is_a_cache_hit() {
    let engine = engine();
    let body = "(local $n i64) (argv 0 $n) (resv $n)";
    assert_eq!(
        exec(&engine, body, vec![Value::I64(1)]).cache,
        Some(CacheState::Miss)
    );
    let again = exec(&engine, body, vec![Value::I64(2)]);
    assert_eq!(again.cache, Some(CacheState::Hit));
    assert_eq!(again.results, [Value::I64(2)]);
}

#[test]
fn the_disk_cache_serves_a_new_engine_and_never_another_configuration() {
    let directory = private_dir();
    let config = EngineConfig {
        disk_cache: Some(directory.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let body = "(local $n i64) (argv 0 $n) (resv $n)";
    let run = |config: &EngineConfig| {
        let engine = Engine::new(config).expect("engine");
        let outcome = crate::exec(&engine, body, vec![Value::I64(5)]);
        assert_eq!(outcome.results, [Value::I64(5)], "{outcome:#?}");
        engine.cache_stats()
    };
    let first = run(&config);
    assert_eq!((first.disk_hits, first.disk_misses), (0, 1));
    assert_eq!(first.disk_index_hits, 0);
    let second = run(&config);
    assert_eq!((second.disk_hits, second.disk_misses), (1, 0));
    // The body was found in the index (no preprocessing), and its binary in Wasmtime's cache.
    assert_eq!(second.disk_index_hits, 1);
    // Another compiler: the key differs, so the artifact of the first is not loaded.
    let winch = run(&EngineConfig {
        compiler: Compiler::Winch,
        ..config.clone()
    });
    assert_eq!((winch.disk_hits, winch.disk_misses), (0, 1));
}

#[test]
fn an_unusable_disk_cache_directory_is_an_engine_error() {
    let file = tempfile::NamedTempFile::new().expect("temp file");
    let error = Engine::new(&EngineConfig {
        disk_cache: Some(file.path().join("below-a-file")),
        ..EngineConfig::default()
    })
    .expect_err("a path below a file cannot be a directory");
    assert!(error.to_string().contains("module cache"), "{error}");
}

/// A temporary directory only its owner may use, as a disk cache must be.
fn private_dir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt as _;
    let directory = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(directory.path(), std::fs::Permissions::from_mode(0o700))
        .expect("chmod");
    directory
}

/// The files of the body index under a disk cache directory.
fn index_entries(directory: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(directory.join("programs"))
        .map(|entries| entries.flatten().map(|e| e.path()).collect())
        .unwrap_or_default()
}

/// The standard policy and `kv` in a store of its own.
fn kv_policy() -> watsmith_engine::Policy {
    let store: std::sync::Arc<dyn watsmith_engine::KvStore> =
        std::sync::Arc::new(watsmith_engine::MemoryKv::new());
    watsmith_engine::Policy::standard().grant(watsmith_engine::KvGrant::new(store, "default"))
}

#[test]
fn the_body_index_trusts_nothing_it_reads() {
    let directory = private_dir();
    let config = EngineConfig {
        disk_cache: Some(directory.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let body = r#"(local $v str) (check $v (call $kv.get "k")) (resv $v)"#;
    Engine::new(&config)
        .expect("engine")
        .prepare(body)
        .expect("compiles");
    let entries = index_entries(directory.path());
    assert_eq!(entries.len(), 1, "{entries:?}");

    // Served from the index, the program still needs `kv`, read from its imports: refused by a
    // policy without it, with the diagnostic at the call the model wrote.
    let engine = Engine::new(&config).expect("engine");
    let outcome = engine.exec(body, vec![], &Policy::standard(), &Default::default());
    assert_eq!(engine.cache_stats().disk_index_hits, 1);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EACCESS))
    );
    assert_eq!(outcome.diagnostics[0].line, 1);
    let column = body.find("$kv.get").expect("the call") + 1;
    assert_eq!(
        outcome.diagnostics[0].column as usize, column,
        "{:?}",
        outcome.diagnostics
    );

    // An entry that is not what it should be is ignored, the body compiled again (a miss), and
    // the entry written anew. Each damage is to a fresh copy; a flipped bit anywhere is caught,
    // in the binary too (at the end), where it could still be valid WebAssembly.
    let intact = std::fs::read(&entries[0]).expect("entry");
    for damage in [
        |bytes: &mut Vec<u8>| bytes.truncate(bytes.len() / 2),
        |bytes: &mut Vec<u8>| bytes[60] ^= 1, // inside the stored body
        |bytes: &mut Vec<u8>| *bytes.last_mut().expect("not empty") ^= 1, // the binary
        |bytes: &mut Vec<u8>| bytes[10] ^= 1, // the checksum
        |bytes: &mut Vec<u8>| bytes.clear(),
    ] {
        let mut bytes = intact.clone();
        damage(&mut bytes);
        std::fs::write(&entries[0], bytes).expect("damaged");
        let engine = Engine::new(&config).expect("engine");
        let outcome = engine.exec(body, vec![], &kv_policy(), &Default::default());
        assert_eq!(engine.cache_stats().disk_index_hits, 0);
        assert_eq!(outcome.cache, Some(CacheState::Miss), "{outcome:?}");
        assert_eq!(outcome.code, Some(StatusCode::ENOENT), "{outcome:?}");
        assert_eq!(std::fs::read(&entries[0]).expect("rewritten"), intact);
    }
}

#[test]
fn machine_code_compiled_again_is_reported_as_a_miss_not_as_the_disk() {
    let directory = private_dir();
    let config = EngineConfig {
        disk_cache: Some(directory.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let body = "(local $n i64) (argv 0 $n) (local.set $n (i64.mul (local.get $n) (i64.const 3))) (resv $n)";
    let run = || {
        let engine = Engine::new(&config).expect("engine");
        crate::exec(&engine, body, vec![Value::I64(7)])
    };
    assert_eq!(run().cache, Some(CacheState::Miss));
    assert_eq!(run().cache, Some(CacheState::Disk));
    // Damage every file of Wasmtime's cache: the index still has the body, but its machine code
    // must be compiled again, so the outcome says so (and the result is still right).
    let mut damaged = 0;
    let mut pending = vec![directory.path().join("wasmtime")];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).expect("cache directory").flatten() {
            let path = entry.path();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_none_or(|e| e != "toml") {
                let mut bytes = std::fs::read(&path).expect("artifact");
                for byte in bytes.iter_mut().skip(4).step_by(7) {
                    *byte ^= 0x5a;
                }
                std::fs::write(&path, bytes).expect("damaged");
                damaged += 1;
            }
        }
    }
    assert!(damaged > 0, "Wasmtime's cache holds the module");
    let again = run();
    assert_eq!(again.results, [Value::I64(21)], "{again:?}");
    assert_eq!(again.cache, Some(CacheState::Miss), "{again:?}");
    // Compiled again, the module is cached anew.
    assert_eq!(run().cache, Some(CacheState::Disk));
}

#[test]
fn bodies_with_warnings_are_not_indexed() {
    let directory = private_dir();
    let config = EngineConfig {
        disk_cache: Some(directory.path().to_path_buf()),
        ..EngineConfig::default()
    };
    // `argv!` is accepted with a warning (leniency applied).
    let body = "(local $n i64) (argv! 0 $n) (resv $n)";
    let outcome = crate::exec(
        &Engine::new(&config).expect("engine"),
        body,
        vec![Value::I64(3)],
    );
    assert!(!outcome.diagnostics.is_empty(), "a warning: {outcome:?}");
    assert!(index_entries(directory.path()).is_empty());
    let again = crate::exec(
        &Engine::new(&config).expect("engine"),
        body,
        vec![Value::I64(3)],
    );
    assert_eq!(
        again.diagnostics, outcome.diagnostics,
        "the warning is still reported"
    );
}

#[test]
fn the_disk_cache_is_private_and_one_others_may_write_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let parent = tempfile::tempdir().expect("temp dir");
    // Made by the engine: owner-only.
    let made = parent.path().join("made");
    let config = |dir: &std::path::Path| EngineConfig {
        disk_cache: Some(dir.to_path_buf()),
        ..EngineConfig::default()
    };
    let engine = Engine::new(&config(&made)).expect("engine");
    let outcome = crate::exec(&engine, "(local $n i64) (resv $n)", vec![]);
    assert_eq!(outcome.results, [Value::I64(0)], "{outcome:#?}");
    let mode = std::fs::metadata(&made).expect("made").permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    // One that other users may read or write into: refused, with the fix, and left alone.
    let shared = parent.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    for open in [0o755, 0o777, 0o770] {
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(open)).expect("chmod");
        let error = Engine::new(&config(&shared)).expect_err("not private");
        let message = error.to_string();
        assert!(message.contains("chmod 700"), "{open:o}: {message}");
        assert!(
            std::fs::read_dir(&shared).expect("reads").next().is_none(),
            "nothing made in it"
        );
    }
    // A subdirectory others may write into (code could be planted there) is refused too.
    std::fs::set_permissions(
        made.join("wasmtime"),
        std::fs::Permissions::from_mode(0o777),
    )
    .expect("chmod");
    let error = Engine::new(&config(&made)).expect_err("a writable subdirectory");
    assert!(error.to_string().contains("write into"), "{error}");
}

#[test]
fn a_disk_cache_under_a_directory_others_may_change_is_refused_and_a_link_is_resolved_once() {
    use std::os::unix::fs::PermissionsExt as _;
    let config = |dir: &std::path::Path| EngineConfig {
        disk_cache: Some(dir.to_path_buf()),
        ..EngineConfig::default()
    };
    let parent = tempfile::tempdir().expect("temp dir");
    let own = parent.path().join("own");
    std::fs::create_dir(&own).expect("mkdir");
    std::fs::set_permissions(&own, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    let cache = own.join("cache");
    Engine::new(&config(&cache)).expect("a private cache");
    // Reached through a link in a directory any user may write (another user could swap the
    // link, or rename the directory, between the check and every later open by name).
    let open = parent.path().join("open");
    std::fs::create_dir(&open).expect("mkdir");
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).expect("chmod");
    std::fs::rename(&cache, open.join("cache")).expect("move the cache");
    let error = Engine::new(&config(&open.join("cache"))).expect_err("an open parent");
    assert!(error.to_string().contains("chmod go-w"), "{error}");
    // A sticky directory (like /tmp) is closed enough: others cannot rename what is not theirs.
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).expect("chmod");
    Engine::new(&config(&open.join("cache"))).expect("under a sticky directory");
    // A link is followed once, at start: the engine then uses the directory it named.
    std::fs::rename(open.join("cache"), &cache).expect("move it back");
    let link = own.join("link");
    std::os::unix::fs::symlink(&cache, &link).expect("symlink");
    let engine = Engine::new(&config(&link)).expect("through a link");
    std::fs::remove_file(&link).expect("unlink");
    std::os::unix::fs::symlink(parent.path(), &link).expect("relink elsewhere");
    let outcome = crate::exec(&engine, "(local $n i64) (resv $n)", vec![]);
    assert_eq!(outcome.results, [Value::I64(0)], "{outcome:#?}");
    assert!(
        std::fs::read_dir(cache.join("programs"))
            .expect("the resolved directory")
            .next()
            .is_some(),
        "the entry went to the directory the link named at start"
    );
}

#[test]
fn a_relative_disk_cache_path_is_taken_from_the_working_directory() {
    let here = tempfile::tempdir_in(".").expect("temp dir here");
    let name = here.path().file_name().expect("a name").to_owned();
    let relative = std::path::Path::new(&name).join("cache");
    let engine = Engine::new(&EngineConfig {
        disk_cache: Some(relative),
        ..EngineConfig::default()
    })
    .expect("a relative path works");
    let outcome = crate::exec(&engine, "(local $n i64) (resv $n)", vec![]);
    assert_eq!(outcome.results, [Value::I64(0)], "{outcome:#?}");
    assert!(here.path().join("cache/programs").is_dir());
}

#[test]
fn a_body_from_the_disk_cache_is_reported_as_such() {
    let directory = private_dir();
    let config = EngineConfig {
        disk_cache: Some(directory.path().to_path_buf()),
        ..EngineConfig::default()
    };
    let body = "(local $n i64) (argv 0 $n) (resv $n)";
    let first = Engine::new(&config).expect("engine");
    let compiled = crate::exec(&first, body, vec![Value::I64(1)]);
    assert_eq!(compiled.cache, Some(CacheState::Miss));
    assert_eq!(
        crate::exec(&first, body, vec![Value::I64(2)]).cache,
        Some(CacheState::Hit)
    );
    // A new process: served from the disk, neither preprocessed nor compiled here.
    let second = Engine::new(&config).expect("engine");
    let loaded = crate::exec(&second, body, vec![Value::I64(3)]);
    assert_eq!(
        (loaded.cache, loaded.results.clone()),
        (Some(CacheState::Disk), vec![Value::I64(3)])
    );
    assert_eq!(
        crate::exec(&second, body, vec![Value::I64(4)]).cache,
        Some(CacheState::Hit)
    );
}

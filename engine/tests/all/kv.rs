//! The `kv` capability through real programs: every function, namespaces, quotas and the
//! storage-operation budget, on the in-memory store ([`MemoryKv`]); the database store of the
//! runtime has its own tests (persistence, processes, crashes).

use std::sync::Arc;

use watsmith_engine::{
    Engine, EngineConfig, KvError, KvGrant, KvStore, Limits, MemoryKv, Outcome, Policy, Status,
    StatusCode, TrapKind, Value,
};

/// An engine and the store its runs are granted (so the test can look into it).
struct World {
    engine: Engine,
    store: Arc<MemoryKv>,
}

impl World {
    fn new() -> Self {
        Self {
            engine: Engine::new(&EngineConfig::default()).expect("engine"),
            store: Arc::new(MemoryKv::new()),
        }
    }

    /// `kv` in `namespace` of this world's store.
    fn policy(&self, namespace: &str) -> Policy {
        let store: Arc<dyn KvStore> = self.store.clone();
        Policy::standard().grant(KvGrant::new(store, namespace))
    }

    fn exec(&self, body: &str, limits: &Limits) -> Outcome {
        self.engine.exec(
            body,
            vec![],
            &self.policy(KvGrant::DEFAULT_NAMESPACE),
            limits,
        )
    }
}

fn run(world: &World, body: &str, args: Vec<Value>) -> Outcome {
    run_in(world, KvGrant::DEFAULT_NAMESPACE, body, args)
}

fn run_in(world: &World, namespace: &str, body: &str, args: Vec<Value>) -> Outcome {
    world
        .engine
        .exec(body, args, &world.policy(namespace), &Limits::default())
}

fn assert_refused(outcome: &Outcome, code: StatusCode, log: &str) {
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(code)),
        "{outcome:?}"
    );
    assert!(
        outcome.logs.iter().any(|line| line.contains(log)),
        "no log line containing {log:?}: {:?}",
        outcome.logs
    );
}

/// Every key, joined by newlines (the list is an array).
const LIST_JOINED: &str = r#"(local $list i32) (local $k str) (check $list (call $kv.list ""))
    (check $k (call $arr.join (local.get $list) "\n")) (resv $k)"#;

fn text(s: &str) -> Value {
    Value::Str(s.to_owned())
}

#[test]
fn every_function_works_in_one_program() {
    let engine = World::new();
    let body = r#"(local $v str) (local $keys str) (local $list i32) (local $n i64) (local $h i32)
        (check (call $kv.set "fruit/apple" "red"))
        (check (call $kv.set "fruit/banana" "yellow"))
        (check (call $kv.set "veg/leek" "green"))
        (check $v (call $kv.get "fruit/banana"))
        (resv $v)
        (check $list (call $kv.list "fruit/"))
        (check $keys (call $arr.join (local.get $list) "\n")) (resv $keys)
        (check (call $kv.delete "fruit/apple"))
        (local.set $h (call $kv.has "fruit/apple")) (resv $h)
        (local.set $h (call $kv.has "veg/leek")) (resv $h)
        (check $n (call $kv.incr "hits" (i64.const 5)))
        (check $n (call $kv.incr "hits" (i64.const -2)))
        (resv $n)
        (check $v (call $kv.get "hits")) (resv $v)
        (check $list (call $kv.list ""))
        (check $keys (call $arr.join (local.get $list) "\n")) (resv $keys)"#;
    let outcome = run(&engine, body, vec![]);
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(
        outcome.results,
        [
            text("yellow"),
            text("fruit/apple\nfruit/banana"),
            Value::I32(0),
            Value::I32(1),
            Value::I64(3),
            text("3"),
            text("fruit/banana\nhits\nveg/leek"),
        ]
    );
    // 3 sets, get, list, delete, 2 has, 2 incr, get, list.
    assert_eq!(outcome.usage.io_ops, 12);
}

#[test]
fn the_store_outlives_the_run_and_lists_nothing_when_empty() {
    let engine = World::new();
    let empty = run(&engine, LIST_JOINED, vec![]);
    assert_eq!(empty.results, [text("")], "{empty:?}");
    let counter = r#"(local $n i64) (check $n (call $kv.incr "runs" (i64.const 1))) (resv $n)"#;
    for expected in 1..=3 {
        let outcome = run(&engine, counter, vec![]);
        assert_eq!(outcome.results, [Value::I64(expected)], "{outcome:?}");
    }
}

#[test]
fn bytes_values_round_trip_unchanged() {
    let engine = World::new();
    let body = r#"(local $b bytes) (local $back bytes) (argv 0 $b)
        (check (call $kv.set "blob" (local.get $b)))
        (check $back (call $kv.get "blob"))
        (resv $back)"#;
    let blob = vec![0, 255, 7, 0xc3];
    let outcome = run(&engine, body, vec![Value::Bytes(blob.clone())]);
    assert_eq!(outcome.results, [Value::Bytes(blob)], "{outcome:?}");
}

#[test]
fn absent_keys_and_bad_counters_have_their_codes_and_say_why() {
    let engine = World::new();
    let get = r#"(local $v str) (check $v (call $kv.get "nope")) (resv $v)"#;
    assert_refused(
        &run(&engine, get, vec![]),
        StatusCode::ENOENT,
        "kv.get: no key \"nope\"",
    );
    let delete = r#"(check (call $kv.delete "nope"))"#;
    assert_refused(
        &run(&engine, delete, vec![]),
        StatusCode::ENOENT,
        "kv.delete: no key",
    );

    let not_a_number = r#"(local $n i64)
        (check (call $kv.set "colour" "red"))
        (check $n (call $kv.incr "colour" (i64.const 1)))"#;
    assert_refused(
        &run(&engine, not_a_number, vec![]),
        StatusCode::EPARSE,
        "not a decimal integer",
    );
    let overflow = r#"(local $n i64)
        (check (call $kv.set "big" "9223372036854775807"))
        (check $n (call $kv.incr "big" (i64.const 1)))"#;
    assert_refused(
        &run(&engine, overflow, vec![]),
        StatusCode::EBOUND,
        "overflows",
    );
    // The failed increments changed nothing.
    let read = r#"(local $v str) (check $v (call $kv.get "big")) (resv $v)"#;
    assert_eq!(
        run(&engine, read, vec![]).results,
        [text("9223372036854775807")]
    );
}

#[test]
fn keys_must_be_one_to_256_bytes() {
    let engine = World::new();
    let set = r#"(local $k str) (argv 0 $k) (check (call $kv.set (local.get $k) "v"))"#;
    let ok = run(&engine, set, vec![text(&"k".repeat(256))]);
    assert_eq!(ok.status, Status::Ok, "{ok:?}");
    let long = run(&engine, set, vec![text(&"k".repeat(257))]);
    assert_refused(
        &long,
        StatusCode::EBOUND,
        "the key is 257 bytes; keys are at most 256",
    );
    assert_refused(
        &run(&engine, set, vec![text("")]),
        StatusCode::EBOUND,
        "the key is empty",
    );

    // A key passed as bytes must still be UTF-8.
    let binary = r#"(local $k bytes) (argv 0 $k) (check (call $kv.set (local.get $k) "v"))"#;
    assert_refused(
        &run(&engine, binary, vec![Value::Bytes(vec![b'k', 0xff])]),
        StatusCode::ETRFM,
        "is not UTF-8",
    );

    let has = r#"(local $k str) (local $h i32) (argv 0 $k)
        (local.set $h (call $kv.has (local.get $k))) (resv $h)"#;
    let outcome = run(&engine, has, vec![text(&"k".repeat(257))]);
    assert_eq!(outcome.results, [Value::I32(0)], "{outcome:?}");
}

/// A body that builds a value of N bytes (argument 0) and stores it under "big".
const SET_SIZED_VALUE: &str = r#"(local $n i32) (local $v bytes)
    (argv 0 $n)
    (check $v (call $core.alloc (i32.add (local.get $n) (i32.const 4))))
    (i32.store (local.get $v) (local.get $n))
    (check (call $kv.set "big" (local.get $v)))"#;

#[test]
fn values_are_at_most_one_mebibyte() {
    let engine = World::new();
    let fits = run(&engine, SET_SIZED_VALUE, vec![Value::I64(1 << 20)]);
    assert_eq!(fits.status, Status::Ok, "{fits:?}");
    let over = run(&engine, SET_SIZED_VALUE, vec![Value::I64((1 << 20) + 1)]);
    assert_refused(
        &over,
        StatusCode::ENOMEM,
        "the value is 1048577 bytes; values are at most 1048576",
    );
}

#[test]
fn a_namespace_holds_at_most_10000_keys() {
    let engine = World::new();
    // Three-letter keys aaa, baa, ... from a counter; results: how many sets succeeded.
    let body = r#"(local $i i32) (local $k str) (local $e i32)
        (check $k (call $core.alloc (i32.const 8)))
        (i32.store (local.get $k) (i32.const 3))
        (block $full
          (loop $next
            (i32.store8 offset=4 (local.get $k)
              (i32.add (i32.const 97) (i32.rem_u (local.get $i) (i32.const 26))))
            (i32.store8 offset=5 (local.get $k)
              (i32.add (i32.const 97) (i32.rem_u (i32.div_u (local.get $i) (i32.const 26)) (i32.const 26))))
            (i32.store8 offset=6 (local.get $k)
              (i32.add (i32.const 97) (i32.div_u (local.get $i) (i32.const 676))))
            (local.set $e (call $kv.set (local.get $k) ""))
            (br_if $full (local.get $e))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (resv $i)
        (check $e)"#;
    let limits = Limits {
        max_io_ops: 20_000,
        ..Limits::default()
    };
    let outcome = engine.exec(body, &limits);
    assert_refused(&outcome, StatusCode::ENOMEM, "already holds 10000 keys");
    assert_eq!(outcome.results, [Value::I32(10_000)]);
    // Replacing an existing key is still allowed when the namespace is full.
    let replace = run(&engine, r#"(check (call $kv.set "aaa" "again"))"#, vec![]);
    assert_eq!(replace.status, Status::Ok, "{replace:?}");
}

#[test]
fn a_namespace_holds_at_most_16_mebibytes() {
    let engine = World::new();
    // Sets keys a, b, c, ... to 1 MiB values until one fails; results: how many succeeded.
    let body = r#"(local $i i32) (local $k str) (local $v bytes) (local $e i32)
        (check $k (call $core.alloc (i32.const 8)))
        (i32.store (local.get $k) (i32.const 1))
        (check $v (call $core.alloc (i32.const 1048580)))
        (i32.store (local.get $v) (i32.const 1048576))
        (block $full
          (loop $next
            (i32.store8 offset=4 (local.get $k) (i32.add (i32.const 97) (local.get $i)))
            (local.set $e (call $kv.set (local.get $k) (local.get $v)))
            (br_if $full (local.get $e))
            (local.set $i (i32.add (local.get $i) (i32.const 1)))
            (br $next)))
        (resv $i)
        (check $e)"#;
    let outcome = run(&engine, body, vec![]);
    // 15 values of 1 MiB and their 1-byte keys fit in 16 MiB; the 16th would not.
    assert_refused(&outcome, StatusCode::ENOMEM, "it may hold 16777216");
    assert_eq!(outcome.results, [Value::I32(15)]);
}

#[test]
fn namespaces_are_isolated_across_threads() {
    let engine = World::new();
    let body = r#"(local $me str) (local $v str) (local $i i32)
        (argv 0 $me)
        (check (call $kv.set "owner" (local.get $me)))
        (check (call $kv.set (local.get $me) "mine"))
        (loop $spin (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $spin (i32.lt_u (local.get $i) (i32.const 5000))))
        (check $v (call $kv.get "owner"))
        (resv $v)"#;
    std::thread::scope(|scope| {
        for name in ["alice", "bob", "carol"] {
            let engine = &engine;
            scope.spawn(move || {
                for _ in 0..20 {
                    let outcome = run_in(engine, name, body, vec![text(name)]);
                    assert_eq!(outcome.results, [text(name)], "{outcome:?}");
                }
            });
        }
    });
    let list = LIST_JOINED;
    assert_eq!(
        run_in(&engine, "alice", list, vec![]).results,
        [text("alice\nowner")]
    );
    let other = r#"(local $v str) (check $v (call $kv.get "bob"))"#;
    assert_refused(
        &run_in(&engine, "alice", other, vec![]),
        StatusCode::ENOENT,
        "no key",
    );
    // The "default" namespace is another one, empty here.
    assert_eq!(run(&engine, list, vec![]).results, [text("")]);
    assert_eq!(
        engine.store.value("bob", "owner").as_deref(),
        Some(&b"bob"[..])
    );
    assert_eq!(engine.store.value("default", "owner"), None);
}

#[test]
fn every_call_spends_the_storage_budget() {
    let engine = World::new();
    let body = r#"(local $h i32) (loop $again (local.set $h (call $kv.has "k")) (br $again))"#;
    let limits = Limits {
        max_io_ops: 5,
        ..Limits::default()
    };
    let outcome = engine.exec(body, &limits);
    assert_eq!(outcome.status, Status::Trap, "{outcome:?}");
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget)
    );
    assert_eq!(outcome.usage.io_ops, 5);
}

#[test]
fn an_empty_namespace_is_refused_before_the_run() {
    let engine = World::new();
    let outcome = run_in(&engine, "", r#"(check (call $kv.set "k" "v"))"#, vec![]);
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EACCESS))
    );
    assert!(
        outcome.diagnostics[0]
            .message
            .contains("namespace of the grant is empty"),
        "{outcome:?}"
    );
}

#[test]
fn the_host_seeds_a_store_under_the_programs_limits() {
    let engine = World::new();
    engine
        .store
        .put("seeded", "greeting", b"hello")
        .expect("stored");
    let get = r#"(local $v str) (check $v (call $kv.get "greeting")) (resv $v)"#;
    assert_eq!(
        run_in(&engine, "seeded", get, vec![]).results,
        [text("hello")]
    );
    assert_eq!(
        run_in(&engine, "other", get, vec![]).code,
        Some(StatusCode::ENOENT)
    );

    let refused = |key: &str, value: Vec<u8>| match engine.store.put("seeded", key, &value) {
        Err(error @ (KvError::Key(_) | KvError::Quota(_))) => error.to_string(),
        other => panic!("{key:?}: {other:?}"),
    };
    assert!(refused("", b"v".to_vec()).contains("empty"));
    assert!(refused(&"k".repeat(257), b"v".to_vec()).contains("keys are at most"));
    assert!(refused("big", vec![0; (1 << 20) + 1]).contains("values are at most"));
    assert_eq!(engine.store.value("seeded", "big"), None);
}

#[test]
fn a_grant_without_a_store_is_refused_before_the_run() {
    let outcome = super::engine().exec(
        r#"(check (call $kv.set "k" "v"))"#,
        vec![],
        &Policy::deny_all().allow("kv"),
        &Limits::default(),
    );
    assert_eq!(
        (outcome.status, outcome.code),
        (Status::Error, Some(StatusCode::EACCESS))
    );
    assert!(
        outcome.diagnostics[0]
            .message
            .contains("no kv store was given"),
        "{outcome:?}"
    );
}

#[test]
fn a_listing_is_an_array_so_a_newline_in_a_key_is_one_key() {
    let engine = World::new();
    let body = r#"(local $list i32) (local $n i32) (local $k str)
        (check (call $kv.set "two\nlines" "1"))
        (check (call $kv.set "plain" "2"))
        (check $list (call $kv.list ""))
        (local.set $n (call $arr.len (local.get $list))) (resv $n)
        (check $k (call $arr.get_str (local.get $list) (i32.const 0))) (resv $k)
        (check $k (call $arr.get_str (local.get $list) (i32.const 1))) (resv $k)"#;
    let outcome = run(&engine, body, vec![]);
    assert_eq!(
        outcome.results,
        [Value::I32(2), text("plain"), text("two\nlines")],
        "{outcome:?}"
    );
}

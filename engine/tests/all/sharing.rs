//! One engine shared by many runs on several threads: no run sees another's memory or results,
//! and the cache compiles each body once.

use watsmith_engine::{CacheState, Status, Value};

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

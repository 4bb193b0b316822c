//! `time` and `rand`: off by default; `rand` is reproducible from its seed.

use watsmith_engine::capabilities::random::RandGrant;
use watsmith_engine::{Limits, Outcome, Policy, Status, StatusCode, Value};

use crate::engine;

const DRAWS: &str = r#"(local $i i32)
(local $x i64)
(local $f f64)
(loop $draw
  (local.set $x (call $rand.i64))
  (resv $x)
  (local.set $i (i32.add (local.get $i) (i32.const 1)))
  (br_if $draw (i32.lt_u (local.get $i) (i32.const 3))))
(local.set $f (call $rand.f64))
(resv $f)"#;

fn draws(seed: u64) -> Outcome {
    engine().exec(
        DRAWS,
        vec![],
        &Policy::deny_all().grant(RandGrant { seed }),
        &Limits::default(),
    )
}

#[test]
fn the_same_seed_gives_the_same_numbers() {
    let first = draws(7);
    assert_eq!(first.status, Status::Ok, "{first:#?}");
    assert_eq!(first.results.len(), 4);
    assert_eq!(first.results, draws(7).results);
    assert_ne!(first.results, draws(8).results);
    let Value::F64(f) = first.results[3] else {
        panic!("an f64: {:?}", first.results[3]);
    };
    assert!((0.0..1.0).contains(&f));
}

#[test]
fn range_stays_in_bounds_and_refuses_an_empty_range() {
    let body = r#"(local $i i32)
(local $x i64)
(local $err i32)
(loop $draw
  (check $x (call $rand.range (i64.const -3) (i64.const 4)))
  (if (i32.or (i64.lt_s (local.get $x) (i64.const -3)) (i64.ge_s (local.get $x) (i64.const 4)))
    (then (return (i32.const 99))))
  (local.set $i (i32.add (local.get $i) (i32.const 1)))
  (br_if $draw (i32.lt_u (local.get $i) (i32.const 1000))))
(call $rand.range (i64.const 5) (i64.const 5))
(local.set $err) (drop)
(resv $err)"#;
    let outcome = engine().exec(
        body,
        vec![],
        &Policy::deny_all().allow("rand"),
        &Limits::default(),
    );
    assert_eq!(outcome.status, Status::Ok, "{outcome:#?}");
    assert_eq!(outcome.results, [Value::I32(StatusCode::EBOUND.as_i32())]);
}

#[test]
fn time_reads_the_clock() {
    let body = r#"(local $now i64)
(local $elapsed i64)
(local.set $now (call $time.now_ms))
(local.set $elapsed (call $time.elapsed_us))
(resv $now) (resv $elapsed)"#;
    let outcome = engine().exec(
        body,
        vec![],
        &Policy::deny_all().allow("time"),
        &Limits::default(),
    );
    let [Value::I64(now), Value::I64(elapsed)] = outcome.results[..] else {
        panic!("two i64 results: {outcome:#?}");
    };
    // 2024-01-01T00:00:00Z in milliseconds: any correct clock is past it.
    assert!(now > 1_704_067_200_000, "{now}");
    assert!(elapsed >= 0);
}

#[test]
fn time_and_rand_are_off_by_default() {
    for body in ["(drop (call $time.now_ms))", "(drop (call $rand.i64))"] {
        let outcome = engine().exec(body, vec![], &Policy::standard(), &Limits::default());
        assert_eq!(
            outcome.code,
            Some(StatusCode::EACCESS),
            "{body}: {outcome:#?}"
        );
    }
}

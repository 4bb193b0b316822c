//! The engine's speed goals (issue #3), each as a criterion benchmark:
//!
//! - `prelinked_trivial`: instantiate a pre-linked program and run a trivial body;
//! - `fresh_30_lines/<compiler>`: preprocess + assemble + compile + link + run, cache disabled;
//! - `cache_hit_30_lines`: the same body again, cache lookup (hash of the body) included;
//! - `host_call`: one wasm -> host -> wasm round trip (`core.arg_count`), from a loop of 10,000
//!   calls minus the same loop without the call;
//! - `prelinked_trivial_on_demand`: as `prelinked_trivial`, without the pooling allocator;
//! - `primes_below_1e6/<metering>`: a compute-heavy body with fuel metering and the epoch
//!   deadline each on or off, and under each compiler: what the limits and the compiler cost.
//!
//! `cargo bench -p watsmith-engine --bench engine`

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use watsmith_engine::{Compiler, Engine, EngineConfig, Limits, Policy, Value};

const BODY_30: &str = include_str!("../../examples/primes_below.wat");

const CALLS: &str = "(local $i i32) (local $n i32)
    (loop $more
      (local.set $n (i32.add (local.get $n) (call $core.arg_count)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 10000))))";

const NO_CALLS: &str = "(local $i i32) (local $n i32)
    (loop $more
      (local.set $n (i32.add (local.get $n) (local.get $i)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br_if $more (i32.lt_u (local.get $i) (i32.const 10000))))";

fn bench(c: &mut Criterion) {
    let policy = Policy::deny_all();
    let limits = Limits::default();
    let engine = Engine::new(&EngineConfig::default()).expect("engine");

    let (trivial, _) = engine.prepare("nop").expect("valid");
    c.bench_function("prelinked_trivial", |b| {
        b.iter(|| engine.run(black_box(&trivial), vec![], &policy, &limits))
    });

    for (name, compiler) in [
        ("cranelift_none", Compiler::CraneliftNone),
        ("cranelift_single_pass", Compiler::CraneliftSinglePass),
        ("cranelift_speed", Compiler::CraneliftSpeed),
        ("winch", Compiler::Winch),
    ] {
        let uncached = Engine::new(&EngineConfig {
            compiler,
            cache_capacity: 0,
            ..EngineConfig::default()
        })
        .expect("engine");
        c.bench_function(&format!("fresh_30_lines/{name}"), |b| {
            b.iter(|| uncached.exec(black_box(BODY_30), vec![Value::I64(10)], &policy, &limits))
        });
    }

    let (primes, _) = engine.prepare(BODY_30).expect("valid");
    c.bench_function("prelinked_30_lines", |b| {
        b.iter(|| engine.run(black_box(&primes), vec![Value::I64(10)], &policy, &limits))
    });

    engine.exec(BODY_30, vec![Value::I64(10)], &policy, &limits);
    c.bench_function("cache_hit_30_lines", |b| {
        b.iter(|| engine.exec(black_box(BODY_30), vec![Value::I64(10)], &policy, &limits))
    });

    let (calls, _) = engine.prepare(CALLS).expect("valid");
    let (no_calls, _) = engine.prepare(NO_CALLS).expect("valid");
    let mut group = c.benchmark_group("host_call");
    group.bench_function("loop_10000_with_call", |b| {
        b.iter_batched(
            || (),
            |()| engine.run(&calls, vec![], &policy, &limits),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("loop_10000_without_call", |b| {
        b.iter_batched(
            || (),
            |()| engine.run(&no_calls, vec![], &policy, &limits),
            BatchSize::SmallInput,
        )
    });
    group.finish();

    let on_demand = Engine::new(&EngineConfig {
        pool_slots: None,
        ..EngineConfig::default()
    })
    .expect("engine");
    let (trivial, _) = on_demand.prepare("nop").expect("valid");
    c.bench_function("prelinked_trivial_on_demand", |b| {
        b.iter(|| on_demand.run(black_box(&trivial), vec![], &policy, &limits))
    });

    compute_heavy(c, &policy);
}

/// Primes below 10^6 by trial division, under each compiler, with fuel metering and the epoch
/// deadline each on and off.
fn compute_heavy(c: &mut Criterion, policy: &Policy) {
    let limits = Limits {
        fuel: None,
        timeout: std::time::Duration::from_secs(60),
        ..Limits::default()
    };
    let mut group = c.benchmark_group("primes_below_1e6");
    group.sample_size(10);
    for (compiler_name, compiler) in [
        ("cranelift_none", Compiler::CraneliftNone),
        ("cranelift_single_pass", Compiler::CraneliftSinglePass),
        ("cranelift_speed", Compiler::CraneliftSpeed),
        ("winch", Compiler::Winch),
    ] {
        for (limits_name, fuel_metering, epoch_deadline) in [
            ("fuel_and_epoch", true, true),
            ("fuel_only", true, false),
            ("epoch_only", false, true),
            ("neither", false, false),
        ] {
            if compiler != Compiler::CraneliftNone && limits_name != "fuel_and_epoch" {
                continue;
            }
            let engine = Engine::new(&EngineConfig {
                compiler,
                fuel_metering,
                epoch_deadline,
                ..EngineConfig::default()
            })
            .expect("engine");
            let (program, _) = engine.prepare(BODY_30).expect("valid");
            group.bench_function(format!("{compiler_name}/{limits_name}"), |b| {
                b.iter(|| {
                    let outcome =
                        engine.run(&program, vec![Value::I64(1_000_000)], policy, &limits);
                    assert_eq!(outcome.results, [Value::I64(78_498)]);
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

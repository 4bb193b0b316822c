//! Start-up with the full catalog: parse the built-in programs, build an engine and pre-warm
//! (compile and pre-link) every program, cold and from Wasmtime's on-disk module cache.
//!
//! `cargo bench -p watsmith-catalog --bench startup`

use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use watsmith_catalog::{Catalog, Prepared};
use watsmith_engine::{Engine, EngineConfig};

fn start(config: &EngineConfig) -> usize {
    let catalog = Arc::new(Catalog::builtin());
    let engine = Arc::new(Engine::new(config).expect("engine"));
    let prepared = Prepared::new(Arc::clone(&catalog), engine);
    assert!(prepared.prewarm().is_empty());
    let warm = prepared.warm();
    assert_eq!(
        warm,
        catalog.programs().len(),
        "every program is pre-linked"
    );
    warm
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("startup");
    group.sample_size(10);
    group.bench_function("cold", |b| b.iter(|| start(&EngineConfig::default())));
    let dir = tempfile::tempdir().expect("temp dir");
    let cached = EngineConfig {
        // A directory the engine makes, private, as a disk cache must be.
        disk_cache: Some(dir.path().join("cache")),
        ..EngineConfig::default()
    };
    start(&cached);
    group.bench_function("disk_cache", |b| b.iter(|| start(&cached)));
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! Throughput of `preprocess` on a typical 30-line body and a 1,000-line body, next to the
//! tree-sitter parse alone (the floor the three passes are measured against), and the time of
//! 1 MiB bodies of the shapes that once made a pass superlinear (`megabyte/*`).
//!
//! `cargo bench -p watsmith-preprocessor --bench preprocess`

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use watsmith_preprocessor::Preprocessor;

#[path = "../tests/all/shapes.rs"]
mod shapes;

/// A 30-line body of the kind a model writes: primes below N, with a log line and two results.
const BODY_30: &str = r#";; count the primes below n (sieve-free trial division)
(local $n i64)
(local $i i64)
(local $d i64)
(local $count i64)
(local $prime i32)
(local $msg str)
(argv 0 $n)
(local.set $i (i64.const 2))
(block $done
  (loop $next_i
    (br_if $done (i64.ge_s (local.get $i) (local.get $n)))
    (local.set $prime (i32.const 1))
    (local.set $d (i64.const 2))
    (block $found
      (loop $next_d
        (br_if $found (i64.gt_s (i64.mul (local.get $d) (local.get $d)) (local.get $i)))
        (if (i64.eqz (i64.rem_s (local.get $i) (local.get $d)))
          (then (local.set $prime (i32.const 0)) (br $found)))
        (local.set $d (i64.add (local.get $d) (i64.const 1)))
        (br $next_d)))
    (if (local.get $prime)
      (then (local.set $count (i64.add (local.get $count) (i64.const 1)))))
    (local.set $i (i64.add (local.get $i) (i64.const 1)))
    (br $next_i)))
(local.set $msg "counted primes below n")
(call $core.log (local.get $msg))
(resv $count)
(resv $msg)
"#;

/// A 1,000-line body: the 30-line one's loop repeated with distinct names, plus strings.
fn body_1000() -> String {
    let mut body = String::from("(local $n i64)\n(argv 0 $n)\n");
    let mut block = 0;
    while body.lines().count() < 995 {
        body.push_str(&format!(
            r#"(local $i{block} i64)
(local $acc{block} i64)
(local $s{block} str)
;; section {block}: sum of i*i below n
(local.set $i{block} (i64.const 0))
(block $done{block}
  (loop $next{block}
    (br_if $done{block} (i64.ge_s (local.get $i{block}) (local.get $n)))
    (local.set $acc{block}
      (i64.add (local.get $acc{block}) (i64.mul (local.get $i{block}) (local.get $i{block}))))
    local.get $i{block}
    i64.const 1
    i64.add
    local.set $i{block}
    (br $next{block})))
(local.set $s{block} "section {block} done\n")
(call $core.log (local.get $s{block}))
(resv $acc{block})
"#
        ));
        block += 1;
    }
    body
}

fn bench(c: &mut Criterion) {
    let large = body_1000();
    let mut group = c.benchmark_group("preprocess");
    for (name, body) in [("30_lines", BODY_30), ("1000_lines", large.as_str())] {
        let mut preprocessor = Preprocessor::new();
        preprocessor
            .preprocess(body)
            .expect("the benchmark bodies are valid");
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(name, |b| {
            b.iter(|| preprocessor.preprocess(black_box(body)))
        });

        let mut parser = tree_sitter::Parser::new();
        parser
            .set_language(&watsmith_grammar::LANGUAGE.into())
            .expect("language");
        group.bench_function(format!("{name}_parse_only"), |b| {
            b.iter(|| parser.parse(black_box(body), None))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("megabyte");
    group.sample_size(10);
    let mut preprocessor = Preprocessor::new();
    for (shape, body) in shapes::megabyte_bodies() {
        group.throughput(Throughput::Bytes(body.len() as u64));
        group.bench_function(shape, |b| {
            b.iter(|| preprocessor.preprocess(black_box(&body)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

//! A loop of runtime calls from an async caller, for profilers (`perf record`, callgrind):
//! `cargo build --release -p watsmith-runtime --example runtime_profile`, then
//! `target/release/examples/runtime_profile use 200000` (catalog `fib(20)` through `use_program`) or
//! `... exec 2000` (fresh bodies through `exec`). Prints the calls per second; every result is
//! checked.

#![allow(clippy::print_stdout, reason = "a profiling tool prints its figure")]

use std::time::Instant;

use watsmith_catalog::Literal;
use watsmith_engine::{PolicySpec, Value};
use watsmith_runtime::{CallSpec, Effective, ExecSpec, Prewarm, Runtime, RuntimeOptions, UseSpec};

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let what = args.next().unwrap_or_else(|| "use".to_owned());
    let calls: usize = args.next().map_or(Ok(100_000), |n| n.parse())?;
    let mut options = RuntimeOptions::new(Effective::default());
    options.prewarm = Prewarm::Now;
    let runtime = Runtime::start(options).await?;
    let fib = runtime.catalog().get("fib").ok_or("no fib")?.body.clone();
    let started = Instant::now();
    for n in 0..calls {
        let outcome = match what.as_str() {
            "use" => {
                runtime
                    .use_program(UseSpec {
                        call: CallSpec::Literals {
                            name: "fib".to_owned(),
                            args: vec![Literal::Int(20)],
                        },
                        policy: PolicySpec::standard(),
                        limits: Default::default(),
                        cancel: None,
                    })
                    .await?
            }
            _ => {
                runtime
                    .exec(ExecSpec {
                        body: format!("{fib}\n(drop (i64.const {n}))"),
                        args: vec![Value::I64(20)].into(),
                        policy: PolicySpec::standard(),
                        limits: Default::default(),
                        cancel: None,
                    })
                    .await?
            }
        };
        if outcome.results != [Value::I64(6765)] {
            return Err(format!("wrong results: {outcome:?}").into());
        }
    }
    let per_second = calls as f64 / started.elapsed().as_secs_f64();
    println!("{what}: {calls} calls, {per_second:.0} calls/s");
    Ok(())
}

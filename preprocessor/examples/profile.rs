//! Preprocesses (or only parses) a body many times, for profilers that count instructions:
//!
//! `cargo build --release -p watsmith-preprocessor --example profile`
//! `valgrind --tool=callgrind target/release/examples/profile BODY.wat [parse|full] [N]`
//!
//! Wall-clock numbers on a shared 2-core machine are noisy; instruction counts are repeatable.

#![allow(clippy::print_stdout, reason = "an example prints its summary")]

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: profile BODY.wat [parse|full] [N]")?;
    let mode = args.next().unwrap_or_else(|| "full".to_owned());
    let n: usize = args.next().map_or(Ok(100), |n| n.parse())?;
    let body = std::fs::read_to_string(path)?;
    let mut preprocessor = watsmith_preprocessor::Preprocessor::new();
    let mut parser = tree_sitter::Parser::new();
    parser.set_language(&watsmith_grammar::LANGUAGE.into())?;
    let start = std::time::Instant::now();
    for _ in 0..n {
        if mode == "parse" {
            std::hint::black_box(parser.parse(&body, None));
        } else {
            let _ = std::hint::black_box(preprocessor.preprocess(&body));
        }
    }
    let elapsed = start.elapsed();
    println!(
        "{mode}: {n} x {} bytes in {elapsed:?}: {:.1} MB/s",
        body.len(),
        (body.len() * n) as f64 / elapsed.as_secs_f64() / 1e6
    );
    Ok(())
}

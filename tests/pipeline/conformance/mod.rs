//! The WebAssembly spec test suite through the real pipeline, under Cranelift and under Winch.
//!
//! Every exported function of the core scripts in `tests/spec/` whose parameters and results
//! are numbers becomes a WAT-plus body (`convert`), and each of its `assert_return` and
//! `assert_trap` assertions a run of that body through the preprocessor, the engine's template
//! and Wasmtime, with the assertion's arguments. A case passes when the results (floats compared
//! by their bits, or by the NaN class the spec allows) or the typed trap are what the spec says.
//! The same cases run on an engine of each compiler, and the two must agree on every case, so
//! a difference between Cranelift and Winch fails the test as well.
//!
//! What cannot be expressed as a body (calls of helpers with parameters, globals, tables, state
//! kept between invocations, ...) is skipped and counted under its reason, and the faults still
//! open are listed in [`EXPECTED_FAILURES`] with theirs: a case failing outside the list fails
//! the test, and so does one in the list that passes, so the list stays what is open.

mod convert;
mod text;

use std::collections::BTreeMap;
use std::path::Path;

use watsmith_engine::{
    Compiler, Engine, EngineConfig, Limits, Outcome, Policy, Status, TrapKind, Value,
};

use self::convert::{Case, Expect};

/// The scripts, from `tests/spec/` (see its README for the source commit).
const FILES: &[&str] = &[
    "address",
    "align",
    "annotations",
    "block",
    "br",
    "br_if",
    "br_table",
    "call",
    "const",
    "conversions",
    "endianness",
    "f32",
    "f32_bitwise",
    "f32_cmp",
    "f64",
    "f64_bitwise",
    "f64_cmp",
    "fac",
    "float_exprs",
    "float_literals",
    "float_memory",
    "float_misc",
    "forward",
    "func",
    "i32",
    "i64",
    "id",
    "if",
    "int_exprs",
    "int_literals",
    "labels",
    "left-to-right",
    "load",
    "local_get",
    "local_set",
    "local_tee",
    "loop",
    "memory",
    "memory_grow",
    "memory_size",
    "memory_trap",
    "names",
    "nop",
    "return",
    "select",
    "stack",
    "store",
    "switch",
    "traps",
    "unreachable",
    "unwind",
];

/// Cases known to fail, by script and line of the assertion (or of the function, for one no
/// assertion invokes), with the fault's reason. Each is an open fault of watsmith; fix it and
/// remove the entry. (Block types with parameters, typed `select` and quoted identifiers were
/// here until the dialect took them.)
const EXPECTED_FAILURES: &[(&str, usize, &str)] = &[];

/// What a run gave, reduced to what an assertion can check.
#[derive(Debug, Clone, PartialEq)]
enum Observed {
    Returned(Vec<Value>),
    Trapped(TrapKind),
    /// Not run (invalid body) or ended with an error status: never what the spec expects.
    Refused(String),
}

impl Observed {
    fn of(outcome: Outcome) -> Self {
        match outcome.status {
            Status::Ok => Self::Returned(outcome.results),
            Status::Trap => match outcome.trap {
                Some(trap) => Self::Trapped(trap.kind),
                None => Self::Refused("a trap without its kind".to_owned()),
            },
            Status::Error => Self::Refused(format!(
                "status {}",
                outcome.code.map_or("", |code| code.name())
            )),
            Status::Cancelled | Status::Busy => Self::Refused(outcome.status.name().to_owned()),
            Status::Invalid => Self::Refused(
                outcome
                    .diagnostics
                    .iter()
                    .map(|d| format!("line {}: {}", d.line, d.message))
                    .collect::<Vec<_>>()
                    .join("; "),
            ),
        }
    }

    fn satisfies(&self, expect: &Expect) -> bool {
        match (self, expect) {
            (Self::Returned(values), Expect::Return(expected)) => {
                values.len() == expected.len()
                    && expected.iter().zip(values).all(|(e, v)| e.admits(v))
            }
            (Self::Trapped(kind), Expect::Trap(expected)) => kind == expected,
            _ => false,
        }
    }
}

/// A function no assertion invokes: its script, line and body.
type Uninvoked = (&'static str, usize, std::sync::Arc<str>);

/// Runs every case on one engine of `compiler`, in order (the cases of one function follow
/// each other, so each body compiles once), then compiles the functions no case runs; gives
/// what each case observed and, for each uninvoked function, its refusal if it was refused.
fn run(
    compiler: Compiler,
    cases: &[Case],
    uninvoked: &[Uninvoked],
) -> (Vec<Observed>, Vec<Option<String>>) {
    let engine = Engine::new(&EngineConfig {
        compiler,
        ..EngineConfig::default()
    })
    .expect("the engine builds");
    let policy = Policy::deny_all();
    let limits = Limits::default();
    let observed = cases
        .iter()
        .map(|case| Observed::of(engine.exec(&case.body, case.args.clone(), &policy, &limits)))
        .collect();
    let compiled = uninvoked
        .iter()
        .map(|(_, _, body)| match engine.prepare(body) {
            Ok(_) => None,
            Err(outcome) => match Observed::of(*outcome) {
                Observed::Refused(why) => Some(why),
                other => Some(format!("{other:?}")),
            },
        })
        .collect();
    (observed, compiled)
}

/// Whether two observations differ only in the payload of NaNs where the spec's assertion
/// allows any NaN of a class (`nan:canonical`, `nan:arithmetic`): the spec leaves those bits to
/// the implementation, so Cranelift and Winch may differ there without a fault.
fn nan_payloads_only(case: &Case, a: &Observed, b: &Observed) -> bool {
    let Expect::Return(expected) = &case.expect else {
        return false;
    };
    let (Observed::Returned(a), Observed::Returned(b)) = (a, b) else {
        return false;
    };
    a.len() == expected.len()
        && b.len() == expected.len()
        && expected
            .iter()
            .zip(a.iter().zip(b))
            .all(|(e, (x, y))| x == y || (e.is_nan_class() && e.admits(x) && e.admits(y)))
}

fn describe(case: &Case, observed: &Observed) -> String {
    format!(
        "{}.wast:{} `{}`{:?}: expected {:?}, got {:?}\n{}",
        case.file, case.line, case.function, case.args, case.expect, observed, case.body
    )
}

#[test]
#[expect(
    clippy::print_stderr,
    reason = "the counts are the report the README quotes (`--nocapture` shows them)"
)]
fn spec_suite_passes_under_cranelift_and_winch() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("spec");
    let mut cases = Vec::new();
    let mut skipped: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut module_assertions = 0;
    let mut uninvoked = Vec::new();
    for file in FILES {
        let path = dir.join(format!("{file}.wast"));
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let script = convert::script(file, &text);
        cases.extend(script.cases);
        for (reason, lines) in script.skipped {
            *skipped.entry(reason).or_default() += lines.len();
        }
        module_assertions += script.module_assertions;
        uninvoked.extend(
            script
                .uninvoked
                .into_iter()
                .map(|(line, body)| (*file, line, body)),
        );
    }

    let ((cranelift, cranelift_compiled), (winch, winch_compiled)) = std::thread::scope(|scope| {
        let winch = scope.spawn(|| run(Compiler::Winch, &cases, &uninvoked));
        let cranelift = run(Compiler::CraneliftNone, &cases, &uninvoked);
        (cranelift, winch.join().expect("the Winch thread"))
    });

    let mut unexpected = Vec::new();
    let mut differences = Vec::new();
    let mut failed_as_expected = Vec::new();
    let mut passed = [0usize; 2];
    let mut passed_compiles = [0usize; 2];
    let mut open_nan_payloads = 0;
    for (i, case) in cases.iter().enumerate() {
        let expected_failure = EXPECTED_FAILURES
            .iter()
            .find(|(file, line, _)| *file == case.file && *line == case.line);
        for (n, observed) in [&cranelift[i], &winch[i]].into_iter().enumerate() {
            let name = ["cranelift", "winch"][n];
            if observed.satisfies(&case.expect) {
                passed[n] += 1;
                if expected_failure.is_some() {
                    unexpected.push(format!(
                        "{name}: passes, remove it from EXPECTED_FAILURES: {}",
                        describe(case, observed)
                    ));
                }
            } else if expected_failure.is_some() {
                failed_as_expected.push((case.file, case.line));
            } else {
                unexpected.push(format!("{name}: {}", describe(case, observed)));
            }
        }
        if cranelift[i] != winch[i] && nan_payloads_only(case, &cranelift[i], &winch[i]) {
            open_nan_payloads += 1;
        } else if cranelift[i] != winch[i] {
            differences.push(format!(
                "{}.wast:{} `{}`{:?}: cranelift {:?}, winch {:?}",
                case.file, case.line, case.function, case.args, cranelift[i], winch[i]
            ));
        }
    }
    for (i, (file, line, body)) in uninvoked.iter().enumerate() {
        let expected_failure = EXPECTED_FAILURES
            .iter()
            .any(|(f, l, _)| f == file && l == line);
        for (n, refused) in [&cranelift_compiled[i], &winch_compiled[i]]
            .into_iter()
            .enumerate()
        {
            let name = ["cranelift", "winch"][n];
            match (refused, expected_failure) {
                (None, false) => passed_compiles[n] += 1,
                (Some(_), true) => failed_as_expected.push((file, *line)),
                (None, true) => unexpected.push(format!(
                    "{name}: {file}.wast:{line} compiles, remove it from EXPECTED_FAILURES"
                )),
                (Some(why), false) => unexpected.push(format!(
                    "{name}: {file}.wast:{line} does not compile: {why}\n{body}"
                )),
            }
        }
    }
    for (file, line, _) in EXPECTED_FAILURES {
        assert!(
            cases.iter().any(|c| c.file == *file && c.line == *line)
                || uninvoked.iter().any(|(f, l, _)| f == file && l == line),
            "EXPECTED_FAILURES names {file}.wast:{line}, which is no case"
        );
    }

    let skipped_total: usize = skipped.values().sum();
    eprintln!(
        "spec suite: {} files, {} function assertions: {} run, {} skipped; {} module assertions \
         (assert_invalid, assert_malformed, ...) not about a function",
        FILES.len(),
        cases.len() + skipped_total,
        cases.len(),
        skipped_total,
        module_assertions
    );
    eprintln!(
        "passed: cranelift {}, winch {}; expected failures {}",
        passed[0],
        passed[1],
        failed_as_expected.len()
    );
    eprintln!(
        "{open_nan_payloads} cases where the compilers give different NaNs of the class the spec allows"
    );
    eprintln!(
        "{} functions no assertion invokes: compiled by cranelift {}, winch {}",
        uninvoked.len(),
        passed_compiles[0],
        passed_compiles[1]
    );
    for reason in convert::REASONS {
        if let Some(count) = skipped.get(reason) {
            eprintln!("skipped {count:>5}: {reason}");
        }
    }
    assert!(
        unexpected.is_empty() && differences.is_empty(),
        "{} unexpected result(s):\n{}\n{} difference(s) between Cranelift and Winch:\n{}",
        unexpected.len(),
        unexpected.join("\n"),
        differences.len(),
        differences.join("\n")
    );
    assert!(
        cases.len() > 15_000,
        "only {} cases ran: the conversion lost most of the suite",
        cases.len()
    );
}

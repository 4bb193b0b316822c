//! What host functions build on the host, measured: this test binary's global allocator is
//! capped ([`cap`]) a little above what a call may hold, so a function that builds its output
//! before sizing it aborts the process instead of returning ENOMEM. One test, so that nothing
//! else allocates under the cap.

use cap::Cap;
use watsmith_engine::{Engine, EngineConfig, Limits, Policy, Status, StatusCode, Value};

#[global_allocator]
static ALLOCATOR: Cap<std::alloc::System> = Cap::new(std::alloc::System, usize::MAX);

/// Input of this many bytes: it fits the default 64 MiB memory, its output does not.
const INPUT_BYTES: usize = 24 << 20;

#[test]
fn output_that_grows_past_the_memory_is_enomem_before_it_is_built() {
    let engine = Engine::new(&EngineConfig::default()).expect("the default engine builds");
    for (call, unit) in [
        // Each control character is quoted in 6 bytes (`\u0001`).
        ("json.quote", "\u{1}"),
        // `ΐ` (2 bytes) is `Ϊ́` (6 bytes) in upper case. (Lower case grows text at most by half,
        // which stays within the headroom; its size is checked like upper case's.)
        ("str.upper", "ΐ"),
    ] {
        let body = format!(
            "(local $s str) (local $r str) (argv 0 $s) (check $r (call ${call} (local.get $s))) (resv $r)"
        );
        let policy = Policy::standard();
        // This test is about memory: a debug build sizes 24 MiB of text case by case for
        // seconds, on a loaded machine past the default deadline.
        let limits = Limits {
            timeout: std::time::Duration::from_secs(300),
            ..Limits::default()
        };
        // Compiled and run once with a small input, outside the cap.
        let small = engine.exec(&body, vec![Value::Str(unit.repeat(4))], &policy, &limits);
        assert_eq!(small.status, Status::Ok, "{call}: {small:?}");

        let input = unit.repeat(INPUT_BYTES / unit.len());
        let headroom = 2 * input.len() + (16 << 20);
        let _ = ALLOCATOR.set_limit(ALLOCATOR.allocated() + headroom);
        let outcome = engine.exec(&body, vec![Value::Str(input)], &policy, &limits);
        let _ = ALLOCATOR.set_limit(usize::MAX);
        assert_eq!(
            (outcome.status, outcome.code),
            (Status::Error, Some(StatusCode::ENOMEM)),
            "{call}: {outcome:?}"
        );
    }
}

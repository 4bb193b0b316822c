//! `time`: the wall clock and the run's elapsed time. Off by default: a program that reads the
//! clock gives different results on every run.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use crate::capability::{Capability, FunctionDoc};
use crate::policy::Grant;
use crate::state::RunState;

/// The capability's name: its import module, and what a policy grants.
pub const NAME: &str = "time";

static FUNCTIONS: [FunctionDoc; 2] = [
    FunctionDoc {
        function: HostFunction {
            module: NAME,
            name: "now_ms",
            params: &[],
            results: &[ValType::I64],
        },
        description: "milliseconds since 1970-01-01T00:00:00Z (UTC)",
    },
    FunctionDoc {
        function: HostFunction {
            module: NAME,
            name: "elapsed_us",
            params: &[],
            results: &[ValType::I64],
        },
        description: "microseconds since the run started (monotonic)",
    },
];

/// The `time` capability.
#[derive(Debug, Clone, Copy, Default)]
pub struct Clock;

/// When the run started.
struct Started(Instant);

impl Capability for Clock {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "the current time and the run's elapsed time (off by default: results then vary between runs)"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn new_state(&self, _grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        Ok(Some(Box::new(Started(Instant::now()))))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap(NAME, "now_ms", || -> i64 {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        })?;
        linker.func_wrap(
            NAME,
            "elapsed_us",
            |mut caller: Caller<'_, RunState>| -> i64 {
                caller.data_mut().state_mut::<Started>().map_or(0, |s| {
                    i64::try_from(s.0.elapsed().as_micros()).unwrap_or(i64::MAX)
                })
            },
        )?;
        Ok(())
    }
}

//! `rand`: pseudo-random numbers from a seeded generator, so a run can be reproduced: the same
//! seed gives the same numbers. Off by default. Not for secrets.

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::signature;
use crate::capability::{Capability, FunctionDoc};
use crate::policy::{Grant, GrantSettings};
use crate::state::RunState;
use crate::status::StatusCode;

/// The capability's name, its import module.
pub const NAME: &str = "rand";

/// The seed of a run granted `rand` without one.
pub const DEFAULT_SEED: u64 = 0;

const fn function(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    signature(NAME, name, params, results)
}

static FUNCTIONS: [FunctionDoc; 3] = [
    FunctionDoc {
        function: function("i64", &[], &[ValType::I64]),
        description: "a uniformly distributed i64",
    },
    FunctionDoc {
        function: function(
            "range",
            &[ValType::I64, ValType::I64],
            &[ValType::I64, ValType::I32],
        ),
        description: "(low, high) -> (a uniform i64 in [low, high), status); EBOUND if high <= low",
    },
    FunctionDoc {
        function: function("f64", &[], &[ValType::F64]),
        description: "a uniform f64 in [0, 1)",
    },
];

/// The settings of a run's `rand` grant: the seed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RandGrant {
    /// The generator's seed.
    pub seed: u64,
}

impl GrantSettings for RandGrant {
    const CAPABILITY: &'static str = NAME;
}

/// The `rand` capability.
#[derive(Debug, Clone, Copy, Default)]
pub struct Random;

/// SplitMix64 (Steele, Lea, Flood 2014): one 64-bit state, passes BigCrush, and every seed
/// (zero included) gives a full-period sequence.
#[derive(Debug)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, span)` without modulo bias (rejects the incomplete last interval).
    fn below(&mut self, span: u64) -> u64 {
        let zone = u64::MAX - (u64::MAX % span);
        loop {
            let x = self.next();
            if x < zone {
                return x % span;
            }
        }
    }
}

fn generator<'a>(caller: &'a mut Caller<'_, RunState>) -> Option<&'a mut SplitMix64> {
    caller.data_mut().state_mut::<SplitMix64>()
}

impl Capability for Random {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "seeded pseudo-random numbers (off by default; the same seed gives the same numbers)"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        let seed = grant
            .settings::<RandGrant>()
            .map_or(DEFAULT_SEED, |g| g.seed);
        Ok(Some(Box::new(SplitMix64(seed))))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap(NAME, "i64", |mut caller: Caller<'_, RunState>| -> i64 {
            generator(&mut caller).map_or(0, |g| g.next() as i64)
        })?;
        linker.func_wrap(
            NAME,
            "range",
            |mut caller: Caller<'_, RunState>, low: i64, high: i64| -> (i64, i32) {
                if high <= low {
                    return (0, StatusCode::EBOUND.as_i32());
                }
                let span = high.wrapping_sub(low) as u64;
                generator(&mut caller).map_or((0, StatusCode::EACCESS.as_i32()), |g| {
                    (low.wrapping_add(g.below(span) as i64), 0)
                })
            },
        )?;
        linker.func_wrap(NAME, "f64", |mut caller: Caller<'_, RunState>| -> f64 {
            // The top 53 bits, scaled: every value a multiple of 2^-53 in [0, 1).
            generator(&mut caller).map_or(0.0, |g| (g.next() >> 11) as f64 / (1u64 << 53) as f64)
        })?;
        Ok(())
    }
}

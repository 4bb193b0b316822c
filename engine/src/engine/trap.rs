//! Why a run stopped: Wasmtime's traps and the host's own errors, classified into [`TrapKind`]s.

use wasmtime::Trap;

use crate::outcome::{TrapInfo, TrapKind};
use crate::state::{HostBudgetExceeded, OutputLimitExceeded};

/// The deadline passed while the program waited on an async host call.
#[derive(Debug, thiserror::Error)]
#[error("the deadline of {0} ms passed while the program waited on a host call")]
pub(super) struct DeadlineDuringHostCall(pub(super) u128);

/// The caller cancelled the run.
#[derive(Debug, thiserror::Error)]
#[error("the run was cancelled")]
pub(super) struct Cancelled;

/// The typed kind of a run's error.
pub(super) fn classify(error: &wasmtime::Error) -> TrapInfo {
    // The trap's own description, not the whole chain with Wasmtime's backtrace.
    let message = if let Some(trap) = error.downcast_ref::<Trap>() {
        trap.to_string()
    } else if let Some(limit) = error.downcast_ref::<OutputLimitExceeded>() {
        limit.to_string()
    } else if let Some(budget) = error.downcast_ref::<HostBudgetExceeded>() {
        budget.to_string()
    } else if let Some(deadline) = error.downcast_ref::<DeadlineDuringHostCall>() {
        deadline.to_string()
    } else {
        format!("{error:#}")
    };
    let kind = if let Some(trap) = error.downcast_ref::<Trap>() {
        match *trap {
            Trap::OutOfFuel => TrapKind::OutOfFuel,
            Trap::Interrupt => TrapKind::Timeout,
            Trap::StackOverflow => TrapKind::StackOverflow,
            Trap::UnreachableCodeReached => TrapKind::Unreachable,
            Trap::IntegerDivisionByZero => TrapKind::IntegerDivideByZero,
            Trap::IntegerOverflow => TrapKind::IntegerOverflow,
            Trap::BadConversionToInteger => TrapKind::InvalidConversion,
            Trap::MemoryOutOfBounds => TrapKind::MemoryOutOfBounds,
            _ => TrapKind::Other,
        }
    } else if error.is::<OutputLimitExceeded>() {
        TrapKind::OutputLimit
    } else if error.is::<HostBudgetExceeded>() {
        TrapKind::HostBudget
    } else if error.is::<DeadlineDuringHostCall>() {
        TrapKind::Timeout
    } else {
        TrapKind::Host
    };
    TrapInfo { kind, message }
}

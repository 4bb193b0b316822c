//! Admission and cancellation: a run that finds every instance slot busy waits in the queue and
//! is answered `busy` past it, never trapped; a cancelled run stops at once, typed.

use std::sync::Arc;
use std::time::{Duration, Instant};

use watsmith_engine::{
    Allocation, CancellationToken, Engine, EngineConfig, Limits, Outcome, Policy, QueueConfig,
    Status, Value,
};

/// Spins until its fuel or its deadline ends.
const SPIN: &str = r#"(call $core.log "spinning") (loop $forever (br $forever))"#;
/// About a million instructions: a run that holds its slot for a while.
const BUSY_WORK: &str = "(local $i i64) (loop $more \
     (local.set $i (i64.add (local.get $i) (i64.const 1))) \
     (br_if $more (i64.lt_u (local.get $i) (i64.const 200000)))) (resv $i)";
/// Counts to its argument: with tens of millions, a run of several ticks, which an async run
/// yields at every tick, so that many runs are under way at once.
const LONG_WORK: &str = "(local $n i64) (local $i i64) (argv 0 $n) (loop $more \
     (local.set $i (i64.add (local.get $i) (i64.const 1))) \
     (br_if $more (i64.lt_u (local.get $i) (local.get $n)))) (resv $i)";
const LONG: i64 = 5_000_000;

/// A queue whose wait no test reaches: every queued run gets its slot, however slow the machine.
fn patient() -> QueueConfig {
    QueueConfig {
        wait: Duration::from_secs(120),
        ..QueueConfig::default()
    }
}

fn pooled(slots: u32, queue: QueueConfig) -> Arc<Engine> {
    let engine = Engine::new(&EngineConfig {
        pool_slots: Some(slots),
        queue,
        ..EngineConfig::default()
    })
    .expect("engine");
    assert_eq!(engine.allocation(), Allocation::Pool { slots });
    Arc::new(engine)
}

/// Unlimited fuel and a deadline no test waits for: only a cancellation stops it.
fn endless() -> Limits {
    Limits {
        fuel: None,
        timeout: Duration::from_secs(120),
        ..Limits::default()
    }
}

fn assert_done(outcome: &Outcome) {
    assert_eq!(outcome.status, Status::Ok, "{outcome:?}");
    assert_eq!(outcome.results, [Value::I64(200_000)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_past_the_pool_wait_for_a_slot_instead_of_trapping() {
    let engine = pooled(2, patient());
    let runs: Vec<_> = (0..40)
        .map(|_| {
            let engine = Arc::clone(&engine);
            tokio::spawn(async move {
                engine
                    .exec_async(
                        LONG_WORK,
                        vec![Value::I64(LONG)],
                        &Policy::deny_all(),
                        &Limits::default(),
                    )
                    .await
            })
        })
        .collect();
    for run in runs {
        let outcome = run.await.expect("no panic");
        assert_eq!(outcome.results, [Value::I64(LONG)], "{outcome:?}");
    }
}

#[test]
fn synchronous_runs_past_the_pool_wait_too() {
    let engine = pooled(2, patient());
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..8)
            .map(|_| {
                scope.spawn(|| {
                    for _ in 0..5 {
                        let outcome = engine.exec(
                            LONG_WORK,
                            vec![Value::I64(LONG)],
                            &Policy::deny_all(),
                            &Limits::default(),
                        );
                        assert_eq!(outcome.results, [Value::I64(LONG)], "{outcome:?}");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("no panic");
        }
    });
}

/// Starts a run that holds the only slot until `cancel`, and waits until it holds it: until
/// a probe finds the pool full. (A holder that found the slot taken by a probe is busy itself,
/// and started again.)
async fn hold_the_slot(
    engine: &Arc<Engine>,
    cancel: &CancellationToken,
) -> tokio::task::JoinHandle<Outcome> {
    let hold = || {
        let (engine, cancel) = (Arc::clone(engine), cancel.clone());
        tokio::spawn(async move {
            engine
                .exec_cancellable(SPIN, vec![], &Policy::deny_all(), &endless(), &cancel)
                .await
        })
    };
    let mut holder = hold();
    let started = Instant::now();
    loop {
        if holder.is_finished() {
            let outcome = holder.await.expect("no panic");
            assert_eq!(outcome.status, Status::Busy, "{outcome:?}");
            holder = hold();
        }
        let probe = engine
            .exec_async(BUSY_WORK, vec![], &Policy::deny_all(), &Limits::default())
            .await;
        if probe.status == Status::Busy {
            return holder;
        }
        assert_done(&probe);
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the holder never took the slot"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_queue_and_a_wait_that_passes_are_busy_and_cancelling_frees_the_slot() {
    // No queue: a run that finds the only slot taken is busy at once.
    let engine = pooled(
        1,
        QueueConfig {
            capacity: 0,
            wait: Duration::from_secs(60),
        },
    );
    let cancel = CancellationToken::new();
    let holder = hold_the_slot(&engine, &cancel).await;
    let busy = engine
        .exec_async(BUSY_WORK, vec![], &Policy::deny_all(), &Limits::default())
        .await;
    assert_eq!(busy.status, Status::Busy, "{busy:?}");
    assert_eq!(
        (busy.code, &busy.trap, busy.fuel_used),
        (None, &None, Some(0))
    );
    cancel.cancel();
    let stopped = holder.await.expect("no panic");
    assert_eq!(stopped.status, Status::Cancelled, "{stopped:?}");
    assert_eq!(stopped.trap, None);
    assert_eq!(stopped.logs, ["spinning"], "what it wrote is kept");
    assert_done(
        &engine
            .exec_async(BUSY_WORK, vec![], &Policy::deny_all(), &Limits::default())
            .await,
    );

    // A queue: the run waits its wait, then is busy; one cancelled while it waits is cancelled.
    let engine = pooled(
        1,
        QueueConfig {
            capacity: 8,
            wait: Duration::from_millis(50),
        },
    );
    let cancel = CancellationToken::new();
    let holder = hold_the_slot(&engine, &cancel).await;
    let started = Instant::now();
    let busy = engine
        .exec_async(BUSY_WORK, vec![], &Policy::deny_all(), &Limits::default())
        .await;
    assert_eq!(busy.status, Status::Busy, "{busy:?}");
    assert!(started.elapsed() >= Duration::from_millis(50), "it waited");
    let waiting = CancellationToken::new();
    let queued = {
        let (engine, waiting) = (Arc::clone(&engine), waiting.clone());
        tokio::spawn(async move {
            engine
                .exec_cancellable(
                    BUSY_WORK,
                    vec![],
                    &Policy::deny_all(),
                    &Limits::default(),
                    &waiting,
                )
                .await
        })
    };
    waiting.cancel();
    let queued = queued.await.expect("no panic");
    assert!(
        matches!(queued.status, Status::Cancelled | Status::Busy),
        "{queued:?}"
    );
    cancel.cancel();
    assert_eq!(holder.await.expect("no panic").status, Status::Cancelled);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_loop_with_unlimited_fuel_stops_it_within_a_tick() {
    let engine = pooled(4, QueueConfig::default());
    let cancel = CancellationToken::new();
    let run = {
        let (engine, cancel) = (Arc::clone(&engine), cancel.clone());
        tokio::spawn(async move {
            engine
                .exec_cancellable(SPIN, vec![], &Policy::deny_all(), &endless(), &cancel)
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let cancelled = Instant::now();
    cancel.cancel();
    let outcome = run.await.expect("no panic");
    let stopped_after = cancelled.elapsed();
    assert_eq!(outcome.status, Status::Cancelled, "{outcome:?}");
    assert_eq!((outcome.code, &outcome.trap), (None, &None));
    assert_eq!(
        outcome.fuel_used, None,
        "stopped in compiled code: no exact count"
    );
    assert_eq!(outcome.logs, ["spinning"]);
    // Not a timing assertion: the deadline is two minutes away, so a run that was not
    // stopped by the token would take that long.
    assert!(stopped_after < endless().timeout / 4, "{stopped_after:?}");
    // A token cancelled before the call: nothing runs.
    let outcome = engine
        .exec_cancellable(SPIN, vec![], &Policy::deny_all(), &endless(), &cancel)
        .await;
    assert_eq!(outcome.status, Status::Cancelled, "{outcome:?}");
    assert_eq!((outcome.logs.len(), outcome.fuel_used), (0, Some(0)));
}

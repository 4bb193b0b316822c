//! Timing: one `Instant` per call, then nearest-rank percentiles of the sorted samples.
//!
//! Every result is checked outside the timed window, so a benchmark never reports the speed of
//! a wrong answer, and the check costs nothing that is measured.

use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Untimed calls before a scenario: a tenth of its timed calls ...
const WARMUP_DIVISOR: usize = 10;
/// ... at most this many (the fresh-body scenario compiles on every call).
const WARMUP_MAX: usize = 100;

/// Latency figures of a run of calls, in nanoseconds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Summary {
    /// Timed calls (warm-up excluded).
    pub(crate) calls: usize,
    /// Median latency.
    pub(crate) p50_ns: u64,
    /// 90th percentile latency.
    pub(crate) p90_ns: u64,
    /// 99th percentile latency.
    pub(crate) p99_ns: u64,
    /// Mean latency.
    pub(crate) mean_ns: u64,
    /// Calls per second: one over the mean for a single caller, calls over the wall time for
    /// threads (see [`throughput`]).
    pub(crate) calls_per_sec: f64,
}

impl Summary {
    /// The figures of `samples` (nanoseconds, any order); `None` when there are none.
    pub(crate) fn of(mut samples: Vec<u64>) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let total: u128 = samples.iter().map(|&ns| u128::from(ns)).sum();
        let calls = samples.len();
        // A mean of u64 samples fits a u64.
        let mean_ns = u64::try_from(total / calls as u128).unwrap_or(u64::MAX);
        Some(Self {
            calls,
            p50_ns: percentile(&samples, 50)?,
            p90_ns: percentile(&samples, 90)?,
            p99_ns: percentile(&samples, 99)?,
            mean_ns,
            calls_per_sec: per_second(1, Duration::from_nanos(mean_ns)),
        })
    }
}

/// The nearest-rank `percent`-th percentile of `sorted` (ascending): the smallest sample that at
/// least `percent` % of the samples are less than or equal to. `None` for no samples or a
/// percent outside 1..=100.
pub(crate) fn percentile(sorted: &[u64], percent: usize) -> Option<u64> {
    if !(1..=100).contains(&percent) {
        return None;
    }
    // rank = ceil(percent / 100 * n), in integers so that 90 % of 10 is exactly 9.
    let rank = (percent * sorted.len()).div_ceil(100);
    sorted.get(rank.checked_sub(1)?).copied()
}

/// `calls` over `elapsed`, per second (infinite for no time at all).
pub(crate) fn per_second(calls: usize, elapsed: Duration) -> f64 {
    calls as f64 / elapsed.as_secs_f64()
}

/// Runs `call` `calls` times, timing each call alone, and checks every result with `check`
/// after its timer stopped. The first failed check ends the run with its message.
fn sample<R>(
    calls: usize,
    call: &mut impl FnMut() -> R,
    check: &impl Fn(&R) -> Result<(), String>,
) -> Result<Vec<u64>, String> {
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let result = call();
        let elapsed = started.elapsed();
        check(&result)?;
        samples.push(u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX));
    }
    Ok(samples)
}

/// Calls `call` a few times untimed (each result checked), then `calls` times timed.
pub(crate) fn timed<R>(
    calls: usize,
    mut call: impl FnMut() -> R,
    check: impl Fn(&R) -> Result<(), String>,
) -> Result<Summary, String> {
    let warmup = (calls / WARMUP_DIVISOR).clamp(1, WARMUP_MAX);
    sample(warmup, &mut call, &check)?;
    Summary::of(sample(calls, &mut call, &check)?)
        .ok_or_else(|| "no calls to time (ask for at least one)".to_owned())
}

/// Rounds that the one-thread and the many-thread throughput runs alternate in: on a machine
/// whose speed drifts from one second to the next, two runs one after the other would compare
/// the drift as much as the threads.
pub(crate) const THROUGHPUT_ROUNDS: usize = 5;

/// A throughput run: `threads` callers at once.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct ThreadRun {
    /// Callers running at once.
    pub(crate) threads: usize,
    /// Wall time of its rounds, each from the moment all callers were released until the last
    /// one finished.
    pub(crate) elapsed_ns: u64,
    /// Latencies of every call of every thread; `calls_per_sec` is all calls over the wall time.
    #[serde(flatten)]
    pub(crate) summary: Summary,
}

/// Calls per second of `call` on one thread and on `threads` threads at once, `calls` times per
/// thread, every result checked. The two alternate in rounds (in turn first), so that a slow
/// spell of the machine falls on both.
pub(crate) fn throughput<R>(
    threads: usize,
    calls: usize,
    call: impl Fn() -> R + Sync,
    check: impl Fn(&R) -> Result<(), String> + Sync,
) -> Result<[ThreadRun; 2], String> {
    let rounds = THROUGHPUT_ROUNDS.min(calls);
    let mut pooled = [
        (1, Vec::new(), Duration::ZERO),
        (threads, Vec::new(), Duration::ZERO),
    ];
    for round in 0..rounds {
        // An equal share of the calls; the remainder goes to the first rounds.
        let share = calls / rounds + usize::from(round < calls % rounds);
        for index in [round % 2, 1 - round % 2] {
            let (count, samples, elapsed) = &mut pooled[index];
            let (mut more, took) = concurrent(*count, share, &call, &check)?;
            samples.append(&mut more);
            *elapsed += took;
        }
    }
    let [one, many] = pooled.map(|(threads, samples, elapsed)| {
        Summary::of(samples).map(|mut summary| {
            summary.calls_per_sec = per_second(summary.calls, elapsed);
            ThreadRun {
                threads,
                elapsed_ns: u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
                summary,
            }
        })
    });
    let none = || "no calls to time (ask for at least one)".to_owned();
    Ok([one.ok_or_else(none)?, many.ok_or_else(none)?])
}

/// Runs `call` on `threads` threads at once, `calls` times each (after a warm-up on each
/// thread), checking every result. The clock runs from the moment every thread is warm and
/// released together until the last one ends. Gives every call's latency and the wall time.
fn concurrent<R>(
    threads: usize,
    calls: usize,
    call: &(impl Fn() -> R + Sync),
    check: &(impl Fn(&R) -> Result<(), String> + Sync),
) -> Result<(Vec<u64>, Duration), String> {
    let warm = Barrier::new(threads + 1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                // `spawn` panics only when the OS cannot create a thread; `threads` is bounded
                // by the engine's pool slots, so that is a machine out of resources.
                scope.spawn(|| {
                    let mut call = || call();
                    let warmup = (calls / WARMUP_DIVISOR).clamp(1, WARMUP_MAX);
                    let warmed = sample(warmup, &mut call, check);
                    // Reach the barrier even after a failed warm-up, or the others wait forever.
                    warm.wait();
                    warmed?;
                    sample(calls, &mut call, check)
                })
            })
            .collect();
        warm.wait();
        let started = Instant::now();
        let mut samples = Vec::with_capacity(threads * calls);
        let mut failure = None;
        for worker in workers {
            match worker
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            {
                Ok(mut thread_samples) => samples.append(&mut thread_samples),
                Err(message) => failure = failure.or(Some(message)),
            }
        }
        let elapsed = started.elapsed();
        match failure {
            Some(message) => Err(message),
            None => Ok((samples, elapsed)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles_of_one_to_a_hundred_are_the_percent_itself() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 50), Some(50));
        assert_eq!(percentile(&samples, 90), Some(90));
        assert_eq!(percentile(&samples, 99), Some(99));
        assert_eq!(percentile(&samples, 100), Some(100));
        assert_eq!(percentile(&samples, 1), Some(1));
    }

    #[test]
    fn nearest_rank_rounds_the_rank_up() {
        // n = 10: p50 is rank 5, p90 rank 9, p99 rank ceil(9.9) = 10, the maximum.
        let samples: Vec<u64> = (1..=10).map(|n| n * 10).collect();
        assert_eq!(percentile(&samples, 50), Some(50));
        assert_eq!(percentile(&samples, 90), Some(90));
        assert_eq!(percentile(&samples, 99), Some(100));
        // n = 3: p50 is rank ceil(1.5) = 2, p90 and p99 rank 3.
        let samples = [7, 8, 30];
        assert_eq!(percentile(&samples, 50), Some(8));
        assert_eq!(percentile(&samples, 90), Some(30));
        assert_eq!(percentile(&samples, 99), Some(30));
        // One sample is every percentile.
        assert_eq!(percentile(&[42], 50), Some(42));
        assert_eq!(percentile(&[42], 99), Some(42));
    }

    #[test]
    fn no_samples_or_a_percent_out_of_range_has_no_percentile() {
        assert_eq!(percentile(&[], 50), None);
        assert_eq!(percentile(&[1, 2, 3], 0), None);
        assert_eq!(percentile(&[1, 2, 3], 101), None);
    }

    #[test]
    fn a_summary_sorts_its_samples_and_derives_the_rate_from_the_mean() {
        // 1..=100 µs shuffled: mean 50.5 µs, so 19,801.98 calls/s.
        let samples: Vec<u64> = (1..=100).rev().map(|n| n * 1000).collect();
        let summary = Summary::of(samples).expect("samples");
        assert_eq!(summary.calls, 100);
        assert_eq!(
            (summary.p50_ns, summary.p90_ns, summary.p99_ns),
            (50_000, 90_000, 99_000)
        );
        assert_eq!(summary.mean_ns, 50_500);
        assert!((summary.calls_per_sec - 1e9 / 50_500.0).abs() < 1e-6);
        assert_eq!(Summary::of(Vec::new()), None);
    }

    #[test]
    fn a_failed_check_stops_the_run_with_its_message() {
        let mut n = 0;
        let result = timed(
            10,
            || {
                n += 1;
                n
            },
            |&n| {
                if n < 5 {
                    Ok(())
                } else {
                    Err(format!("got {n}"))
                }
            },
        );
        assert_eq!(result, Err("got 5".to_owned()));
    }

    #[test]
    fn throughput_times_every_call_of_every_thread_over_the_rounds() {
        // 7 calls per thread in 5 rounds: 2, 2, 1, 1, 1.
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let [one, three] = throughput(
            3,
            7,
            || calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            |_| Ok(()),
        )
        .expect("runs");
        assert_eq!((one.threads, one.summary.calls), (1, 7));
        assert_eq!((three.threads, three.summary.calls), (3, 21));
        // Timed calls and the warm-up of each thread in each round (one call, as 2 / 10 < 1).
        let warmups = 5 + 3 * 5;
        assert_eq!(calls.into_inner(), 7 + 21 + warmups);
        let failed = throughput(2, 5, || 0, |_| Err("wrong".to_owned()));
        assert_eq!(failed, Err("wrong".to_owned()));
    }
}

//! The report: the figures of every scenario, the goals of issue #4 checked against them, and
//! the two ways to print it (a Markdown table for people and the README, JSON for programs).

use serde::Serialize;

use super::machine::{Interpreter, Machine};
use super::measure::{Summary, THROUGHPUT_ROUNDS, ThreadRun};
use super::runtime::{RUNTIME_BESIDE, RUNTIME_FRESH};
use super::{
    CATALOG_FIB, FRESH_BODY, GOAL_CATALOG_P50_NS, GOAL_FRESH_P50_NS, GOAL_SCALING_EFFICIENCY,
    GOAL_VS_PYTHON, GOAL_VS_TRUE, PYTHON_SPAWN, TRUE_SPAWN,
};

/// Everything one `watsmith bench` measured, and where.
#[derive(Debug, Serialize)]
pub(crate) struct Report {
    /// The watsmith version.
    pub(crate) watsmith: &'static str,
    /// `release` or `debug`: a debug build's numbers mean little.
    pub(crate) build: &'static str,
    /// The machine.
    pub(crate) machine: Machine,
    /// The Python interpreter spawned, when there is one.
    pub(crate) python: Option<Interpreter>,
    /// The counts asked for.
    pub(crate) settings: Settings,
    /// The single-caller scenarios, in a fixed order with fixed names.
    pub(crate) scenarios: Vec<Scenario>,
    /// Pre-linked `fib(20)` on one thread and on several.
    pub(crate) throughput: Throughput,
    /// The goals, met or not.
    pub(crate) goals: Vec<Goal>,
}

/// The counts a run used.
#[derive(Debug, Serialize)]
pub(crate) struct Settings {
    /// Timed calls of each in-process scenario.
    pub(crate) iterations: usize,
    /// Timed spawns of each process scenario.
    pub(crate) spawns: usize,
    /// Threads of the multi-threaded throughput run.
    pub(crate) threads: usize,
    /// Timed calls of each thread in the throughput runs.
    pub(crate) calls_per_thread: usize,
}

/// One scenario's figures, or why it did not run.
#[derive(Debug, Serialize)]
pub(crate) struct Scenario {
    /// Its stable name (`catalog fib(20)`, `python3 spawn`, ...).
    pub(crate) name: &'static str,
    /// Its figures.
    #[serde(flatten)]
    pub(crate) result: Measured,
}

/// A scenario's figures, or why it did not run.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub(crate) enum Measured {
    /// It ran.
    Timed(Summary),
    /// It did not run, for this reason (a missing interpreter, say).
    Skipped {
        /// Why.
        skipped: String,
    },
}

/// Calls per second with one thread and with several.
#[derive(Debug, Serialize)]
pub(crate) struct Throughput {
    /// Timed calls of each thread.
    pub(crate) calls_per_thread: usize,
    /// One thread, then the asked-for number.
    pub(crate) runs: Vec<ThreadRun>,
    /// The last run's calls per second over the first's.
    pub(crate) scaling: f64,
}

/// One goal of the issue and whether this run meets it.
#[derive(Debug, Serialize)]
pub(crate) struct Goal {
    /// Stable key (`catalog_p50`, `catalog_vs_python_spawn`, ...).
    pub(crate) id: &'static str,
    /// The goal in words.
    pub(crate) goal: String,
    /// What was measured, in words.
    pub(crate) measured: Option<String>,
    /// Met or not; `null` when it could not be measured (see `note`).
    pub(crate) met: Option<bool>,
    /// Why it could not be measured.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

impl Goal {
    fn unmeasured(id: &'static str, goal: String, note: String) -> Self {
        Self {
            id,
            goal,
            measured: None,
            met: None,
            note: Some(note),
        }
    }
}

/// The figures of the scenario called `name`, or why there are none.
fn find<'a>(scenarios: &'a [Scenario], name: &str) -> Result<&'a Summary, String> {
    match scenarios.iter().find(|s| s.name == name).map(|s| &s.result) {
        Some(Measured::Timed(summary)) => Ok(summary),
        Some(Measured::Skipped { skipped }) => Err(format!("{name} skipped: {skipped}")),
        None => Err(format!("{name} did not run")),
    }
}

/// The goals of issues #4 and #11, checked against the figures: the catalog call (`fib(20)`) against
/// its latency target and against spawning a process, the fresh body against its target, and
/// the throughput's scaling against the cores.
pub(crate) fn goals(scenarios: &[Scenario], throughput: &Throughput, cores: usize) -> Vec<Goal> {
    let latency = |id, name: &str, limit_ns: u64| {
        let goal = format!("{name} p50 ≤ {}", duration(limit_ns));
        match find(scenarios, name) {
            Ok(summary) => Goal {
                id,
                goal,
                measured: Some(duration(summary.p50_ns)),
                met: Some(summary.p50_ns <= limit_ns),
                note: None,
            },
            Err(note) => Goal::unmeasured(id, goal, note),
        }
    };
    let ratio = |id, slow: &str, at_least: f64| {
        let goal = format!("{CATALOG_FIB} ≥ {}× faster than a {slow}", count(at_least));
        match (find(scenarios, CATALOG_FIB), find(scenarios, slow)) {
            (Ok(fast), Ok(slow)) => {
                let times = slow.p50_ns as f64 / fast.p50_ns.max(1) as f64;
                Goal {
                    id,
                    goal,
                    measured: Some(format!(
                        "{}× ({} / {})",
                        count(times),
                        duration(slow.p50_ns),
                        duration(fast.p50_ns)
                    )),
                    met: Some(times >= at_least),
                    note: None,
                }
            }
            (Err(note), _) | (_, Err(note)) => Goal::unmeasured(id, goal, note),
        }
    };
    vec![
        latency("catalog_p50", CATALOG_FIB, GOAL_CATALOG_P50_NS),
        ratio("catalog_vs_python_spawn", PYTHON_SPAWN, GOAL_VS_PYTHON),
        ratio("catalog_vs_true_spawn", TRUE_SPAWN, GOAL_VS_TRUE),
        latency("fresh_p50", FRESH_BODY, GOAL_FRESH_P50_NS),
        scaling(throughput, cores),
        unblocked(scenarios),
    ]
}

/// Compiling never blocks the executor: the catalog calls made while another task compiles
/// fresh bodies keep a p99 below a compile's p50 (blocked, they would wait a whole compile).
fn unblocked(scenarios: &[Scenario]) -> Goal {
    let goal =
        format!("{RUNTIME_BESIDE} p99 < {RUNTIME_FRESH} p50 (compiling never blocks the executor)");
    match (
        find(scenarios, RUNTIME_BESIDE),
        find(scenarios, RUNTIME_FRESH),
    ) {
        (Ok(beside), Ok(fresh)) => Goal {
            id: "compile_does_not_block",
            goal,
            measured: Some(format!(
                "{} against {}",
                duration(beside.p99_ns),
                duration(fresh.p50_ns)
            )),
            met: Some(beside.p99_ns < fresh.p50_ns),
            note: None,
        },
        (Err(note), _) | (_, Err(note)) => Goal::unmeasured("compile_does_not_block", goal, note),
    }
}

/// Throughput scales with cores: `n` threads give at least [`GOAL_SCALING_EFFICIENCY`] of
/// `min(n, cores)` times the calls per second of one.
fn scaling(throughput: &Throughput, cores: usize) -> Goal {
    let threads = throughput.runs.last().map_or(1, |run| run.threads);
    let useful = threads.min(cores);
    let needed = GOAL_SCALING_EFFICIENCY * useful as f64;
    let goal = format!(
        "throughput scales with cores: {threads} threads ≥ {needed:.2}× one thread ({:.0}% of {useful}×)",
        GOAL_SCALING_EFFICIENCY * 100.0
    );
    if useful < 2 {
        let note = if threads < 2 {
            "one thread only: run with --threads 2 or more"
        } else {
            "one core only: nothing to scale to"
        };
        return Goal::unmeasured("thread_scaling", goal, note.to_owned());
    }
    Goal {
        id: "thread_scaling",
        goal,
        measured: Some(format!("{:.2}×", throughput.scaling)),
        met: Some(throughput.scaling >= needed),
        note: None,
    }
}

/// The report for people: where it ran, a Markdown table, the throughput and the goals.
pub(crate) fn render(report: &Report) -> String {
    let mut text = format!(
        "watsmith {} bench, {} build\nmachine: {}\n",
        report.watsmith, report.build, report.machine
    );
    if report.build == "debug" {
        text.push_str("warning: a debug build; for real numbers run the release build\n");
    }
    match (&report.python, find(&report.scenarios, PYTHON_SPAWN)) {
        (Some(python), _) => text.push_str(&format!(
            "python3: {} ({}), found as {}\n",
            python.path.display(),
            python.version,
            python.found.display()
        )),
        (None, Err(note)) => text.push_str(&format!("python3: {note}\n")),
        (None, Ok(_)) => {}
    }
    text.push('\n');
    text.push_str(&table(report));
    text.push('\n');
    let notes: Vec<String> = report
        .scenarios
        .iter()
        .filter_map(|s| match &s.result {
            Measured::Skipped { skipped } => Some(format!("{} skipped: {skipped}\n", s.name)),
            Measured::Timed(_) => None,
        })
        .collect();
    text.push_str(&notes.concat());
    let throughput = &report.throughput;
    let threads = throughput.runs.last().map_or(1, |run| run.threads);
    text.push_str(&format!(
        "throughput: pre-linked {CATALOG_FIB} on one shared engine, {} calls per thread in {} \
         rounds alternating 1 thread and {threads}; calls/s is all calls over the wall time; {} \
         give {:.2}× one thread\n\ngoals:\n",
        count(throughput.calls_per_thread as f64),
        THROUGHPUT_ROUNDS.min(throughput.calls_per_thread),
        super::threads_word(threads),
        throughput.scaling
    ));
    for goal in &report.goals {
        let verdict = match goal.met {
            Some(true) => "met",
            Some(false) => "NOT MET",
            None => "not measured",
        };
        let detail = goal
            .measured
            .as_deref()
            .or(goal.note.as_deref())
            .unwrap_or("");
        text.push_str(&format!("- {}: {verdict}, {detail}\n", goal.goal));
    }
    text
}

/// The Markdown table, columns padded so that it also reads well in a terminal.
fn table(report: &Report) -> String {
    let mut rows: Vec<[String; 6]> = vec![[
        "scenario".to_owned(),
        "calls".to_owned(),
        "p50".to_owned(),
        "p90".to_owned(),
        "p99".to_owned(),
        "calls/s".to_owned(),
    ]];
    let row = |name: String, summary: &Summary| {
        [
            name,
            count(summary.calls as f64),
            duration(summary.p50_ns),
            duration(summary.p90_ns),
            duration(summary.p99_ns),
            count(summary.calls_per_sec),
        ]
    };
    for scenario in &report.scenarios {
        rows.push(match &scenario.result {
            Measured::Timed(summary) => row(scenario.name.to_owned(), summary),
            Measured::Skipped { .. } => {
                let skipped = || "skipped".to_owned();
                let dash = || "–".to_owned();
                [
                    scenario.name.to_owned(),
                    skipped(),
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                ]
            }
        });
    }
    for run in &report.throughput.runs {
        let threads = super::threads_word(run.threads);
        rows.push(row(format!("throughput, {threads}"), &run.summary));
    }
    let widths: Vec<usize> = (0..6)
        .map(|column| {
            rows.iter()
                .map(|r| r[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for (index, cells) in rows.iter().enumerate() {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(column, (cell, &width))| {
                if column == 0 {
                    format!("{cell:<width$}")
                } else {
                    format!("{cell:>width$}")
                }
            })
            .collect();
        text.push_str(&format!("| {} |\n", padded.join(" | ")));
        if index == 0 {
            let rules: Vec<String> = widths
                .iter()
                .enumerate()
                .map(|(column, &width)| match column {
                    0 => "-".repeat(width + 2),
                    _ => format!("{}:", "-".repeat(width + 1)),
                })
                .collect();
            text.push_str(&format!("|{}|\n", rules.join("|")));
        }
    }
    text
}

/// Nanoseconds in the unit that keeps three significant digits: `840 ns`, `3.21 µs`, `11.4 ms`.
pub(crate) fn duration(ns: u64) -> String {
    let (value, unit) = match ns {
        0..1_000 => return format!("{ns} ns"),
        1_000..1_000_000 => (ns as f64 / 1e3, "µs"),
        1_000_000..1_000_000_000 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    if value < 10.0 {
        format!("{value:.2} {unit}")
    } else if value < 100.0 {
        format!("{value:.1} {unit}")
    } else {
        format!("{value:.0} {unit}")
    }
}

/// A count or a rate: whole numbers with thousands separators (`312,410`), one decimal below
/// a hundred (`88.4`).
pub(crate) fn count(value: f64) -> String {
    if !value.is_finite() {
        return "∞".to_owned();
    }
    if value < 100.0 {
        let text = format!("{value:.1}");
        return text.strip_suffix(".0").map_or(text.clone(), str::to_owned);
    }
    let digits = format!("{value:.0}");
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    grouped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_keep_three_significant_digits_in_their_unit() {
        assert_eq!(duration(840), "840 ns");
        assert_eq!(duration(999), "999 ns");
        assert_eq!(duration(1_000), "1.00 µs");
        assert_eq!(duration(3_214), "3.21 µs");
        assert_eq!(duration(45_670), "45.7 µs");
        assert_eq!(duration(1_500_000), "1.50 ms");
        assert_eq!(duration(11_400_000), "11.4 ms");
        assert_eq!(duration(250_000_000), "250 ms");
        assert_eq!(duration(2_000_000_000), "2.00 s");
    }

    #[test]
    fn counts_are_grouped_by_thousands() {
        assert_eq!(count(5.0), "5");
        assert_eq!(count(88.44), "88.4");
        assert_eq!(count(100.0), "100");
        assert_eq!(count(2000.0), "2,000");
        assert_eq!(count(312_410.4), "312,410");
        assert_eq!(count(1_234_567.0), "1,234,567");
    }

    fn timed(p50_ns: u64) -> Measured {
        Measured::Timed(Summary {
            calls: 10,
            p50_ns,
            p90_ns: p50_ns,
            p99_ns: p50_ns,
            mean_ns: p50_ns,
            calls_per_sec: 1e9 / p50_ns as f64,
        })
    }

    #[test]
    fn goals_compare_the_catalog_call_with_each_target() {
        let scenarios = vec![
            Scenario {
                name: CATALOG_FIB,
                result: timed(4_000),
            },
            Scenario {
                name: FRESH_BODY,
                result: timed(2_000_000),
            },
            Scenario {
                name: PYTHON_SPAWN,
                result: Measured::Skipped {
                    skipped: "`python3` is not on PATH".to_owned(),
                },
            },
            Scenario {
                name: TRUE_SPAWN,
                result: timed(300_000),
            },
        ];
        let throughput = Throughput {
            calls_per_thread: 10,
            runs: Vec::new(),
            scaling: 1.0,
        };
        let goals = goals(&scenarios, &throughput, 2);
        let met: Vec<(&str, Option<bool>)> = goals.iter().map(|g| (g.id, g.met)).collect();
        assert_eq!(
            met,
            [
                ("catalog_p50", Some(true)),
                ("catalog_vs_python_spawn", None),
                // 300 µs / 4 µs = 75×, below 100×.
                ("catalog_vs_true_spawn", Some(false)),
                ("fresh_p50", Some(false)),
                ("thread_scaling", None),
                ("compile_does_not_block", None),
            ]
        );
        assert_eq!(
            goals[1].note.as_deref(),
            Some("python3 spawn skipped: `python3` is not on PATH")
        );
        assert_eq!(goals[2].measured.as_deref(), Some("75× (300 µs / 4.00 µs)"));
    }
}

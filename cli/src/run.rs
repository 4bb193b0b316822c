//! `watsmith run "TASK"`: the agent solves a task with a model; where the events of an agent's
//! tasks go, which `watsmith chat` shares; and `watsmith config show`.

use std::io::IsTerminal as _;
use std::path::PathBuf;

use clap::Args;
use watsmith_agent::{Ending, Event, EventSink, ProviderFailure, Stop, Transcript};
use watsmith_runtime::{AgentSpec, Environment, Prewarm, Runtime, Source, Sourced};

use crate::Exit;
use crate::args::{Context, Flags, ModelArgs, RunArgs, Sources, TaskArgs, failure};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub(crate) struct RunTaskArgs {
    /// The task, in words; `-` reads it from standard input.
    task: String,
    #[command(flatten)]
    agent: AgentArgs,
}

/// Everything an agent is made of, from the command line (`run`, `chat`).
#[derive(Debug, Args)]
pub(crate) struct AgentArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    task: TaskArgs,
    /// Write every event to FILE as JSON lines (replayable with `--provider replay`).
    #[arg(long, value_name = "FILE", help_heading = "Output")]
    transcript: Option<PathBuf>,
    /// Print the events as JSON lines on stdout instead of progress and the answer.
    #[arg(short = 'j', long, help_heading = "Output")]
    pub(crate) json: bool,
    #[command(flatten)]
    pub(crate) sources: Sources,
    #[command(flatten)]
    pub(crate) run: RunArgs,
}

impl AgentArgs {
    /// The flags, for the runtime.
    pub(crate) fn flags(&self) -> Flags<'_> {
        Flags {
            sources: Some(&self.sources),
            run: Some(&self.run),
            model: Some(&self.model),
            task: Some(&self.task),
            // With --json, events go to stdout whole; streamed deltas are for people.
            no_stream: self.json,
            ..Flags::default()
        }
    }

    /// Starts the runtime of an agent: the catalog pre-warms while the model thinks.
    pub(crate) async fn start(&self, env: &Environment) -> Result<Runtime, Exit> {
        self.flags().start(env, Prewarm::Background).await
    }

    /// Where the events go: progress on stderr (or JSON lines on stdout), and the transcript.
    pub(crate) fn sinks(&self) -> Result<Sinks, Exit> {
        let mut sinks: Vec<Box<dyn EventSink>> = Vec::new();
        let mut shown = None;
        if self.json {
            sinks.push(Box::new(Transcript::new(std::io::stdout())));
        } else {
            let progress = Progress::new(std::io::stderr(), false);
            // stdout and stderr on one terminal: an answer streamed there is shown once.
            if std::io::stdout().is_terminal() && std::io::stderr().is_terminal() {
                shown = Some(progress.answer_streamed());
            }
            sinks.push(Box::new(progress));
        }
        if let Some(path) = &self.transcript {
            let file = std::fs::File::create(path).map_err(|error| {
                eprintln!(
                    "{} cannot write the transcript {}: {error}",
                    crate::color::error_label(),
                    path.display()
                );
                Exit::Input
            })?;
            sinks.push(Box::new(Transcript::new(std::io::BufWriter::new(file))));
        }
        Ok(Sinks { sinks, shown })
    }
}

/// Sends each event to every sink.
pub(crate) struct Sinks {
    sinks: Vec<Box<dyn EventSink>>,
    /// Set by the progress when the final answer was streamed to a terminal that stdout shares.
    shown: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
}

impl Sinks {
    /// Whether the last task's answer was streamed to the terminal stdout shares.
    pub(crate) fn answer_shown_on_the_terminal(&self) -> bool {
        self.shown
            .as_ref()
            .is_some_and(|shown| shown.load(std::sync::atomic::Ordering::Relaxed))
    }
}

impl EventSink for Sinks {
    fn event(&mut self, event: &Event) {
        for sink in &mut self.sinks {
            sink.event(event);
        }
    }
}

pub(crate) async fn run_task(args: &RunTaskArgs, env: &Environment) -> Exit {
    let task = match task_text(&args.task) {
        Ok(task) => task,
        Err(exit) => return exit,
    };
    let runtime = match args.agent.start(env).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let spec = AgentSpec {
        session: None,
        policy: Some(args.agent.run.policy_or_standard()),
        limits: None,
        model: None,
    };
    let mut session = match runtime.agent(spec).await {
        Ok(session) => session,
        Err(error) => return failure(&error, Context::Agent),
    };
    let mut sinks = match args.agent.sinks() {
        Ok(sinks) => sinks,
        Err(exit) => return exit,
    };
    let finish = match session.run(&task, &mut sinks, std::future::pending()).await {
        Ok(finish) => finish,
        Err(error) => return failure(&error, Context::Agent),
    };
    match finish.ending {
        Ending::Answer(answer) => {
            // On a terminal the answer streamed into the progress is not printed again.
            if !args.agent.json && !sinks.answer_shown_on_the_terminal() {
                crate::emit(&format!("{}\n", crate::escape::controls(&answer)));
            }
            Exit::Ok
        }
        Ending::Stopped(stop) => stopped_exit(&stop),
    }
}

/// The exit status of a task that `stop`ped without an answer: 77 when the provider refused
/// the key, 78 when it cannot be used as configured, else 1.
pub(crate) fn stopped_exit(stop: &Stop) -> Exit {
    match stop {
        Stop::Provider {
            failure: ProviderFailure::Authentication,
            ..
        } => Exit::Authentication,
        Stop::Provider {
            failure: ProviderFailure::Configuration,
            ..
        } => Exit::Configuration,
        _ => Exit::ProgramError,
    }
}

/// The most bytes of a task read from standard input: a task in words, with the data it
/// quotes; past it the input is refused without reading the rest.
const MAX_TASK_BYTES: u64 = 256 * 1024;

/// The task of `watsmith run`: the argument, or standard input for `-` (at most
/// [`MAX_TASK_BYTES`] of UTF-8, trimmed; empty is a usage error).
fn task_text(task: &str) -> Result<String, Exit> {
    use std::io::Read as _;
    if task != "-" {
        return Ok(task.to_owned());
    }
    let mut bytes = Vec::new();
    if let Err(error) = std::io::stdin()
        .lock()
        .take(MAX_TASK_BYTES + 1)
        .read_to_end(&mut bytes)
    {
        eprintln!(
            "{} cannot read the task from standard input: {error}",
            crate::color::error_label()
        );
        return Err(Exit::Input);
    }
    if bytes.len() as u64 > MAX_TASK_BYTES {
        eprintln!(
            "{} the task on standard input holds more than {MAX_TASK_BYTES} bytes; put the data \
             in a file and grant it with --fs-root DIR",
            crate::color::error_label()
        );
        return Err(Exit::Input);
    }
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!(
            "{} the task on standard input is not UTF-8 text",
            crate::color::error_label()
        );
        return Err(Exit::Input);
    };
    let text = text.trim();
    if text.is_empty() {
        return Err(crate::args::usage("the task on standard input is empty"));
    }
    Ok(text.to_owned())
}

/// A sourced text setting, as `config show` prints it.
fn pair(setting: &Option<Sourced<String>>) -> Option<(String, &Source)> {
    setting.as_ref().map(|s| (s.value.clone(), &s.source))
}

/// `watsmith config show`: the effective configuration, the key redacted; `--json`: its
/// [`watsmith_runtime::SettingsView`].
pub(crate) fn show_config(sources: &Sources, env: &Environment, json: bool) -> Exit {
    let flags = Flags {
        sources: Some(sources),
        ..Flags::default()
    };
    let effective = match flags.effective(env) {
        Ok(effective) => effective,
        Err(exit) => return exit,
    };
    if json {
        let view = watsmith_runtime::SettingsView::of(&effective);
        let text = serde_json::to_string_pretty(&view).expect("the settings serialise");
        crate::emit(&format!("{text}\n"));
        return Exit::Ok;
    }
    let mut text = match &effective.file {
        Some(path) => format!("# configuration file: {}\n", path.display()),
        None => "# no configuration file (looked for $WATSMITH_CONFIG, ./watsmith.toml, \
                 ~/.config/watsmith/watsmith.toml)\n"
            .to_owned(),
    };
    let dirs: Vec<String> = effective
        .catalog
        .iter()
        .map(|d| format!("{:?}", d.dir.display().to_string()))
        .collect();
    text.push_str(&format!(
        "\n[catalog]\ndirs = [{}]\nshadow = {}\n\n[agent]\n",
        dirs.join(", "),
        effective.catalog.iter().any(|d| d.shadow)
    ));
    let from = |source: &Source| match source {
        Source::Environment(_) => "the environment".to_owned(),
        other => format!("the {other}"),
    };
    let sourced = |key: &str, value: Option<(String, &Source)>| match value {
        Some((v, source)) => format!("{key} = {v:?}  # from {}\n", from(source)),
        None => format!("# {key}: not set\n"),
    };
    let agent = &effective.agent;
    text.push_str(&sourced(
        "provider",
        agent
            .provider
            .as_ref()
            .map(|p| (p.value.name().to_owned(), &p.source)),
    ));
    text.push_str(&sourced("model", pair(&agent.model)));
    text.push_str(&sourced("base_url", pair(&agent.base_url)));
    text.push_str(&match &agent.api_key {
        Some(key) => format!(
            "api_key = \"{}\"  # from {}\n",
            key.value,
            match &key.source {
                Source::Environment(var) => var.clone(),
                Source::File => "the configuration file".to_owned(),
                other => format!("the {other}"),
            }
        ),
        None => "# api_key: not set\n".to_owned(),
    });
    if let Some(replay) = &agent.replay {
        text.push_str(&format!("replay = {:?}\n", replay.display().to_string()));
    }
    let limits = &agent.limits;
    text.push_str(&format!(
        "protocol = \"{}\"\nprompt = \"{}\"\nmax_steps = {}\nmax_retries = {}\ntoken_budget = {}\nwall_clock_secs = {}\nmax_tokens = {}\nstream = {}\ntimeout_ms = {}\n",
        agent.protocol.name(),
        agent.prompt.name(),
        limits.max_steps,
        limits.max_retries,
        limits.token_budget,
        limits.wall_clock.as_secs(),
        agent.max_tokens,
        agent.stream,
        agent.timeout.as_millis(),
    ));
    if let Some(temperature) = agent.temperature {
        text.push_str(&format!("temperature = {temperature}\n"));
    }
    let retry = &agent.retry;
    text.push_str(&format!(
        "\n[agent.retry]\nmax_retries = {}\nbase_delay_ms = {}\nmax_delay_ms = {}\nmax_retry_after_ms = {}\n",
        retry.max_retries,
        retry.base_delay.as_millis(),
        retry.max_delay.as_millis(),
        retry.max_retry_after.as_millis(),
    ));
    let limits = &effective.limits;
    text.push_str("\n[limits]\n");
    for (key, value) in [
        ("fuel", limits.fuel),
        ("timeout_ms", limits.timeout_ms),
        ("memory_mb", limits.memory_mb),
    ] {
        text.push_str(&match value {
            Some(value) => format!("{key} = {value}\n"),
            None => format!("# {key}: the default\n"),
        });
    }
    text.push_str("\n[store]\n");
    text.push_str(&match &effective.store {
        Some(path) => format!("path = {:?}\n", path.display().to_string()),
        None => "# path: not set (kv lives for the process)\n".to_owned(),
    });
    text.push_str(&format!(
        "session_ttl_secs = {}\n",
        effective.session_ttl.as_secs()
    ));
    text.push_str("\n[engine]\n");
    if let Some(cache) = &effective.module_cache {
        text.push_str(&format!(
            "module_cache = {:?}\n",
            cache.display().to_string()
        ));
    }
    text.push_str(&format!(
        "queue = {}\nqueue_wait_ms = {}\n",
        effective.queue.capacity,
        effective.queue.wait.as_millis()
    ));
    crate::emit(&text);
    Exit::Ok
}

//! `watsmith run "TASK"`: the agent solves a task with a model; where the events of an agent's
//! tasks go, which `watsmith chat` shares; and `watsmith config show`.

use std::path::PathBuf;

use clap::Args;
use watsmith_agent::{Ending, Event, EventSink, Protocol, Transcript};
use watsmith_runtime::{AgentSpec, Environment, Prewarm, Runtime, Source, Sourced};

use crate::Exit;
use crate::args::{Context, Flags, ModelArgs, RunArgs, Sources, TaskArgs, failure};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub(crate) struct RunTaskArgs {
    /// The task, in words.
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
    #[arg(long, value_name = "FILE")]
    transcript: Option<PathBuf>,
    /// Print the events as JSON lines on stdout instead of progress and the answer.
    #[arg(long)]
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
        if self.json {
            sinks.push(Box::new(Transcript::new(std::io::stdout())));
        } else {
            sinks.push(Box::new(Progress::new(std::io::stderr(), false)));
        }
        if let Some(path) = &self.transcript {
            let file = std::fs::File::create(path).map_err(|error| {
                eprintln!(
                    "error: cannot write the transcript {}: {error}",
                    path.display()
                );
                Exit::Input
            })?;
            sinks.push(Box::new(Transcript::new(std::io::BufWriter::new(file))));
        }
        Ok(Sinks(sinks))
    }
}

/// Sends each event to every sink.
pub(crate) struct Sinks(Vec<Box<dyn EventSink>>);

impl EventSink for Sinks {
    fn event(&mut self, event: &Event) {
        for sink in &mut self.0 {
            sink.event(event);
        }
    }
}

pub(crate) async fn run_task(args: &RunTaskArgs, env: &Environment) -> Exit {
    let runtime = match args.agent.start(env).await {
        Ok(runtime) => runtime,
        Err(exit) => return exit,
    };
    let spec = AgentSpec {
        session: None,
        policy: Some(args.agent.run.policy_or_standard()),
        limits: None,
    };
    let mut session = match runtime.agent(spec).await {
        Ok(session) => session,
        Err(error) => return failure(&error, Context::Agent),
    };
    let mut sinks = match args.agent.sinks() {
        Ok(sinks) => sinks,
        Err(exit) => return exit,
    };
    let finish = match session
        .run(&args.task, &mut sinks, std::future::pending())
        .await
    {
        Ok(finish) => finish,
        Err(error) => return failure(&error, Context::Agent),
    };
    match finish.ending {
        Ending::Answer(answer) => {
            if !args.agent.json {
                crate::emit(&format!("{answer}\n"));
            }
            Exit::Ok
        }
        Ending::Stopped(_) => Exit::ProgramError,
    }
}

/// A sourced text setting, as `config show` prints it.
fn pair(setting: &Option<Sourced<String>>) -> Option<(String, &Source)> {
    setting.as_ref().map(|s| (s.value.clone(), &s.source))
}

/// `watsmith config show`: the effective configuration, the key redacted.
pub(crate) fn show_config(sources: &Sources, env: &Environment) -> Exit {
    let flags = Flags {
        sources: Some(sources),
        ..Flags::default()
    };
    let effective = match flags.effective(env) {
        Ok(effective) => effective,
        Err(exit) => return exit,
    };
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
        match agent.protocol {
            Protocol::Tools => "tools",
            Protocol::Text => "text",
        },
        match agent.prompt {
            watsmith_agent::PromptStyle::Compact => "compact",
            watsmith_agent::PromptStyle::Full => "full",
        },
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
    if let Some(cache) = &effective.module_cache {
        text.push_str(&format!(
            "\n[engine]\nmodule_cache = {:?}\n",
            cache.display().to_string()
        ));
    }
    crate::emit(&text);
    Exit::Ok
}

//! `watsmith run "TASK"`: the agent solves a task with a model; the agent's set-up, which
//! `watsmith chat` shares; the model of `exec` and `use` for `ai`; and `watsmith config show`.
//!
//! Settings come from the flags, then the environment (`WATSMITH_PROVIDER`, `WATSMITH_MODEL`,
//! `WATSMITH_BASE_URL`, `WATSMITH_API_KEY`), then the `[agent]` table of the configuration file,
//! then the defaults. The API key is read from `WATSMITH_API_KEY`, the variable named by
//! `api_key_env`, the provider's usual variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`), or the
//! file, in that order; it is never printed.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use watsmith_agent::{
    Agent, AgentLimits, AgentParts, ApiKey, Ending, Event, EventSink, ModelSettings, Protocol,
    Provider, ProviderConfig, ProviderKind, ProviderModel, Replay, Session, Transcript, connect,
    defaults,
};
use watsmith_engine::{Ai, Capability};

use crate::Exit;
use crate::catalog::Sources;
use crate::config::{AgentConfig, Config};
use crate::exec::{RunArgs, Runner};
use crate::progress::Progress;

#[derive(Debug, Args)]
pub(crate) struct RunTaskArgs {
    /// The task, in words.
    task: String,
    #[command(flatten)]
    agent: AgentArgs,
}

/// Which model to ask: for the agent (`run`, `chat`), and for programs that call `$ai`
/// (`exec`, `use`).
#[derive(Debug, Default, Args)]
pub(crate) struct ModelArgs {
    /// The model's API: `openai` (and any OpenAI-compatible server with `--base-url`),
    /// `anthropic`, `ollama`, or `replay` (answers from a transcript, `--replay FILE`).
    #[arg(long, value_parser = ["openai", "anthropic", "ollama", "replay"])]
    provider: Option<String>,
    /// The model's name at the provider.
    #[arg(long)]
    model: Option<String>,
    /// Where the provider is (default: the provider's own URL; Ollama: 127.0.0.1:11434).
    #[arg(long, value_name = "URL")]
    base_url: Option<String>,
    /// The transcript the `replay` provider answers from.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
}

/// How far a task may go and how the model states its actions (`run`, `chat`).
#[derive(Debug, Default, Args)]
pub(crate) struct TaskArgs {
    /// How the model states actions: `tools` (native tool calls; default for openai and
    /// anthropic) or `text` (a ```wat block or an @use line; default for ollama).
    #[arg(long, value_parser = ["tools", "text"])]
    protocol: Option<String>,
    /// Actions per task (default 8).
    #[arg(long, value_name = "N")]
    max_steps: Option<usize>,
    /// Retries of a program that does not compile (default 2).
    #[arg(long, value_name = "N")]
    max_retries: Option<usize>,
    /// Model tokens per task, all requests together (default 200000).
    #[arg(long, value_name = "N")]
    token_budget: Option<u64>,
    /// Seconds per task, model latency included (default 300).
    #[arg(long, value_name = "S")]
    wall_clock_secs: Option<u64>,
    /// Do not stream the model's answers.
    #[arg(long)]
    no_stream: bool,
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
    run: RunArgs,
}

/// Reads an environment variable that is set and not empty.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The agent's settings, resolved, with where each came from.
#[derive(Debug)]
pub(crate) struct Resolved {
    provider: Option<(String, &'static str)>,
    model: Option<(String, &'static str)>,
    base_url: Option<(String, &'static str)>,
    api_key: Option<(ApiKey, String)>,
    replay: Option<PathBuf>,
    protocol: Protocol,
    /// The protocol was chosen (by a flag or the file), not defaulted.
    protocol_chosen: bool,
    limits: AgentLimits,
    max_tokens: u32,
    temperature: Option<f32>,
    stream: bool,
    timeout: Option<Duration>,
}

/// The first of the flag, the environment variable and the file's value, with its source.
fn pick(flag: Option<&String>, var: &str, file: Option<&String>) -> Option<(String, &'static str)> {
    flag.map(|v| (v.clone(), "flag"))
        .or_else(|| env(var).map(|v| (v, "environment")))
        .or_else(|| file.map(|v| (v.clone(), "file")))
}

fn resolve(model: &ModelArgs, task: &TaskArgs, file: &AgentConfig) -> Result<Resolved, String> {
    let provider = pick(
        model.provider.as_ref(),
        "WATSMITH_PROVIDER",
        file.provider.as_ref(),
    );
    if let Some((name, source)) = &provider
        && !["openai", "anthropic", "ollama", "replay"].contains(&name.as_str())
    {
        return Err(format!(
            "unknown provider `{name}` (from the {source}); the providers are openai, anthropic, ollama and replay"
        ));
    }
    let kind = provider.as_ref().map(|(name, _)| name.as_str());
    let api_key = env("WATSMITH_API_KEY")
        .map(|k| (k, "WATSMITH_API_KEY".to_owned()))
        .or_else(|| {
            let var = file.api_key_env.as_ref()?;
            env(var).map(|k| (k, var.clone()))
        })
        .or_else(|| {
            let var = match kind? {
                "openai" => "OPENAI_API_KEY",
                "anthropic" => "ANTHROPIC_API_KEY",
                _ => return None,
            };
            env(var).map(|k| (k, var.to_owned()))
        })
        .or_else(|| {
            file.api_key
                .clone()
                .map(|k| (k, "the configuration file".to_owned()))
        })
        .map(|(key, source)| (ApiKey::new(key), source));
    let chosen = task.protocol.clone().or_else(|| file.protocol.clone());
    let protocol = match chosen.as_deref() {
        Some("tools") => Protocol::Tools,
        Some("text") => Protocol::Text,
        Some(other) => return Err(format!("unknown protocol `{other}`; use tools or text")),
        None if kind == Some("ollama") => Protocol::Text,
        None => Protocol::Tools,
    };
    let defaults = AgentLimits::default();
    let limits = AgentLimits {
        max_steps: task
            .max_steps
            .or(file.max_steps)
            .unwrap_or(defaults.max_steps),
        max_retries: task
            .max_retries
            .or(file.max_retries)
            .unwrap_or(defaults.max_retries),
        token_budget: task
            .token_budget
            .or(file.token_budget)
            .unwrap_or(defaults.token_budget),
        wall_clock: task
            .wall_clock_secs
            .or(file.wall_clock_secs)
            .map_or(defaults.wall_clock, Duration::from_secs),
    };
    if limits.max_steps == 0 {
        return Err("--max-steps must be at least 1".to_owned());
    }
    Ok(Resolved {
        model: pick(model.model.as_ref(), "WATSMITH_MODEL", file.model.as_ref()),
        base_url: pick(
            model.base_url.as_ref(),
            "WATSMITH_BASE_URL",
            file.base_url.as_ref(),
        ),
        provider,
        api_key,
        replay: model.replay.clone().or_else(|| file.replay.clone()),
        protocol,
        protocol_chosen: chosen.is_some(),
        limits,
        max_tokens: file.max_tokens.unwrap_or(defaults::DEFAULT_MAX_TOKENS),
        temperature: file.temperature,
        stream: !task.no_stream && file.stream.unwrap_or(true),
        timeout: file.timeout_ms.map(Duration::from_millis),
    })
}

/// The provider the settings name, the model to ask, and the protocol (a replay's unless one
/// was chosen: the requests must be the recorded ones).
fn provider(resolved: &Resolved) -> Result<(Arc<dyn Provider>, String, Protocol), String> {
    let Some((name, _)) = &resolved.provider else {
        return Err(
            "choose a model provider: --provider openai|anthropic|ollama|replay (or \
                    `provider` in the [agent] table of watsmith.toml); without a model \
                    endpoint, `watsmith demo` replays recorded sessions"
                .to_owned(),
        );
    };
    if name == "replay" {
        let path = resolved
            .replay
            .as_ref()
            .ok_or("the replay provider answers from a transcript: --replay FILE")?;
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read the transcript {}: {e}", path.display()))?;
        let replay =
            Replay::from_transcript(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        let model = match &resolved.model {
            Some((model, _)) => model.clone(),
            None => replay
                .recorded_model()
                .ok_or("the transcript names no model: give --model")?
                .to_owned(),
        };
        let protocol = match replay.recorded_protocol() {
            Some(recorded) if !resolved.protocol_chosen => recorded,
            _ => resolved.protocol,
        };
        return Ok((Arc::new(replay), model, protocol));
    }
    let kind = match name.as_str() {
        "openai" => ProviderKind::OpenAi,
        "anthropic" => ProviderKind::Anthropic,
        _ => ProviderKind::Ollama,
    };
    let (model, _) = resolved.model.clone().ok_or_else(|| {
        format!("name the model to ask: --model NAME (or `model` in the [agent] table) for {name}")
    })?;
    let mut config = ProviderConfig::new(kind, model.clone());
    config.base_url = resolved.base_url.as_ref().map(|(url, _)| url.clone());
    config.api_key = resolved.api_key.as_ref().map(|(key, _)| key.clone());
    if let Some(timeout) = resolved.timeout {
        config.timeout = timeout;
    }
    let provider = connect(&config).map_err(|e| e.to_string())?;
    Ok((provider, model, resolved.protocol))
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

/// An agent made from the flags, the environment and the configuration file, with the runner
/// whose kv store is saved after its tasks, and where its events go.
pub(crate) struct Prepared {
    /// The runtime the agent's tasks are driven on.
    pub(crate) runtime: tokio::runtime::Runtime,
    pub(crate) agent: Agent,
    pub(crate) runner: Runner,
    pub(crate) sinks: Sinks,
    /// The events go to stdout as JSON lines (`--json`), the answers with them.
    pub(crate) json: bool,
    /// `provider:model`.
    pub(crate) label: String,
}

impl Prepared {
    /// A new session, in the kv namespace of `--kv-namespace`.
    pub(crate) fn session(&self) -> Session {
        Session::new(self.runner.kv_namespace().to_owned())
    }

    /// Saves the kv store (if `--kv-file` keeps it); an error is printed.
    pub(crate) fn flush(&self) -> Result<(), Exit> {
        match self.runner.flush() {
            Some(Err(error)) => {
                eprintln!("error: {error}");
                Err(Exit::Input)
            }
            _ => Ok(()),
        }
    }
}

/// Builds the agent `args` describe; the exit status of an error (printed).
pub(crate) fn prepare(args: &AgentArgs) -> Result<Prepared, Exit> {
    let usage = |message: String| {
        eprintln!("error: {message}");
        Exit::Usage
    };
    let config = Config::load(args.sources.config.as_deref()).map_err(usage)?;
    let resolved = resolve(&args.model, &args.task, &config.agent).map_err(usage)?;
    let (provider, model, protocol) = provider(&resolved).map_err(usage)?;
    let catalog = crate::catalog::load(&args.sources)?;
    // Programs that call `$ai.complete` (granted with `--allow ai`) ask the same model.
    let ai = Ai::new(Arc::new(ProviderModel::new(provider.clone(), &model)));
    let runner = args.run.runner_with(vec![Box::new(ai)])?;
    let mut sinks: Vec<Box<dyn EventSink>> = Vec::new();
    if args.json {
        sinks.push(Box::new(Transcript::new(std::io::stdout())));
    } else {
        sinks.push(Box::new(Progress::new(std::io::stderr(), false)));
    }
    if let Some(path) = &args.transcript {
        let file = std::fs::File::create(path).map_err(|error| {
            eprintln!(
                "error: cannot write the transcript {}: {error}",
                path.display()
            );
            Exit::Input
        })?;
        sinks.push(Box::new(Transcript::new(std::io::BufWriter::new(file))));
    }
    let label = format!("{}:{model}", provider.name());
    let mut settings = ModelSettings::new(model, protocol);
    settings.max_tokens = resolved.max_tokens;
    settings.temperature = resolved.temperature;
    settings.stream = resolved.stream && !args.json;
    let agent = Agent::new(AgentParts {
        provider,
        engine: runner.engine.clone(),
        catalog: Arc::new(catalog),
        policy: runner.policy.clone(),
        limits: runner.limits.clone(),
        agent_limits: resolved.limits.clone(),
        settings,
    });
    Ok(Prepared {
        runtime: crate::agent::runtime()?,
        agent,
        runner,
        sinks: Sinks(sinks),
        json: args.json,
        label,
    })
}

/// The capabilities a run of `exec` or `use` adds to the built-in ones: `ai` when `needed`,
/// asking the model the flags, the environment or the configuration file name. Needed and not
/// configured is a usage error that says how to name one.
pub(crate) fn extra_capabilities(
    args: &ModelArgs,
    config: Option<&Path>,
    needed: bool,
) -> Result<Vec<Box<dyn Capability>>, Exit> {
    if !needed {
        return Ok(Vec::new());
    }
    let usage = |message: String| {
        eprintln!("error: {message}");
        Exit::Usage
    };
    let config = Config::load(config).map_err(usage)?;
    let resolved = resolve(args, &TaskArgs::default(), &config.agent).map_err(usage)?;
    if resolved.provider.is_none() {
        return Err(usage(
            "`ai` asks a language model, and none is configured: name one with --provider \
             openai|anthropic|ollama and --model NAME (or the [agent] table of watsmith.toml)"
                .to_owned(),
        ));
    }
    let (provider, model, _) = provider(&resolved).map_err(usage)?;
    Ok(vec![Box::new(Ai::new(Arc::new(ProviderModel::new(
        provider, model,
    ))))])
}

pub(crate) fn run_task(args: &RunTaskArgs) -> Exit {
    let mut prepared = match prepare(&args.agent) {
        Ok(prepared) => prepared,
        Err(exit) => return exit,
    };
    let mut session = prepared.session();
    let finish = prepared.runtime.block_on(prepared.agent.run(
        &mut session,
        &args.task,
        &mut prepared.sinks,
    ));
    if let Err(exit) = prepared.flush() {
        return exit;
    }
    match finish.ending {
        Ending::Answer(answer) => {
            if !prepared.json {
                crate::emit(&format!("{answer}\n"));
            }
            Exit::Ok
        }
        Ending::Stopped(_) => Exit::ProgramError,
    }
}

/// `watsmith config show`: the effective configuration, the key redacted.
pub(crate) fn show_config(sources: &Sources) -> Exit {
    let config = match Config::load(sources.config.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let resolved = match resolve(&ModelArgs::default(), &TaskArgs::default(), &config.agent) {
        Ok(resolved) => resolved,
        Err(message) => {
            eprintln!("error: {message}");
            return Exit::Usage;
        }
    };
    let mut text = match &config.path {
        Some(path) => format!("# configuration file: {}\n", path.display()),
        None => "# no configuration file (looked for $WATSMITH_CONFIG, ./watsmith.toml, \
                 ~/.config/watsmith/watsmith.toml)\n"
            .to_owned(),
    };
    let dirs: Vec<String> = config
        .catalog
        .dirs
        .iter()
        .map(|d| format!("{:?}", d.display().to_string()))
        .collect();
    text.push_str(&format!(
        "\n[catalog]\ndirs = [{}]\nshadow = {}\n\n[agent]\n",
        dirs.join(", "),
        config.catalog.shadow
    ));
    let sourced = |key: &str, value: &Option<(String, &'static str)>| match value {
        Some((v, source)) => format!("{key} = {v:?}  # from the {source}\n"),
        None => format!("# {key}: not set\n"),
    };
    text.push_str(&sourced("provider", &resolved.provider));
    text.push_str(&sourced("model", &resolved.model));
    text.push_str(&sourced("base_url", &resolved.base_url));
    text.push_str(&match &resolved.api_key {
        Some((key, source)) => format!("api_key = \"{key}\"  # from {source}\n"),
        None => "# api_key: not set\n".to_owned(),
    });
    if let Some(replay) = &resolved.replay {
        text.push_str(&format!("replay = {:?}\n", replay.display().to_string()));
    }
    let limits = &resolved.limits;
    text.push_str(&format!(
        "protocol = \"{}\"\nmax_steps = {}\nmax_retries = {}\ntoken_budget = {}\nwall_clock_secs = {}\nmax_tokens = {}\nstream = {}\n",
        match resolved.protocol {
            Protocol::Tools => "tools",
            Protocol::Text => "text",
        },
        limits.max_steps,
        limits.max_retries,
        limits.token_budget,
        limits.wall_clock.as_secs(),
        resolved.max_tokens,
        resolved.stream,
    ));
    if let Some(temperature) = resolved.temperature {
        text.push_str(&format!("temperature = {temperature}\n"));
    }
    if let Some(timeout) = resolved.timeout {
        text.push_str(&format!("timeout_ms = {}\n", timeout.as_millis()));
    }
    crate::emit(&text);
    Exit::Ok
}

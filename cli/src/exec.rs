//! `watsmith exec`: run a body under limits and print its results (or its outcome as JSON).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use watsmith_engine::{
    Capability, Engine, EngineConfig, FsGrant, HttpGrant, Kv, KvError, KvGrant, Limits, Outcome,
    Policy, RandGrant, Registry, Status, Value, limits,
};

use crate::Exit;
use crate::run::{ModelArgs, extra_capabilities};

#[derive(Debug, Args)]
pub(crate) struct ExecArgs {
    /// The body to run; `-` reads standard input.
    file: PathBuf,
    /// Arguments of the program, available to `argv` (`42` is an integer, `4.5` a float,
    /// anything else text). Negative numbers are arguments; other values that start with `-`
    /// go after `--`.
    #[arg(allow_negative_numbers = true)]
    args: Vec<String>,
    /// Treat every argument as text, whatever its form.
    #[arg(long = "str")]
    all_text: bool,
    #[command(flatten)]
    run: RunArgs,
    #[command(flatten)]
    model: ModelArgs,
    /// The configuration file whose `[agent]` table names the model `--allow ai` asks
    /// (default: `$WATSMITH_CONFIG`, else `./watsmith.toml`, else
    /// `~/.config/watsmith/watsmith.toml`, if one exists).
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Print the outcome as JSON (status, code, results, logs, trap, diagnostics, ...).
    #[arg(long)]
    json: bool,
}

/// The flags of a run shared by `exec` and `use`: limits, grants, and where compiled modules
/// and the kv store are kept.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    /// Instruction budget; `0` for unlimited (the deadline still applies).
    #[arg(long, default_value_t = limits::DEFAULT_FUEL)]
    fuel: u64,
    /// Wall-clock deadline in milliseconds, host calls (HTTP, AI) included.
    #[arg(long, default_value_t = limits::DEFAULT_TIMEOUT.as_millis() as u64)]
    timeout_ms: u64,
    /// Cap on the linear memory, in MiB.
    #[arg(long, default_value_t = limits::DEFAULT_MEMORY_BYTES >> 20)]
    memory_mb: u64,
    /// Grant a capability (repeatable). `core`, `str`, `arr`, `json` and `math` are always
    /// granted; `kv`, `fs`, `http`, `time`, `rand` and `ai` only when asked for. `ai` asks the
    /// model of `--provider` and `--model` (in `run` and `chat`, the agent's own).
    #[arg(long = "allow", value_name = "CAP")]
    allow: Vec<String>,
    /// Allow HTTP requests to a host (repeatable; grants `http`): `api.example.com`,
    /// `*.example.com`, `example.com:8443`, `*`. Loopback, private and metadata addresses are
    /// refused unless named by address (`127.0.0.1:8080`).
    #[arg(long = "allow-host", value_name = "HOST")]
    allow_hosts: Vec<String>,
    /// Jail root of `fs` (grants `fs`, read-only unless `--fs-write`).
    #[arg(long, value_name = "DIR")]
    fs_root: Option<PathBuf>,
    /// Let `fs` write under its root.
    #[arg(long, requires = "fs_root")]
    fs_write: bool,
    /// Keep the `kv` store in this file (grants `kv`); without it the store lives for one run.
    #[arg(long, value_name = "FILE")]
    kv_file: Option<PathBuf>,
    /// The `kv` namespace of this run.
    #[arg(long, value_name = "NAME", default_value = "default")]
    kv_namespace: String,
    /// Seed of `rand` (grants `rand`); the same seed gives the same numbers.
    #[arg(long, value_name = "N")]
    seed: Option<u64>,
    /// Keep compiled modules in this directory, so later runs of the same body skip compiling.
    #[arg(long, value_name = "DIR")]
    module_cache: Option<PathBuf>,
}

/// An engine built from [`RunArgs`], with the kv store to save after the run.
pub(crate) struct Runner {
    pub(crate) engine: Arc<Engine>,
    pub(crate) policy: Policy,
    pub(crate) limits: Limits,
    kv: Option<Kv>,
    kv_namespace: String,
}

impl Runner {
    /// Saves the kv store (if `--kv-file`) and reports the outcome.
    pub(crate) fn finish(&self, outcome: &Outcome, json: bool) -> Exit {
        if let Some(Err(error)) = self.flush() {
            eprintln!("error: {error}");
            return Exit::Input;
        }
        report(outcome, json)
    }

    /// Saves the kv store, if `--kv-file` keeps it.
    pub(crate) fn flush(&self) -> Option<Result<(), KvError>> {
        self.kv.as_ref().map(Kv::flush)
    }

    /// The kv namespace of the runs (`--kv-namespace`).
    pub(crate) fn kv_namespace(&self) -> &str {
        &self.kv_namespace
    }
}

impl RunArgs {
    /// Whether `--allow` names `capability`.
    pub(crate) fn allows(&self, capability: &str) -> bool {
        self.allow.iter().any(|c| c == capability)
    }

    /// The engine, policy and limits the flags describe, with capabilities besides the
    /// built-in ones (`ai`, when a model is configured); the exit status of an error (printed).
    pub(crate) fn runner_with(&self, extra: Vec<Box<dyn Capability>>) -> Result<Runner, Exit> {
        let mut registry = Registry::builtin();
        for capability in extra {
            registry.register(capability);
        }
        let kv = match &self.kv_file {
            Some(path) => {
                let kv = Kv::open(path).map_err(|error| {
                    eprintln!("error: {error}");
                    Exit::Input
                })?;
                registry.register(Box::new(kv.clone()));
                Some(kv)
            }
            None => None,
        };
        let config = EngineConfig {
            disk_cache: self.module_cache.clone(),
            ..EngineConfig::default()
        };
        let engine = Engine::with_registry(&config, registry).map_err(|error| {
            eprintln!("error: {error}");
            Exit::Input
        })?;
        let policy = self.policy(engine.registry()).map_err(|message| {
            eprintln!("error: {message}");
            Exit::Usage
        })?;
        Ok(Runner {
            engine: Arc::new(engine),
            policy,
            limits: self.limits(),
            kv,
            kv_namespace: self.kv_namespace.clone(),
        })
    }

    /// The policy the flags describe, checked against the engine's capabilities.
    fn policy(&self, registry: &Registry) -> Result<Policy, String> {
        let mut policy = Policy::standard();
        for capability in &self.allow {
            if registry.get(capability).is_none() {
                let known: Vec<&str> = registry.iter().map(|c| c.name()).collect();
                return Err(format!(
                    "unknown capability `{capability}`; known: {}",
                    known.join(", ")
                ));
            }
            policy = policy.allow(capability.clone());
        }
        if !self.allow_hosts.is_empty() {
            let grant = HttpGrant::new(&self.allow_hosts).map_err(|e| e.to_string())?;
            policy = policy.allow_with("http", grant);
        }
        if let Some(root) = &self.fs_root {
            let grant = if self.fs_write {
                FsGrant::read_write(root)
            } else {
                FsGrant::read_only(root)
            };
            policy = policy.allow_with("fs", grant);
        }
        if self.kv_file.is_some() || self.allows("kv") {
            policy = policy.allow_with("kv", KvGrant::new(self.kv_namespace.clone()));
        }
        if let Some(seed) = self.seed {
            policy = policy.allow_with("rand", RandGrant { seed });
        }
        Ok(policy)
    }

    fn limits(&self) -> Limits {
        Limits {
            fuel: (self.fuel > 0).then_some(self.fuel),
            timeout: Duration::from_millis(self.timeout_ms),
            memory_bytes: self.memory_mb.saturating_mul(1 << 20),
            ..Limits::default()
        }
    }
}

impl ExecArgs {
    fn values(&self) -> Vec<Value> {
        self.args
            .iter()
            .map(|a| {
                if self.all_text {
                    Value::Str(a.clone())
                } else {
                    Value::from_literal(a)
                }
            })
            .collect()
    }
}

pub(crate) fn run(args: &ExecArgs) -> Exit {
    let body = match crate::expand::read_source(&args.file) {
        Ok(body) => body,
        Err(error) => {
            eprintln!("error: {error:#}");
            return Exit::Input;
        }
    };
    let runner =
        match extra_capabilities(&args.model, args.config.as_deref(), args.run.allows("ai"))
            .and_then(|extra| args.run.runner_with(extra))
        {
            Ok(runner) => runner,
            Err(exit) => return exit,
        };
    let outcome = runner
        .engine
        .exec(&body, args.values(), &runner.policy, &runner.limits);
    runner.finish(&outcome, args.json)
}

/// Prints an outcome (plain or JSON) and gives the exit status it stands for.
pub(crate) fn report(outcome: &Outcome, json: bool) -> Exit {
    if json {
        let json = serde_json::to_string_pretty(outcome).expect("an outcome serialises");
        crate::emit(&format!("{json}\n"));
    } else {
        print_plain(outcome);
    }
    match outcome.status {
        Status::Ok => Exit::Ok,
        Status::Error => Exit::ProgramError,
        Status::Invalid => Exit::Invalid,
        Status::Trap => Exit::Trap,
    }
}

/// Results on stdout, one per line; logs, diagnostics and the reason of a failure on stderr.
fn print_plain(outcome: &Outcome) {
    for line in &outcome.logs {
        eprintln!("[log] {line}");
    }
    if !outcome.diagnostics.is_empty() {
        eprint!(
            "{}",
            watsmith_preprocessor::Diagnostics::from(outcome.diagnostics.clone()).render()
        );
    }
    for result in &outcome.results {
        crate::emit(&format!("{result}\n"));
    }
    match (outcome.status, &outcome.trap) {
        (Status::Error, _) => eprintln!("error: the program ended with status {}", outcome.code),
        (Status::Trap, Some(trap)) => eprintln!("trap: {}: {}", trap.kind.name(), trap.message),
        _ => {}
    }
}

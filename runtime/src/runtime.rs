//! The runtime: one engine, the catalog pre-linked on it, the store and the model, behind the
//! calls every front end makes.

use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use watsmith_agent::demo::{self, Recording, Script};
use watsmith_agent::{
    Agent, AgentParts, Event, EventSink, Finish, ModelSettings, Session, SystemPrompt,
};
use watsmith_catalog::{
    CallError, Catalog, CatalogError, Checker, CheckerError, Invocation, Literal, Prepared,
};
use watsmith_engine::{
    CancellationToken, Engine, EngineConfig, EngineError, GrantHint, Limits, LimitsError,
    LimitsSpec, NumberError, Outcome, Policy, PolicyError, PolicySpec, Resources, Status, Value,
    parse_number,
};
use watsmith_preprocessor::abi::ValType;
use watsmith_preprocessor::{Diagnostic, Diagnostics, Expanded, LocalType};

use crate::events::{Hub, Hubs, Subscription};
use crate::model::{ModelChoice, ModelError, connect_model};
use crate::settings::Effective;
use crate::store::{
    Database, Imported, MemoryStore, ModelRecord, SessionRecord, Store, StoreError, after_ms,
    now_ms,
};
use crate::views::{ExpandReport, ProgramListing};

/// When the catalog's programs are compiled and pre-linked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prewarm {
    /// All of them, before [`Runtime::start`] returns (a server, before it says it is ready).
    Now,
    /// All of them, on the blocking pool, while the runtime already serves (an agent's first
    /// request to its model takes longer than the catalog); a call of a program not yet warm
    /// prepares it then.
    Background,
    /// Each program when it is first called, and only then (a process that runs one program
    /// and exits).
    OnDemand,
}

/// How a runtime is started.
#[derive(Clone)]
pub struct RuntimeOptions {
    /// The merged settings.
    pub settings: Effective,
    /// When the catalog is pre-warmed.
    pub prewarm: Prewarm,
    /// How the front end says a refused capability is granted (`--allow kv`), for the hints of
    /// refusals.
    pub hint: Option<GrantHint>,
    /// The store; `None`: the one the settings name (the SQLite file of `[store] path`, or
    /// memory). A networked store, or one shared by several runtimes, is handed in here.
    pub store: Option<Arc<dyn Store>>,
    /// Models by name, beside the settings' own (named by its label, `provider:model`): a
    /// session names the one it talks to ([`AgentSpec::model`]), and a front end's guard may
    /// take another ([`Runtime::model_named`]).
    pub models: BTreeMap<String, ModelChoice>,
}

impl std::fmt::Debug for RuntimeOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuntimeOptions")
            .field("settings", &self.settings)
            .field("prewarm", &self.prewarm)
            .field("store", &self.store.as_ref().map(|store| store.describe()))
            .field("models", &self.models.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl RuntimeOptions {
    /// `settings`, with the catalog pre-warmed in the background and the engine's hints.
    pub fn new(settings: Effective) -> Self {
        Self {
            settings,
            prewarm: Prewarm::Background,
            hint: None,
            store: None,
            models: BTreeMap::new(),
        }
    }
}

/// A runtime could not do what it was asked for. Each message names the setting, the
/// capability or the file, not a front end's flag: the front end adds its own hint.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The engine could not be built.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A catalog directory could not be read.
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The catalog's checker could not be set up.
    #[error(transparent)]
    Checker(#[from] CheckerError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// No model could be connected.
    #[error(transparent)]
    Model(#[from] ModelError),
    /// The policy spec is not valid.
    #[error(transparent)]
    Policy(#[from] PolicyError),
    /// The limits are not valid.
    #[error(transparent)]
    Limits(#[from] LimitsError),
    /// A catalog call does not fit.
    #[error(transparent)]
    Call(#[from] CallError),
    /// A session name that cannot be used.
    #[error(
        "the session name {name:?} {reason}; a name is 1 to {MAX_SESSION_NAME_BYTES} bytes without control characters"
    )]
    SessionName {
        /// The name given.
        name: String,
        /// Why.
        reason: &'static str,
    },
    /// A resumed session's policy names another kv namespace than the session's.
    #[error(
        "the session {session:?} keeps its programs' keys in the kv namespace {namespace:?}; it cannot be resumed in {asked:?} (leave the namespace out)"
    )]
    ResumedNamespace {
        /// The session.
        session: String,
        /// Its namespace.
        namespace: String,
        /// The namespace its policy names now.
        asked: String,
    },
    /// A new session's policy names the kv namespace of another session (`session:OTHER`).
    #[error(
        "the policy of the new session {session:?} names the kv namespace {namespace:?}, another session's; name one outside `session:` or leave it out (the session then gets its own)"
    )]
    SessionNamespace {
        /// The session being made.
        session: String,
        /// The namespace its policy names.
        namespace: String,
    },
    /// The engine is at capacity: every instance slot (or the compiler) stayed busy for the
    /// queue's wait, or the queue was full. Nothing ran; the same call may succeed later.
    #[error(
        "the engine is at capacity: every instance slot stayed busy for {} ms, or {queue} calls were already waiting; nothing ran, try again in a moment",
        wait.as_millis()
    )]
    Busy {
        /// The queue's wait (`engine.queue_wait_ms`): a fair `Retry-After`.
        wait: Duration,
        /// The queue's capacity (`engine.queue`).
        queue: u32,
    },
    /// No session of that id: it was never made, was removed, or has expired.
    #[error("there is no session {id:?} (it was never created, was deleted, or expired)")]
    NoSession {
        /// The id asked for.
        id: String,
    },
    /// A session of that id exists already.
    #[error("a session {id:?} exists already; resume it, or create one with another id")]
    SessionExists {
        /// The id.
        id: String,
    },
    /// A task is running on the session in this process.
    #[error(
        "the session {id:?} is running a task; one task runs on a session at a time: try again when it ends, or cancel it"
    )]
    SessionBusy {
        /// The session.
        id: String,
    },
    /// A model asked for by a name this runtime does not have.
    #[error(
        "there is no model {name:?}; the models here are {}",
        if known.is_empty() { "none".to_owned() } else { known.join(", ") }
    )]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: Vec<String>,
    },
    /// An argument written as a word does not read as the type the body reads it as.
    #[error("argument {index}: {error}")]
    Argument {
        /// Its position, from 0.
        index: usize,
        /// Why it does not read.
        #[source]
        error: Box<NumberError>,
    },
}

/// A body's arguments: values, or words as a person typed them.
#[derive(Debug, Clone, PartialEq)]
pub enum Args {
    /// Typed values, as they are.
    Values(Vec<Value>),
    /// Words, typed by the body: a word that an `argv` reads into an i32, i64 or float local
    /// is read as a WebAssembly number of that type ([`watsmith_engine::parse_number`]: `0xff`,
    /// `1_000`, `4294967295` as the i32 -1, `-0` as a float's negative zero, `nan:0x1`), one
    /// read into a str or bytes local is its text, and one that no `argv` reads by a constant
    /// index is typed by its form ([`Value::from_literal`]).
    Words(Vec<String>),
}

impl Default for Args {
    fn default() -> Self {
        Self::Values(Vec::new())
    }
}

impl From<Vec<Value>> for Args {
    fn from(values: Vec<Value>) -> Self {
        Self::Values(values)
    }
}

impl Args {
    /// The values, words typed by `body` (see [`Args::Words`]).
    ///
    /// # Errors
    /// [`RuntimeError::Argument`] for a word that does not read as its type.
    pub fn typed_for(self, body: &str) -> Result<Vec<Value>, RuntimeError> {
        let words = match self {
            Self::Values(values) => return Ok(values),
            Self::Words(words) => words,
        };
        // A body that does not preprocess types nothing; its run reports why.
        let types = watsmith_preprocessor::preprocess(body)
            .map(|expanded| expanded.arguments)
            .unwrap_or_default();
        words
            .into_iter()
            .enumerate()
            .map(|(index, word)| {
                let ty = types
                    .iter()
                    .find(|&&(at, _)| usize::try_from(at).is_ok_and(|at| at == index))
                    .map(|&(_, ty)| ty);
                let number = |ty| {
                    parse_number(&word, ty).map_err(|error| RuntimeError::Argument {
                        index,
                        error: Box::new(error),
                    })
                };
                match ty {
                    Some(LocalType::I32) => number(ValType::I32),
                    Some(LocalType::I64) => number(ValType::I64),
                    Some(LocalType::F32 | LocalType::F64) => number(ValType::F64),
                    Some(LocalType::Str) => Ok(Value::Str(word)),
                    Some(LocalType::Bytes) => Ok(Value::Bytes(word.into_bytes())),
                    None => Ok(Value::from_literal(&word)),
                }
            })
            .collect()
    }
}

/// Runs a WAT-plus body.
#[derive(Debug, Clone, Default)]
pub struct ExecSpec {
    /// The body.
    pub body: String,
    /// Its arguments.
    pub args: Args,
    /// What it may do.
    pub policy: PolicySpec,
    /// Its limits, over the settings'.
    pub limits: LimitsSpec,
    /// Stops the run when cancelled (a client that went away, a `cancel` command): the outcome
    /// is then `cancelled` (see [`Engine::exec_cancellable`]). `None`: it runs to its limits.
    pub cancel: Option<CancellationToken>,
}

/// How a catalog call names its program and arguments (the owned form of [`Invocation`]).
#[derive(Debug, Clone, PartialEq)]
pub enum CallSpec {
    /// `fib(30)`, `@use fib(30)`.
    Text(String),
    /// A name and words typed by the program's parameters.
    Words {
        /// The program.
        name: String,
        /// The arguments.
        words: Vec<String>,
    },
    /// A name and literals.
    Literals {
        /// The program.
        name: String,
        /// The arguments.
        args: Vec<Literal>,
    },
}

impl CallSpec {
    fn invocation(&self) -> Invocation<'_> {
        match self {
            Self::Text(text) => Invocation::Text(text),
            Self::Words { name, words } => Invocation::Words { name, words },
            Self::Literals { name, args } => Invocation::Literals { name, args },
        }
    }
}

/// Runs a catalog program.
#[derive(Debug, Clone)]
pub struct UseSpec {
    /// The program and its arguments.
    pub call: CallSpec,
    /// What it may do.
    pub policy: PolicySpec,
    /// Its limits, over the settings'.
    pub limits: LimitsSpec,
    /// Stops the run when cancelled, as [`ExecSpec::cancel`].
    pub cancel: Option<CancellationToken>,
}

/// Starts (or resumes) an agent's session.
#[derive(Debug, Clone, Default)]
pub struct AgentSpec {
    /// The stored session's name: resumed if the store holds it, created otherwise. `None`: a
    /// session that is not stored.
    pub session: Option<String>,
    /// What its programs may do; `None`: a resumed session's own, or the standard compute
    /// capabilities for a new one.
    pub policy: Option<PolicySpec>,
    /// The limits of each run, over the settings'; `None`: a resumed session's own.
    pub limits: Option<LimitsSpec>,
    /// The model it talks to, by name ([`Runtime::model_named`]); `None`: a resumed session's
    /// own if this runtime has it by its label, else the settings'.
    pub model: Option<String>,
}

/// The catalog's examples, run.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// Programs checked.
    pub programs: usize,
    /// Examples run.
    pub examples: usize,
    /// Each example that did not give its results, described.
    pub failures: Vec<String>,
    /// The files that did not load.
    pub problems: Vec<CatalogError>,
}

/// One engine, the catalog pre-linked on it, the store and the model; see the crate
/// documentation.
pub struct Runtime {
    engine: Arc<Engine>,
    catalog: Arc<Prepared>,
    store: Arc<dyn Store>,
    settings: Effective,
    hint: Option<GrantHint>,
    /// The settings' model, connected on first need.
    model: OnceLock<Result<ModelChoice, ModelError>>,
    /// The models handed in by name ([`RuntimeOptions::models`]).
    models: BTreeMap<String, ModelChoice>,
    /// What the front end should tell the user (a catalog file that did not load, a store
    /// imported).
    notes: Vec<Notice>,
    /// Who this runtime is when it holds a session's lease: the process and a random number,
    /// unique among the processes sharing a store.
    holder: Arc<str>,
    /// Each session's events, published as they happen.
    hubs: Hubs,
    /// The pre-warming under way in the background.
    warming: std::sync::Mutex<Option<tokio::task::JoinHandle<Vec<CatalogError>>>>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("catalog", &self.catalog)
            .field("store", &self.store.describe())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the engine, loads the catalog (the built-in programs and the settings'
    /// directories), opens the store (the settings' file, or memory) and pre-warms the catalog
    /// as `options` say. Must be called on a multi-threaded tokio runtime with time and I/O.
    pub async fn start(options: RuntimeOptions) -> Result<Self, RuntimeError> {
        let RuntimeOptions {
            settings,
            prewarm,
            hint,
            store,
            models,
        } = options;
        let store_path = settings.store.clone();
        let (store, mut notes): (Arc<dyn Store>, Vec<Notice>) = match (store, store_path) {
            (Some(store), _) => (store, Vec::new()),
            (None, Some(path)) => {
                let opened = tokio::task::spawn_blocking(move || Database::open(&path))
                    .await
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))?;
                let notes = opened.imported.into_iter().map(Notice::Imported).collect();
                (Arc::new(opened.database), notes)
            }
            (None, None) => (Arc::new(MemoryStore::new()), Vec::new()),
        };
        let config = EngineConfig {
            disk_cache: settings.module_cache.clone(),
            queue: settings.queue,
            ..EngineConfig::default()
        };
        let engine = Arc::new(Engine::new(&config)?);
        let mut catalog = Catalog::builtin();
        for dir in &settings.catalog {
            catalog.add_dir(&dir.dir, dir.shadow)?;
        }
        notes.extend(
            catalog
                .problems()
                .iter()
                .cloned()
                .map(Notice::CatalogProblem),
        );
        let catalog = Arc::new(Prepared::new(Arc::new(catalog), Arc::clone(&engine)));
        let warming = match prewarm {
            Prewarm::OnDemand => None,
            Prewarm::Background => {
                let catalog = Arc::clone(&catalog);
                Some(tokio::task::spawn_blocking(move || catalog.prewarm()))
            }
            Prewarm::Now => {
                let warming = Arc::clone(&catalog);
                let problems = tokio::task::spawn_blocking(move || warming.prewarm())
                    .await
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()));
                notes.extend(problems.into_iter().map(Notice::CatalogProblem));
                None
            }
        };
        Ok(Self {
            engine,
            catalog,
            store,
            settings,
            hint,
            model: OnceLock::new(),
            models,
            notes,
            holder: format!("{}-{:016x}", std::process::id(), fastrand::u64(..)).into(),
            hubs: Hubs::default(),
            warming: std::sync::Mutex::new(warming),
        })
    }

    /// What the front end should tell the user: catalog files that did not load, a store that
    /// was imported.
    pub fn notes(&self) -> &[Notice] {
        &self.notes
    }

    /// The engine.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        self.catalog.catalog()
    }

    /// The catalog, pre-linked on the engine.
    pub fn prepared(&self) -> &Arc<Prepared> {
        &self.catalog
    }

    /// The store.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// A reader of the events of session `session` (of its task `task` only, if given) numbered
    /// after `after` (0: from the first): the stored ones, then the live ones of tasks this
    /// runtime runs, each once and in order. See [`Subscription`]. The session need not exist
    /// (a front end checks that); events published for it later are read too.
    pub fn subscribe(&self, session: &str, task: Option<String>, after: u64) -> Subscription {
        self.hubs.get(session, &self.store).subscribe(task, after)
    }

    /// The settings the runtime was started with.
    pub fn settings(&self) -> &Effective {
        &self.settings
    }

    /// Waits for the pre-warming under way in the background, if any; the catalog programs
    /// that did not compile.
    pub async fn prewarmed(&self) -> Vec<CatalogError> {
        let handle = self
            .warming
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take();
        match handle {
            Some(handle) => handle
                .await
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic())),
            None => Vec::new(),
        }
    }

    /// The model the settings name, connected once.
    pub fn model(&self) -> Result<&ModelChoice, ModelError> {
        self.model
            .get_or_init(|| connect_model(&self.settings.agent))
            .as_ref()
            .map_err(Clone::clone)
    }

    /// The model named `name` (`None`: the settings' own): one handed in by that name
    /// ([`RuntimeOptions::models`]), or the settings' when `name` is its label
    /// (`provider:model`).
    ///
    /// # Errors
    /// [`RuntimeError::UnknownModel`] for a name that is neither; the settings' model's
    /// errors when it is asked for and cannot be connected.
    pub fn model_named(&self, name: Option<&str>) -> Result<ModelChoice, RuntimeError> {
        let Some(name) = name else {
            return Ok(self.model()?.clone());
        };
        if let Some(model) = self.models.get(name) {
            return Ok(model.clone());
        }
        match self.model() {
            Ok(model) if model.label() == name => Ok(model.clone()),
            _ => Err(RuntimeError::UnknownModel {
                name: name.to_owned(),
                known: self.model_names(),
            }),
        }
    }

    /// The names of the models a session may name: those handed in, and the settings' label
    /// if it connects.
    pub fn model_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.models.keys().cloned().collect();
        if let Ok(model) = self.model() {
            names.push(model.label());
        }
        names.sort();
        names.dedup();
        names
    }

    /// The preprocessor's expansion of `body` (what `watsmith expand` prints).
    pub fn expand(&self, body: &str) -> Result<Expanded, Diagnostics> {
        watsmith_preprocessor::preprocess(body)
    }

    /// [`Runtime::expand`] as a front end renders it.
    pub fn expand_report(&self, body: &str) -> ExpandReport {
        ExpandReport::of(self.expand(body))
    }

    /// The catalog's programs (those tagged `tag` only, if given), as a listing shows them, in
    /// the catalog's order.
    pub fn listing(&self, tag: Option<&str>) -> Vec<ProgramListing> {
        self.catalog()
            .programs()
            .into_iter()
            .filter(|program| tag.is_none_or(|tag| program.front.tags.iter().any(|t| t == tag)))
            .map(ProgramListing::of)
            .collect()
    }

    /// The module the engine compiles for `body`, with the imports it calls.
    pub fn assemble(&self, body: &str) -> Result<String, Vec<Diagnostic>> {
        self.engine
            .assemble(body)
            .map(|(_, assembled)| assembled.text)
    }

    /// The policy and limits of a run of `policy` and `limits`: validated, with the store and
    /// the model the grants need, the front end's hint, and the settings' limits underneath.
    pub fn grants(
        &self,
        policy: &PolicySpec,
        limits: &LimitsSpec,
    ) -> Result<(Policy, Limits), RuntimeError> {
        self.grants_with(policy, limits, None)
    }

    fn grants_with(
        &self,
        policy: &PolicySpec,
        limits: &LimitsSpec,
        model: Option<&ModelChoice>,
    ) -> Result<(Policy, Limits), RuntimeError> {
        let base = self.settings.limits.apply(Limits::default())?;
        let limits = policy.limits(limits.apply(base)?);
        let model = if policy.grants(watsmith_engine::capabilities::ai::NAME) {
            Some(match model {
                Some(model) => model.as_engine_model(),
                None => self.model()?.as_engine_model(),
            })
        } else {
            None
        };
        let resources = Resources {
            kv: Some(self.store.kv()),
            model,
        };
        let mut resolved = policy.resolve(self.engine.registry(), &resources)?;
        if let Some(hint) = &self.hint {
            resolved = resolved.with_hint(Arc::clone(hint));
        }
        Ok((resolved, limits))
    }

    /// Runs a body; its outcome (a body that does not compile is an `invalid` outcome, not an
    /// error; a cancelled one is `cancelled`). Compiling never blocks the executor (see
    /// [`Engine::prepare_async`]).
    ///
    /// # Errors
    /// [`RuntimeError::Busy`] when the engine stayed at capacity for the queue's wait; the
    /// policy's, the limits' and the arguments' errors.
    pub async fn exec(&self, spec: ExecSpec) -> Result<Outcome, RuntimeError> {
        let (policy, limits) = self.grants(&spec.policy, &spec.limits)?;
        let args = spec.args.typed_for(&spec.body)?;
        let outcome = match &spec.cancel {
            Some(cancel) => {
                self.engine
                    .exec_cancellable(&spec.body, args, &policy, &limits, cancel)
                    .await
            }
            None => {
                self.engine
                    .exec_async(&spec.body, args, &policy, &limits)
                    .await
            }
        };
        self.admitted(outcome)
    }

    /// The outcome, or [`RuntimeError::Busy`] for a run that never started for want of capacity.
    fn admitted(&self, outcome: Outcome) -> Result<Outcome, RuntimeError> {
        if outcome.status == Status::Busy {
            return Err(RuntimeError::Busy {
                wait: self.settings.queue.wait,
                queue: self.settings.queue.capacity,
            });
        }
        Ok(outcome)
    }

    /// Runs a catalog program, pre-linked (prepared now if it is not warm yet).
    ///
    /// # Errors
    /// As [`Runtime::exec`], and [`RuntimeError::Call`] for a call that does not fit the
    /// catalog.
    pub async fn use_program(&self, spec: UseSpec) -> Result<Outcome, RuntimeError> {
        let bound = self
            .catalog
            .catalog()
            .bind(spec.call.invocation(), self.engine.registry())?;
        let (policy, limits) = self.grants(&spec.policy, &spec.limits)?;
        let outcome = match self.catalog.program_async(bound.program).await {
            Ok(program) => match &spec.cancel {
                Some(cancel) => {
                    self.engine
                        .run_cancellable(&program, bound.args, &policy, &limits, cancel)
                        .await
                }
                None => {
                    self.engine
                        .run_async(&program, bound.args, &policy, &limits)
                        .await
                }
            },
            Err(outcome) => *outcome,
        };
        self.admitted(outcome)
    }

    /// Runs every example of the catalog (or of the programs of `dir`), each in a fresh world
    /// made from its fixture.
    pub async fn check_catalog(&self, dir: Option<&Path>) -> Result<CheckReport, RuntimeError> {
        let catalog = match dir {
            Some(dir) => Catalog::from_dir(dir)?,
            None => self.catalog().clone(),
        };
        let config = EngineConfig {
            disk_cache: self.settings.module_cache.clone(),
            ..EngineConfig::default()
        };
        let report = tokio::task::spawn_blocking(move || -> Result<CheckReport, RuntimeError> {
            let checker = Checker::new(&config)?;
            let programs = catalog.programs();
            Ok(CheckReport {
                programs: programs.len(),
                examples: programs.iter().map(|p| p.front.examples.len()).sum(),
                failures: programs.iter().flat_map(|p| checker.check(p)).collect(),
                problems: catalog.problems().to_vec(),
            })
        })
        .await
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic.into_panic()))?;
        Ok(report)
    }

    /// An agent's session: stored under `spec.session` (resumed when the store holds it), with
    /// the settings' model, which programs granted `ai` ask too.
    pub async fn agent(&self, spec: AgentSpec) -> Result<AgentSession, RuntimeError> {
        let stored = match &spec.session {
            Some(name) => {
                check_session_name(name)?;
                self.store.load_session(name).await?
            }
            None => None,
        };
        let recorded = stored
            .as_ref()
            .and_then(|record| record.model.as_ref())
            .and_then(|recorded| {
                let label = format!("{}:{}", recorded.provider, recorded.model);
                self.models
                    .iter()
                    .find(|(_, model)| model.label() == label)
                    .map(|(name, _)| name.as_str())
            });
        let model = self.model_named(spec.model.as_deref().or(recorded))?;
        let resumed = stored.as_ref().map(|record| record.messages.len());
        let policy = spec
            .policy
            .clone()
            .or_else(|| stored.as_ref().map(|record| record.policy.clone()))
            .unwrap_or_else(PolicySpec::standard);
        let limits = spec
            .limits
            .or_else(|| stored.as_ref().map(|record| record.limits))
            .unwrap_or_default();
        // A resumed session keeps its namespace: what its programs stored is there. A new
        // stored session gets its own (`session:NAME`) unless the policy names one, so that two
        // sessions never see each other's keys by accident.
        let namespace = match (&stored, &spec.session) {
            (Some(record), _) => match &policy.kv_namespace {
                // What its programs stored is in its namespace: another would hide it.
                Some(named) if *named != record.kv_namespace => {
                    return Err(RuntimeError::ResumedNamespace {
                        session: record.id.clone(),
                        namespace: record.kv_namespace.clone(),
                        asked: named.clone(),
                    });
                }
                _ => Some(record.kv_namespace.clone()),
            },
            (None, Some(name)) => Some(match &policy.kv_namespace {
                // `session:OTHER` is the session OTHER's, made now or later: sharing it would
                // give one session's keys to the other without either asking.
                Some(named)
                    if named.starts_with(SESSION_NAMESPACE_PREFIX)
                        && *named != session_namespace(name) =>
                {
                    return Err(RuntimeError::SessionNamespace {
                        session: name.clone(),
                        namespace: named.clone(),
                    });
                }
                Some(named) => named.clone(),
                None => session_namespace(name),
            }),
            (None, None) => None,
        };
        let policy = match &namespace {
            Some(namespace) => policy.in_kv_namespace(namespace.clone()),
            None => policy,
        };
        let (resolved, run_limits) = self.grants_with(&policy, &limits, Some(&model))?;
        let agent_settings = &self.settings.agent;
        let mut settings = ModelSettings::new(model.model.clone(), model.protocol);
        settings.max_tokens = agent_settings.max_tokens;
        settings.temperature = agent_settings.temperature;
        settings.stream = agent_settings.stream;
        settings.prompt = model.prompt;
        settings.system.clone_from(&agent_settings.system);
        let agent = Agent::new(AgentParts {
            provider: Arc::clone(&model.provider),
            catalog: Arc::clone(&self.catalog),
            policy: resolved,
            limits: run_limits,
            agent_limits: agent_settings.limits.clone(),
            settings,
        });
        let now = now_ms();
        let record = spec.session.as_ref().map(|name| {
            let mut record = stored.clone().unwrap_or_else(|| SessionRecord {
                id: name.clone(),
                messages: Vec::new(),
                kv_namespace: namespace.clone().unwrap_or_else(|| session_namespace(name)),
                model: None,
                policy: policy.clone(),
                limits,
                tasks: 0,
                created_ms: now,
                updated_ms: now,
                expires_ms: now,
                revision: 0,
            });
            record.model = Some(ModelRecord {
                provider: model.provider.name().to_owned(),
                model: model.model.clone(),
            });
            record.policy = policy.clone();
            record.limits = limits;
            record
        });
        let conversation = Session {
            messages: stored.map(|record| record.messages).unwrap_or_default(),
        };
        Ok(AgentSession {
            agent,
            conversation,
            record,
            store: Arc::clone(&self.store),
            label: model.label(),
            resumed,
            ttl: self.settings.session_ttl,
            lease: self.settings.lease,
            holder: Arc::clone(&self.holder),
            hub: spec
                .session
                .as_ref()
                .map(|name| self.hubs.get(name, &self.store)),
            tasks: 0,
        })
    }

    /// A recorded session of `watsmith demo`: the agent it was recorded with, answering from the
    /// recording, on this runtime's catalog (which must be the built-in one), and its script.
    pub fn demo(&self, recording: &Recording) -> Result<(Agent, Script), DemoError> {
        let script = recording.script().map_err(|e| DemoError {
            recording: recording.name,
            reason: e.to_string(),
        })?;
        let replay =
            watsmith_agent::Replay::from_transcript(recording.transcript).map_err(|e| {
                DemoError {
                    recording: recording.name,
                    reason: e.to_string(),
                }
            })?;
        let agent = Agent::new(demo::parts(Arc::new(replay), Arc::clone(&self.catalog)));
        Ok((agent, script))
    }
}

/// The longest session name, in bytes.
pub const MAX_SESSION_NAME_BYTES: usize = 128;

/// What the kv namespaces of sessions begin with; a new session's policy may name no other
/// session's.
const SESSION_NAMESPACE_PREFIX: &str = "session:";

/// The kv namespace of a new stored session whose policy names none: `session:NAME`.
pub fn session_namespace(name: &str) -> String {
    format!("{SESSION_NAMESPACE_PREFIX}{name}")
}

/// Why a session name cannot be used, if it cannot: names are 1 to
/// [`MAX_SESSION_NAME_BYTES`] bytes without control characters.
fn check_session_name(name: &str) -> Result<(), RuntimeError> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.len() > MAX_SESSION_NAME_BYTES {
        "is too long"
    } else if name.chars().any(char::is_control) {
        "has a control character"
    } else {
        return Ok(());
    };
    Err(RuntimeError::SessionName {
        name: name.to_owned(),
        reason,
    })
}

/// What a runtime tells the user when it starts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum Notice {
    /// A catalog program that did not load (the others did), or does not compile.
    CatalogProblem(CatalogError),
    /// The store was an older JSON kv file, and was imported.
    Imported(Imported),
}

impl std::fmt::Display for Notice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::CatalogProblem(problem) => problem.fmt(f),
            Self::Imported(imported) => write!(
                f,
                "imported the JSON kv store {} ({} keys in {} namespaces) into a database at the same path; the JSON is kept in {}",
                imported.path.display(),
                imported.keys,
                imported.namespaces,
                imported.backup.display()
            ),
        }
    }
}

/// A recording of the demo that cannot be replayed.
#[derive(Debug, thiserror::Error)]
#[error("the demo recording `{recording}`: {reason}")]
pub struct DemoError {
    /// The recording.
    pub recording: &'static str,
    /// Why.
    pub reason: String,
}

/// An agent's session: the agent, its conversation, and (when stored) its record, saved after
/// every task, and its events, stored as they happen.
pub struct AgentSession {
    agent: Agent,
    conversation: Session,
    record: Option<SessionRecord>,
    store: Arc<dyn Store>,
    label: String,
    resumed: Option<usize>,
    ttl: Duration,
    /// How long its lease lasts unless renewed, and who holds it.
    lease: Duration,
    holder: Arc<str>,
    /// Where a stored session's events are published and kept for the store.
    hub: Option<Arc<Hub>>,
    /// Tasks begun in a session that is not stored (a stored one counts in its record).
    tasks: u64,
}

impl std::fmt::Debug for AgentSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentSession")
            .field("label", &self.label)
            .field("name", &self.name())
            .field("messages", &self.conversation.messages.len())
            .finish_non_exhaustive()
    }
}

/// Passes events on, and publishes them to the session's hub (which numbers them and keeps them
/// for the store).
struct Recorder<'a> {
    sink: &'a mut dyn EventSink,
    hub: Option<(&'a Hub, &'a str)>,
}

impl EventSink for Recorder<'_> {
    fn event(&mut self, event: &Event) {
        self.sink.event(event);
        if let Some((hub, task)) = self.hub {
            hub.publish(task, event);
        }
    }
}

impl AgentSession {
    /// `provider:model`.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The session's name, if it is stored.
    pub fn name(&self) -> Option<&str> {
        self.record.as_ref().map(|record| record.id.as_str())
    }

    /// The number of messages a resumed session came back with (`None` for a new one).
    pub fn resumed(&self) -> Option<usize> {
        self.resumed
    }

    /// The system prompt the model is given.
    pub fn prompt(&self) -> &SystemPrompt {
        self.agent.prompt()
    }

    /// The conversation so far.
    pub fn conversation(&self) -> &Session {
        &self.conversation
    }

    /// Solves `task` in the session, telling `sink` every event, unless `cancelled` completes
    /// first (then the conversation forgets the task; a [`CancellationToken`]'s `cancelled()`
    /// serves): [`AgentSession::begin`], then [`AgentSession::run_begun`].
    ///
    /// # Errors
    /// As those two.
    pub async fn run(
        &mut self,
        task: &str,
        sink: &mut dyn EventSink,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Finish, RuntimeError> {
        let task_id = self.begin().await?;
        self.run_begun(&task_id, task, sink, cancelled).await
    }

    /// Begins a task: a stored session's lease is taken in the store (so that a second task
    /// on it, in this process or another sharing the store, is refused at once), what another
    /// holder saved since it was loaded is taken up, a new session is created in the store,
    /// and the task gets its id, the session's count of tasks (`"1"` for the first); its
    /// events are numbered after the last one stored. [`AgentSession::run_begun`] must follow;
    /// a begun task that is not run holds the lease until it runs out.
    ///
    /// # Errors
    /// [`StoreError::Leased`] (kind `Busy`) when another task holds the lease;
    /// [`RuntimeError::NoSession`] when the session was removed since it was loaded; the
    /// store's errors. The lease is not held after an error.
    pub async fn begin(&mut self) -> Result<String, RuntimeError> {
        let Some(id) = self.record.as_ref().map(|record| record.id.clone()) else {
            self.tasks += 1;
            return Ok(self.tasks.to_string());
        };
        self.store
            .lease_session(&id, &self.holder, self.lease)
            .await?;
        match self.begin_leased(&id).await {
            Ok(task) => Ok(task),
            Err(error) => {
                // One that cannot be given back is run out by its expiry.
                let _released = self.store.release_session(&id, &self.holder).await;
                Err(error)
            }
        }
    }

    async fn begin_leased(&mut self, id: &str) -> Result<String, RuntimeError> {
        self.refresh(id).await?;
        if self
            .record
            .as_ref()
            .is_some_and(|record| record.revision == 0)
        {
            // Stored before its first event, so that its events are never taken for those of a
            // removed session of its name.
            self.save().await?;
        }
        let Some(record) = &mut self.record else {
            return Err(RuntimeError::NoSession { id: id.to_owned() });
        };
        record.tasks += 1;
        let task = record.tasks.to_string();
        if let Some(hub) = &self.hub {
            hub.begin(&task).await?;
        }
        Ok(task)
    }

    /// Takes what another holder saved since this session was loaded (a task run by another
    /// process, or by another runtime in this one), so that this task goes on from it instead
    /// of being refused when it saves. Called with the lease held.
    async fn refresh(&mut self, id: &str) -> Result<(), RuntimeError> {
        let Some(record) = &mut self.record else {
            return Ok(());
        };
        match self.store.load_session(id).await? {
            Some(stored) if stored.revision != record.revision => {
                self.conversation.messages.clone_from(&stored.messages);
                record.messages = stored.messages;
                record.tasks = stored.tasks;
                record.created_ms = stored.created_ms;
                record.revision = stored.revision;
                Ok(())
            }
            Some(_) => Ok(()),
            // Removed (or expired) since: a new session is made only by asking for one.
            None if record.revision > 0 => Err(RuntimeError::NoSession { id: id.to_owned() }),
            None => Ok(()),
        }
    }

    /// Runs the task [`AgentSession::begin`] began, `task` its text, telling `sink` every
    /// event as [`AgentSession::run`] does. A stored session's events are published to its
    /// subscribers and stored as they happen ([`Runtime::subscribe`]); its lease is renewed
    /// every third of `[store] lease_secs` while the task runs, and given back after; the
    /// session is saved after the task.
    ///
    /// # Errors
    /// [`StoreError::Leased`] after the task when its lease was lost (it ran past its lease
    /// without a renewal, and another holder took it): the task is stopped and not saved. A
    /// store that fails to save the session or its events is the error, after the task (the
    /// conversation keeps the task, and events the store lacks wait for the next task).
    pub async fn run_begun(
        &mut self,
        task_id: &str,
        task: &str,
        sink: &mut dyn EventSink,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Finish, RuntimeError> {
        let done = self.run_leased(task_id, task, sink, cancelled).await;
        if let Some(hub) = &self.hub {
            hub.end(task_id, done.as_ref().err().map(ToString::to_string));
        }
        if let Some(record) = &self.record {
            // Given back even when the task failed; one that cannot be is run out by its expiry.
            let _released = self.store.release_session(&record.id, &self.holder).await;
        }
        done
    }

    async fn run_leased(
        &mut self,
        task_id: &str,
        task: &str,
        sink: &mut dyn EventSink,
        cancelled: impl Future<Output = ()>,
    ) -> Result<Finish, RuntimeError> {
        let mut recorder = Recorder {
            sink,
            hub: self.hub.as_deref().map(|hub| (hub, task_id)),
        };
        let lost = std::sync::Mutex::new(None);
        let renewed = self.record.as_ref().map(|record| {
            (
                Arc::clone(&self.store),
                record.id.clone(),
                Arc::clone(&self.holder),
            )
        });
        let every = self.lease / 3;
        let stop = async {
            let Some((store, id, holder)) = renewed else {
                return cancelled.await;
            };
            let renew = async {
                loop {
                    tokio::time::sleep(every).await;
                    // A store that fails for a moment is tried again at the next renewal;
                    // only a lease another holder took stops the task.
                    if let Err(error @ StoreError::Leased { .. }) =
                        store.lease_session(&id, &holder, self.lease).await
                    {
                        break error;
                    }
                }
            };
            tokio::select! {
                () = cancelled => {}
                error = renew => {
                    *lost.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(error);
                }
            }
        };
        let ran = CancellationToken::new();
        let agent = async {
            let finish = self
                .agent
                .run_until(&mut self.conversation, task, &mut recorder, stop)
                .await;
            ran.cancel();
            finish
        };
        let writer = async {
            match &self.hub {
                Some(hub) => hub.write_until(&ran).await,
                None => Ok(()),
            }
        };
        let (finish, written) = tokio::join!(agent, writer);
        if let Some(error) = lost
            .into_inner()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
        {
            return Err(error.into());
        }
        // A save that fails leaves the conversation with the task, for the next save.
        self.save().await?;
        written?;
        Ok(finish)
    }

    /// Forgets the conversation (the kv namespace keeps what programs stored); a stored
    /// session is saved so, under its lease.
    ///
    /// # Errors
    /// [`StoreError::Leased`] while a task runs on it; the store's errors.
    pub async fn reset(&mut self) -> Result<(), RuntimeError> {
        let Some(id) = self.record.as_ref().map(|record| record.id.clone()) else {
            self.conversation.messages.clear();
            return Ok(());
        };
        self.store
            .lease_session(&id, &self.holder, self.lease)
            .await?;
        let done = match self.refresh(&id).await {
            Ok(()) => {
                self.conversation.messages.clear();
                self.save().await
            }
            Err(error) => Err(error),
        };
        let _released = self.store.release_session(&id, &self.holder).await;
        done
    }

    /// Saves a stored session's record, its expiry pushed back.
    async fn save(&mut self) -> Result<(), RuntimeError> {
        let Some(record) = &mut self.record else {
            return Ok(());
        };
        let now = now_ms();
        record.messages = self.conversation.messages.clone();
        record.updated_ms = now;
        record.expires_ms = after_ms(now, self.ttl);
        record.revision = self.store.save_session(record).await?;
        Ok(())
    }
}

//! Running a program's examples: a [`Checker`] makes each example's [`Fixture`] real, runs the
//! example, and compares what the program gives with what the example documents.
//!
//! The fixture is real where the capability is: HTTP paths are served by a server on
//! 127.0.0.1 (the run's allowlist names exactly that address), files are written to a fresh
//! directory that becomes the `fs` jail root, and kv entries are stored in a fresh namespace of
//! the engine's store. Only the language model is a stand-in ([`FixtureModel`]): it gives the
//! answers the fixture lists, so that `ai` examples are reproducible without a provider.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;

use watsmith_engine::capabilities::ai::{
    Completion, CompletionFuture, CompletionRequest, ModelError,
};
use watsmith_engine::{
    Engine, EngineConfig, EngineError, FsSpec, KvStore, Limits, MemoryKv, Model, Outcome,
    PolicySpec, Resources, Status, Value,
};

use crate::program::{Example, Fixture, Program};

/// What an example's string arguments write for the fixture's HTTP server.
pub const SERVER_PLACEHOLDER: &str = "{server}";

/// The seed of `rand` in examples, so that they are reproducible.
pub const EXAMPLE_SEED: u64 = 0;

/// A checker could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum CheckerError {
    /// The engine could not be built.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The fixture's HTTP server could not start.
    #[error("cannot start the fixture's HTTP server: {0}")]
    Server(#[from] std::io::Error),
}

/// Runs programs' examples, each in a fresh world made from the program's fixture.
pub struct Checker {
    engine: Engine,
    kv: Arc<MemoryKv>,
    /// The fixture's store and model, which every example's policy is granted.
    resources: Resources,
    answers: Arc<Mutex<BTreeMap<String, String>>>,
    server: Server,
    /// Numbers the kv namespaces, one per example.
    examples_run: AtomicU64,
    /// One program at a time: the server's routes and the model's answers are its fixture's.
    turn: Mutex<()>,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("server", &self.server.address)
            .finish_non_exhaustive()
    }
}

impl Checker {
    /// A checker with an engine of `config`, a `kv` store of its own, the fixture model for
    /// `ai`, and the fixture's HTTP server started on loopback.
    pub fn new(config: &EngineConfig) -> Result<Self, CheckerError> {
        let kv = Arc::new(MemoryKv::new());
        let answers = Arc::new(Mutex::new(BTreeMap::new()));
        let store: Arc<dyn KvStore> = kv.clone();
        let model: Arc<dyn Model> = Arc::new(FixtureModel {
            answers: Arc::clone(&answers),
        });
        Ok(Self {
            engine: Engine::new(config)?,
            kv,
            resources: Resources {
                kv: Some(store),
                model: Some(model),
            },
            answers,
            server: Server::start()?,
            examples_run: AtomicU64::new(0),
            turn: Mutex::new(()),
        })
    }

    /// The engine the examples run on.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs every example of `program` and describes each that does not give its results (or
    /// its error), as `name: example N: what differs`.
    pub fn check(&self, program: &Program) -> Vec<String> {
        let _turn = lock(&self.turn);
        let fixture = &program.front.fixture;
        *lock(&self.server.routes) = fixture.http.clone();
        *lock(&self.answers) = fixture.ai.clone();
        program
            .front
            .examples
            .iter()
            .enumerate()
            .filter_map(|(index, example)| {
                self.check_example(program, example)
                    .err()
                    .map(|difference| {
                        format!(
                            "{}: example {}: {difference}",
                            program.front.name,
                            index + 1
                        )
                    })
            })
            .collect()
    }

    fn check_example(&self, program: &Program, example: &Example) -> Result<(), String> {
        let front = &program.front;
        let server = format!("http://{}", self.server.address);
        let args: Vec<Value> = example
            .args(&front.params)?
            .into_iter()
            .map(|value| match value {
                Value::Str(text) => Value::Str(text.replace(SERVER_PLACEHOLDER, &server)),
                other => other,
            })
            .collect();
        let root =
            tempfile::tempdir().map_err(|e| format!("cannot make the fixture's directory: {e}"))?;
        write_files(root.path(), &front.fixture)?;
        let namespace = format!(
            "example-{}",
            self.examples_run.fetch_add(1, Ordering::Relaxed)
        );
        for (key, value) in &front.fixture.kv {
            self.kv
                .put(&namespace, key, value.as_bytes())
                .map_err(|e| format!("the fixture: kv key {key:?}: {e}"))?;
        }
        // Exactly the capabilities the program declares (and the compute ones), each with the
        // fixture's setting where it needs one: a program that forgets to declare one fails.
        let mut declared = PolicySpec::standard();
        for capability in &front.capabilities {
            declared.allow(capability.clone());
        }
        let mut offer = PolicySpec::default();
        offer
            .allow_hosts([self.server.address.to_string()])
            .allow_fs(FsSpec::read_write(root.path()))
            .allow_kv(namespace)
            .allow_rand(EXAMPLE_SEED);
        let policy = declared
            .settle(&offer)
            .resolve(self.engine.registry(), &self.resources)
            .map_err(|e| format!("the declared capabilities: {e}"))?;
        let outcome = self
            .engine
            .exec(&program.body, args, &policy, &Limits::default());
        match (&example.error, outcome.status) {
            (None, Status::Ok) => example.check(&front.results, &outcome.results),
            (Some(name), Status::Error) if outcome.code.is_some_and(|c| c.name() == name) => Ok(()),
            (Some(name), _) => Err(format!(
                "expected the run to end with {name}, {}",
                ending(&outcome)
            )),
            (None, _) => Err(ending(&outcome)),
        }
    }
}

/// How a run ended, for a failed example: its status and code, and the reason.
fn ending(outcome: &Outcome) -> String {
    let reason = outcome
        .trap
        .as_ref()
        .map(|t| t.message.clone())
        .or_else(|| outcome.diagnostics.first().map(|d| d.message.clone()))
        .or_else(|| outcome.logs.last().cloned());
    let code = outcome
        .code
        .map(|code| format!(" ({})", code.name()))
        .unwrap_or_default();
    format!(
        "the run ended `{}`{code}{}",
        outcome.status.name(),
        reason.map(|r| format!(": {r}")).unwrap_or_default()
    )
}

/// Writes the fixture's files under `root`, making their directories.
fn write_files(root: &Path, fixture: &Fixture) -> Result<(), String> {
    for (path, text) in &fixture.files {
        let path = root.join(path);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot make {}: {e}", parent.display()))?;
        }
        std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The language model of examples: it answers the prompts its fixture lists, each with the
/// listed text, and fails on any other prompt. Tokens are counted as whitespace-separated words.
struct FixtureModel {
    answers: Arc<Mutex<BTreeMap<String, String>>>,
}

impl Model for FixtureModel {
    fn label(&self) -> String {
        "catalog fixture (listed answers)".to_owned()
    }

    fn complete(&self, request: CompletionRequest) -> CompletionFuture<'_> {
        let answer = lock(&self.answers).get(&request.prompt).cloned();
        Box::pin(async move {
            let text = answer.ok_or_else(|| {
                ModelError(format!(
                    "the fixture lists no answer to the prompt {:?}",
                    request.prompt
                ))
            })?;
            Ok(Completion {
                prompt_tokens: request.prompt.split_whitespace().count() as u64,
                completion_tokens: text.split_whitespace().count() as u64,
                text,
            })
        })
    }
}

/// The fixture's HTTP server: GET of a listed path gives its body (JSON for `.json` paths,
/// text otherwise); anything else is 404. Stopped when dropped.
struct Server {
    address: SocketAddr,
    routes: Arc<Mutex<BTreeMap<String, String>>>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    fn start() -> std::io::Result<Self> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let listener = {
            let _context = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let routes: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let served = Arc::clone(&routes);
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let body = lock(&served).get(uri.path()).cloned();
            async move { respond(uri.path(), body) }
        });
        let (shutdown, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("catalog-fixture-http".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    // An I/O error of the accept loop ends the server; the examples that
                    // needed it then fail with EREMOTE and say so.
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(async {
                            let _ = stopped.await;
                        })
                        .await;
                });
            })?;
        Ok(Self {
            address,
            routes,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }
}

fn respond(path: &str, body: Option<String>) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match body {
        Some(body) => {
            let content_type = if path.ends_with(".json") {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            ([(axum::http::header::CONTENT_TYPE, content_type)], body).into_response()
        }
        None => axum::http::StatusCode::NOT_FOUND.into_response(),
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

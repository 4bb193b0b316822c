//! Live sessions by id: the service a server keeps between requests, so that no front end
//! writes its own map of sessions, locks and eviction.
//!
//! A session is created with a policy that narrows the runtime's caps ([`SessionSpec`]), kept in
//! the store (so that a restart, or another process sharing the store, resumes it), and kept
//! live in memory while it is used. One task runs on it at a time: a second one, in this
//! process (the live session's lock) or in another (the store's lease, see
//! [`AgentSession::run`]), is refused at once with a `Busy` error. A sweeper that runs on its
//! own drops live sessions idle for [`SessionsConfig::idle`] and removes the sessions and leases
//! the store holds past their expiry; the store's clock decides expiry.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use serde::Serialize;
use watsmith_agent::{EventSink, Finish};
use watsmith_engine::{CancellationToken, LimitsSpec, PolicySpec};

use crate::events::Subscription;
use crate::runtime::{AgentSession, AgentSpec, Runtime, RuntimeError};
use crate::store::{SessionSummary, after_ms, now_ms};

/// How the live sessions are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionsConfig {
    /// A live session unused this long is dropped from memory (the store keeps it; its next use
    /// loads it again). Default [`DEFAULT_IDLE`].
    pub idle: Duration,
    /// How often the sweeper runs. Default [`DEFAULT_SWEEP`].
    pub sweep: Duration,
}

/// Default [`SessionsConfig::idle`]: 10 minutes.
pub const DEFAULT_IDLE: Duration = Duration::from_secs(10 * 60);
/// Default [`SessionsConfig::sweep`]: 30 seconds.
pub const DEFAULT_SWEEP: Duration = Duration::from_secs(30);

impl Default for SessionsConfig {
    fn default() -> Self {
        Self {
            idle: DEFAULT_IDLE,
            sweep: DEFAULT_SWEEP,
        }
    }
}

/// A session to create.
#[derive(Debug, Clone, Default)]
pub struct SessionSpec {
    /// Its id; `None`: a random one (32 hex digits).
    pub id: Option<String>,
    /// What its programs may do, within the runtime's caps; `None`: the standard compute
    /// capabilities.
    pub policy: Option<PolicySpec>,
    /// The limits of each run, over the settings'.
    pub limits: Option<LimitsSpec>,
    /// The model it talks to, by name ([`Runtime::model_named`]); `None`: the settings'.
    pub model: Option<String>,
}

/// A session as a front end shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Its id.
    pub id: String,
    /// `provider:model`.
    pub model: String,
    /// Messages in its conversation.
    pub messages: usize,
    /// Whether a task is running on it in this process.
    pub running: bool,
    /// When it expires unless used again, in milliseconds since the Unix epoch.
    pub expires_ms: u64,
}

/// The live sessions of one runtime. See the [module documentation](self).
pub struct Sessions {
    runtime: Arc<Runtime>,
    config: SessionsConfig,
    live: Mutex<HashMap<String, Arc<Live>>>,
    sweeper: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl std::fmt::Debug for Sessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sessions")
            .field("config", &self.config)
            .field("live", &self.lock().len())
            .finish_non_exhaustive()
    }
}

/// A session in memory: the agent's session behind the lock one task holds, and when it was
/// last used (ms since the Unix epoch).
struct Live {
    session: Arc<tokio::sync::Mutex<AgentSession>>,
    /// The task running on it, and what cancels it.
    running: Mutex<Option<(String, CancellationToken)>>,
    used_ms: AtomicU64,
    /// `provider:model`, and the messages after its last task: what [`Sessions::get`] says
    /// while a task holds the lock.
    model: String,
    messages: AtomicUsize,
}

impl Live {
    fn new(session: AgentSession) -> Arc<Self> {
        Arc::new(Self {
            model: session.label().to_owned(),
            messages: AtomicUsize::new(session.conversation().messages.len()),
            session: Arc::new(tokio::sync::Mutex::new(session)),
            running: Mutex::new(None),
            used_ms: AtomicU64::new(now_ms()),
        })
    }

    fn touch(&self) {
        self.used_ms.store(now_ms(), Ordering::Relaxed);
    }

    fn running(&self) -> MutexGuard<'_, Option<(String, CancellationToken)>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs the begun task `task_id` on `session` (this one's, locked), cancellable through
    /// [`Sessions::cancel`] as well as by `cancel`.
    async fn run(
        &self,
        session: &mut AgentSession,
        task_id: &str,
        task: &str,
        sink: &mut (dyn EventSink + Send),
        cancel: &CancellationToken,
    ) -> Result<Finish, RuntimeError> {
        *self.running() = Some((task_id.to_owned(), cancel.clone()));
        self.touch();
        let done = session
            .run_begun(task_id, task, sink, cancel.cancelled())
            .await;
        *self.running() = None;
        self.messages
            .store(session.conversation().messages.len(), Ordering::Relaxed);
        self.touch();
        done
    }
}

/// A task submitted to run in the background ([`Sessions::submit`]).
#[derive(Debug)]
pub struct Submitted {
    /// The task's id in its session (`"1"` for its first task): what its events carry, and
    /// what [`Sessions::cancel`] and [`Sessions::subscribe`] take.
    pub task: String,
    /// The task's run, which ends after its last event; dropping it leaves the task running.
    pub done: tokio::task::JoinHandle<Result<Finish, RuntimeError>>,
}

impl Drop for Sessions {
    fn drop(&mut self) {
        if let Some(sweeper) = self
            .sweeper
            .get_mut()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            sweeper.abort();
        }
    }
}

impl Sessions {
    /// The live sessions of `runtime`, with the sweeper started on the current tokio runtime
    /// (it ends when the service is dropped).
    pub fn start(runtime: Arc<Runtime>, config: SessionsConfig) -> Arc<Self> {
        let sessions = Arc::new(Self {
            runtime,
            config,
            live: Mutex::new(HashMap::new()),
            sweeper: Mutex::new(None),
        });
        let weak: Weak<Self> = Arc::downgrade(&sessions);
        let sweeper = tokio::spawn(async move {
            let mut every = tokio::time::interval(config.sweep);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let Some(sessions) = weak.upgrade() else {
                    return;
                };
                // A store that fails now is swept at the next tick.
                let _swept = sessions.sweep().await;
            }
        });
        *sessions
            .sweeper
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(sweeper);
        sessions
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Arc<Live>>> {
        // Every critical section leaves the map whole: a poisoned lock is still usable.
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The runtime the sessions run on.
    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Sessions live in memory now.
    pub fn live(&self) -> usize {
        self.lock().len()
    }

    /// Creates a session, stored at once.
    ///
    /// # Errors
    /// [`RuntimeError::SessionExists`] (kind `Conflict`) for an id the store holds; the
    /// policy's, the limits' and the model's errors, as [`Runtime::agent`].
    pub async fn create(&self, spec: SessionSpec) -> Result<SessionInfo, RuntimeError> {
        let id = spec
            .id
            .unwrap_or_else(|| format!("{:032x}", fastrand::u128(..)));
        if self.lock().contains_key(&id) || self.runtime.store().load_session(&id).await?.is_some()
        {
            return Err(RuntimeError::SessionExists { id });
        }
        let mut session = self
            .runtime
            .agent(AgentSpec {
                session: Some(id.clone()),
                policy: Some(spec.policy.unwrap_or_else(PolicySpec::standard)),
                limits: spec.limits,
                model: spec.model,
            })
            .await?;
        session.reset().await?;
        let live = Live::new(session);
        self.lock().insert(id.clone(), Arc::clone(&live));
        Ok(self.info(&id, &live))
    }

    /// The session `id`, live or loaded from the store.
    ///
    /// # Errors
    /// [`RuntimeError::NoSession`] (kind `NotFound`) for one that does not exist or has expired.
    pub async fn get(&self, id: &str) -> Result<SessionInfo, RuntimeError> {
        let live = self.find(id).await?;
        Ok(self.info(id, &live))
    }

    /// The sessions the store holds that have not expired, most recently used first.
    pub async fn list(&self) -> Result<Vec<SessionSummary>, RuntimeError> {
        Ok(self.runtime.store().list_sessions().await?)
    }

    /// Removes the session `id`, from memory and from the store, with its events; whether it
    /// existed.
    ///
    /// # Errors
    /// [`RuntimeError::SessionBusy`] while a task runs on it in this process.
    pub async fn delete(&self, id: &str) -> Result<bool, RuntimeError> {
        {
            let mut live = self.lock();
            if let Some(session) = live.get(id) {
                if session.session.try_lock().is_err() {
                    return Err(RuntimeError::SessionBusy { id: id.to_owned() });
                }
                live.remove(id);
            }
        }
        Ok(self.runtime.store().delete_session(id).await?)
    }

    /// Runs `task` on the session `id` (see [`AgentSession::run`]), telling `sink` its events,
    /// until it ends or `cancel` is cancelled.
    ///
    /// # Errors
    /// [`RuntimeError::NoSession`]; [`RuntimeError::SessionBusy`] at once while another task
    /// runs on it in this process, and the store's `Leased` while one runs in another process
    /// (both of kind `Busy`); the store's errors after the task.
    pub async fn run(
        &self,
        id: &str,
        task: &str,
        sink: &mut (dyn EventSink + Send),
        cancel: &CancellationToken,
    ) -> Result<Finish, RuntimeError> {
        let live = self.find(id).await?;
        let Ok(mut session) = live.session.try_lock() else {
            return Err(RuntimeError::SessionBusy { id: id.to_owned() });
        };
        let task_id = session.begin().await?;
        live.run(&mut session, &task_id, task, sink, cancel).await
    }

    /// Starts `task` on the session `id` in the background and returns once it has begun (its
    /// lease taken): its id, to follow its events with [`Sessions::subscribe`] and to cancel it
    /// with [`Sessions::cancel`]. What a server does for `POST .../tasks`.
    ///
    /// # Errors
    /// As [`Sessions::run`] before the task begins: [`RuntimeError::NoSession`],
    /// [`RuntimeError::SessionBusy`] and the store's `Leased` (kind `Busy`), the store's.
    pub async fn submit(&self, id: &str, task: String) -> Result<Submitted, RuntimeError> {
        let live = self.find(id).await?;
        let Ok(mut session) = Arc::clone(&live.session).try_lock_owned() else {
            return Err(RuntimeError::SessionBusy { id: id.to_owned() });
        };
        let task_id = session.begin().await?;
        let cancel = CancellationToken::new();
        *live.running() = Some((task_id.clone(), cancel.clone()));
        let begun = task_id.clone();
        let done = tokio::spawn(async move {
            let mut sink = |_: &watsmith_agent::Event| {};
            live.run(&mut session, &begun, &task, &mut sink, &cancel)
                .await
        });
        Ok(Submitted {
            task: task_id,
            done,
        })
    }

    /// Cancels the task running on the session `id` (only if it is `task`, when given): it
    /// stops at once, with a `stopped: cancelled` event. Whether one was running here.
    pub fn cancel(&self, id: &str, task: Option<&str>) -> bool {
        let Some(live) = self.lock().get(id).cloned() else {
            return false;
        };
        let running = live.running();
        match &*running {
            Some((running, cancel)) if task.is_none_or(|task| task == running) => {
                cancel.cancel();
                true
            }
            _ => false,
        }
    }

    /// A reader of the session's events (of its task `task` only, if given) numbered after
    /// `after`: see [`Runtime::subscribe`].
    ///
    /// # Errors
    /// [`RuntimeError::NoSession`] for a session that does not exist or has expired.
    pub async fn subscribe(
        &self,
        id: &str,
        task: Option<String>,
        after: u64,
    ) -> Result<Subscription, RuntimeError> {
        let live = self.lock().contains_key(id);
        if !live && self.runtime.store().load_session(id).await?.is_none() {
            return Err(RuntimeError::NoSession { id: id.to_owned() });
        }
        Ok(self.runtime.subscribe(id, task, after))
    }

    /// Drops the live sessions idle past [`SessionsConfig::idle`] or past their expiry (none
    /// that runs a task), and removes what the store holds past its expiry; how many sessions
    /// the store removed.
    pub async fn sweep(&self) -> Result<usize, RuntimeError> {
        let now = now_ms();
        let (idle, ttl) = (self.config.idle, self.runtime.settings().session_ttl);
        self.lock().retain(|_, live| {
            let used = live.used_ms.load(Ordering::Relaxed);
            let stale = now >= after_ms(used, idle.min(ttl));
            !stale || live.session.try_lock().is_err()
        });
        Ok(self.runtime.store().remove_expired().await?)
    }

    /// The live session `id`, loaded from the store if it is not live.
    async fn find(&self, id: &str) -> Result<Arc<Live>, RuntimeError> {
        if let Some(live) = self.lock().get(id) {
            return Ok(Arc::clone(live));
        }
        if self.runtime.store().load_session(id).await?.is_none() {
            return Err(RuntimeError::NoSession { id: id.to_owned() });
        }
        let session = self
            .runtime
            .agent(AgentSpec {
                session: Some(id.to_owned()),
                ..AgentSpec::default()
            })
            .await?;
        let live = Live::new(session);
        // Another call may have loaded it meanwhile: the first one in the map is the one.
        Ok(Arc::clone(self.lock().entry(id.to_owned()).or_insert(live)))
    }

    fn info(&self, id: &str, live: &Live) -> SessionInfo {
        let used = live.used_ms.load(Ordering::Relaxed);
        SessionInfo {
            id: id.to_owned(),
            model: live.model.clone(),
            messages: live.messages.load(Ordering::Relaxed),
            running: live.session.try_lock().is_err(),
            expires_ms: after_ms(used, self.runtime.settings().session_ttl),
        }
    }
}

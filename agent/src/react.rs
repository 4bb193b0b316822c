//! The ReAct loop: ask the model, read its action, run it, send the observation back, until the
//! model answers or a limit ends the task.
//!
//! An action that does not compile (or a catalog call that does not fit the program) is sent
//! back with its errors, located at the model's own lines, and a request to fix it, up to
//! [`AgentLimits::max_retries`] times; a retry belongs to the same action. Traps and error
//! statuses are observations like results: the model may act on them.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use serde::{Deserialize, Serialize};
use watsmith_catalog::{Invocation, Prepared};
use watsmith_engine::{Limits, Outcome, Policy, Status};

use crate::action::{self, Action};
use crate::defaults::DEFAULT_MAX_TOKENS;
use crate::event::{Event, EventSink, request_hash};
use crate::limits::AgentLimits;
use crate::observation::{self, Spent};
use crate::prompt::{PromptStyle, Protocol, SystemPrompt};
use crate::provider::{ChatRequest, Message, Provider, Role, StopReason, ToolCall};

/// What is asked of the model besides the conversation.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSettings {
    /// The model's name at the provider.
    pub model: String,
    /// How it states actions.
    pub protocol: Protocol,
    /// Most tokens per answer. Default [`DEFAULT_MAX_TOKENS`].
    pub max_tokens: u32,
    /// Sampling temperature; the provider's default if unset.
    pub temperature: Option<f32>,
    /// Stream answers (their text arrives as [`Event::Delta`]).
    pub stream: bool,
    /// How much of the reference the system prompt holds. Default [`PromptStyle::Compact`].
    pub prompt: PromptStyle,
    /// Instructions added at the end of the system prompt, under their own heading (an
    /// operator's or a user's; `--system`). The prompt's hash covers them.
    pub system: Option<String>,
}

impl ModelSettings {
    /// Settings for `model` with `protocol` and the defaults.
    pub fn new(model: impl Into<String>, protocol: Protocol) -> Self {
        Self {
            model: model.into(),
            protocol,
            max_tokens: DEFAULT_MAX_TOKENS,
            temperature: None,
            stream: false,
            prompt: PromptStyle::default(),
            system: None,
        }
    }
}

/// The conversation of one session: its history persists across tasks (what its programs keep
/// is in the kv namespace of the agent's policy).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The messages so far.
    pub messages: Vec<Message>,
}

impl Session {
    /// Answers with `text` every tool call of the last assistant message that has no answer
    /// yet (a task that stopped between the model's call and its result), so that the
    /// conversation stays one providers accept when the session goes on.
    fn settle(&mut self, text: &str) {
        let Some(last) = self
            .messages
            .iter()
            .rposition(|m| m.role == Role::Assistant)
        else {
            return;
        };
        let answered: Vec<&str> = self.messages[last + 1..]
            .iter()
            .filter_map(|m| m.tool_call_id.as_deref())
            .collect();
        let pending: Vec<Message> = self.messages[last]
            .tool_calls
            .iter()
            .filter(|call| !answered.contains(&call.id.as_str()))
            .map(|call| Message::tool(call.id.clone(), text))
            .collect();
        self.messages.extend(pending);
    }
}

/// How a task ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// The model answered.
    Answer(String),
    /// The task stopped without an answer, for this reason.
    Stopped(Stop),
}

/// Why a task stopped without an answer. The JSON form is tagged by `kind` (`cancelled`,
/// `wall_clock`, ...) with the variant's fields beside it; [`std::fmt::Display`] says it in
/// words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Stop {
    /// The caller cancelled it (Ctrl-C, a client).
    Cancelled,
    /// The task's wall clock ran out ([`AgentLimits::wall_clock`]), between requests or while
    /// the model was still answering.
    WallClock {
        /// The limit, in milliseconds.
        limit_ms: u64,
        /// Whether the model was still answering.
        waiting_for_the_model: bool,
    },
    /// The task's token budget ran out ([`AgentLimits::token_budget`]).
    TokenBudget {
        /// Tokens spent.
        spent: u64,
        /// The budget.
        budget: u64,
    },
    /// The task used all its actions ([`AgentLimits::max_steps`]) without an answer.
    MaxSteps {
        /// The limit.
        steps: usize,
    },
    /// An action still did not compile after its retries ([`AgentLimits::max_retries`]).
    RetriesSpent {
        /// The action.
        step: usize,
        /// The retries it had.
        retries: usize,
    },
    /// The model's answers could not be read as an action, one time more than the retries.
    Unreadable {
        /// How many answers could not be read.
        times: usize,
        /// Why the last could not.
        reason: String,
    },
    /// The model gave no answer (the provider failed after its own retries).
    Provider {
        /// The provider's error.
        error: String,
        /// Its kind (absent in transcripts from before it was recorded: `unavailable`).
        #[serde(default)]
        failure: crate::provider::ProviderFailure,
    },
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cancelled => f.write_str("cancelled"),
            Self::WallClock {
                waiting_for_the_model: true,
                ..
            } => f.write_str("the task's time ran out waiting for the model"),
            Self::WallClock { limit_ms, .. } if limit_ms % 1000 == 0 => {
                write!(f, "the task's time ran out ({} s)", limit_ms / 1000)
            }
            Self::WallClock { limit_ms, .. } => {
                write!(f, "the task's time ran out ({limit_ms} ms)")
            }
            Self::TokenBudget { spent, budget } => write!(
                f,
                "the task's token budget ran out ({spent} of {budget} tokens)"
            ),
            Self::MaxSteps { steps } => write!(
                f,
                "the task used its {steps} action{} without an answer",
                if *steps == 1 { "" } else { "s" }
            ),
            Self::RetriesSpent { step, retries } => write!(
                f,
                "action {step} still did not compile after {retries} retries"
            ),
            Self::Unreadable { times, reason } => write!(
                f,
                "the model's answer could not be read {times} times: {reason}"
            ),
            Self::Provider { error, .. } => write!(f, "the model gave no answer: {error}"),
        }
    }
}

/// The end of a task and what it used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finish {
    /// How it ended.
    pub ending: Ending,
    /// What it used.
    pub spent: Spent,
}

/// An agent: a model, an engine with its catalog, and what its programs may do.
pub struct Agent {
    provider: Arc<dyn Provider>,
    catalog: Arc<Prepared>,
    policy: Policy,
    limits: Limits,
    agent_limits: AgentLimits,
    settings: ModelSettings,
    prompt: SystemPrompt,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("provider", &self.provider.name())
            .field("settings", &self.settings)
            .field("prompt_hash", &self.prompt.hash())
            .finish_non_exhaustive()
    }
}

/// The parts an [`Agent`] is made of.
#[derive(Clone)]
pub struct AgentParts {
    /// The model's API.
    pub provider: Arc<dyn Provider>,
    /// The catalog `@use` calls, pre-linked on the engine that every program runs on.
    pub catalog: Arc<Prepared>,
    /// What programs may do: everything a grant needs included (the kv store and namespace,
    /// the model `ai` asks).
    pub policy: Policy,
    /// Limits of each run.
    pub limits: Limits,
    /// Limits of each task.
    pub agent_limits: AgentLimits,
    /// What is asked of the model.
    pub settings: ModelSettings,
}

impl std::fmt::Debug for AgentParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentParts")
            .field("provider", &self.provider.name())
            .field("policy", &self.policy)
            .field("limits", &self.limits)
            .field("agent_limits", &self.agent_limits)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Agent {
    /// An agent, with its system prompt generated from the engine's registry, the policy, the
    /// catalog and the limits.
    pub fn new(parts: AgentParts) -> Self {
        let prompt = SystemPrompt::build(
            parts.catalog.engine().registry(),
            &parts.policy,
            parts.catalog.catalog(),
            &parts.limits,
            &parts.agent_limits,
            parts.settings.protocol,
            parts.settings.prompt,
        )
        .with_instructions(parts.settings.system.as_deref());
        Self {
            provider: parts.provider,
            catalog: parts.catalog,
            policy: parts.policy,
            limits: parts.limits,
            agent_limits: parts.agent_limits,
            settings: parts.settings,
            prompt,
        }
    }

    /// The system prompt.
    pub fn prompt(&self) -> &SystemPrompt {
        &self.prompt
    }

    /// The full reference of a capability this agent's policy grants or a catalog program it
    /// can run ([`crate::prompt::reference`]).
    pub fn reference(&self, topic: &str) -> Result<String, String> {
        crate::prompt::reference(
            self.catalog.engine().registry(),
            &self.policy,
            self.catalog.catalog(),
            topic,
        )
    }

    /// Solves `task` in `session`, telling `sink` every event.
    pub async fn run(&self, session: &mut Session, task: &str, sink: &mut dyn EventSink) -> Finish {
        self.run_until(session, task, sink, std::future::pending())
            .await
    }

    /// As [`Agent::run`], unless `cancelled` completes first (a person pressed Ctrl-C): then the
    /// request or program under way is dropped, the session is left as it was before the task
    /// (what the task's programs wrote to kv stays), and the task ends
    /// `Stopped(Stop::Cancelled)`.
    pub async fn run_until(
        &self,
        session: &mut Session,
        task: &str,
        sink: &mut dyn EventSink,
        cancelled: impl Future<Output = ()>,
    ) -> Finish {
        sink.event(&Event::Task {
            task: task.to_owned(),
            provider: self.provider.name().to_owned(),
            model: self.settings.model.clone(),
            protocol: self.settings.protocol,
            prompt: self.settings.prompt,
            prompt_hash: self.prompt.hash().to_owned(),
        });
        let before = session.messages.len();
        session.messages.push(Message::user(task));
        let mut task = Task {
            agent: self,
            started: Instant::now(),
            spent: Spent::default(),
            step: 0,
            retry: 0,
        };
        let driven = tokio::select! {
            ending = task.drive(session, sink) => Some(ending),
            () = cancelled => None,
        };
        let ending = match driven {
            Some(ending) => ending,
            None => {
                session.messages.truncate(before);
                Ending::Stopped(Stop::Cancelled)
            }
        };
        if let Ending::Stopped(stop) = &ending {
            session.settle(&format!("not run: the task stopped: {stop}"));
        }
        let spent = task.spent;
        sink.event(&match &ending {
            Ending::Answer(answer) => Event::Final {
                answer: answer.clone(),
                spent,
            },
            Ending::Stopped(stop) => Event::Stopped {
                reason: stop.clone(),
                spent,
            },
        });
        Finish { ending, spent }
    }
}

/// One task in progress.
struct Task<'a> {
    agent: &'a Agent,
    started: Instant,
    spent: Spent,
    /// The current action's number (1-based; 0 before the first).
    step: usize,
    /// The current action's retry (0 for its first try).
    retry: usize,
}

/// What an answer of the model asks for.
struct Turn {
    action: Result<Action, String>,
    /// The tool call to answer (tool protocol), and the others, which are not run.
    call: Option<ToolCall>,
    others: Vec<ToolCall>,
}

impl Task<'_> {
    async fn drive(&mut self, session: &mut Session, sink: &mut dyn EventSink) -> Ending {
        let limits = &self.agent.agent_limits;
        loop {
            let elapsed = self.started.elapsed();
            if elapsed >= limits.wall_clock {
                return Ending::Stopped(Stop::WallClock {
                    limit_ms: millis(limits.wall_clock),
                    waiting_for_the_model: false,
                });
            }
            if self.spent.tokens >= limits.token_budget {
                return Ending::Stopped(Stop::TokenBudget {
                    spent: self.spent.tokens,
                    budget: limits.token_budget,
                });
            }
            let turn = match self.ask(session, sink, limits.wall_clock - elapsed).await {
                Ok(turn) => turn,
                Err(reason) => return Ending::Stopped(reason),
            };
            let action = match turn.action {
                Ok(Action::Answer { text }) => return Ending::Answer(text),
                Ok(action) => action,
                Err(reason) => {
                    sink.event(&Event::Unreadable {
                        step: self.step + 1,
                        reason: reason.clone(),
                    });
                    if self.retry >= limits.max_retries {
                        return Ending::Stopped(Stop::Unreadable {
                            times: self.retry + 1,
                            reason,
                        });
                    }
                    self.retry += 1;
                    let text = format!(
                        "Your answer could not be read: {reason}. Reply with one action as the \
                         protocol says (retry {} of {}).",
                        self.retry, limits.max_retries
                    );
                    reply(session, &turn.call, &turn.others, text);
                    continue;
                }
            };
            if self.retry == 0 {
                if self.step >= limits.max_steps {
                    return Ending::Stopped(Stop::MaxSteps {
                        steps: limits.max_steps,
                    });
                }
                self.step += 1;
                self.spent.steps = self.step;
            }
            sink.event(&Event::Action {
                step: self.step,
                retry: self.retry,
                action: action.clone(),
            });
            if let Action::Reference { topic } = &action {
                // Nothing runs: the reference is the observation (an unknown topic says what
                // there is).
                let text = self
                    .agent
                    .reference(topic)
                    .unwrap_or_else(|error| format!("no reference: {error}\n"));
                reply(session, &turn.call, &turn.others, text);
                continue;
            }
            let (mut text, compiled) = match self.act(&action).await {
                Ok(outcome) => {
                    self.spent.add_run(&outcome);
                    let text = observation::describe(&outcome, &self.spent, limits.max_steps);
                    let compiled = outcome.status != Status::Invalid;
                    sink.event(&Event::Outcome {
                        step: self.step,
                        retry: self.retry,
                        outcome: Box::new(outcome),
                    });
                    (text, compiled)
                }
                Err(message) => (format!("status: invalid: {message}\n"), false),
            };
            if compiled {
                self.retry = 0;
            } else {
                if self.retry >= limits.max_retries {
                    return Ending::Stopped(Stop::RetriesSpent {
                        step: self.step,
                        retries: limits.max_retries,
                    });
                }
                self.retry += 1;
                sink.event(&Event::Retry {
                    step: self.step,
                    retry: self.retry,
                    errors: text.clone(),
                });
                text.push_str(&format!(
                    "Fix it and send it again (retry {} of {}).\n",
                    self.retry, limits.max_retries
                ));
            }
            reply(session, &turn.call, &turn.others, text);
        }
    }

    /// One request to the model and the action its answer holds.
    async fn ask(
        &mut self,
        session: &mut Session,
        sink: &mut dyn EventSink,
        time_left: std::time::Duration,
    ) -> Result<Turn, Stop> {
        let agent = self.agent;
        let settings = &agent.settings;
        let request = ChatRequest {
            model: settings.model.clone(),
            system: agent.prompt.clone(),
            messages: session.messages.clone(),
            tools: match settings.protocol {
                Protocol::Tools => action::tools(settings.prompt),
                Protocol::Text => Vec::new(),
            },
            max_tokens: settings.max_tokens,
            temperature: settings.temperature,
            stream: settings.stream,
        };
        let hash = request_hash(&request);
        let step = self.step + usize::from(self.retry == 0);
        sink.event(&Event::Request {
            step,
            retry: self.retry,
            hash: hash.clone(),
            model: request.model.clone(),
            messages: request.messages.len(),
            max_tokens: request.max_tokens,
            temperature: request.temperature,
        });
        let asked = Instant::now();
        let response = {
            let shared: Mutex<&mut dyn EventSink> = Mutex::new(&mut *sink);
            let deltas = |text: &str| {
                shared
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .event(&Event::Delta {
                        text: text.to_owned(),
                    });
            };
            tokio::time::timeout(time_left, agent.provider.chat(&request, &deltas)).await
        };
        let response = match response {
            Err(_) => {
                return Err(Stop::WallClock {
                    limit_ms: millis(agent.agent_limits.wall_clock),
                    waiting_for_the_model: true,
                });
            }
            Ok(Err(error)) => {
                return Err(Stop::Provider {
                    error: error.to_string(),
                    failure: error.failure(),
                });
            }
            Ok(Ok(response)) => response,
        };
        self.spent.tokens = self.spent.tokens.saturating_add(response.usage.total());
        sink.event(&Event::Response {
            step,
            retry: self.retry,
            hash,
            response: response.clone(),
            latency_ms: u64::try_from(asked.elapsed().as_millis()).unwrap_or(u64::MAX),
        });
        session.messages.push(Message::assistant(
            response.text.clone(),
            response.tool_calls.clone(),
        ));
        let mut calls = response.tool_calls.into_iter();
        Ok(match (settings.protocol, calls.next()) {
            (Protocol::Tools, Some(call)) => Turn {
                action: if call.malformed.is_some() && response.stop_reason == StopReason::MaxTokens
                {
                    Err(format!(
                        "your `{}` call was cut at the token limit (max_tokens {}) before its \
                         arguments were complete; write a shorter body",
                        call.name, settings.max_tokens
                    ))
                } else {
                    action::parse_tool_call(&call)
                },
                call: Some(call),
                others: calls.collect(),
            },
            // A reply without a call (or in the text protocol) is read as text: a model that
            // wrote its body in a fence instead of calling the tool still has it run.
            (_, _) => Turn {
                action: action::parse_text(&response.text),
                call: None,
                others: Vec::new(),
            },
        })
    }

    /// Runs an action: a body, or a catalog program bound to its signature (a call that does
    /// not fit the catalog is an error for the model, like a program that does not compile).
    /// Neither blocks the executor: a body not in the compile cache is compiled on the blocking
    /// pool, and a catalog program is already pre-linked (or prepared there on its first call).
    async fn act(&self, action: &Action) -> Result<Outcome, String> {
        let agent = self.agent;
        let (policy, limits) = (&agent.policy, &agent.limits);
        let engine = agent.catalog.engine();
        match action {
            Action::RunWat { body, args } => {
                Ok(engine.exec_async(body, args.clone(), policy, limits).await)
            }
            Action::Use { name, args } => {
                let bound = agent
                    .catalog
                    .catalog()
                    .bind(Invocation::Literals { name, args }, engine.registry())
                    .map_err(|error| error.to_string())?;
                Ok(match agent.catalog.program_async(bound.program).await {
                    Ok(program) => engine.run_async(&program, bound.args, policy, limits).await,
                    Err(outcome) => *outcome,
                })
            }
            Action::Answer { .. } | Action::Reference { .. } => {
                Err("an answer or a reference is not run".to_owned())
            }
        }
    }
}

/// A duration in whole milliseconds.
fn millis(duration: std::time::Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// Sends the observation back: as the result of the tool call (and a note for each call that
/// was not run), or as a user message in the text protocol.
fn reply(session: &mut Session, call: &Option<ToolCall>, others: &[ToolCall], text: String) {
    match call {
        Some(call) => {
            session.messages.push(Message::tool(call.id.clone(), text));
            for other in others {
                session.messages.push(Message::tool(
                    other.id.clone(),
                    "not run: one action at a time; call it again if you still need it",
                ));
            }
        }
        None => session.messages.push(Message::user(text)),
    }
}

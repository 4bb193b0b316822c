//! `ai`: one completion through a language model, within the run's call and token budgets.
//!
//! The engine defines the interface ([`Model`]); whoever grants `ai` plugs a model into the
//! grant ([`AiGrant`]: the agent's provider, a fixture model in the catalog's examples), so
//! dependencies keep pointing down the pipeline, and runs of one engine can ask different
//! models (two sessions with two models share one compile cache and one instance pool).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use wasmtime::{Caller, Linker};
use watsmith_preprocessor::abi::{HostFunction, ValType};

use super::signature;
use crate::capability::{Capability, FunctionDoc};
use crate::policy::{Grant, GrantSettings};
use crate::state::{self, Budget, RunState};
use crate::status::StatusCode;

/// The capability's name, its import module.
pub const NAME: &str = "ai";

/// Completion tokens asked for per call, at most (less when the run's token budget is lower).
pub const MAX_COMPLETION_TOKENS: u64 = 1024;

/// What the program asks the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    /// Instructions, if the program gave some.
    pub system: Option<String>,
    /// The prompt.
    pub prompt: String,
    /// The most completion tokens the run can still pay for.
    pub max_tokens: u64,
}

/// The model's answer and what it cost.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completion {
    /// The text of the answer.
    pub text: String,
    /// Tokens of the prompt, as the provider counted them.
    pub prompt_tokens: u64,
    /// Tokens of the answer, as the provider counted them.
    pub completion_tokens: u64,
}

/// Why a model gave no answer (the program sees EREMOTE and this message in its log).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModelError(pub String);

/// The future of a completion.
pub type CompletionFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Completion, ModelError>> + Send + 'a>>;

/// A language model the `ai` capability can ask.
pub trait Model: Send + Sync + 'static {
    /// Which model this is, for logs (`openai:gpt-4o-mini`).
    fn label(&self) -> String;

    /// One completion.
    fn complete(&self, request: CompletionRequest) -> CompletionFuture<'_>;
}

const fn function(
    name: &'static str,
    params: &'static [ValType],
    results: &'static [ValType],
) -> HostFunction {
    signature(NAME, name, params, results)
}

static FUNCTIONS: [FunctionDoc; 2] = [
    FunctionDoc {
        function: function("complete", &[ValType::I32], &[ValType::I32, ValType::I32]),
        description: "ask the model: prompt (str) -> (answer str, status); EREMOTE if the model fails; each call and its tokens count against the run's AI budget (a host_budget trap past it)",
    },
    FunctionDoc {
        function: function(
            "chat",
            &[ValType::I32, ValType::I32],
            &[ValType::I32, ValType::I32],
        ),
        description: "ask the model with instructions: (system str, prompt str) -> (answer str, status), as $ai.complete",
    },
];

/// The settings of an `ai` grant: the model the run's programs ask.
#[derive(Clone)]
pub struct AiGrant {
    model: Arc<dyn Model>,
}

impl std::fmt::Debug for AiGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AiGrant")
            .field("model", &self.model.label())
            .finish()
    }
}

impl AiGrant {
    /// A grant of `model`.
    pub fn new(model: Arc<dyn Model>) -> Self {
        Self { model }
    }

    /// The model.
    pub fn model(&self) -> &Arc<dyn Model> {
        &self.model
    }
}

impl GrantSettings for AiGrant {
    const CAPABILITY: &'static str = NAME;
}

/// The `ai` capability. Each run's grant gives its model ([`AiGrant`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct Ai;

/// The model, reached from a host function.
struct AiState {
    model: Arc<dyn Model>,
}

/// Asks the model, charging the budgets, and returns `(answer, status)` to the program.
async fn ask(
    caller: &mut Caller<'_, RunState>,
    system: Option<i32>,
    prompt: i32,
) -> wasmtime::Result<(i32, i32)> {
    let system = match system {
        Some(ptr) => match state::read_str(caller, ptr)? {
            Ok(text) => Some(text),
            Err(code) => return Ok((0, code.as_i32())),
        },
        None => None,
    };
    let prompt = match state::read_str(caller, prompt)? {
        Ok(text) => text,
        Err(code) => return Ok((0, code.as_i32())),
    };
    let Some(model) = caller
        .data_mut()
        .state_mut::<AiState>()
        .map(|s| Arc::clone(&s.model))
    else {
        return Ok((0, StatusCode::EACCESS.as_i32()));
    };
    let state = caller.data_mut();
    state.charge(Budget::AiCalls, 1)?;
    let remaining = state.remaining(Budget::AiTokens);
    if remaining == 0 {
        // Nothing left to spend: charging one more token ends the run with the budget's trap.
        state.charge(Budget::AiTokens, 1)?;
    }
    let request = CompletionRequest {
        system,
        prompt,
        max_tokens: remaining.min(MAX_COMPLETION_TOKENS),
    };
    match model.complete(request).await {
        Ok(completion) => {
            caller.data_mut().charge(
                Budget::AiTokens,
                // Saturating: a count near `u64::MAX` must not wrap past the budget.
                completion
                    .prompt_tokens
                    .saturating_add(completion.completion_tokens),
            )?;
            state::return_bytes(caller, Ok::<_, StatusCode>(completion.text))
        }
        Err(error) => {
            caller
                .data_mut()
                .log(format!("ai: {} failed: {error}", model.label()));
            Ok((0, StatusCode::EREMOTE.as_i32()))
        }
    }
}

impl Capability for Ai {
    fn name(&self) -> &'static str {
        NAME
    }

    fn description(&self) -> &'static str {
        "completions from a language model, within the run's call and token budgets"
    }

    fn functions(&self) -> &'static [FunctionDoc] {
        &FUNCTIONS
    }

    fn is_async(&self) -> bool {
        true
    }

    fn new_state(&self, grant: &Grant) -> Result<Option<Box<dyn std::any::Any + Send>>, String> {
        let grant = grant
            .settings::<AiGrant>()
            .ok_or("no language model was given")?;
        Ok(Some(Box::new(AiState {
            model: Arc::clone(&grant.model),
        })))
    }

    fn link(&self, linker: &mut Linker<RunState>) -> wasmtime::Result<()> {
        linker.func_wrap_async(
            NAME,
            "complete",
            |mut caller: Caller<'_, RunState>, (prompt,): (i32,)| {
                Box::new(async move { ask(&mut caller, None, prompt).await })
            },
        )?;
        linker.func_wrap_async(
            NAME,
            "chat",
            |mut caller: Caller<'_, RunState>, (system, prompt): (i32, i32)| {
                Box::new(async move { ask(&mut caller, Some(system), prompt).await })
            },
        )?;
        Ok(())
    }
}

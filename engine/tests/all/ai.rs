//! `ai` with a stand-in model. THE MODEL HERE IS A STAND-IN, NOT A LANGUAGE MODEL: it answers
//! by rule (the prompt's words reversed, one token per word) so that the capability's plumbing,
//! budgets and failures can be tested without a provider. Real providers plug in through the
//! same [`Model`] trait (the agent's providers).

use std::sync::{Arc, Mutex};

use watsmith_engine::capabilities::ai::{
    AiGrant, Completion, CompletionFuture, CompletionRequest, Model, ModelError,
};
use watsmith_engine::{Engine, EngineConfig, Limits, Policy, Status, StatusCode, TrapKind, Value};

/// Stand-in model: reverses the words of the prompt; fails on prompts that start with "fail";
/// counts `u64::MAX` prompt tokens for prompts that start with "huge" (a provider's bad count).
#[derive(Debug, Default)]
struct StandInModel {
    requests: Mutex<Vec<CompletionRequest>>,
}

impl Model for StandInModel {
    fn label(&self) -> String {
        "stand-in (reverses words; not a language model)".to_owned()
    }

    fn complete(&self, request: CompletionRequest) -> CompletionFuture<'_> {
        Box::pin(async move {
            if let Ok(mut requests) = self.requests.lock() {
                requests.push(request.clone());
            }
            if request.prompt.starts_with("fail") {
                return Err(ModelError("the stand-in was told to fail".to_owned()));
            }
            let words: Vec<&str> = request.prompt.split_whitespace().rev().collect();
            let huge = request.prompt.starts_with("huge");
            Ok(Completion {
                text: words.join(" "),
                prompt_tokens: if huge {
                    u64::MAX
                } else {
                    request.prompt.split_whitespace().count() as u64
                },
                completion_tokens: words.len() as u64,
            })
        })
    }
}

fn engine() -> Engine {
    Engine::new(&EngineConfig::default()).expect("engine")
}

/// A policy granting `ai`, asking `model`.
fn asking(model: &Arc<StandInModel>) -> Policy {
    Policy::deny_all().grant(AiGrant::new(Arc::clone(model) as Arc<dyn Model>))
}

const ASK: &str = r#"(local $answer str)
(check $answer (call $ai.complete "one two three"))
(resv $answer)"#;

#[test]
fn complete_returns_the_models_answer_and_counts_tokens() {
    let model = Arc::new(StandInModel::default());
    let outcome = engine().exec(ASK, vec![], &asking(&model), &Limits::default());
    assert_eq!(outcome.status, Status::Ok, "{outcome:#?}");
    assert_eq!(outcome.results, [Value::Str("three two one".into())]);
    assert_eq!(outcome.usage.ai_calls, 1);
    assert_eq!(outcome.usage.ai_tokens, 6);
}

#[test]
fn chat_passes_the_instructions_and_the_remaining_token_budget() {
    let model = Arc::new(StandInModel::default());
    let body = r#"(local $answer str)
(check $answer (call $ai.chat "be brief" "a b"))
(resv $answer)"#;
    let limits = Limits {
        max_ai_tokens: 100,
        ..Limits::default()
    };
    let outcome = engine().exec(body, vec![], &asking(&model), &limits);
    assert_eq!(outcome.results, [Value::Str("b a".into())], "{outcome:#?}");
    let requests = model.requests.lock().expect("lock");
    assert_eq!(requests[0].system.as_deref(), Some("be brief"));
    assert_eq!(requests[0].max_tokens, 100);
}

#[test]
fn a_model_failure_is_eremote_with_the_reason_logged() {
    let body = r#"(local $answer str)
(check $answer (call $ai.complete "fail please"))"#;
    let outcome = engine().exec(body, vec![], &asking(&Arc::default()), &Limits::default());
    assert_eq!(outcome.code, Some(StatusCode::EREMOTE), "{outcome:#?}");
    assert!(outcome.logs[0].contains("the stand-in was told to fail"));
}

#[test]
fn the_call_budget_ends_the_run() {
    let body = r#"(local $answer str)
(loop $again
  (check $answer (call $ai.complete "x"))
  (br $again))"#;
    let limits = Limits {
        max_ai_calls: 3,
        ..Limits::default()
    };
    let outcome = engine().exec(body, vec![], &asking(&Arc::default()), &limits);
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget)
    );
    assert_eq!(outcome.usage.ai_calls, 3);
}

#[test]
fn the_token_budget_ends_the_run() {
    let limits = Limits {
        max_ai_tokens: 4,
        ..Limits::default()
    };
    let outcome = engine().exec(ASK, vec![], &asking(&Arc::default()), &limits);
    assert_eq!(outcome.status, Status::Trap, "{outcome:#?}");
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget)
    );
    assert!(
        outcome.results.is_empty(),
        "the answer past the budget is withheld"
    );
}

#[test]
fn ai_is_denied_unless_granted_and_refused_without_a_model() {
    let denied = engine().exec(ASK, vec![], &Policy::standard(), &Limits::default());
    assert_eq!(denied.code, Some(StatusCode::EACCESS));
    assert!(
        denied.diagnostics[0]
            .message
            .contains("capability `ai` is not granted"),
        "{denied:#?}"
    );
    // Granted by name but with no model in the grant: refused before the run, saying why.
    let without_model = engine().exec(
        ASK,
        vec![],
        &Policy::deny_all().allow("ai"),
        &Limits::default(),
    );
    assert_eq!(
        without_model.code,
        Some(StatusCode::EACCESS),
        "{without_model:#?}"
    );
    assert!(
        without_model.diagnostics[0]
            .message
            .contains("no language model was given"),
        "{without_model:#?}"
    );
}

#[test]
fn two_policies_on_one_engine_ask_their_own_models() {
    let engine = engine();
    let (first, second) = (
        Arc::new(StandInModel::default()),
        Arc::new(StandInModel::default()),
    );
    for model in [&first, &second, &first] {
        let outcome = engine.exec(ASK, vec![], &asking(model), &Limits::default());
        assert_eq!(outcome.status, Status::Ok, "{outcome:#?}");
    }
    let asked = |model: &Arc<StandInModel>| model.requests.lock().expect("requests").len();
    assert_eq!((asked(&first), asked(&second)), (2, 1));
    // One program, compiled once, served both.
    assert_eq!(engine.cache_stats().misses, 1);
}

#[test]
fn a_token_count_near_the_maximum_does_not_wrap_past_the_budget() {
    // u64::MAX + 2 tokens would wrap to 1, within any budget.
    let body = r#"(local $answer str)
(check $answer (call $ai.complete "huge count"))
(resv $answer)"#;
    let outcome = engine().exec(body, vec![], &asking(&Arc::default()), &Limits::default());
    assert_eq!(
        outcome.trap.as_ref().map(|t| t.kind),
        Some(TrapKind::HostBudget),
        "{outcome:#?}"
    );
    assert_eq!(outcome.usage.ai_tokens, Limits::default().max_ai_tokens);
}

//! The loop, end to end through the real engine and catalog: tasks solved in one step, compile
//! errors fixed on retry, retries exhausted, traps observed and recovered, `@use`, both
//! protocols, the task's limits, sessions, transcripts and their replay.
//!
//! The model is scripted: each test lists its answers in order, and the requests it received are
//! checked (what the loop sent back is the point of most tests).

use std::sync::Arc;

use watsmith_agent::{
    Agent, AgentLimits, AgentParts, ChatResponse, Ending, Event, ModelSettings, Protocol,
    ProviderFailure, Replay, Role, Session, Stop, StopReason, TokenUsage, ToolCall, Transcript,
};
use watsmith_engine::{KvGrant, KvStore, Limits, MemoryKv, Policy};
use watsmith_test_support::ScriptedProvider;

fn text(answer: &str) -> ChatResponse {
    watsmith_test_support::text(answer)
}

fn tool(name: &str, arguments: serde_json::Value) -> ChatResponse {
    ChatResponse {
        reasoning: String::new(),
        text: String::new(),
        tool_calls: vec![ToolCall {
            malformed: None,
            id: format!("call_{name}"),
            name: name.to_owned(),
            arguments,
        }],
        usage: TokenUsage::default(),
        stop_reason: StopReason::ToolUse,
    }
}

fn wat(body: &str) -> ChatResponse {
    text(&format!("Let me compute it.\n\n```wat\n{body}\n```\n"))
}

const COUNT_TO_10: &str = "(local $n i64)\n(local.set $n (i64.const 10))\n(resv $n)";

struct Setup {
    provider: Arc<ScriptedProvider>,
    agent: Agent,
}

fn setup(protocol: Protocol, answers: Vec<ChatResponse>, limits: Limits, policy: Policy) -> Setup {
    setup_with(protocol, answers, limits, policy, AgentLimits::default())
}

fn setup_with(
    protocol: Protocol,
    answers: Vec<ChatResponse>,
    limits: Limits,
    policy: Policy,
    agent_limits: AgentLimits,
) -> Setup {
    let provider = Arc::new(ScriptedProvider::new(answers));
    let agent = Agent::new(AgentParts {
        provider: provider.clone(),
        catalog: crate::catalog(),
        policy,
        limits,
        agent_limits,
        settings: ModelSettings::new("scripted-model", protocol),
    });
    Setup { provider, agent }
}

fn text_setup(answers: Vec<ChatResponse>) -> Setup {
    setup(
        Protocol::Text,
        answers,
        Limits::default(),
        Policy::standard(),
    )
}

fn run(agent: &Agent, session: &mut Session, task: &str) -> (watsmith_agent::Finish, Vec<Event>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut events = Vec::new();
    let finish =
        runtime.block_on(agent.run(session, task, &mut |e: &Event| events.push(e.clone())));
    (finish, events)
}

/// The last message the model was sent before its `n`th answer (0-based).
fn sent(setup: &Setup, n: usize) -> String {
    let requests = setup.provider.requests();
    let last = requests[n].messages.last().expect("a message");
    last.content.clone()
}

#[test]
fn a_task_solved_in_one_step() {
    let setup = text_setup(vec![wat(COUNT_TO_10), text("The answer is 10.")]);
    let (finish, events) = run(&setup.agent, &mut Session::default(), "count to ten");
    assert_eq!(
        finish.ending,
        Ending::Answer("The answer is 10.".to_owned())
    );
    assert_eq!(finish.spent.steps, 1);
    assert_eq!(finish.spent.tokens, 240);
    let observation = sent(&setup, 1);
    assert!(
        observation.starts_with("status: ok\nresults:\n  10\n"),
        "{observation}"
    );
    assert!(
        observation.contains("used so far: 1 of 8 actions"),
        "{observation}"
    );
    let requests = setup.provider.requests();
    assert_eq!(&requests[0].system, setup.agent.prompt());
    assert_eq!(requests[0].messages[0].content, "count to ten");
    assert!(requests[0].tools.is_empty(), "text protocol: no tools");
    let kinds: Vec<&str> = events
        .iter()
        .map(|e| match e {
            Event::Task { .. } => "task",
            Event::Request { .. } => "request",
            Event::Response { .. } => "response",
            Event::Action { .. } => "action",
            Event::Outcome { .. } => "outcome",
            Event::Final { .. } => "final",
            _ => "other",
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "task", "request", "response", "action", "outcome", "request", "response", "final"
        ]
    );
    match &events[4] {
        Event::Outcome { outcome, .. } => assert_eq!(
            outcome.module_hash.as_ref().map(String::len),
            Some(64),
            "the module's hash is recorded"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_compile_error_goes_back_at_the_models_line_and_is_fixed_on_retry() {
    let broken = "(local $count i64)\n(local.set $count (i64.const 10))\n(resv $cnt)";
    let setup = text_setup(vec![wat(broken), wat(COUNT_TO_10), text("10")]);
    let (finish, events) = run(&setup.agent, &mut Session::default(), "count to ten");
    assert_eq!(finish.ending, Ending::Answer("10".to_owned()));
    assert_eq!(finish.spent.steps, 1, "a retry belongs to its action");
    let errors = sent(&setup, 1);
    assert!(errors.starts_with("status: invalid"), "{errors}");
    assert!(errors.contains("undeclared local `$cnt`"), "{errors}");
    assert!(errors.contains("did you mean `$count`?"), "{errors}");
    assert!(errors.contains("line 3"), "the model's own line: {errors}");
    assert!(errors.contains("(retry 1 of 2)"), "{errors}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Retry { retry: 1, .. }))
    );
}

#[test]
fn retries_run_out() {
    let broken = wat("(resv $nothing)");
    let setup = text_setup(vec![broken.clone(), broken.clone(), broken]);
    let (finish, _) = run(&setup.agent, &mut Session::default(), "anything");
    assert_eq!(
        finish.ending,
        Ending::Stopped(Stop::RetriesSpent {
            step: 1,
            retries: 2
        })
    );
    assert_eq!(setup.provider.requests().len(), 3);
}

#[test]
fn a_trap_is_an_observation_the_model_recovers_from() {
    let forever = "(loop $spin (br $spin))";
    let limits = Limits {
        fuel: Some(100_000),
        ..Limits::default()
    };
    let setup = setup(
        Protocol::Text,
        vec![wat(forever), wat(COUNT_TO_10), text("10")],
        limits,
        Policy::standard(),
    );
    let (finish, _) = run(&setup.agent, &mut Session::default(), "count to ten");
    assert_eq!(finish.ending, Ending::Answer("10".to_owned()));
    assert_eq!(finish.spent.steps, 2, "a trap is not a retry");
    let trap = sent(&setup, 1);
    assert!(trap.starts_with("status: trap: out_of_fuel"), "{trap}");
    assert!(!trap.contains("retry"), "{trap}");
}

#[test]
fn use_runs_a_catalog_program_and_a_bad_call_is_retried() {
    let setup = text_setup(vec![
        text("@use gdc(12, 18)"),
        text("@use gcd(12, 18)"),
        text("The gcd is 6."),
    ]);
    let (finish, _) = run(&setup.agent, &mut Session::default(), "gcd of 12 and 18?");
    assert_eq!(finish.ending, Ending::Answer("The gcd is 6.".to_owned()));
    let unknown = sent(&setup, 1);
    assert!(unknown.contains("did you mean `gcd`?"), "{unknown}");
    assert!(sent(&setup, 2).contains("results:\n  6\n"));
    // The catalog is in the (compact) prompt by name; its signatures come on demand.
    let prompt = setup.agent.prompt().text();
    assert!(prompt.contains(" gcd, "), "{prompt}");
    assert!(!prompt.contains("gcd(a: i64"), "{prompt}");
}

#[test]
fn the_tool_protocol_runs_tool_calls_and_answers_each_call_id() {
    let setup = setup(
        Protocol::Tools,
        vec![
            tool(
                "run_wat",
                serde_json::json!({"body": "(local $n i64) (argv 0 $n) (resv $n)", "args": [41]}),
            ),
            tool(
                "use_program",
                serde_json::json!({"name": "fib", "args": [10]}),
            ),
            text("fib(10) is 55"),
        ],
        Limits::default(),
        Policy::standard(),
    );
    let (finish, _) = run(&setup.agent, &mut Session::default(), "fib(10)?");
    assert_eq!(finish.ending, Ending::Answer("fib(10) is 55".to_owned()));
    let requests = setup.provider.requests();
    // `run_wat`, `use_program` and (with the compact prompt) `reference`.
    assert_eq!(requests[0].tools.len(), 3);
    let reply = requests[1].messages.last().expect("message");
    assert_eq!(reply.role, Role::Tool);
    assert_eq!(reply.tool_call_id.as_deref(), Some("call_run_wat"));
    assert!(
        reply.content.contains("results:\n  41\n"),
        "{}",
        reply.content
    );
    let call = &requests[1].messages[requests[1].messages.len() - 2];
    assert_eq!(call.role, Role::Assistant);
    assert_eq!(call.tool_calls[0].name, "run_wat");
    assert!(
        requests[2]
            .messages
            .last()
            .expect("m")
            .content
            .contains("55")
    );
}

#[test]
fn the_task_stops_at_its_step_limit() {
    let answers = (0..10).map(|_| wat(COUNT_TO_10)).collect();
    let setup = text_setup(answers);
    let (finish, _) = run(&setup.agent, &mut Session::default(), "loop forever");
    assert_eq!(finish.ending, Ending::Stopped(Stop::MaxSteps { steps: 8 }));
    assert_eq!(finish.spent.steps, 8);
}

#[test]
fn a_provider_error_stops_the_task_with_its_reason() {
    let setup = text_setup(vec![]);
    let (finish, _) = run(&setup.agent, &mut Session::default(), "anything");
    assert_eq!(
        finish.ending,
        Ending::Stopped(Stop::Provider {
            error: "the script has no more answers".to_owned(),
            // The scripted provider says so as a configuration error.
            failure: ProviderFailure::Configuration,
        })
    );
}

#[test]
fn a_session_keeps_its_history_and_kv_namespace_across_tasks() {
    let set = "(check (call $kv.set \"colour\" \"blue\"))";
    let get = "(local $v str) (check $v (call $kv.get \"colour\")) (resv $v)";
    let store: Arc<dyn KvStore> = Arc::new(MemoryKv::new());
    let setup = setup(
        Protocol::Text,
        vec![wat(set), text("stored"), wat(get), text("blue")],
        Limits::default(),
        Policy::standard().grant(KvGrant::new(Arc::clone(&store), "alice")),
    );
    let mut session = Session::default();
    let (first, _) = run(&setup.agent, &mut session, "remember blue");
    assert_eq!(first.ending, Ending::Answer("stored".to_owned()));
    let (second, _) = run(&setup.agent, &mut session, "what colour?");
    assert_eq!(second.ending, Ending::Answer("blue".to_owned()));
    assert!(sent(&setup, 3).contains("results:\n  \"blue\"\n"));
    let requests = setup.provider.requests();
    assert_eq!(
        requests[2].messages[0].content, "remember blue",
        "history kept"
    );
    // Another session, in its own namespace of the same store, does not see alice's.
    drop(requests);
    let other = self::setup(
        Protocol::Text,
        vec![wat(get), text("nothing")],
        Limits::default(),
        Policy::standard().grant(KvGrant::new(store, "bob")),
    );
    let (finish, _) = run(&other.agent, &mut Session::default(), "what colour?");
    assert_eq!(finish.ending, Ending::Answer("nothing".to_owned()));
    assert!(sent(&other, 1).contains("ENOENT"));
}

#[test]
fn a_task_stopped_between_a_call_and_its_result_leaves_a_session_that_can_go_on() {
    let call = || tool("run_wat", serde_json::json!({"body": COUNT_TO_10}));
    let setup = setup_with(
        Protocol::Tools,
        vec![call(), call(), text("ten")],
        Limits::default(),
        Policy::standard(),
        AgentLimits {
            max_steps: 1,
            ..AgentLimits::default()
        },
    );
    let mut session = Session::default();
    let (first, _) = run(&setup.agent, &mut session, "count");
    assert_eq!(first.ending, Ending::Stopped(Stop::MaxSteps { steps: 1 }));
    // The second call was not run; it is answered, so that every call has its result.
    let last = session.messages.last().expect("a message");
    assert_eq!(last.role, Role::Tool);
    assert_eq!(last.tool_call_id.as_deref(), Some("call_run_wat"));
    assert!(
        last.content
            .starts_with("not run: the task stopped: the task used its 1 action")
    );
    let (second, _) = run(&setup.agent, &mut session, "just say it");
    assert_eq!(second.ending, Ending::Answer("ten".to_owned()));
    let requests = setup.provider.requests();
    let messages = &requests[2].messages;
    for (index, message) in messages.iter().enumerate() {
        for call in &message.tool_calls {
            assert!(
                messages[index + 1..]
                    .iter()
                    .any(|m| m.tool_call_id.as_deref() == Some(call.id.as_str())),
                "call {} at message {index} has no result: {messages:#?}",
                call.id
            );
        }
    }
    assert_eq!(messages.last().expect("m").content, "just say it");
}

#[test]
fn a_transcript_replays_to_the_same_answer_and_a_divergence_is_reported() {
    let broken = "(local $count i64)\n(resv $cnt)";
    let setup = text_setup(vec![wat(broken), wat(COUNT_TO_10), text("It is 10.")]);
    let mut recorded = Vec::new();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut transcript = Transcript::new(&mut recorded);
    let finish = runtime.block_on(setup.agent.run(
        &mut Session::default(),
        "count to ten",
        &mut transcript,
    ));
    assert!(transcript.error().is_none());
    assert_eq!(finish.ending, Ending::Answer("It is 10.".to_owned()));
    let text = String::from_utf8(recorded).expect("utf-8");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON lines"))
        .collect();
    assert_eq!(lines[0]["event"], "task");
    assert_eq!(lines[0]["prompt_hash"], setup.agent.prompt().hash());
    assert!(lines.iter().all(|l| l["ts_ms"].is_u64()));
    assert!(lines.iter().any(|l| l["event"] == "retry"));

    let replay = Arc::new(Replay::from_transcript(&text).expect("replayable"));
    assert_eq!(replay.len(), 3);
    let again = Agent::new(AgentParts {
        provider: replay.clone(),
        catalog: crate::catalog(),
        policy: Policy::standard(),
        limits: Limits::default(),
        agent_limits: AgentLimits::default(),
        settings: ModelSettings::new("scripted-model", Protocol::Text),
    });
    let (replayed, _) = run(&again, &mut Session::default(), "count to ten");
    assert_eq!(replayed.ending, finish.ending);

    let fresh = Arc::new(Replay::from_transcript(&text).expect("replayable"));
    let diverged = Agent::new(AgentParts {
        provider: fresh,
        catalog: crate::catalog(),
        policy: Policy::standard(),
        limits: Limits::default(),
        agent_limits: AgentLimits::default(),
        settings: ModelSettings::new("scripted-model", Protocol::Text),
    });
    let (finish, _) = run(&diverged, &mut Session::default(), "count to eleven");
    match finish.ending {
        Ending::Stopped(Stop::Provider { error, .. }) => {
            assert!(error.contains("diverged"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn token_counts_near_the_maximum_do_not_wrap_past_the_budget() {
    // Two answers whose counts sum past u64::MAX: wrapping would bring the total back under
    // the budget and the loop would go on asking.
    let huge = |answer: ChatResponse| ChatResponse {
        reasoning: String::new(),
        usage: TokenUsage::reported(u64::MAX - 1, 3),
        ..answer
    };
    let setup = text_setup(vec![huge(wat(COUNT_TO_10)), text("The answer is 10.")]);
    let (finish, _) = run(&setup.agent, &mut Session::default(), "count to ten");
    assert_eq!(finish.spent.tokens, u64::MAX);
    assert!(
        matches!(finish.ending, Ending::Stopped(Stop::TokenBudget { .. })),
        "{:?}",
        finish.ending
    );
    assert_eq!(
        setup.provider.requests().len(),
        1,
        "no request after the budget"
    );
}

/// A call whose arguments arrived as this broken JSON text, as a client reads it.
fn broken_call(text: &str, stop_reason: StopReason) -> ChatResponse {
    let mut response = tool("run_wat", serde_json::json!({}));
    response.tool_calls[0].malformed = Some(watsmith_agent::Malformed {
        text: text.to_owned(),
        error: "the JSON ends early, after 24 characters".to_owned(),
    });
    response.stop_reason = stop_reason;
    response
}

#[test]
fn broken_tool_arguments_are_told_as_broken_json_or_as_cut_at_the_token_limit() {
    let setup = setup(
        Protocol::Tools,
        vec![
            broken_call("{\"body\": \"(nop)\", args}", StopReason::ToolUse),
            broken_call("{\"body\": \"(local $n", StopReason::MaxTokens),
            text("I give up."),
        ],
        Limits::default(),
        Policy::standard(),
    );
    let (finish, _) = run(&setup.agent, &mut Session::default(), "anything");
    assert_eq!(finish.ending, Ending::Answer("I give up.".to_owned()));
    let broken = sent(&setup, 1);
    assert!(
        broken.contains(
            "the arguments of your `run_wat` call are not a JSON object: the JSON ends early"
        ),
        "{broken}"
    );
    assert!(!broken.contains("needs `body`"), "{broken}");
    let cut = sent(&setup, 2);
    assert!(
        cut.contains("was cut at the token limit (max_tokens 4096)"),
        "{cut}"
    );
    // What went back for the broken calls is an object.
    let requests = setup.provider.requests();
    let call = &requests[2].messages[requests[2].messages.len() - 2].tool_calls[0];
    assert_eq!(call.arguments, serde_json::json!({}));
}

#[test]
fn a_tools_protocol_reply_with_a_body_in_a_fence_and_no_call_runs_the_body() {
    let setup = setup(
        Protocol::Tools,
        vec![wat(COUNT_TO_10), text("10")],
        Limits::default(),
        Policy::standard(),
    );
    let (finish, _) = run(&setup.agent, &mut Session::default(), "count to ten");
    assert_eq!(finish.ending, Ending::Answer("10".to_owned()));
    assert!(
        sent(&setup, 1).contains("results:\n  10\n"),
        "{}",
        sent(&setup, 1)
    );
}

#[test]
fn a_reference_is_asked_for_and_observed_in_both_protocols() {
    // Text: a `@reference` line; the reference is the observation, then the body runs.
    let text_run = text_setup(vec![
        text("I need the signatures.\n@reference str"),
        wat("(local $n i32) (local.set $n (call $str.len \"abc\")) (resv $n)"),
        text("3"),
    ]);
    let (finish, events) = run(&text_run.agent, &mut Session::default(), "length of abc?");
    assert_eq!(finish.ending, Ending::Answer("3".to_owned()));
    let observed = sent(&text_run, 1);
    assert!(
        observed.contains("- `$str.len (param i32) (result i32)`: "),
        "{observed}"
    );
    assert!(events.iter().any(|e| matches!(
        e,
        Event::Action {
            action: watsmith_agent::Action::Reference { topic },
            ..
        } if topic == "str"
    )));
    // The compact prompt is the default, and it has no signatures.
    assert!(!text_run.agent.prompt().text().contains("(param i32)"));

    // Tools: the `reference` tool, answered as the call's result; an unknown topic says what
    // there is.
    let setup = setup(
        Protocol::Tools,
        vec![
            tool("reference", serde_json::json!({"topic": "gcd"})),
            tool("reference", serde_json::json!({"topic": "http"})),
            text("done"),
        ],
        Limits::default(),
        Policy::standard(),
    );
    run(&setup.agent, &mut Session::default(), "gcd?");
    assert!(
        setup.provider.requests()[0]
            .tools
            .iter()
            .any(|t| t.name == "reference")
    );
    let gcd = sent(&setup, 1);
    assert!(gcd.contains("`gcd(a: i64, b: i64) -> (gcd: i64)`"), "{gcd}");
    let unknown = sent(&setup, 2);
    assert!(
        unknown.contains("no reference: there is no capability or program `http`"),
        "{unknown}"
    );
}

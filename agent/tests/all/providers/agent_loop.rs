//! The agent's loop through the real provider clients, against the scripted servers: what a model
//! on the other side of a network sees, streaming included.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use watsmith_agent::{
    Agent, AgentLimits, AgentParts, Anthropic, Ending, Event, Finish, Message, ModelSettings,
    Ollama, OpenAi, Protocol, Provider, ProviderFailure, Session, Stop,
};
use watsmith_engine::{Limits, Policy};

use watsmith_test_support::wire::{End, Reply, Server};

const COUNT: &str = "(local $n i64)\n(local.set $n (i64.const 10))\n(resv $n)";

fn agent(provider: Arc<dyn Provider>, protocol: Protocol, stream: bool) -> Agent {
    agent_with(provider, protocol, stream, AgentLimits::default())
}

fn agent_with(
    provider: Arc<dyn Provider>,
    protocol: Protocol,
    stream: bool,
    agent_limits: AgentLimits,
) -> Agent {
    let mut settings = ModelSettings::new("test-model", protocol);
    settings.stream = stream;
    Agent::new(AgentParts {
        provider,
        catalog: crate::catalog(),
        policy: Policy::standard(),
        limits: Limits {
            fuel: Some(1_000_000),
            ..Limits::default()
        },
        agent_limits,
        settings,
    })
}

/// Solves `task` in a new session, which is returned with the finish.
async fn solve_in_session(agent: &Agent, task: &str) -> (Finish, Session) {
    let mut session = Session::default();
    let finish = agent.run(&mut session, task, &mut |_: &Event| {}).await;
    (finish, session)
}

async fn solve(agent: &Agent, task: &str) -> (Ending, Vec<Event>) {
    let mut events = Vec::new();
    let finish = agent
        .run(&mut Session::default(), task, &mut |e: &Event| {
            events.push(e.clone())
        })
        .await;
    (finish.ending, events)
}

/// An OpenAI stream of `text` in three pieces.
fn openai_text(text: &str) -> Reply {
    let third = text.len() / 3;
    let cut = (third..text.len())
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(text.len());
    let mut events: Vec<String> = [&text[..cut], &text[cut..]]
        .iter()
        .map(|piece| openai_chunk(json!({"content": piece}), None))
        .collect();
    events.push(openai_chunk(json!({}), Some("stop")));
    events.push(format!(
        "data: {}",
        json!({"id": "c", "object": "chat.completion.chunk", "choices": [],
               "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}})
    ));
    events.push("data: [DONE]".to_owned());
    Reply::sse(&events, End::Complete)
}

fn openai_chunk(delta: Value, finish: Option<&str>) -> String {
    format!(
        "data: {}",
        json!({"id": "c", "object": "chat.completion.chunk", "model": "test-model",
               "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]})
    )
}

/// An OpenAI (non-streamed) answer calling `run_wat` with `body`.
fn openai_run_wat(id: &str, body: &str) -> Reply {
    Reply::Json(
        200,
        json!({
            "id": "c", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": id, "type": "function", "function": {
                    "name": "run_wat", "arguments": json!({"body": body}).to_string()}}]}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
        }),
    )
}

fn openai_answer(text: &str) -> Reply {
    Reply::Json(
        200,
        json!({
            "id": "c", "object": "chat.completion", "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 50, "completion_tokens": 10, "total_tokens": 60}
        }),
    )
}

fn openai(server: &Server) -> Arc<dyn Provider> {
    Arc::new(OpenAi::new(server.options("/v1")).expect("client"))
}

#[tokio::test]
async fn openai_streamed_text_protocol_solves_a_task_in_one_step() {
    let server = Server::start(vec![
        openai_text(&format!("Counting.\n```wat\n{COUNT}\n```\n")),
        openai_text("The answer is 10."),
    ])
    .await;
    let agent = agent(openai(&server), Protocol::Text, true);
    let (ending, events) = solve(&agent, "count to ten").await;
    assert_eq!(ending, Ending::Answer("The answer is 10.".to_owned()));
    let deltas: String = events
        .iter()
        .filter_map(|e| match e {
            Event::Delta { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    assert!(deltas.starts_with("Counting.\n```wat\n"), "{deltas}");
    let received = server.received();
    assert_eq!(received.len(), 2);
    assert_eq!(received[0].path, "/v1/chat/completions");
    assert_eq!(received[0].body["stream"], true);
    assert_eq!(received[0].body["messages"][0]["role"], "system");
    let observation = received[1].body["messages"][3]["content"]
        .as_str()
        .expect("the observation");
    assert!(
        observation.starts_with("status: ok\nresults:\n  10\n"),
        "{observation}"
    );
}

#[tokio::test]
async fn openai_tool_protocol_fixes_a_compile_error_on_the_first_retry() {
    let broken = "(local $count i64)\n(local.set $count (i64.const 10))\n(resv $cnt)";
    let server = Server::start(vec![
        openai_run_wat("call_1", broken),
        openai_run_wat("call_2", COUNT),
        openai_answer("10"),
    ])
    .await;
    let agent = agent(openai(&server), Protocol::Tools, false);
    let (ending, _) = solve(&agent, "count to ten").await;
    assert_eq!(ending, Ending::Answer("10".to_owned()));
    let received = server.received();
    assert_eq!(received[0].body["tools"][0]["function"]["name"], "run_wat");
    let sent_back = &received[1].body["messages"][3];
    assert_eq!(sent_back["role"], "tool");
    assert_eq!(sent_back["tool_call_id"], "call_1");
    let errors = sent_back["content"].as_str().expect("text");
    assert!(
        errors.contains("--> line 3, column 7"),
        "the model's line: {errors}"
    );
    assert!(errors.contains("did you mean `$count`?"), "{errors}");
    assert!(errors.contains("(retry 1 of 2)"), "{errors}");
}

#[tokio::test]
async fn a_rate_limit_is_waited_out_inside_the_task() {
    let server = Server::start(vec![
        Reply::status(429, &[("retry-after", "0")], "{\"error\": \"slow down\"}"),
        openai_answer("Nothing to compute: 4."),
    ])
    .await;
    let agent = agent(openai(&server), Protocol::Text, false);
    let (ending, _) = solve(&agent, "2 + 2?").await;
    assert_eq!(ending, Ending::Answer("Nothing to compute: 4.".to_owned()));
    assert_eq!(server.received().len(), 2);
}

#[tokio::test]
async fn a_refused_key_and_an_unknown_model_stop_the_task_as_what_they_are() {
    let cases = [
        (
            401,
            ProviderFailure::Authentication,
            "Incorrect API key provided",
        ),
        (
            404,
            ProviderFailure::Configuration,
            "The model `gpt-9` does not exist",
        ),
        (503, ProviderFailure::Unavailable, "overloaded"),
    ];
    for (status, expected, message) in cases {
        // 5xx is retried: the script answers every attempt the same.
        let replies = (0..4)
            .map(|_| Reply::Json(status, json!({"error": {"message": message}})))
            .collect();
        let server = Server::start(replies).await;
        let agent = agent(openai(&server), Protocol::Text, false);
        let (ending, _) = solve(&agent, "anything").await;
        match ending {
            Ending::Stopped(Stop::Provider { error, failure }) => {
                assert_eq!(failure, expected, "{status}: {error}");
                assert!(error.contains(message), "{error}");
            }
            other => panic!("{status}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_broken_stream_stops_the_task_with_a_transport_error() {
    let server = Server::start(vec![Reply::sse(
        &[openai_chunk(json!({"content": "```wat\n(local"}), None)],
        End::Cut,
    )])
    .await;
    let agent = agent(openai(&server), Protocol::Text, true);
    let (ending, _) = solve(&agent, "anything").await;
    match ending {
        Ending::Stopped(Stop::Provider { error, .. }) => {
            assert!(error.starts_with("transport"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_request_timeout_inside_the_task_stops_it_after_the_steps_done() {
    let server = Server::start(vec![openai_run_wat("call_1", COUNT), Reply::Hang]).await;
    let mut options = server.options("/v1");
    options.timeout = Duration::from_millis(300);
    let provider = Arc::new(OpenAi::new(options).expect("client"));
    let agent = agent(provider, Protocol::Tools, false);
    let (finish, session) = solve_in_session(&agent, "count to ten").await;
    assert_eq!(
        finish.ending,
        Ending::Stopped(Stop::Provider {
            error: "no answer within 300ms".to_owned(),
            failure: ProviderFailure::Unavailable,
        })
    );
    assert_eq!(finish.spent.steps, 1, "the first step ran");
    assert_eq!(server.received().len(), 2, "a timeout is not retried");
    let last = session.messages.last().expect("a message");
    assert_eq!(last.tool_call_id.as_deref(), Some("call_1"));
}

#[tokio::test]
async fn a_cancelled_task_leaves_the_session_as_it_was_before_it() {
    let server = Server::start(vec![openai_run_wat("call_1", COUNT), Reply::Hang]).await;
    let agent = agent(openai(&server), Protocol::Tools, false);
    let mut session = Session::default();
    session.messages.push(Message::user("an earlier task"));
    session
        .messages
        .push(Message::assistant("its answer", Vec::new()));
    let before = session.clone();
    let mut events = Vec::new();
    // Cancelled while the second request waits, as Ctrl-C in `watsmith chat` would.
    let second_request = async {
        while server.received().len() < 2 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    let finish = agent
        .run_until(
            &mut session,
            "count to ten",
            &mut |e: &Event| events.push(e.clone()),
            second_request,
        )
        .await;
    assert_eq!(finish.ending, Ending::Stopped(Stop::Cancelled));
    assert_eq!(finish.spent.steps, 1, "the first step ran");
    assert_eq!(session, before);
    assert!(
        matches!(
            events.last(),
            Some(Event::Stopped {
                reason: Stop::Cancelled,
                ..
            })
        ),
        "{events:?}"
    );
}

#[tokio::test]
async fn the_tasks_wall_clock_ends_a_request_that_is_still_waiting() {
    let server = Server::start(vec![Reply::Hang]).await;
    let agent = agent_with(
        openai(&server),
        Protocol::Text,
        true,
        AgentLimits {
            wall_clock: Duration::from_millis(300),
            ..AgentLimits::default()
        },
    );
    let (ending, _) = solve(&agent, "anything").await;
    // The task's clock ended it, not the client's own timeout (minutes).
    assert_eq!(
        ending,
        Ending::Stopped(Stop::WallClock {
            limit_ms: 300,
            waiting_for_the_model: true
        })
    );
}

#[tokio::test]
async fn anthropic_streamed_use_of_a_catalog_program() {
    let stream = |text: &str| {
        let event = |data: Value| {
            format!(
                "event: {}\ndata: {data}",
                data["type"].as_str().expect("type")
            )
        };
        Reply::sse(
            &[
                event(
                    json!({"type": "message_start", "message": {"id": "m", "type": "message",
                    "role": "assistant", "model": "test-model", "content": [],
                    "usage": {"input_tokens": 40, "output_tokens": 1}}}),
                ),
                event(json!({"type": "content_block_start", "index": 0,
                    "content_block": {"type": "text", "text": ""}})),
                event(json!({"type": "content_block_delta", "index": 0,
                    "delta": {"type": "text_delta", "text": text}})),
                event(json!({"type": "content_block_stop", "index": 0})),
                event(
                    json!({"type": "message_delta", "delta": {"stop_reason": "end_turn"},
                    "usage": {"output_tokens": 9}}),
                ),
                event(json!({"type": "message_stop"})),
            ],
            End::Complete,
        )
    };
    let server = Server::start(vec![stream("@use gcd(12, 18)"), stream("The gcd is 6.")]).await;
    let mut options = server.options("");
    options.api_key = Some(watsmith_agent::ApiKey::new("sk-ant-test"));
    let agent = agent(
        Arc::new(Anthropic::new(options).expect("client")),
        Protocol::Text,
        true,
    );
    let (ending, _) = solve(&agent, "gcd of 12 and 18?").await;
    assert_eq!(ending, Ending::Answer("The gcd is 6.".to_owned()));
    let received = server.received();
    assert_eq!(received[0].path, "/v1/messages");
    assert!(
        received[0].body["system"]
            .as_str()
            .expect("system")
            .contains("WAT-plus")
    );
    let observation = &received[1].body["messages"][2];
    assert_eq!(observation["role"], "user");
    assert!(
        observation.to_string().contains("results:\\n  6\\n"),
        "{observation}"
    );
}

#[tokio::test]
async fn anthropic_tool_protocol_stops_when_the_retries_are_spent() {
    let tool_use = |id: &str| {
        Reply::Json(
            200,
            json!({"id": "m", "type": "message", "role": "assistant", "model": "test-model",
                   "content": [
                       {"type": "text", "text": "Counting."},
                       {"type": "tool_use", "id": id, "name": "run_wat",
                        "input": {"body": "(local $n i64)\n(resv $count)"}}],
                   "stop_reason": "tool_use",
                   "usage": {"input_tokens": 40, "output_tokens": 12}}),
        )
    };
    let server = Server::start(vec![
        tool_use("toolu_1"),
        tool_use("toolu_2"),
        tool_use("toolu_3"),
    ])
    .await;
    let mut options = server.options("");
    options.api_key = Some(watsmith_agent::ApiKey::new("sk-ant-test"));
    let agent = agent(
        Arc::new(Anthropic::new(options).expect("client")),
        Protocol::Tools,
        false,
    );
    let (finish, session) = solve_in_session(&agent, "count to ten").await;
    assert_eq!(
        finish.ending,
        Ending::Stopped(Stop::RetriesSpent {
            step: 1,
            retries: 2
        })
    );
    assert_eq!(finish.spent.tokens, 3 * 52);
    let received = server.received();
    assert_eq!(received.len(), 3, "the first try and two retries");
    assert_eq!(received[0].body["tools"][0]["name"], "run_wat");
    for (n, id) in [(1, "toolu_1"), (2, "toolu_2")] {
        let messages = received[n].body["messages"].as_array().expect("messages");
        let result = messages.last().expect("the result");
        assert_eq!(result["role"], "user");
        assert_eq!(result["content"][0]["type"], "tool_result");
        assert_eq!(result["content"][0]["tool_use_id"], id);
        let errors = result["content"][0]["content"].to_string();
        assert!(
            errors.contains("--> line 2, column 7"),
            "the model's line: {errors}"
        );
        assert!(errors.contains(&format!("(retry {n} of 2)")), "{errors}");
    }
    // The last call is answered in the session, which can go on.
    let last = session.messages.last().expect("a message");
    assert_eq!(last.tool_call_id.as_deref(), Some("toolu_3"));
}

#[tokio::test]
async fn ollama_streamed_trap_observed_and_recovered() {
    let stream = |text: &str| {
        Reply::ndjson(
            &[
                json!({"model": "test-model", "created_at": "2026-11-22T00:00:00Z",
                       "message": {"role": "assistant", "content": text}, "done": false}),
                json!({"model": "test-model", "created_at": "2026-11-22T00:00:00Z",
                       "message": {"role": "assistant", "content": ""}, "done": true,
                       "done_reason": "stop", "prompt_eval_count": 40, "eval_count": 12}),
            ],
            End::Complete,
        )
    };
    let server = Server::start(vec![
        stream("```wat\n(loop $spin (br $spin))\n```"),
        stream(&format!("```wat\n{COUNT}\n```")),
        stream("10"),
    ])
    .await;
    let agent = agent(
        Arc::new(Ollama::new(server.options("")).expect("client")),
        Protocol::Text,
        true,
    );
    let (ending, _) = solve(&agent, "count to ten").await;
    assert_eq!(ending, Ending::Answer("10".to_owned()));
    let received = server.received();
    assert_eq!(received[0].path, "/api/chat");
    let trap = received[1].body["messages"][3]["content"]
        .as_str()
        .expect("text");
    assert!(trap.starts_with("status: trap: out_of_fuel"), "{trap}");
}

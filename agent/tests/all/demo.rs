//! The demo's recorded sessions replay through the real pipeline to their scripted answers.
//! `BLESS=1 cargo test -p watsmith-agent --test all demo` records them again from their scripts
//! (needed whenever the requests change: the prompt, the catalog, the capabilities).

use std::sync::{Arc, Mutex};

use watsmith_agent::demo::{self, RECORDINGS};
use watsmith_agent::{
    Agent, ChatFuture, ChatRequest, ChatResponse, Deltas, Ending, Provider, ProviderError, Replay,
    Session, StopReason, TokenUsage, Transcript,
};

/// The hand-written answers of a script, in order (word counts stand in for token counts).
struct Scripted(Mutex<Vec<String>>);

impl Provider for Scripted {
    fn name(&self) -> &str {
        "scripted"
    }

    fn chat<'a>(&'a self, request: &'a ChatRequest, _deltas: Deltas<'a>) -> ChatFuture<'a> {
        let mut answers = self.0.lock().expect("lock");
        let answer = (!answers.is_empty()).then(|| answers.remove(0));
        let prompt_words = request.system.text().split_whitespace().count()
            + request
                .messages
                .iter()
                .map(|m| m.content.split_whitespace().count())
                .sum::<usize>();
        Box::pin(async move {
            let text = answer.ok_or_else(|| ProviderError::Config("script ended".to_owned()))?;
            Ok(ChatResponse {
                reasoning: String::new(),
                usage: TokenUsage::reported(
                    prompt_words as u64,
                    text.split_whitespace().count() as u64,
                ),
                text,
                tool_calls: Vec::new(),
                stop_reason: StopReason::EndTurn,
            })
        })
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

#[test]
fn every_recording_replays_to_its_scripted_answer() {
    let bless = std::env::var_os("BLESS").is_some();
    for recording in &RECORDINGS {
        let script = recording.script().expect("the script parses");
        let expected = Ending::Answer(script.answers.last().expect("answers").clone());
        if bless {
            let agent = Agent::new(demo::parts(
                Arc::new(Scripted(Mutex::new(script.answers.clone()))),
                super::catalog(),
            ));
            let mut recorded = Vec::new();
            let mut transcript = Transcript::new(&mut recorded);
            let finish = runtime().block_on(agent.run(
                &mut Session::default(),
                &script.task,
                &mut transcript,
            ));
            assert_eq!(finish.ending, expected, "{}: the script", recording.name);
            let path = format!(
                "{}/demo/{}.jsonl",
                env!("CARGO_MANIFEST_DIR"),
                recording.name
            );
            std::fs::write(path, recorded).expect("write the transcript");
            continue;
        }
        let replay = Replay::from_transcript(recording.transcript).expect("a transcript");
        let agent = Agent::new(demo::parts(Arc::new(replay), super::catalog()));
        let finish = runtime().block_on(agent.run(
            &mut Session::default(),
            &script.task,
            &mut |_: &watsmith_agent::Event| {},
        ));
        assert_eq!(
            finish.ending, expected,
            "{}: the recording no longer replays (did the prompt, catalog or capabilities \
             change?); record it again with `BLESS=1 cargo test -p watsmith-agent --test all demo`",
            recording.name
        );
    }
}

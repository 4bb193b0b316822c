//! The provider stream decoders (OpenAI's and Anthropic's server-sent events, Ollama's
//! newline-delimited JSON) on arbitrary bodies cut into arbitrary pieces. Invariants: nothing
//! panics; the answer does not depend on where the body is cut (a piece boundary inside a line,
//! a `\r\n` or a UTF-8 character changes nothing); and the text handed on as deltas is the
//! answer's text.
//!
//! Input: byte 0 picks the provider, byte 1 is a count N (at most 16), the next N bytes are
//! piece lengths used in turn (0 counts as 1), and the rest is the body.

#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use watsmith_agent::provider::fuzzing::read_stream;
use watsmith_agent::{ChatResponse, ProviderError, ProviderKind};

const KINDS: [ProviderKind; 3] = [
    ProviderKind::OpenAi,
    ProviderKind::Anthropic,
    ProviderKind::Ollama,
];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("a current-thread runtime")
    })
}

/// The answer to `pieces`, and the text handed on while reading it.
fn decode(
    kind: ProviderKind,
    pieces: Vec<Vec<u8>>,
) -> (Result<ChatResponse, ProviderError>, String) {
    let handed = Mutex::new(String::new());
    let deltas = |delta: &str| handed.lock().expect("not poisoned").push_str(delta);
    let answer = runtime().block_on(read_stream(kind, pieces, &deltas));
    (answer, handed.into_inner().expect("not poisoned"))
}

fuzz_target!(|data: &[u8]| {
    let [kind, count, rest @ ..] = data else {
        return;
    };
    let kind = KINDS[usize::from(*kind) % KINDS.len()];
    let count = usize::from(*count % 17).min(rest.len());
    let (steps, body) = rest.split_at(count);
    let mut pieces = Vec::new();
    let mut at = 0;
    for step in steps.iter().cycle() {
        if at >= body.len() {
            break;
        }
        let end = (at + usize::from((*step).max(1))).min(body.len());
        pieces.push(body[at..end].to_vec());
        at = end;
    }
    if at < body.len() {
        pieces.push(body[at..].to_vec());
    }

    let (whole, whole_text) = decode(kind, vec![body.to_vec()]);
    let (cut, cut_text) = decode(kind, pieces);
    match (&whole, &cut) {
        (Ok(a), Ok(b)) => assert_eq!(a, b, "the answer depends on the cuts"),
        (Err(a), Err(b)) => assert_eq!(
            a.to_string(),
            b.to_string(),
            "the error depends on the cuts"
        ),
        _ => panic!("the cuts change the outcome: {whole:?} whole, {cut:?} cut"),
    }
    assert_eq!(whole_text, cut_text, "the deltas depend on the cuts");
    if let Ok(answer) = &whole {
        assert_eq!(
            answer.text, whole_text,
            "the deltas are not the answer's text"
        );
    }
});

//! The stream decoders without a server, for the fuzz targets (`fuzz/`): behind the `fuzzing`
//! feature, so no part of the API a front end builds on.

use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;

use super::http::{self, ByteStream};
use super::{ChatResponse, Deltas, ProviderError, ProviderKind, anthropic, ollama, openai};

/// The wait for each piece of the stream: the pieces are all there, so none is waited for.
const PIECE_TIMEOUT: Duration = Duration::from_secs(60);

/// Reads `pieces`, the body of a successful streamed answer arriving in these pieces, as the
/// client of `kind` reads it (server-sent events for OpenAI and Anthropic, newline-delimited
/// JSON for Ollama), handing the text to `deltas` as it is decoded. Runs on a tokio runtime with
/// time enabled.
pub async fn read_stream(
    kind: ProviderKind,
    pieces: Vec<Vec<u8>>,
    deltas: Deltas<'_>,
) -> Result<ChatResponse, ProviderError> {
    let bytes: ByteStream = Box::pin(stream::iter(
        pieces.into_iter().map(|piece| Ok(Bytes::from(piece))),
    ));
    let answer = match kind {
        ProviderKind::OpenAi => {
            openai::read_stream(http::Events::new(bytes, PIECE_TIMEOUT), deltas).await
        }
        ProviderKind::Anthropic => {
            anthropic::read_stream(http::Events::new(bytes, PIECE_TIMEOUT), deltas).await
        }
        ProviderKind::Ollama => {
            ollama::read_stream(http::Lines::new(bytes, PIECE_TIMEOUT), deltas).await
        }
    };
    answer.map_err(|failure| failure.error)
}

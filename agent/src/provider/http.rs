//! The HTTP exchange the three clients share: one `reqwest` client per provider, a JSON request,
//! an error status turned into a typed error with its (truncated) body, and the three ways an
//! answer is read (one JSON body, server-sent events, newline-delimited JSON), each wait bounded
//! by the timeout and each answer, streamed or not, by [`defaults::MAX_RESPONSE_BYTES`].

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderName, HeaderValue};
use reqwest::{Response, StatusCode};
use serde::de::DeserializeOwned;
use tokio_util::codec::{FramedRead, LinesCodec, LinesCodecError};
use tokio_util::io::StreamReader;
use tokio_util::sync::CancellationToken;

use super::config::{ApiKey, ClientOptions};
use super::lenient;
use super::retry::{self, Failure, RetryPolicy};
use super::sse::{SseDecoder, SseError};
use super::{ChatRequest, ChatResponse, Deltas, ProviderError};
use crate::defaults;

/// The body of an answer, as it arrives.
pub(crate) type ByteStream = Pin<Box<dyn Stream<Item = reqwest::Result<Bytes>> + Send>>;
/// The same, for readers that want `io` errors.
type IoStream = Pin<Box<dyn Stream<Item = io::Result<Bytes>> + Send>>;

/// A provider's HTTP endpoint: the client, the base URL and the options every request follows.
#[derive(Debug)]
pub(crate) struct Http {
    client: reqwest::Client,
    /// The base URL, without a trailing `/`.
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
    cancel: CancellationToken,
}

impl Http {
    /// The endpoint of `options`; fails if the base URL is not an `http(s)` URL.
    pub(crate) fn new(options: &ClientOptions) -> Result<Self, ProviderError> {
        let url = url::Url::parse(&options.base_url).map_err(|e| {
            ProviderError::Config(format!(
                "the base URL `{}` is not a URL: {e}",
                options.base_url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(ProviderError::Config(format!(
                "the base URL `{}` is not http or https",
                options.base_url
            )));
        }
        // reqwest is built without a TLS crypto provider, and installing one is the application's
        // choice (process-wide), made once by its binary.
        if rustls::crypto::CryptoProvider::get_default().is_none() {
            return Err(ProviderError::Config(
                "no TLS crypto provider is installed: the application must install one once, \
                 before building a client (`rustls::crypto::ring::default_provider().install_default()`)"
                    .to_owned(),
            ));
        }
        let client = reqwest::Client::builder()
            // The library reads no environment: no proxy from `HTTPS_PROXY` and the like.
            .no_proxy()
            .connect_timeout(defaults::CONNECT_TIMEOUT)
            .user_agent(concat!("watsmith/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ProviderError::Config(format!("cannot build the HTTP client: {e}")))?;
        Ok(Self {
            client,
            base_url: options.base_url.trim_end_matches('/').to_owned(),
            timeout: options.timeout,
            retry: options.retry,
            cancel: options.cancel.clone(),
        })
    }

    /// Makes attempts at `request` under the retry policy and the cancellation token; token
    /// counts the server left at zero are estimated.
    pub(crate) async fn chat<F, A>(
        &self,
        request: &ChatRequest,
        attempt: F,
    ) -> Result<ChatResponse, ProviderError>
    where
        F: FnMut() -> A,
        A: Future<Output = Result<ChatResponse, Failure>>,
    {
        let response = retry::run(&self.retry, &self.cancel, attempt).await?;
        Ok(lenient::with_estimate(request, response))
    }

    /// POSTs `body` as JSON to the base URL and `path`, and waits for the head of the answer. An
    /// error status is read into a [`Failure`] with its body and `Retry-After`.
    pub(crate) async fn post(
        &self,
        path: &str,
        headers: HeaderMap,
        body: &serde_json::Value,
    ) -> Result<Response, Failure> {
        let body = serde_json::to_vec(body)
            .map_err(|e| ProviderError::Config(format!("cannot encode the request: {e}")))?;
        let request = self
            .client
            .post(format!("{}{path}", self.base_url))
            .headers(headers)
            .header(CONTENT_TYPE, "application/json")
            .body(body);
        let response = self
            .wait(request.send())
            .await?
            .map_err(|e| ProviderError::Transport(chain(&e)))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let retry_after = retry::retry_after(response.headers());
        let body = self.error_body(response).await;
        let error = if status == StatusCode::TOO_MANY_REQUESTS {
            ProviderError::RateLimited { retry_after, body }
        } else {
            ProviderError::Status {
                status: status.as_u16(),
                body,
            }
        };
        Err(Failure {
            error,
            retry_after,
            delivered: false,
        })
    }

    /// The whole body of a successful answer, decoded from JSON.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        mut response: Response,
    ) -> Result<T, Failure> {
        let body = self
            .wait(async {
                let mut body = Vec::new();
                while let Some(chunk) = response.chunk().await.map_err(|e| cut(&e))? {
                    if body.len() + chunk.len() > defaults::MAX_RESPONSE_BYTES {
                        return Err(ProviderError::Decode(format!(
                            "the answer is larger than {} bytes",
                            defaults::MAX_RESPONSE_BYTES
                        )));
                    }
                    body.extend_from_slice(&chunk);
                }
                Ok(body)
            })
            .await??;
        Ok(decode(&String::from_utf8_lossy(&body))?)
    }

    /// Whether the answer to `request` is a stream: it asked for one, and the server did not
    /// answer with one JSON document (`Content-Type: application/json`) instead, as some do;
    /// such an answer is read as that document.
    pub(crate) fn streams(request: &ChatRequest, response: &Response) -> bool {
        request.stream
            && !response
                .headers()
                .get(CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.split(';').next())
                .is_some_and(|media| media.trim().eq_ignore_ascii_case("application/json"))
    }

    /// The server-sent events of a successful answer.
    pub(crate) fn events(&self, response: Response) -> Events {
        Events::new(Box::pin(response.bytes_stream()), self.timeout)
    }

    /// The lines of a successful newline-delimited answer.
    pub(crate) fn lines(&self, response: Response) -> Lines {
        Lines::new(Box::pin(response.bytes_stream()), self.timeout)
    }

    /// `future`, or [`ProviderError::Timeout`] if it takes longer than the timeout.
    async fn wait<T>(&self, future: impl Future<Output = T>) -> Result<T, ProviderError> {
        tokio::time::timeout(self.timeout, future)
            .await
            .map_err(|_| ProviderError::Timeout(self.timeout))
    }

    /// The body of an error answer, truncated; what could be read of it if reading fails.
    async fn error_body(&self, mut response: Response) -> String {
        let limit = defaults::MAX_ERROR_BODY_CHARS * 4;
        let mut body = Vec::new();
        let read = self
            .wait(async {
                while body.len() < limit {
                    match response.chunk().await {
                        Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                        Ok(None) | Err(_) => break,
                    }
                }
            })
            .await;
        let mut text = truncate(&String::from_utf8_lossy(&body));
        if read.is_err() {
            text.push_str(" (the rest of the body did not arrive in time)");
        }
        text
    }
}

/// The events of a server-sent event stream: the `data` of each.
pub(crate) struct Events {
    inner: FramedRead<StreamReader<IoStream, Bytes>, SseDecoder>,
    timeout: Duration,
}

impl Events {
    /// The events of `bytes`, each waited for at most `timeout`.
    pub(crate) fn new(bytes: ByteStream, timeout: Duration) -> Self {
        Self {
            inner: FramedRead::new(
                StreamReader::new(capped(bytes)),
                SseDecoder::new(
                    defaults::MAX_STREAM_LINE_BYTES,
                    defaults::MAX_STREAM_LINE_BYTES,
                ),
            ),
            timeout,
        }
    }

    /// The next event's data; `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<String>, ProviderError> {
        match tokio::time::timeout(self.timeout, self.inner.next()).await {
            Err(_) => Err(ProviderError::Timeout(self.timeout)),
            Ok(None) => Ok(None),
            Ok(Some(Ok(data))) => Ok(Some(data)),
            Ok(Some(Err(SseError::Io(e)))) => Err(read_error(&e)),
            Ok(Some(Err(e))) => Err(ProviderError::Decode(e.to_string())),
        }
    }
}

/// The lines of a newline-delimited stream.
pub(crate) struct Lines {
    inner: FramedRead<StreamReader<IoStream, Bytes>, LinesCodec>,
    timeout: Duration,
}

impl Lines {
    /// The lines of `bytes`, each waited for at most `timeout`.
    pub(crate) fn new(bytes: ByteStream, timeout: Duration) -> Self {
        Self {
            inner: FramedRead::new(
                StreamReader::new(capped(bytes)),
                LinesCodec::new_with_max_length(defaults::MAX_STREAM_LINE_BYTES),
            ),
            timeout,
        }
    }

    /// The next line; `None` at the end of the stream.
    pub(crate) async fn next(&mut self) -> Result<Option<String>, ProviderError> {
        match tokio::time::timeout(self.timeout, self.inner.next()).await {
            Err(_) => Err(ProviderError::Timeout(self.timeout)),
            Ok(None) => Ok(None),
            Ok(Some(Ok(line))) => Ok(Some(line)),
            Ok(Some(Err(LinesCodecError::Io(e)))) => Err(read_error(&e)),
            Ok(Some(Err(LinesCodecError::MaxLineLengthExceeded))) => {
                Err(ProviderError::Decode(format!(
                    "a line of the stream is longer than {} bytes",
                    defaults::MAX_STREAM_LINE_BYTES
                )))
            }
        }
    }
}

/// A streamed answer passed [`defaults::MAX_RESPONSE_BYTES`].
#[derive(Debug, thiserror::Error)]
#[error(
    "the streamed answer is larger than {} bytes",
    defaults::MAX_RESPONSE_BYTES
)]
struct TooLarge;

/// `bytes` as `io` results, failing with [`TooLarge`] once more than
/// [`defaults::MAX_RESPONSE_BYTES`] have arrived: a stream is bounded as a whole body is.
fn capped(bytes: ByteStream) -> IoStream {
    let mut received = 0usize;
    Box::pin(bytes.map(move |chunk| {
        let chunk = chunk.map_err(|e| io::Error::other(chain(&e)))?;
        received = received.saturating_add(chunk.len());
        if received > defaults::MAX_RESPONSE_BYTES {
            return Err(io::Error::other(TooLarge));
        }
        Ok(chunk)
    }))
}

/// The error of a stream that could not be read: too large, or cut.
fn read_error(error: &io::Error) -> ProviderError {
    match error.get_ref() {
        Some(inner) if inner.is::<TooLarge>() => ProviderError::Decode(inner.to_string()),
        _ => cut(error),
    }
}

/// The text of a streamed answer as it is handed on: each piece goes to the caller's [`Deltas`]
/// and is kept, and a failure after the first piece is final (a retry would repeat it).
pub(crate) struct Streamed<'a> {
    deltas: Deltas<'a>,
    text: String,
}

impl<'a> Streamed<'a> {
    /// Nothing handed on yet.
    pub(crate) fn new(deltas: Deltas<'a>) -> Self {
        Self {
            deltas,
            text: String::new(),
        }
    }

    /// Hands on a piece of text (empty pieces are not handed on).
    pub(crate) fn push(&mut self, delta: &str) {
        if !delta.is_empty() {
            (self.deltas)(delta);
            self.text.push_str(delta);
        }
    }

    /// The failure `error`, final if anything was handed on.
    pub(crate) fn fail(&self, error: ProviderError) -> Failure {
        Failure {
            error,
            retry_after: None,
            delivered: !self.text.is_empty(),
        }
    }

    /// The whole text.
    pub(crate) fn into_text(self) -> String {
        self.text
    }
}

/// The headers that carry `key`, if there is one: `name: {prefix}{key}`, marked sensitive so
/// that it never shows in `Debug` output.
pub(crate) fn key_headers(
    name: HeaderName,
    prefix: &str,
    key: Option<&ApiKey>,
) -> Result<HeaderMap, ProviderError> {
    let mut headers = HeaderMap::new();
    if let Some(key) = key {
        let mut value =
            HeaderValue::from_str(&format!("{prefix}{}", key.expose())).map_err(|_| {
                ProviderError::Config("the API key has characters a header cannot carry".into())
            })?;
        value.set_sensitive(true);
        headers.insert(name, value);
    }
    Ok(headers)
}

/// A JSON document of the provider's format, or [`ProviderError::Decode`] naming what is wrong
/// and showing the start of the text.
pub(crate) fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ProviderError> {
    serde_json::from_str(text)
        .map_err(|e| ProviderError::Decode(format!("{e} in `{}`", truncate(text))))
}

/// `text`, cut to [`defaults::MAX_ERROR_BODY_CHARS`] characters.
pub(crate) fn truncate(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(defaults::MAX_ERROR_BODY_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The error of an answer that stopped arriving.
fn cut(error: &(dyn std::error::Error + 'static)) -> ProviderError {
    ProviderError::Transport(format!("the answer was cut: {}", chain(error)))
}

/// An error and its sources, `: `-separated (reqwest's own message names only the request).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let line = cause.to_string();
        if !text.contains(&line) {
            text.push_str(": ");
            text.push_str(&line);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncate_cuts_on_a_character_boundary() {
        let long = "é".repeat(defaults::MAX_ERROR_BODY_CHARS + 10);
        let cut = truncate(&long);
        assert_eq!(cut.chars().count(), defaults::MAX_ERROR_BODY_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(truncate("  short \n"), "short");
    }
}

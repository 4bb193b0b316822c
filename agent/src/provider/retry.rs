//! Retries: which failures are worth another attempt, how long to wait before it, and the loop
//! that makes the attempts.
//!
//! A failure is retried when it is likely to pass and nothing of the answer reached the caller:
//! a 429, a 5xx, or a connection that failed or was cut before any streamed text was handed on.
//! Other 4xx answers, answers that cannot be decoded and timeouts are final (a timeout already
//! cost the caller the whole wait). The wait is what the provider asked in `Retry-After` (or
//! OpenAI's `retry-after-ms`), or else an exponential backoff with jitter; a provider asking for
//! longer than [`RetryPolicy::max_retry_after`] gets no retry at all, since a spent quota does
//! not come back within a few retries. Cancellation ends an attempt or a wait at once.

use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, RETRY_AFTER};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;

use super::config::millis;
use super::{ChatResponse, ProviderError};
use crate::defaults;

/// OpenAI's finer `Retry-After`, in milliseconds.
const RETRY_AFTER_MS: HeaderName = HeaderName::from_static("retry-after-ms");

/// How failed requests are retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetryPolicy {
    /// Retries after the first attempt (default [`defaults::MAX_RETRIES`]; 0 never retries).
    pub max_retries: u32,
    /// The first backoff delay, doubled at each retry (default [`defaults::RETRY_BASE_DELAY`]).
    /// The delay waited is between half of it and all of it (jitter), so that clients that failed
    /// together do not retry together.
    #[serde(rename = "base_delay_ms", with = "millis")]
    pub base_delay: Duration,
    /// The longest backoff delay (default [`defaults::RETRY_MAX_DELAY`]).
    #[serde(rename = "max_delay_ms", with = "millis")]
    pub max_delay: Duration,
    /// The longest `Retry-After` that is waited for (default [`defaults::MAX_RETRY_AFTER`]).
    #[serde(rename = "max_retry_after_ms", with = "millis")]
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: defaults::MAX_RETRIES,
            base_delay: defaults::RETRY_BASE_DELAY,
            max_delay: defaults::RETRY_MAX_DELAY,
            max_retry_after: defaults::MAX_RETRY_AFTER,
        }
    }
}

impl RetryPolicy {
    /// No retries.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// The backoff before retry number `retry` (0 for the first): `base * 2^retry`, capped at
    /// `max_delay`, of which a random part between a half and the whole is waited.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self
            .base_delay
            .checked_mul(1_u32.checked_shl(retry).unwrap_or(u32::MAX))
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        ceiling.mul_f64(0.5 + fastrand::f64() * 0.5)
    }
}

/// Why one attempt gave no answer, with what the retry loop needs to decide on another.
#[derive(Debug)]
pub(crate) struct Failure {
    /// The error, returned as it is if there is no other attempt.
    pub(crate) error: ProviderError,
    /// What the provider asked to wait before another attempt.
    pub(crate) retry_after: Option<Duration>,
    /// Whether part of the answer already reached the caller (streamed text): then a retry would
    /// repeat it, and the failure is final.
    pub(crate) delivered: bool,
}

impl Failure {
    /// A failure before anything was delivered, with no `Retry-After`.
    pub(crate) fn new(error: ProviderError) -> Self {
        Self {
            error,
            retry_after: None,
            delivered: false,
        }
    }

    /// Whether the cause is likely to pass and another attempt would not repeat anything.
    fn retryable(&self) -> bool {
        !self.delivered
            && match self.error {
                ProviderError::Transport(_) | ProviderError::RateLimited { .. } => true,
                ProviderError::Status { status, .. } => (500..600).contains(&status),
                _ => false,
            }
    }
}

impl From<ProviderError> for Failure {
    fn from(error: ProviderError) -> Self {
        Self::new(error)
    }
}

/// Makes attempts until one succeeds, a failure is final, the retries are spent or `cancel`
/// fires.
pub(crate) async fn run<F, A>(
    policy: &RetryPolicy,
    cancel: &CancellationToken,
    mut attempt: F,
) -> Result<ChatResponse, ProviderError>
where
    F: FnMut() -> A,
    A: Future<Output = Result<ChatResponse, Failure>>,
{
    let mut retries = 0;
    loop {
        let failure = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(ProviderError::Cancelled),
            outcome = attempt() => match outcome {
                Ok(response) => return Ok(response),
                Err(failure) => failure,
            },
        };
        if !failure.retryable() || retries >= policy.max_retries {
            return Err(failure.error);
        }
        let delay = match failure.retry_after {
            Some(asked) if asked > policy.max_retry_after => return Err(failure.error),
            Some(asked) => asked,
            None => policy.backoff(retries),
        };
        retries += 1;
        tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(ProviderError::Cancelled),
            () = tokio::time::sleep(delay) => {}
        }
    }
}

/// The wait an answer asks for: `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as an
/// HTTP date (a date in the past asks for no wait). `None` if it asks nothing readable.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let text = |name| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = text(RETRY_AFTER_MS).and_then(|v| v.parse::<f64>().ok())
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let value = text(RETRY_AFTER)?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

#[cfg(test)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(
                HeaderName::from_static(name),
                HeaderValue::from_str(value).expect("a valid header value"),
            );
        }
        map
    }

    #[test]
    fn retry_after_reads_seconds_dates_and_milliseconds() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")])),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7"), ("retry-after-ms", "250")])),
            Some(Duration::from_millis(250))
        );
        let in_a_minute = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(60));
        let asked = retry_after(&headers(&[("retry-after", &in_a_minute)])).expect("a date");
        // The date has whole seconds, so the wait is within a second of a minute.
        assert!(asked > Duration::from_secs(58) && asked <= Duration::from_secs(60));
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            Some(Duration::ZERO)
        );
        assert_eq!(retry_after(&headers(&[("retry-after", "soon")])), None);
        assert_eq!(retry_after(&headers(&[])), None);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter() {
        let policy = RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            max_retry_after: Duration::from_secs(1),
        };
        for _ in 0..100 {
            let first = policy.backoff(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let third = policy.backoff(2);
            assert!(third >= Duration::from_millis(200) && third <= Duration::from_millis(400));
            let late = policy.backoff(40);
            assert!(late >= Duration::from_millis(500) && late <= Duration::from_millis(1000));
        }
    }

    #[test]
    fn only_passing_failures_with_nothing_delivered_are_retried() {
        let status = |status| ProviderError::Status {
            status,
            body: String::new(),
        };
        assert!(Failure::new(status(503)).retryable());
        assert!(Failure::new(ProviderError::Transport("reset".into())).retryable());
        assert!(
            Failure::new(ProviderError::RateLimited {
                retry_after: None,
                body: String::new()
            })
            .retryable()
        );
        assert!(!Failure::new(status(400)).retryable());
        assert!(!Failure::new(ProviderError::Decode("not json".into())).retryable());
        assert!(!Failure::new(ProviderError::Timeout(Duration::from_secs(1))).retryable());
        let cut = Failure {
            delivered: true,
            ..Failure::new(ProviderError::Transport("cut".into()))
        };
        assert!(!cut.retryable());
    }
}

//! When a failed call is sent again, and what its failure says: the
//! retryable errors, the server's `Retry-After`, whether a failed attempt
//! may have been applied, a policy of attempts and backoff, and the rule
//! that a create is never re-sent once it may have reached the server.

use std::time::Duration;

use reqwest::{StatusCode, header::HeaderMap};

use crate::Error;

/// The statuses worth sending the same request again for: too many
/// requests, and a gateway or the service itself unavailable for now.
pub(crate) fn is_retryable_status(status: StatusCode) -> bool {
    matches!(
        status,
        StatusCode::TOO_MANY_REQUESTS
            | StatusCode::BAD_GATEWAY
            | StatusCode::SERVICE_UNAVAILABLE
            | StatusCode::GATEWAY_TIMEOUT
    )
}

/// A small xorshift generator for jitter, seeded from the standard
/// library's per-instance random hash keys: jitter needs spread between
/// clients, not secrecy.
struct Jitter(u64);

impl Jitter {
    fn new() -> Self {
        use std::hash::{BuildHasher, RandomState};
        Self(RandomState::new().hash_one(std::time::SystemTime::now()) | 1)
    }

    /// A number in [0, 1).
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// `Retry-After` as seconds or an HTTP date, from now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = http_date(value)?;
    Some(
        std::time::SystemTime::from(at)
            .duration_since(std::time::SystemTime::now())
            .unwrap_or(Duration::ZERO),
    )
}

/// An HTTP date in any of the three forms RFC 9110 (5.6.7) has recipients
/// accept: IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, which chrono's
/// RFC 2822 parser reads), and the obsolete RFC 850 and asctime forms.
fn http_date(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    if let Ok(at) = DateTime::parse_from_rfc2822(value) {
        return Some(at.with_timezone(&Utc));
    }
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|format| NaiveDateTime::parse_from_str(value, format).ok())
        .map(|at| at.and_utc())
}

/// How failed calls are retried.
///
/// `max_attempts` counts every attempt, the first included: 1 means no
/// retries. A call is retried only when its error
/// [is retryable](Error::is_retryable) (connection failure, timeout, 429,
/// 502, 503, 504) and the operation allows it:
///
/// - every operation but create is retried on all of those, since sending
///   it twice has the effect of sending it once;
/// - create is retried only when the request cannot have reached the server
///   (the connection was never established), so a retry never makes a second key.
///
/// The wait before attempt *n* + 1 is exponential from `base_delay` (factor
/// 2, capped at `max_delay`, with jitter when enabled), or the server's
/// `Retry-After` when that is longer, itself capped at `max_retry_after`.
///
/// The default is 3 attempts, 250 ms base, 5 s cap, jitter on, `Retry-After`
/// honoured up to 30 s. [`RetryPolicy::none`] turns retries off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
    jitter: bool,
    max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(5),
            jitter: true,
            max_retry_after: Duration::from_secs(30),
        }
    }
}

/// Whether an operation may be sent again after a failure that may have
/// reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Repeatable {
    /// Sending it twice has the effect of sending it once.
    Yes,
    /// Sending it twice could make a second key.
    OnlyIfUnsent,
}

impl RetryPolicy {
    /// No retries: every call is attempted once.
    pub fn none() -> Self {
        Self {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// Total attempts per call, the first included; at least 1.
    pub fn with_max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The first wait; later waits double up to [`with_max_delay`](Self::with_max_delay).
    pub fn with_base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait between attempts from the backoff.
    pub fn with_max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Randomise waits so that many clients do not retry in step.
    pub fn with_jitter(mut self, jitter: bool) -> Self {
        self.jitter = jitter;
        self
    }

    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub fn with_max_retry_after(mut self, cap: Duration) -> Self {
        self.max_retry_after = cap;
        self
    }

    /// Total attempts per call, the first included.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The waits between attempts: `base_delay` doubled each time, capped at
    /// `max_delay`, one fewer than the attempts; with jitter, each wait
    /// grows by a random part of itself (up to all of it), so clients that
    /// failed together do not retry together.
    pub(crate) fn backoff(&self) -> impl Iterator<Item = Duration> + use<> {
        let (base, max) = (self.base_delay, self.max_delay);
        let mut jitter = self.jitter.then(Jitter::new);
        (0..self.max_attempts.saturating_sub(1)).map(move |n| {
            let delay = base.saturating_mul(2u32.saturating_pow(n)).min(max);
            match &mut jitter {
                Some(random) => delay.saturating_add(delay.mul_f64(random.unit())),
                None => delay,
            }
        })
    }

    /// The wait before the next attempt, or `None` to give up with `err`.
    pub(crate) fn next_delay(
        &self,
        repeatable: Repeatable,
        attempt: u32,
        err: &Error,
        backoff: &mut impl Iterator<Item = Duration>,
    ) -> Option<Duration> {
        if attempt >= self.max_attempts || !err.is_retryable() {
            return None;
        }
        if repeatable == Repeatable::OnlyIfUnsent && !err.is_unsent() {
            return None;
        }
        let backoff = backoff.next()?;
        let asked = err.retry_after().map(|d| d.min(self.max_retry_after));
        Some(asked.map_or(backoff, |asked| asked.max(backoff)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unavailable(retry_after: Option<Duration>) -> Error {
        Error::UnexpectedStatus {
            status: StatusCode::SERVICE_UNAVAILABLE,
            body: String::new(),
            location: None,
            retry_after,
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_and_stops_at_max_attempts() {
        let p = RetryPolicy::default()
            .with_jitter(false)
            .with_max_attempts(6)
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(500));
        let waits: Vec<u128> = p.backoff().map(|d| d.as_millis()).collect();
        assert_eq!(waits, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn jitter_adds_up_to_one_delay_and_differs_between_clients() {
        let p = RetryPolicy::default()
            .with_max_attempts(5)
            .with_base_delay(Duration::from_millis(100))
            .with_max_delay(Duration::from_millis(400));
        let plain: Vec<Duration> = p.clone().with_jitter(false).backoff().collect();
        let runs: Vec<Vec<Duration>> = (0..8).map(|_| p.backoff().collect()).collect();
        for run in &runs {
            assert_eq!(run.len(), plain.len());
            for (wait, base) in run.iter().zip(&plain) {
                assert!(
                    *wait >= *base && *wait < *base * 2,
                    "{wait:?} from {base:?}"
                );
            }
        }
        assert!(
            runs.iter().any(|run| run != &runs[0]),
            "eight clients all drew the same waits: {runs:?}"
        );
    }

    #[test]
    fn retry_after_wins_when_longer_and_is_capped() {
        let p = RetryPolicy::default()
            .with_jitter(false)
            .with_max_retry_after(Duration::from_secs(2));
        let mut b = p.backoff();
        let d = p.next_delay(
            Repeatable::Yes,
            1,
            &unavailable(Some(Duration::from_secs(1))),
            &mut b,
        );
        assert_eq!(d, Some(Duration::from_secs(1)));
        let d = p.next_delay(
            Repeatable::Yes,
            3,
            &unavailable(Some(Duration::from_secs(60))),
            &mut b,
        );
        assert_eq!(d, None, "no fourth attempt: the default is 3");
        let mut b = p.backoff();
        let d = p.next_delay(
            Repeatable::Yes,
            1,
            &unavailable(Some(Duration::from_secs(60))),
            &mut b,
        );
        assert_eq!(d, Some(Duration::from_secs(2)));
    }

    #[test]
    fn create_is_not_retried_once_it_may_have_been_received() {
        let p = RetryPolicy::default();
        let mut b = p.backoff();
        assert_eq!(
            p.next_delay(Repeatable::OnlyIfUnsent, 1, &unavailable(None), &mut b),
            None
        );
        assert!(
            p.next_delay(Repeatable::Yes, 1, &unavailable(None), &mut b)
                .is_some()
        );
    }

    #[test]
    fn none_means_one_attempt() {
        let p = RetryPolicy::none();
        let mut b = p.backoff();
        assert_eq!(p.max_attempts(), 1);
        assert_eq!(
            p.next_delay(Repeatable::Yes, 1, &unavailable(None), &mut b),
            None
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut h = HeaderMap::new();
        h.insert(reqwest::header::RETRY_AFTER, "7".parse().expect("header"));
        assert_eq!(retry_after(&h), Some(Duration::from_secs(7)));
        let later = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now())
            + chrono::TimeDelta::seconds(30);
        // IMF-fixdate, then the obsolete RFC 850 and asctime forms.
        for format in [
            "%a, %d %b %Y %H:%M:%S GMT",
            "%A, %d-%b-%y %H:%M:%S GMT",
            "%a %b %e %H:%M:%S %Y",
        ] {
            let date = later.format(format).to_string();
            h.insert(reqwest::header::RETRY_AFTER, date.parse().expect("header"));
            let d = retry_after(&h).unwrap_or_else(|| panic!("a date: {date}"));
            assert!(
                d <= Duration::from_secs(30) && d >= Duration::from_secs(28),
                "{date}: {d:?}"
            );
        }
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            http_date("Sunday, 06-Nov-94 08:49:37 GMT")
        );
        assert_eq!(
            http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            http_date("Sun Nov  6 08:49:37 1994")
        );
        h.insert(
            reqwest::header::RETRY_AFTER,
            "soon".parse().expect("header"),
        );
        assert_eq!(retry_after(&h), None);
    }
}

//! Retry policies: when to try a failed request again.
//!
//! The transport decides *whether* a request may be retried at all (GET and upload-pack
//! requests always may; a push only when the connection was never made, so the server provably
//! did not receive it); the policy decides how often and how long to wait.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

/// Decides how long to wait before another attempt.
pub trait RetryPolicy: Send + Sync + std::fmt::Debug {
    /// The delay before the next attempt after `failed_attempts` attempts failed with a
    /// retryable error, or `None` to give up.
    fn backoff(&self, failed_attempts: u32) -> Option<Duration>;
}

/// Never retries.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRetry;

impl RetryPolicy for NoRetry {
    fn backoff(&self, _failed_attempts: u32) -> Option<Duration> {
        None
    }
}

/// Exponential backoff with jitter: the n-th wait is a random duration between half and all of
/// `min(initial * 2^(n-1), max)`, so many clients failing together do not retry in lockstep.
#[derive(Debug, Clone)]
pub struct ExponentialBackoff {
    /// Total attempts, the first included.
    pub max_attempts: u32,
    /// Delay after the first failure, before jitter.
    pub initial: Duration,
    /// Upper bound of any delay.
    pub max: Duration,
    /// Whether to randomise delays.
    pub jitter: bool,
}

impl Default for ExponentialBackoff {
    fn default() -> Self {
        ExponentialBackoff {
            max_attempts: 3,
            initial: Duration::from_millis(100),
            max: Duration::from_secs(5),
            jitter: true,
        }
    }
}

impl RetryPolicy for ExponentialBackoff {
    fn backoff(&self, failed_attempts: u32) -> Option<Duration> {
        if failed_attempts >= self.max_attempts {
            return None;
        }
        let exp = failed_attempts.saturating_sub(1).min(30);
        let base = self.initial.saturating_mul(1u32 << exp).min(self.max);
        if !self.jitter {
            return Some(base);
        }
        // RandomState is seeded per instance from OS randomness: enough for jitter, no extra
        // dependency.
        let r = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        let half = base / 2;
        let nanos = u64::try_from(half.as_nanos()).unwrap_or(u64::MAX);
        Some(half + Duration::from_nanos(if nanos == 0 { 0 } else { r % (nanos + 1) }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_caps_and_stops() {
        let p = ExponentialBackoff {
            max_attempts: 5,
            initial: Duration::from_millis(100),
            max: Duration::from_millis(300),
            jitter: false,
        };
        assert_eq!(p.backoff(1), Some(Duration::from_millis(100)));
        assert_eq!(p.backoff(2), Some(Duration::from_millis(200)));
        assert_eq!(p.backoff(3), Some(Duration::from_millis(300)));
        assert_eq!(p.backoff(5), None);
        let j = ExponentialBackoff::default();
        for _ in 0..100 {
            let d = j.backoff(2).expect("attempt 2 of 3 retries");
            assert!(d >= Duration::from_millis(100) && d <= Duration::from_millis(200));
        }
        assert_eq!(j.backoff(3), None);
    }
}

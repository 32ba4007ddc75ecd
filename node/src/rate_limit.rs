//! Token buckets per key (an operator's token id): `burst` actions at once, then `per_hour`
//! more each hour. Kept in memory: a restart refills every bucket, which an operator cannot
//! cause.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Most keys tracked at once; full buckets are forgotten first (they hold no state).
const MAX_KEYS: usize = 10_000;

/// One bucket.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Token buckets, one per key.
#[derive(Debug)]
pub struct RateLimiter {
    burst: f64,
    per_second: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl RateLimiter {
    /// Buckets of `burst` tokens (at least 1) refilled with `per_hour` tokens an hour.
    pub fn new(burst: u32, per_hour: u32) -> RateLimiter {
        RateLimiter {
            burst: f64::from(burst.max(1)),
            per_second: f64::from(per_hour) / 3600.0,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token from `key`'s bucket at `now`.
    ///
    /// # Errors
    /// The bucket is empty: how long until it holds a token again.
    pub fn take(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            let (burst, per_second) = (self.burst, self.per_second);
            buckets.retain(|_, bucket| refilled(*bucket, now, burst, per_second) < burst);
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            updated: now,
        });
        bucket.tokens = refilled(*bucket, now, self.burst, self.per_second);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - bucket.tokens;
        Err(if self.per_second > 0.0 {
            Duration::from_secs_f64(missing / self.per_second).max(Duration::from_secs(1))
        } else {
            Duration::MAX
        })
    }
}

fn refilled(bucket: Bucket, now: Instant, burst: f64, per_second: f64) -> f64 {
    let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
    (bucket.tokens + elapsed * per_second).min(burst)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate_per_key() {
        let limiter = RateLimiter::new(3, 3600);
        let start = Instant::now();
        for _ in 0..3 {
            assert_eq!(limiter.take("a", start), Ok(()));
        }
        let wait = limiter.take("a", start).expect_err("empty");
        assert_eq!(wait, Duration::from_secs(1));
        assert_eq!(limiter.take("b", start), Ok(()), "another operator");
        assert_eq!(limiter.take("a", start + Duration::from_secs(1)), Ok(()));
        assert!(limiter.take("a", start + Duration::from_secs(1)).is_err());
        // Refilled up to the burst, not beyond.
        let later = start + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(limiter.take("a", later), Ok(()));
        }
        assert!(limiter.take("a", later).is_err());
    }

    #[test]
    fn no_refill_means_the_burst_only() {
        let limiter = RateLimiter::new(1, 0);
        let now = Instant::now();
        assert_eq!(limiter.take("a", now), Ok(()));
        assert_eq!(limiter.take("a", now), Err(Duration::MAX));
    }
}

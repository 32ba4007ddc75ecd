//! A bounded store of short-lived secrets (offers, access tokens, nonces, presentation
//! requests): keyed by the SHA-256 of the secret, so the node never holds one in the clear
//! after handing it out, each entry gone at its deadline, and never more than `capacity`
//! entries: a flood of requests can fill it for one lifetime, never grow it.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The store is full of entries that have not expired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many pending {0}")]
pub struct Full(pub &'static str);

/// Entries of kind `V` under hashed secrets, each until its deadline.
#[derive(Debug)]
pub struct Pending<V> {
    what: &'static str,
    capacity: usize,
    lifetime: Duration,
    entries: Mutex<HashMap<[u8; 32], (Instant, V)>>,
}

/// The key a secret is stored under.
pub fn hashed(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

impl<V> Pending<V> {
    /// At most `capacity` entries of `what` (for the error), each living `lifetime`.
    pub fn new(what: &'static str, capacity: usize, lifetime: Duration) -> Pending<V> {
        Pending {
            what,
            capacity,
            lifetime,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// How long an entry lives.
    pub fn lifetime(&self) -> Duration {
        self.lifetime
    }

    /// Stores `value` under `secret` until `now + lifetime`.
    ///
    /// # Errors
    /// [`Full`] when `capacity` entries are alive.
    pub fn insert(&self, secret: &str, value: V, now: Instant) -> Result<(), Full> {
        self.insert_hashed(hashed(secret), value, now)
    }

    /// [`Pending::insert`] under a secret's [`hashed`] key.
    ///
    /// # Errors
    /// [`Full`] when `capacity` entries are alive.
    pub fn insert_hashed(&self, key: [u8; 32], value: V, now: Instant) -> Result<(), Full> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() >= self.capacity {
            entries.retain(|_, (deadline, _)| *deadline > now);
            if entries.len() >= self.capacity {
                return Err(Full(self.what));
            }
        }
        entries.insert(key, (now + self.lifetime, value));
        Ok(())
    }

    /// Takes the entry under `secret` out (single use), if it is alive.
    pub fn take(&self, secret: &str, now: Instant) -> Option<V> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (deadline, value) = entries.remove(&hashed(secret))?;
        (deadline > now).then_some(value)
    }

    /// Changes the live entry under `secret` with `change`, which answers whether to keep
    /// it; gives `change`'s answer, or `None` when there is no live entry.
    pub fn update<T>(
        &self,
        secret: &str,
        now: Instant,
        change: impl FnOnce(&mut V) -> (bool, T),
    ) -> Option<T> {
        self.update_hashed(hashed(secret), now, change)
    }

    /// [`Pending::update`] under a secret's [`hashed`] key.
    pub fn update_hashed<T>(
        &self,
        key: [u8; 32],
        now: Instant,
        change: impl FnOnce(&mut V) -> (bool, T),
    ) -> Option<T> {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        let (deadline, value) = entries.get_mut(&key)?;
        if *deadline <= now {
            entries.remove(&key);
            return None;
        }
        let (keep, answer) = change(value);
        if !keep {
            entries.remove(&key);
        }
        Some(answer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_single_use_expire_and_are_bounded() {
        let store = Pending::new("things", 2, Duration::from_secs(10));
        let start = Instant::now();
        store.insert("a", 1, start).expect("room");
        store.insert("b", 2, start).expect("room");
        assert_eq!(store.insert("c", 3, start), Err(Full("things")));
        assert_eq!(store.take("a", start), Some(1));
        assert_eq!(store.take("a", start), None);
        let later = start + Duration::from_secs(11);
        assert_eq!(store.take("b", later), None);
        store
            .insert("c", 3, later)
            .expect("expired entries make room");
        assert_eq!(store.update("c", later, |v| (true, *v)), Some(3));
        assert_eq!(store.update("c", later, |v| (false, *v)), Some(3));
        assert_eq!(store.take("c", later), None);
    }
}

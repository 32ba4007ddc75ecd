//! How many status-list slots each issuer holds reserved and unused
//! (`POST /api/v1/status-lists:allocate`), bounded: a slot is a durable record and a bit in
//! a published list, so no issuer may hold an unbounded number of them.
//!
//! The counts are kept in memory, loaded from the store at the first reservation after a
//! start (one scan of the slots handed out), raised by each reservation and lowered when a
//! submitted credential uses its slot. An issuer's keys count together (a key rotation does
//! not open a fresh allowance).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use talent_core::issuers::IssuerRegistry;
use talent_core::status_list::StatusSlot;
use talent_integrity::did::DidKey;

use crate::store::{Store, StoreError};

/// The default bound of unused reserved slots per issuer: a day's batches of a large
/// enterprise, far below what a list holds.
pub const DEFAULT_MAX_RESERVED_SLOTS: u64 = 10_000;

/// Why a reservation was not made.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    /// The issuer holds the most unused reserved slots allowed.
    #[error("{outstanding} unused reserved slots, at most {limit}")]
    Limit {
        /// Its unused reserved slots.
        outstanding: u64,
        /// The bound.
        limit: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Unused reserved slots per issuer DID (as stored), bounded by `limit` per issuer.
#[derive(Debug)]
pub struct Reservations {
    limit: u64,
    /// `None` until loaded from the store.
    counts: Mutex<Option<HashMap<String, u64>>>,
}

impl Reservations {
    /// At most `limit` unused reserved slots per issuer.
    pub fn new(limit: u64) -> Reservations {
        Reservations {
            limit,
            counts: Mutex::new(None),
        }
    }

    /// Reserves a slot for `issuer` with `reserve` (which allocates and stores it) unless
    /// the issuer, with every key of its identity in `registry`, already holds the bound.
    /// Reservations are serialised, so concurrent ones cannot pass the bound together.
    ///
    /// # Errors
    /// [`ReserveError::Limit`]; [`ReserveError::Store`] from loading or from `reserve`.
    pub fn reserve(
        &self,
        store: &Store,
        registry: &IssuerRegistry,
        issuer: &DidKey,
        reserve: impl FnOnce() -> Result<StatusSlot, StoreError>,
    ) -> Result<StatusSlot, ReserveError> {
        let mut guard = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if guard.is_none() {
            let mut counts = HashMap::new();
            for holder in store.reserved_status_slots()? {
                *counts.entry(holder).or_insert(0) += 1;
            }
            *guard = Some(counts);
        }
        let counts = guard.get_or_insert_with(HashMap::new);
        let outstanding: u64 = counts
            .iter()
            .filter(|(holder, _)| {
                holder
                    .parse::<DidKey>()
                    .is_ok_and(|holder| registry.same_issuer(&holder, issuer))
            })
            .map(|(_, count)| count)
            .sum();
        if outstanding >= self.limit {
            return Err(ReserveError::Limit {
                outstanding,
                limit: self.limit,
            });
        }
        let slot = reserve()?;
        *counts.entry(issuer.to_string()).or_insert(0) += 1;
        Ok(slot)
    }

    /// A credential used a slot reserved for `issuer` (the DID as stored).
    pub fn used(&self, issuer: &str) {
        let mut guard = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = guard.as_mut().and_then(|counts| counts.get_mut(issuer)) {
            *count = count.saturating_sub(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;

    fn did(seed: u8) -> DidKey {
        DidKey::from_verifying_key(&SigningKey::from_bytes(&[seed; 32]).verifying_key())
    }

    #[test]
    fn an_issuer_holds_at_most_the_bound_until_it_uses_a_slot() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Store::open(dir.path(), crate::store::PersonalKeys::for_tests()).expect("store");
        let registry = IssuerRegistry::new(
            "cq-sc",
            did(1),
            talent_core::credential::Namespace::legacy(),
        );
        let reservations = Reservations::new(2);
        let mut next = 0u32;
        let mut reserve = |issuer: &DidKey| {
            next += 1;
            let slot = StatusSlot {
                list: 0,
                index: next,
            };
            reservations.reserve(&store, &registry, issuer, || {
                store.reserve_status_slot(slot, &issuer.to_string())?;
                Ok(slot)
            })
        };
        assert!(reserve(&did(2)).is_ok());
        assert!(reserve(&did(2)).is_ok());
        assert!(matches!(
            reserve(&did(2)),
            Err(ReserveError::Limit {
                outstanding: 2,
                limit: 2
            })
        ));
        // Another issuer has its own allowance.
        assert!(reserve(&did(3)).is_ok());
        reservations.used(&did(2).to_string());
        assert!(reserve(&did(2)).is_ok());
        // After a restart the counts come back from the store.
        let reloaded = Reservations::new(3);
        let slot = StatusSlot { list: 0, index: 99 };
        let refused = reloaded.reserve(&store, &registry, &did(2), || Ok(slot));
        assert!(
            matches!(refused, Err(ReserveError::Limit { outstanding: 3, .. })),
            "{refused:?}"
        );
    }
}

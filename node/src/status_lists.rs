//! The member's W3C Bitstring Status Lists: hands out a slot to every credential it logs and
//! serves the signed list credentials built from the logged status changes.
//!
//! Slots come from a counter run through a keyed permutation
//! ([`talent_core::status_list::SlotPermutation`]). The counter is leased in blocks: the end
//! of the current block is stored before any slot of it is handed out, so after a crash the
//! node continues above every slot it may have given away (the rest of the block stays
//! unused) and never hands out a slot twice.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde_json::Value;
use talent_core::status_list::{
    Bitstring, LIST_BITS, LIST_TTL_MS, SlotPermutation, StatusEntry, StatusListCredential,
    StatusListError, StatusPurpose, StatusSlot,
};
use thiserror::Error;

use crate::store::{Store, StoreError};

/// Meta key of the permutation's secret (hex).
const META_SLOT_KEY: &str = "status_slot_key";
/// Meta key of the end of the leased block of slot numbers.
const META_SLOT_LEASE_END: &str = "status_slot_lease_end";
/// Slot numbers leased per durable write.
const LEASE_BLOCK: u64 = 1024;
/// The path of a list under the member's public URL.
const LIST_PATH: &str = "/api/v1/status-lists";
/// A signed list is re-made after half its `ttl` even when nothing changed, so that a
/// verifier caching it for `ttl` never holds one older than 1.5 × ttl.
const RESIGN_AFTER: Duration = Duration::from_millis(LIST_TTL_MS / 2);

/// Why a credential's status entries cannot be used with this member's lists.
#[derive(Debug, Error)]
pub enum SlotError {
    /// The entries are malformed.
    #[error(transparent)]
    Entry(#[from] StatusListError),
    /// An entry points at a list this member does not publish.
    #[error("statusListCredential {0} is not one of this member's lists ({1}/<purpose>/<n>)")]
    ForeignList(String, String),
    /// The revocation and suspension entries are missing or name different slots.
    #[error(
        "a credential needs one revocation and one suspension entry with the same list and index"
    )]
    Incomplete,
}

/// The member's status lists.
#[derive(Debug)]
pub struct StatusLists {
    store: Arc<Store>,
    /// `<public url>/api/v1/status-lists`.
    lists_url: String,
    permutation: SlotPermutation,
    counter: Mutex<Lease>,
    /// Bumped whenever a logged status change touches a list.
    versions: Mutex<HashMap<u32, u64>>,
    signed: Mutex<HashMap<(StatusPurpose, u32), SignedList>>,
}

#[derive(Debug)]
struct Lease {
    next: u64,
    end: u64,
}

#[derive(Debug, Clone)]
struct SignedList {
    version: u64,
    made: Instant,
    credential: Arc<Value>,
}

impl StatusLists {
    /// Opens the lists of the member reachable at `public_url`, creating the permutation
    /// secret on first start.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be read or written.
    pub fn open(store: Arc<Store>, public_url: &str) -> Result<StatusLists, StoreError> {
        let key = match store.meta(META_SLOT_KEY)? {
            Some(hex) => parse_key(&hex).ok_or_else(|| StoreError::Corrupt {
                key: format!("meta/{META_SLOT_KEY}"),
                reason: "not 64 hex digits".into(),
            })?,
            None => {
                let key: [u8; 32] = rand::random();
                store.set_meta(&[(META_SLOT_KEY, &hex(&key))])?;
                key
            }
        };
        let leased = match store.meta(META_SLOT_LEASE_END)? {
            Some(text) => text.parse().map_err(|_| StoreError::Corrupt {
                key: format!("meta/{META_SLOT_LEASE_END}"),
                reason: "not a number".into(),
            })?,
            None => 0,
        };
        Ok(StatusLists {
            store,
            lists_url: format!("{}{LIST_PATH}", public_url.trim_end_matches('/')),
            permutation: SlotPermutation::new(key),
            counter: Mutex::new(Lease {
                next: leased,
                end: leased,
            }),
            versions: Mutex::new(HashMap::new()),
            signed: Mutex::new(HashMap::new()),
        })
    }

    /// The URL of list `list` of `purpose`.
    pub fn url(&self, purpose: StatusPurpose, list: u32) -> String {
        format!("{}/{}/{list}", self.lists_url, purpose.as_str())
    }

    /// A new slot, never handed out before.
    ///
    /// # Errors
    /// [`StoreError`] when a new lease cannot be stored.
    pub fn allocate(&self) -> Result<StatusSlot, StoreError> {
        let mut lease = self.counter.lock().unwrap_or_else(PoisonError::into_inner);
        loop {
            if lease.next >= lease.end {
                let end = lease.next + LEASE_BLOCK;
                self.store
                    .set_meta(&[(META_SLOT_LEASE_END, &end.to_string())])?;
                lease.end = end;
            }
            let sequence = lease.next;
            lease.next += 1;
            let slot = self.permutation.slot(sequence);
            // A restored data directory leases again from an older counter: slots handed
            // out after the backup are held by the credentials recovered from the peers'
            // mirrors (the `recovery` module) and are skipped.
            if self.store.status_slot_holder(slot)?.is_none() {
                return Ok(slot);
            }
        }
    }

    /// Lists in use: 0 up to the list of the last slot handed out (or leased).
    fn list_count(&self) -> u32 {
        let lease = self.counter.lock().unwrap_or_else(PoisonError::into_inner);
        u32::try_from(lease.end.div_ceil(u64::from(LIST_BITS))).unwrap_or(u32::MAX)
    }

    /// The `credentialStatus` of a credential in `slot`: a revocation and a suspension entry.
    pub fn entries(&self, slot: StatusSlot) -> Value {
        StatusPurpose::ALL
            .iter()
            .map(|purpose| {
                StatusEntry {
                    purpose: *purpose,
                    index: slot.index,
                    list_credential: self.url(*purpose, slot.list),
                }
                .to_json()
            })
            .collect()
    }

    /// The slot a credential's status entries name in this member's lists; `None` when it
    /// has no `credentialStatus`.
    ///
    /// # Errors
    /// [`SlotError`] for malformed entries, another publisher's lists, or entries that do
    /// not name one slot in both lists.
    pub fn slot_of(&self, credential: &Value) -> Result<Option<StatusSlot>, SlotError> {
        self.slot_in(&StatusEntry::all_of(credential)?, &self.lists_url)
    }

    /// The slot of a credential this member logged, whatever public URL the node had then
    /// (only the path is compared: an endpoint may move, its credentials stay its own).
    ///
    /// # Errors
    /// As [`StatusLists::slot_of`].
    pub fn slot_of_logged(&self, credential: &Value) -> Result<Option<StatusSlot>, SlotError> {
        let entries = StatusEntry::all_of(credential)?;
        let Some(first) = entries.first() else {
            return Ok(None);
        };
        let base = first
            .list_credential
            .find(LIST_PATH)
            .map(|at| &first.list_credential[..at + LIST_PATH.len()])
            .ok_or_else(|| {
                SlotError::ForeignList(first.list_credential.clone(), self.lists_url.clone())
            })?;
        self.slot_in(&entries, base)
    }

    /// The one slot `entries` name in the lists under `lists_url`.
    fn slot_in(
        &self,
        entries: &[StatusEntry],
        lists_url: &str,
    ) -> Result<Option<StatusSlot>, SlotError> {
        if entries.is_empty() {
            return Ok(None);
        }
        let mut slots = Vec::with_capacity(entries.len());
        for entry in entries {
            let prefix = format!("{lists_url}/{}/", entry.purpose.as_str());
            let list = entry
                .list_credential
                .strip_prefix(&prefix)
                .and_then(|n| n.parse::<u32>().ok().filter(|list| list.to_string() == n))
                .ok_or_else(|| {
                    SlotError::ForeignList(entry.list_credential.clone(), self.lists_url.clone())
                })?;
            slots.push(StatusSlot {
                list,
                index: entry.index,
            });
        }
        match slots.as_slice() {
            [first, second] if first == second => Ok(Some(*first)),
            _ => Err(SlotError::Incomplete),
        }
    }

    /// Marks list `list` as changed (after a status change in it is durable).
    pub fn touch(&self, list: u32) {
        *self
            .versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(list)
            .or_default() += 1;
    }

    /// The signed list credential `list` of `purpose`, made by `sign` from the logged
    /// statuses and kept until a status in it changes or half its `ttl` has passed;
    /// `None` for a list number not in use.
    ///
    /// # Errors
    /// [`StoreError`] reading the statuses; `sign`'s error.
    pub fn credential<E: From<StoreError>>(
        &self,
        purpose: StatusPurpose,
        list: u32,
        issuer: &str,
        sign: impl FnOnce(&Value) -> Result<Value, E>,
    ) -> Result<Option<Arc<Value>>, E> {
        if list >= self.list_count() {
            return Ok(None);
        }
        let version = self
            .versions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&list)
            .copied()
            .unwrap_or_default();
        if let Some(cached) = self
            .signed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&(purpose, list))
            .filter(|cached| cached.version == version && cached.made.elapsed() < RESIGN_AFTER)
        {
            return Ok(Some(Arc::clone(&cached.credential)));
        }
        let mut bits = Bitstring::new();
        for (index, status) in self.store.status_bits(list)? {
            if purpose.is_set_for(status) {
                bits.set(index);
            }
        }
        let now: DateTime<Utc> = Utc::now();
        let unsigned =
            StatusListCredential::unsigned(&self.url(purpose, list), issuer, purpose, &bits, now);
        let credential = Arc::new(sign(&unsigned)?);
        self.signed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(
                (purpose, list),
                SignedList {
                    version,
                    made: Instant::now(),
                    credential: Arc::clone(&credential),
                },
            );
        Ok(Some(credential))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_key(hex: &str) -> Option<[u8; 32]> {
    if hex.len() != 64 || !hex.is_ascii() {
        return None;
    }
    let mut key = [0; 32];
    for (i, byte) in key.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(key)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn slots_are_never_handed_out_twice_across_restarts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut seen = HashSet::new();
        for _restart in 0..3 {
            let store = Arc::new(
                Store::open(dir.path(), crate::store::PersonalKeys::for_tests()).expect("opens"),
            );
            let lists = StatusLists::open(store, "http://127.0.0.1:9").expect("opens");
            for _ in 0..10 {
                let slot = lists.allocate().expect("allocates");
                assert!(seen.insert(slot), "{slot:?} twice");
            }
        }
    }

    #[test]
    fn entries_name_the_slot_and_foreign_ones_are_refused() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(
            Store::open(dir.path(), crate::store::PersonalKeys::for_tests()).expect("opens"),
        );
        let lists = StatusLists::open(store, "http://127.0.0.1:9/").expect("opens");
        let slot = lists.allocate().expect("allocates");
        let credential = serde_json::json!({"credentialStatus": lists.entries(slot)});
        assert_eq!(lists.slot_of(&credential).expect("ours"), Some(slot));
        assert_eq!(lists.slot_of(&serde_json::json!({})).expect("none"), None);
        let text = credential
            .to_string()
            .replace("127.0.0.1:9", "evil.example");
        let foreign: Value = serde_json::from_str(&text).expect("json");
        assert!(matches!(
            lists.slot_of(&foreign),
            Err(SlotError::ForeignList(..))
        ));
        let mut one = credential.clone();
        one["credentialStatus"] = credential["credentialStatus"][0].clone();
        assert!(matches!(lists.slot_of(&one), Err(SlotError::Incomplete)));
    }
}

//! Credential statistics of the federation as this node sees it: its own log plus the
//! verified prefix of every mirror, counted with `talent_core::statistics`.
//!
//! Counting is incremental. For each log (keyed by member id) the node remembers how many
//! entries it has counted; a request extends every log from there to its current size —
//! the own log's head, a mirror's *verified* size only (entries a catch-up wrote above it
//! are not verified and never read). The counts and the sizes they cover are one JSON value
//! in the store's meta ([`META_CREDENTIAL_STATISTICS`]), so a restart does not rescan.
//!
//! The meta value is written after the counted entries are durable (they are read from the
//! store), so after a crash it covers at most what is in the logs: the next request counts
//! only what is missing. A stored value that covers more of a log than the log now holds
//! (a restored backup) is discarded for that log and it is counted again.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use talent_core::statistics::CredentialCounts;

use crate::federation::FederationNode;
use crate::log::Log;
use crate::store::{LogSpace, Store, StoreError};

/// Meta key of the persisted counts (`Tally` as JSON).
pub const META_CREDENTIAL_STATISTICS: &str = "credential_statistics";

/// Entries read from the store at once.
const CHUNK_ENTRIES: u64 = 1024;
/// During a long catch-up (a first count of a large log), the counts are persisted after
/// this many chunks, so a restart or a timed-out request does not lose the work.
const CHUNKS_PER_PERSIST: u64 = 256;

/// The counts of one log and how far they reach.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogTally {
    /// Entries `0..covered` are counted.
    covered: u64,
    /// Entries that claim a talent type but could not be counted (malformed): logged, not
    /// counted; a verified log should hold none.
    #[serde(default)]
    unreadable: u64,
    /// The counts.
    counts: CredentialCounts,
}

/// Everything persisted: per member id, its log's tally.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
struct Tally {
    logs: BTreeMap<String, LogTally>,
}

/// One log to count up to a size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogExtent<'a> {
    /// The member whose log it is.
    pub member: &'a str,
    /// Where it is stored.
    pub space: LogSpace<'a>,
    /// Count entries below this.
    pub size: u64,
}

/// The counts of the federation at one moment.
#[derive(Debug, Clone)]
pub struct StatisticsSnapshot {
    /// When they were brought up to date.
    pub as_of: DateTime<Utc>,
    /// All logs' counts together.
    pub counts: CredentialCounts,
    /// Per member id, how many entries of its log are counted.
    pub covered: BTreeMap<String, u64>,
}

/// Credential counts kept up to date incrementally (see the module documentation).
#[derive(Debug)]
pub struct CredentialStatistics {
    store: Arc<Store>,
    log: Arc<Log>,
    own: String,
    federation: Option<Arc<FederationNode>>,
    /// The tally; held for the whole of an update so two requests never count twice.
    tally: Mutex<Tally>,
}

impl CredentialStatistics {
    /// Loads the persisted counts of member `own` (none yet: empty).
    ///
    /// # Errors
    /// [`StoreError::Engine`]; [`StoreError::Corrupt`] for a stored value this version did
    /// not write.
    pub fn open(
        store: Arc<Store>,
        log: Arc<Log>,
        own: &str,
        federation: Option<Arc<FederationNode>>,
    ) -> Result<CredentialStatistics, StoreError> {
        let tally = load(&store)?;
        Ok(CredentialStatistics {
            store,
            log,
            own: own.to_owned(),
            federation,
            tally: Mutex::new(tally),
        })
    }

    /// The counts up to the current size of the own log and the verified size of every
    /// mirror. Blocking: reads the store (call it from `spawn_blocking`).
    ///
    /// # Errors
    /// The store fails.
    pub fn current(&self) -> Result<StatisticsSnapshot, StoreError> {
        let own_size = self.log.head().size;
        let mirrors: Vec<(String, u64)> = match &self.federation {
            None => Vec::new(),
            Some(federation) => federation
                .config
                .peers_of(&federation.me.id)
                .map(|peer| {
                    let id = peer.id.as_str().to_owned();
                    let size = federation.mirrors.head(&id).map_or(0, |head| head.size);
                    (id, size)
                })
                .collect(),
        };
        let mut extents = vec![LogExtent {
            member: &self.own,
            space: LogSpace::Own,
            size: own_size,
        }];
        extents.extend(mirrors.iter().map(|(member, size)| LogExtent {
            member,
            space: LogSpace::Mirror(member),
            size: *size,
        }));
        count_up_to(&self.store, &self.tally, &extents)
    }
}

/// Extends the tally of each log in `extents` to its size, persists it if it changed, and
/// returns the counts of exactly those logs (a member no longer in the federation is left
/// out).
fn count_up_to(
    store: &Store,
    tally: &Mutex<Tally>,
    extents: &[LogExtent<'_>],
) -> Result<StatisticsSnapshot, StoreError> {
    let mut tally = tally.lock().unwrap_or_else(PoisonError::into_inner);
    let mut changed = false;
    let mut chunks = 0;
    for extent in extents {
        let mut log = tally.logs.remove(extent.member).unwrap_or_default();
        if log.covered > extent.size {
            tracing::warn!(
                member = extent.member,
                covered = log.covered,
                size = extent.size,
                "the statistics cover more of this log than it holds; counting it again"
            );
            log = LogTally::default();
            changed = true;
        }
        // The log's tally goes back into the map whatever happens, so a failed read keeps
        // what was counted before it.
        let extended = extend(store, &mut tally, &mut log, extent, &mut chunks);
        changed |= extended.as_ref().is_ok_and(|grew| *grew);
        tally.logs.insert(extent.member.to_owned(), log);
        extended?;
    }
    if changed {
        persist(store, &tally)?;
    }
    Ok(snapshot(&tally, extents))
}

/// Counts `log` (taken out of `tally`) up to `extent.size` in chunks, persisting `tally`
/// with it every [`CHUNKS_PER_PERSIST`] chunks; returns whether it grew.
fn extend(
    store: &Store,
    tally: &mut Tally,
    log: &mut LogTally,
    extent: &LogExtent<'_>,
    chunks: &mut u64,
) -> Result<bool, StoreError> {
    let mut grew = false;
    while log.covered < extent.size {
        let end = extent.size.min(log.covered.saturating_add(CHUNK_ENTRIES));
        for entry in store.entries(extent.space, log.covered..end)? {
            if let Err(error) = log.counts.add_entry(&entry) {
                log.unreadable += 1;
                tracing::warn!(member = extent.member, %error, "entry not counted");
            }
        }
        log.covered = end;
        grew = true;
        *chunks += 1;
        if chunks.is_multiple_of(CHUNKS_PER_PERSIST) {
            tally.logs.insert(extent.member.to_owned(), log.clone());
            persist(store, tally)?;
        }
    }
    Ok(grew)
}

/// The counts of the logs in `extents` together.
fn snapshot(tally: &Tally, extents: &[LogExtent<'_>]) -> StatisticsSnapshot {
    let mut counts = CredentialCounts::new();
    let mut covered = BTreeMap::new();
    for extent in extents {
        if let Some(log) = tally.logs.get(extent.member) {
            counts.merge(&log.counts);
            covered.insert(extent.member.to_owned(), log.covered);
        }
    }
    StatisticsSnapshot {
        as_of: Utc::now(),
        counts,
        covered,
    }
}

fn load(store: &Store) -> Result<Tally, StoreError> {
    match store.meta(META_CREDENTIAL_STATISTICS)? {
        None => Ok(Tally::default()),
        Some(text) => serde_json::from_str(&text).map_err(|error| StoreError::Corrupt {
            key: format!("meta/{META_CREDENTIAL_STATISTICS}"),
            reason: error.to_string(),
        }),
    }
}

fn persist(store: &Store, tally: &Tally) -> Result<(), StoreError> {
    let text = serde_json::to_string(tally).map_err(|error| StoreError::Corrupt {
        key: format!("meta/{META_CREDENTIAL_STATISTICS}"),
        reason: error.to_string(),
    })?;
    store.set_meta(&[(META_CREDENTIAL_STATISTICS, &text)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{AppendBatch, AppendedEntry, EntryEffects, MirrorAppend, MirrorRecord};

    fn title(region: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "type": ["VerifiableCredential", "ProfessionalTitleCredential"],
            "validFrom": "2025-03-04T00:00:00Z",
            "credentialSubject": {"name": "李明华", "region": region, "level": "正高级"},
        }))
        .expect("JSON")
    }

    fn append_own(store: &Store, first_index: u64, entries: &[Vec<u8>]) {
        store
            .append(&AppendBatch {
                first_index,
                entries: entries
                    .iter()
                    .map(|entry| AppendedEntry {
                        entry,
                        credential_id: None,
                        resident_id: None,
                        status_slot: None,
                        effects: EntryEffects::default(),
                    })
                    .collect(),
                hashes: &[],
                checkpoint: b"note",
            })
            .expect("appends");
    }

    fn count(store: &Store, tally: &Mutex<Tally>, own: u64, mirror: u64) -> StatisticsSnapshot {
        count_up_to(
            store,
            tally,
            &[
                LogExtent {
                    member: "cq-sc",
                    space: LogSpace::Own,
                    size: own,
                },
                LogExtent {
                    member: "cd-hz",
                    space: LogSpace::Mirror("cd-hz"),
                    size: mirror,
                },
            ],
        )
        .expect("counts")
    }

    #[test]
    fn counts_extend_incrementally_and_survive_reopen() {
        let dir = tempfile::tempdir().expect("temp dir");
        {
            let store =
                Store::open(dir.path(), crate::store::PersonalKeys::for_tests()).expect("opens");
            append_own(
                &store,
                0,
                &[
                    title("cq-sc"),
                    br#"{"type":["CredentialStatusChange"]}"#.to_vec(),
                    title("cq-sc"),
                ],
            );
            let records: Vec<MirrorRecord> = (0..3)
                .map(|_| MirrorRecord {
                    entry: title("cd-hz"),
                    credential_id: None,
                    effects: EntryEffects::default(),
                })
                .collect();
            store
                .append_mirror(&MirrorAppend {
                    member: "cd-hz",
                    first_index: 0,
                    entries: &records,
                    hashes: &[],
                    logged: true,
                })
                .expect("mirrors");
            let tally = Mutex::new(load(&store).expect("loads"));
            // Only the verified prefix of the mirror (2 of its 3 entries) is counted.
            let snapshot = count(&store, &tally, 3, 2);
            assert_eq!(snapshot.counts.total(), 4);
            assert_eq!(
                snapshot.covered,
                BTreeMap::from([("cd-hz".into(), 2), ("cq-sc".into(), 3)])
            );
            // Extending counts only the new entries.
            append_own(&store, 3, &[title("cq-sc")]);
            let snapshot = count(&store, &tally, 4, 3);
            assert_eq!(snapshot.counts.total(), 6);
        }
        let store =
            Store::open(dir.path(), crate::store::PersonalKeys::for_tests()).expect("reopens");
        let tally = Mutex::new(load(&store).expect("loads"));
        assert_eq!(
            tally.lock().expect("lock").logs["cq-sc"].covered,
            4,
            "the covered sizes are persisted"
        );
        let snapshot = count(&store, &tally, 4, 3);
        assert_eq!(snapshot.counts.total(), 6, "nothing is counted twice");
        // A log that holds less than the tally covers (a restored backup) is counted again.
        let snapshot = count(&store, &tally, 2, 3);
        assert_eq!(snapshot.counts.total(), 4);
    }

    #[test]
    fn a_missing_entry_is_an_error_and_keeps_earlier_counts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store =
            Store::open(dir.path(), crate::store::PersonalKeys::for_tests()).expect("opens");
        append_own(&store, 0, &[title("cq-sc")]);
        let tally = Mutex::new(Tally::default());
        assert_eq!(count(&store, &tally, 1, 0).counts.total(), 1);
        let failed = count_up_to(
            &store,
            &tally,
            &[LogExtent {
                member: "cq-sc",
                space: LogSpace::Own,
                size: 5,
            }],
        );
        assert!(failed.is_err());
        assert_eq!(tally.lock().expect("lock").logs["cq-sc"].covered, 1);
    }
}

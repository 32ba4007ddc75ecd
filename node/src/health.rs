//! Whether the node is healthy, and if not, why (`GET /healthz`): a list of named
//! [`Problem`]s, empty when healthy.
//!
//! The checks: sync from a peer halted on evidence (`peer_halted`), free space on the data
//! directory's filesystem below the threshold (`disk_low`, `serve --min-free-disk-mb`),
//! a key file the node started with that can no longer be read (`key_unreadable`), the
//! sequencer no longer taking entries (`sequencer_stopped`) and the store not answering a
//! read (`store_unreadable`). The result is kept for [`CHECK_INTERVAL`], so however often
//! `/healthz` is asked, the node reads its key files and asks the filesystem at most once
//! a second.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;

/// How long one round of checks answers `/healthz`.
pub const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// The default free space below which the node reports `disk_low`: 1 GiB.
pub const DEFAULT_MIN_FREE_DISK_BYTES: u64 = 1 << 30;

/// Most bytes read of a key file to see that it is readable (key files are under 1 KiB).
const KEY_READ_LIMIT: u64 = 16 * 1024;

/// One reason the node is unhealthy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", rename_all = "snake_case")]
pub enum Problem {
    /// Sync from this peer is halted: evidence of its misbehaviour is held.
    PeerHalted {
        /// The peer's member id.
        peer: String,
    },
    /// The data directory's filesystem has less free space than the threshold.
    DiskLow {
        /// Bytes available to the node.
        #[serde(rename = "freeBytes")]
        free_bytes: u64,
        /// The threshold.
        #[serde(rename = "thresholdBytes")]
        threshold_bytes: u64,
    },
    /// A key file the node started with cannot be read any more.
    KeyUnreadable {
        /// Its name in `<data>/keys`.
        file: String,
    },
    /// The sequencer has stopped: no entry can be logged.
    SequencerStopped,
    /// The store did not answer a read.
    StoreUnreadable,
    /// The filesystem's free space could not be read.
    DiskUnknown,
    /// The log takes no new entries: a peer holds more of it than the node has (a restore
    /// to an older state, `crate::rollback`), or a restored node waits for its peers.
    LogHeld {
        /// Why, as the rollback check says it.
        reason: String,
    },
}

impl Problem {
    /// The stable code of the problem.
    pub fn code(&self) -> &'static str {
        match self {
            Problem::PeerHalted { .. } => "peer_halted",
            Problem::DiskLow { .. } => "disk_low",
            Problem::KeyUnreadable { .. } => "key_unreadable",
            Problem::SequencerStopped => "sequencer_stopped",
            Problem::StoreUnreadable => "store_unreadable",
            Problem::DiskUnknown => "disk_unknown",
            Problem::LogHeld { .. } => "log_held",
        }
    }

    /// What anyone may see of it: the code, and the peer of `peer_halted` (the federation
    /// status already shows each peer's state). Free space and file names are for
    /// operators.
    pub fn public(&self) -> serde_json::Value {
        match self {
            Problem::PeerHalted { peer } => serde_json::json!({"code": self.code(), "peer": peer}),
            // The reason names sizes of the node's own public log, nothing more.
            Problem::LogHeld { reason } => {
                serde_json::json!({"code": self.code(), "reason": reason})
            }
            _ => serde_json::json!({"code": self.code()}),
        }
    }
}

/// What the node's state says at the time of a check (the parts only the caller holds).
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// Peers whose sync is halted.
    pub halted_peers: Vec<String>,
    /// Whether the sequencer still takes entries.
    pub sequencer_running: bool,
    /// Whether the store answered a read.
    pub store_readable: bool,
    /// Why the log is held, when it is.
    pub log_held: Option<String>,
}

/// The checks of one node's data directory, with the last result.
#[derive(Debug)]
pub struct Health {
    data_dir: PathBuf,
    min_free_disk_bytes: u64,
    /// The key files present at start: each must stay readable.
    key_files: Vec<&'static str>,
    last: Mutex<Option<(Instant, Arc<Vec<Problem>>)>>,
}

impl Health {
    /// The checks of `data_dir` with the free-space threshold; the key files present now
    /// are the ones checked later.
    pub fn new(data_dir: &Path, min_free_disk_bytes: u64) -> Health {
        let keys = data_dir.join("keys");
        Health {
            key_files: crate::keys::KEY_FILES
                .into_iter()
                .filter(|name| keys.join(name).is_file())
                .collect(),
            data_dir: data_dir.to_path_buf(),
            min_free_disk_bytes,
            last: Mutex::new(None),
        }
    }

    /// The last round's problems when it is younger than [`CHECK_INTERVAL`] and no round
    /// is running now: what most `/healthz` requests get, without a blocking thread.
    pub fn fresh(&self) -> Option<Arc<Vec<Problem>>> {
        let last = self.last.try_lock().ok()?;
        let (at, problems) = last.as_ref()?;
        (at.elapsed() < CHECK_INTERVAL).then(|| Arc::clone(problems))
    }

    /// The problems now: those of the last round when it is younger than
    /// [`CHECK_INTERVAL`], else a new round with `observe`'s state.
    pub fn problems(&self, observe: impl FnOnce() -> Observed) -> Arc<Vec<Problem>> {
        let mut last = self.last.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((at, problems)) = last.as_ref()
            && at.elapsed() < CHECK_INTERVAL
        {
            return Arc::clone(problems);
        }
        let problems = Arc::new(self.check(&observe()));
        *last = Some((Instant::now(), Arc::clone(&problems)));
        problems
    }

    /// One round of checks, in a stable order.
    fn check(&self, observed: &Observed) -> Vec<Problem> {
        let mut problems: Vec<Problem> = observed
            .halted_peers
            .iter()
            .map(|peer| Problem::PeerHalted { peer: peer.clone() })
            .collect();
        match free_bytes(&self.data_dir) {
            Ok(free) if free < self.min_free_disk_bytes => problems.push(Problem::DiskLow {
                free_bytes: free,
                threshold_bytes: self.min_free_disk_bytes,
            }),
            Ok(_) => {}
            Err(error) => {
                tracing::warn!(%error, "could not read the data directory's free space");
                problems.push(Problem::DiskUnknown);
            }
        }
        let keys = self.data_dir.join("keys");
        for name in &self.key_files {
            if let Err(error) = read_bounded(&keys.join(name)) {
                tracing::warn!(file = name, %error, "a key file can no longer be read");
                problems.push(Problem::KeyUnreadable {
                    file: (*name).to_owned(),
                });
            }
        }
        if !observed.sequencer_running {
            problems.push(Problem::SequencerStopped);
        }
        if !observed.store_readable {
            problems.push(Problem::StoreUnreadable);
        }
        if let Some(reason) = &observed.log_held {
            problems.push(Problem::LogHeld {
                reason: reason.clone(),
            });
        }
        problems
    }
}

/// Bytes available to an unprivileged writer on the filesystem holding `path`.
fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let stats = rustix::fs::statvfs(path)?;
    Ok(stats.f_bavail.saturating_mul(stats.f_frsize))
}

/// Reads at most [`KEY_READ_LIMIT`] bytes of a file: it exists and may be read.
fn read_bounded(path: &Path) -> std::io::Result<()> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(KEY_READ_LIMIT)
        .read_to_end(&mut bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Observed {
        Observed {
            halted_peers: Vec::new(),
            sequencer_running: true,
            store_readable: true,
            log_held: None,
        }
    }

    #[test]
    fn a_healthy_node_has_no_problem_and_each_fault_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir(dir.path().join("keys")).expect("keys dir");
        std::fs::write(dir.path().join("keys/log.key"), "z1234").expect("a key");
        let health = Health::new(dir.path(), 0);
        assert!(health.check(&healthy()).is_empty());

        let faulty = Observed {
            halted_peers: vec!["cq-hrss".into()],
            sequencer_running: false,
            store_readable: false,
            log_held: Some("peer cd-hz holds 9 entries".into()),
        };
        std::fs::remove_file(dir.path().join("keys/log.key")).expect("removed");
        let problems = health.check(&faulty);
        let codes: Vec<&str> = problems.iter().map(Problem::code).collect();
        assert_eq!(
            codes,
            [
                "peer_halted",
                "key_unreadable",
                "sequencer_stopped",
                "store_unreadable",
                "log_held"
            ]
        );
        assert_eq!(
            problems[1],
            Problem::KeyUnreadable {
                file: "log.key".into()
            }
        );
        assert_eq!(
            problems[0].public(),
            serde_json::json!({"code": "peer_halted", "peer": "cq-hrss"})
        );
        assert_eq!(
            problems[1].public(),
            serde_json::json!({"code": "key_unreadable"}),
            "file names are for operators"
        );
    }

    #[test]
    fn free_space_below_the_threshold_is_disk_low() {
        let dir = tempfile::tempdir().expect("temp dir");
        let free = free_bytes(dir.path()).expect("statvfs");
        assert!(free > 0);
        let health = Health::new(dir.path(), u64::MAX);
        let problems = health.check(&healthy());
        let [
            Problem::DiskLow {
                free_bytes,
                threshold_bytes,
            },
        ] = problems.as_slice()
        else {
            panic!("{problems:?}");
        };
        assert_eq!(*threshold_bytes, u64::MAX);
        assert!(*free_bytes > 0);
        let json = serde_json::to_value(&problems[0]).expect("serialises");
        assert_eq!(json["code"], "disk_low");
        assert_eq!(json["thresholdBytes"], u64::MAX);
        assert!(Health::new(dir.path(), 1).check(&healthy()).is_empty());
    }

    #[test]
    fn a_round_answers_for_the_check_interval() {
        let dir = tempfile::tempdir().expect("temp dir");
        let health = Health::new(dir.path(), 0);
        assert!(health.problems(healthy).is_empty());
        let stopped = || Observed {
            sequencer_running: false,
            ..healthy()
        };
        assert!(
            health.problems(stopped).is_empty(),
            "within the interval the last round answers"
        );
        assert!(health.fresh().is_some_and(|problems| problems.is_empty()));
        *health.last.lock().expect("lock") = None;
        assert!(health.fresh().is_none(), "no round yet");
        assert_eq!(health.problems(stopped)[0], Problem::SequencerStopped);
    }
}

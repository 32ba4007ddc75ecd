//! Rollback detection: a member's log must never silently fork what its peers hold.
//!
//! A node restored from a backup (or whose data directory was rolled back by other means)
//! may have a shorter log than the one its peers mirrored; appending then would sign a
//! second, different tree of the same sizes — a fork. So at start a member asks every peer
//! (`GET /api/v1/federation/trust`, public) for the newest checkpoint of *its own* log the
//! peer holds, and:
//!
//! - a checkpoint that does not verify under this member's own log key is ignored (a
//!   hostile peer cannot claim a bigger tree: it cannot sign one);
//! - one larger than the local log, or of a size the local log has with another root,
//!   holds the log ([`Log::hold`]): every append is refused (issuance answers 503
//!   `log_held`) and `/healthz` says why, until the peers' view changes;
//! - a restored data directory (its `RESTORED` marker, written by a restore) starts held, and is
//!   released (the marker removed) only once every peer has answered without holding more.
//!
//! A peer holding more (a restore from an older backup) is caught up from: the entries in
//! between are fetched from that peer's mirror, checked against the signed checkpoint and
//! appended ([`crate::recovery`]); the peers are then asked again, and the log is released
//! once they all agree. A peer whose entries do not reproduce the signed root is refused
//! (logged; the next peer holding more is tried, else the log stays held).
//!
//! The check runs as the worker `rollback-check`, retrying with the node's backoff until
//! every peer has answered once with nothing against the log.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use talent_tlog::Hash;
use talent_tlog::checkpoint;
use talent_tlog::merkle;

use crate::log::Log;
use crate::recovery::Recovery;
use crate::worker::{Pause, Worker};

/// How long a peer may take to answer.
const PEER_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest trust document read from a peer.
const MAX_TRUST_BYTES: usize = 1 << 20;

/// What one peer holds of this member's log.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A checkpoint signed by this member's log key of more entries than the local log.
    Ahead {
        /// Its size.
        size: u64,
        /// Its root.
        root: Hash,
    },
    /// A checkpoint signed by this member's log key whose root differs from the local
    /// log's at that size.
    Forked {
        /// Its size.
        size: u64,
    },
    /// A checkpoint the local log agrees with (same root at its size).
    Consistent {
        /// Its size.
        size: u64,
    },
    /// No checkpoint of this log, or one that is not signed by its key (ignored).
    Nothing,
    /// The peer did not answer usefully.
    Unreachable(String),
}

/// Judges the checkpoint `note` a peer holds of `log`.
pub fn judge(log: &Log, note: &[u8]) -> Finding {
    let Ok(verified) = checkpoint::open_checkpoint(note, log.origin(), log.verifier_key()) else {
        return Finding::Nothing;
    };
    let size = verified.size();
    match log.root_at(size) {
        Err(_) => Finding::Ahead {
            size,
            root: *verified.root(),
        },
        Ok(root) if root == *verified.root() => Finding::Consistent { size },
        Ok(_) => Finding::Forked { size },
    }
}

/// The check of one member's log against its peers.
#[derive(Debug)]
pub struct RollbackCheck {
    /// The local log.
    pub log: Arc<Log>,
    /// This member's id.
    pub member: String,
    /// Each peer's id and endpoint.
    pub peers: Vec<(String, String)>,
    /// The restore marker, if the data directory was restored.
    pub restored: Option<PathBuf>,
    /// How to catch up from a peer holding more; `None` only holds the log.
    pub recovery: Option<Recovery>,
    /// Trust anchors for peers' HTTPS endpoints beside the public web roots (`--peer-ca`).
    pub peer_roots: Vec<reqwest::Certificate>,
}

impl RollbackCheck {
    /// What `peer` at `endpoint` holds of this log.
    async fn ask(&self, http: &reqwest::Client, endpoint: &str) -> Finding {
        let url = format!("{}/api/v1/federation/trust", endpoint.trim_end_matches('/'));
        let body = match fetch(http, &url).await {
            Ok(body) => body,
            Err(reason) => return Finding::Unreachable(reason),
        };
        let Ok(document) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return Finding::Unreachable("the trust document is not JSON".into());
        };
        match document["checkpoints"][&self.member].as_str() {
            Some(note) => judge(&self.log, note.as_bytes()),
            None => Finding::Nothing,
        }
    }

    /// One round: asks every peer, holds or releases the log. `true` when the check is
    /// complete (every peer answered, none holds more).
    pub async fn round(&self, http: &reqwest::Client) -> Result<bool, String> {
        let mut findings = Vec::with_capacity(self.peers.len());
        for (peer, endpoint) in &self.peers {
            findings.push((peer, endpoint, self.ask(http, endpoint).await));
        }
        if self.catch_up(&findings).await {
            // The log grew: what the peers hold is judged again against it.
            findings.clear();
            for (peer, endpoint) in &self.peers {
                findings.push((peer, endpoint, self.ask(http, endpoint).await));
            }
        }
        let mut against = Vec::new();
        let mut silent = Vec::new();
        for (peer, _, finding) in findings {
            match finding {
                Finding::Ahead { size, .. } => against.push(format!(
                    "peer {peer} holds a checkpoint of this log signed at {size} entries, more than the {} here (restored from an older backup?)",
                    self.log.head().size
                )),
                Finding::Forked { size } => against.push(format!(
                    "peer {peer} holds a checkpoint of this log at {size} entries with another root than the log here"
                )),
                Finding::Consistent { .. } | Finding::Nothing => {}
                Finding::Unreachable(reason) => silent.push(format!("{peer}: {reason}")),
            }
        }
        if !against.is_empty() {
            let reason = against.join("; ");
            if self.log.held().as_deref() != Some(reason.as_str()) {
                self.log.hold(reason.clone());
            }
            return Err(reason);
        }
        if !silent.is_empty() {
            let reason = format!(
                "not every peer has confirmed this log yet ({})",
                silent.join("; ")
            );
            return match &self.restored {
                // A restored log waits for every peer: the silent one may hold more.
                Some(_) => {
                    self.log.hold(format!("restored from a backup; {reason}"));
                    Err(reason)
                }
                None => {
                    self.log.release();
                    Err(reason)
                }
            };
        }
        if let Some(marker) = &self.restored {
            std::fs::remove_file(marker).map_err(|error| {
                format!("removing the restore marker {}: {error}", marker.display())
            })?;
            tracing::info!(
                size = self.log.head().size,
                root = %merkle::format_hash(&self.log.head().root),
                "every peer confirmed the restored log"
            );
        }
        self.log.release();
        Ok(true)
    }

    /// Catches up from the peers holding more of this log, largest first, until one
    /// recovery succeeds; `true` if one did. Not when a peer holds another root at a size
    /// the log has (a fork is for the operator) or without [`RollbackCheck::recovery`].
    async fn catch_up(&self, findings: &[(&String, &String, Finding)]) -> bool {
        let Some(recovery) = &self.recovery else {
            return false;
        };
        if findings
            .iter()
            .any(|(_, _, finding)| matches!(finding, Finding::Forked { .. }))
        {
            return false;
        }
        let mut ahead: Vec<(&String, &String, u64, Hash)> = findings
            .iter()
            .filter_map(|(peer, endpoint, finding)| match finding {
                Finding::Ahead { size, root } => Some((*peer, *endpoint, *size, *root)),
                _ => None,
            })
            .collect();
        ahead.sort_by_key(|found| std::cmp::Reverse(found.2));
        for (peer, endpoint, size, root) in ahead {
            let from = self.log.head().size;
            self.log.hold(format!(
                "catching up entries {from}..{size} of this log from the mirror of peer {peer}"
            ));
            match recovery.recover(&self.log, endpoint, size, root).await {
                Ok(count) => {
                    tracing::warn!(
                        peer = %peer,
                        from,
                        to = size,
                        entries = count,
                        root = %merkle::format_hash(&root),
                        "caught up the log from a peer's mirror; the full ID numbers of the credentials among these entries are not in the log and cannot be recovered (those credentials still verify)"
                    );
                    return true;
                }
                Err(error) => tracing::error!(
                    peer = %peer,
                    from,
                    to = size,
                    %error,
                    "refused to catch up the log from this peer's mirror"
                ),
            }
        }
        false
    }

    /// The worker: rounds until complete, with the node's backoff between them.
    pub async fn run(self, mut worker: Worker) {
        let mut http = reqwest::Client::builder()
            .timeout(PEER_TIMEOUT)
            .connect_timeout(PEER_TIMEOUT);
        for root in &self.peer_roots {
            http = http.add_root_certificate(root.clone());
        }
        let http = match http.build() {
            Ok(http) => http,
            Err(error) => {
                worker.failed(&error);
                return;
            }
        };
        loop {
            let delay = match self.round(&http).await {
                Ok(_) => {
                    worker.succeeded();
                    return;
                }
                Err(reason) => worker.failed(&reason),
            };
            if worker.pause(delay, std::future::pending()).await == Pause::Stopped {
                return;
            }
        }
    }
}

/// The body of `GET url`, at most [`MAX_TRUST_BYTES`].
async fn fetch(http: &reqwest::Client, url: &str) -> Result<Vec<u8>, String> {
    let mut response = http
        .get(url)
        .send()
        .await
        .map_err(|error| error.to_string())?;
    if !response.status().is_success() {
        return Err(format!("answered {}", response.status()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|error| error.to_string())? {
        if body.len() + chunk.len() > MAX_TRUST_BYTES {
            return Err(format!(
                "the trust document is larger than {MAX_TRUST_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{PersonalKeys, Store};
    use ed25519_dalek::SigningKey;

    const ORIGIN: &str = "rollback.test.example/log";

    #[test]
    fn only_checkpoints_signed_by_the_own_log_key_count() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(Store::open(dir.path(), PersonalKeys::for_tests()).expect("store"));
        let key = SigningKey::from_bytes(&[7; 32]);
        let log = Log::open(store, ORIGIN, key.clone()).expect("log");
        let empty = log.head().root;
        let sign = |key: &SigningKey, size, root| {
            checkpoint::sign_checkpoint(ORIGIN, size, root, key).expect("signs")
        };
        // A hostile peer claims a bigger tree: it cannot sign one with this log's key.
        let other = SigningKey::from_bytes(&[8; 32]);
        assert_eq!(
            judge(&log, &sign(&other, 5, Hash([1; 32]))),
            Finding::Nothing
        );
        assert_eq!(judge(&log, b"not a checkpoint"), Finding::Nothing);
        assert_eq!(
            judge(&log, &sign(&key, 5, Hash([1; 32]))),
            Finding::Ahead {
                size: 5,
                root: Hash([1; 32])
            }
        );
        assert_eq!(
            judge(&log, &sign(&key, 0, empty)),
            Finding::Consistent { size: 0 }
        );
        assert_eq!(
            judge(&log, &sign(&key, 0, Hash([2; 32]))),
            Finding::Forked { size: 0 }
        );
    }
}

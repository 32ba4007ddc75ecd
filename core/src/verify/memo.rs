//! Checkpoints opened and cosignatures checked once per batch of verdicts.

use talent_tlog::checkpoint::{self, CheckpointError, VerifiedCheckpoint};
use talent_tlog::cosignature::{self, CosignatureError, CosignerKey};

/// Checkpoints opened and cosignatures checked while finishing a batch of verdicts, so that
/// requests relying on the same checkpoint (concurrent requests about one log) check its
/// log signature and cosignatures, each an Ed25519 verification, once per batch instead of
/// once per request. The results are exactly those of checking again.
#[derive(Debug, Default)]
pub struct CheckpointMemo {
    opened: Vec<Opened>,
    cosigned: Vec<Cosigned>,
}

/// A checkpoint opened with a log key, and what that gave.
#[derive(Debug)]
struct Opened {
    bytes: Vec<u8>,
    origin: String,
    log_vkey: String,
    sm2_vkey: Option<String>,
    result: Result<VerifiedCheckpoint, CheckpointError>,
}

/// A checkpoint's cosignatures checked against trusted cosigners, and what that gave.
#[derive(Debug)]
struct Cosigned {
    note: Vec<u8>,
    trusted: Vec<CosignerKey>,
    result: Result<Vec<String>, CosignatureError>,
}

impl CheckpointMemo {
    /// Most entries of each kind kept; a batch relies on few checkpoints.
    const CAPACITY: usize = 16;

    /// An empty memo.
    pub fn new() -> CheckpointMemo {
        CheckpointMemo::default()
    }

    /// [`checkpoint::open_checkpoint_with_sm2`], remembered.
    pub(super) fn open(
        &mut self,
        bytes: &[u8],
        origin: &str,
        log_vkey: &str,
        sm2_vkey: Option<&str>,
    ) -> Result<VerifiedCheckpoint, CheckpointError> {
        if let Some(opened) = self.opened.iter().find(|opened| {
            opened.bytes == bytes
                && opened.origin == origin
                && opened.log_vkey == log_vkey
                && opened.sm2_vkey.as_deref() == sm2_vkey
        }) {
            return opened.result.clone();
        }
        let result = checkpoint::open_checkpoint_with_sm2(bytes, origin, log_vkey, sm2_vkey);
        if self.opened.len() >= CheckpointMemo::CAPACITY {
            self.opened.clear();
        }
        self.opened.push(Opened {
            bytes: bytes.to_vec(),
            origin: origin.to_owned(),
            log_vkey: log_vkey.to_owned(),
            sm2_vkey: sm2_vkey.map(str::to_owned),
            result: result.clone(),
        });
        result
    }

    /// The names of the trusted cosigners whose cosignatures on `note` verify
    /// ([`cosignature::verify_cosignatures`]), remembered.
    pub(super) fn cosigners(
        &mut self,
        note: &[u8],
        trusted: &[CosignerKey],
    ) -> Result<Vec<String>, CosignatureError> {
        if let Some(cosigned) = self
            .cosigned
            .iter()
            .find(|cosigned| cosigned.note == note && cosigned.trusted == trusted)
        {
            return cosigned.result.clone();
        }
        let result = cosignature::verify_cosignatures(note, trusted)
            .map(|found| found.into_iter().map(|found| found.name).collect());
        if self.cosigned.len() >= CheckpointMemo::CAPACITY {
            self.cosigned.clear();
        }
        self.cosigned.push(Cosigned {
            note: note.to_vec(),
            trusted: trusted.to_vec(),
            result: result.clone(),
        });
        result
    }
}

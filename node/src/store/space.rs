//! [`LogSpace`]: whose log a read or write is about, and the keys of its records. The own
//! log and every mirror share one layout; only the column family and the key prefix differ.

use talent_core::identifiers::CredentialId;

use super::families::{CF_ENTRIES, CF_HASHES, CF_MIRROR_ENTRIES, CF_MIRROR_HASHES};

/// Whose log a read or write is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogSpace<'a> {
    /// This member's own log.
    Own,
    /// The mirror of a peer member's log (member id).
    Mirror(&'a str),
}

impl LogSpace<'_> {
    pub(super) fn entries_cf(self) -> &'static str {
        match self {
            LogSpace::Own => CF_ENTRIES,
            LogSpace::Mirror(_) => CF_MIRROR_ENTRIES,
        }
    }

    pub(super) fn hashes_cf(self) -> &'static str {
        match self {
            LogSpace::Own => CF_HASHES,
            LogSpace::Mirror(_) => CF_MIRROR_HASHES,
        }
    }

    /// The key of `index` in this space: the big-endian index, after `member 0x00` for a
    /// mirror (member ids never contain 0x00, so prefixes cannot overlap).
    pub(super) fn key(self, index: u64) -> Vec<u8> {
        match self {
            LogSpace::Own => index.to_be_bytes().to_vec(),
            LogSpace::Mirror(member) => {
                let mut key = Vec::with_capacity(member.len() + 9);
                key.extend_from_slice(member.as_bytes());
                key.push(0);
                key.extend_from_slice(&index.to_be_bytes());
                key
            }
        }
    }

    /// The prefix of this space's keys in the families shared by all spaces.
    pub(super) fn prefix(self) -> Vec<u8> {
        match self {
            LogSpace::Own => vec![0],
            LogSpace::Mirror(member) => {
                let mut prefix = member.as_bytes().to_vec();
                prefix.push(0);
                prefix
            }
        }
    }

    pub(super) fn status_key(self, id: CredentialId, index: u64) -> Vec<u8> {
        let mut key = self.prefix();
        key.extend_from_slice(&id.uuid().into_bytes());
        key.extend_from_slice(&index.to_be_bytes());
        key
    }

    pub(super) fn describe(self, what: &str, index: u64) -> String {
        match self {
            LogSpace::Own => format!("{what}/{index}"),
            LogSpace::Mirror(member) => format!("mirror {member} {what}/{index}"),
        }
    }
}

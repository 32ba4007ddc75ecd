//! Entry bundles of C2SP `tlog-tiles`: each entry as a big-endian uint16 length followed by
//! its bytes, concatenated. An entry is therefore at most 65,535 bytes.

use thiserror::Error;

/// Largest entry a bundle can carry.
pub const MAX_ENTRY_BYTES: usize = u16::MAX as usize;

/// Why a bundle could not be decoded or built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum BundleError {
    /// The bundle ends inside a length prefix or an entry.
    #[error("entry bundle is truncated at byte {offset}")]
    Truncated {
        /// Where the missing bytes start.
        offset: usize,
    },
    /// The bundle holds a different number of entries than its path says.
    #[error("entry bundle holds {found} entries, expected {expected}")]
    WrongCount {
        /// Entries found.
        found: usize,
        /// Entries the tile path promises.
        expected: usize,
    },
    /// An entry is too large for a uint16 length.
    #[error("entry of {0} bytes exceeds the {MAX_ENTRY_BYTES}-byte limit")]
    EntryTooLarge(usize),
}

/// Appends one entry to a bundle being built.
///
/// # Errors
/// [`BundleError::EntryTooLarge`].
pub fn push_entry(bundle: &mut Vec<u8>, entry: &[u8]) -> Result<(), BundleError> {
    let length = u16::try_from(entry.len()).map_err(|_| BundleError::EntryTooLarge(entry.len()))?;
    bundle.extend_from_slice(&length.to_be_bytes());
    bundle.extend_from_slice(entry);
    Ok(())
}

/// Splits a bundle into its entries, requiring exactly `expected` of them.
///
/// # Errors
/// [`BundleError::Truncated`], [`BundleError::WrongCount`] (also for trailing entries).
pub fn decode(bundle: &[u8], expected: usize) -> Result<Vec<&[u8]>, BundleError> {
    let mut entries = Vec::with_capacity(expected);
    let mut rest = bundle;
    while !rest.is_empty() {
        let offset = bundle.len() - rest.len();
        let (length, tail) = rest
            .split_first_chunk::<2>()
            .ok_or(BundleError::Truncated { offset })?;
        let length = usize::from(u16::from_be_bytes(*length));
        let (entry, tail) = tail
            .split_at_checked(length)
            .ok_or(BundleError::Truncated { offset: offset + 2 })?;
        entries.push(entry);
        rest = tail;
    }
    if entries.len() != expected {
        return Err(BundleError::WrongCount {
            found: entries.len(),
            expected,
        });
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut bundle = Vec::new();
        for entry in [&b"first"[..], b"", b"third entry"] {
            push_entry(&mut bundle, entry).expect("fits");
        }
        assert_eq!(
            decode(&bundle, 3).expect("decodes"),
            vec![&b"first"[..], b"", b"third entry"]
        );
    }

    #[test]
    fn truncation_and_counts_are_detected() {
        let mut bundle = Vec::new();
        push_entry(&mut bundle, b"abc").expect("fits");
        assert_eq!(
            decode(&bundle[..4], 1),
            Err(BundleError::Truncated { offset: 2 })
        );
        assert_eq!(
            decode(&bundle[..1], 1),
            Err(BundleError::Truncated { offset: 0 })
        );
        assert_eq!(
            decode(&bundle, 2),
            Err(BundleError::WrongCount {
                found: 1,
                expected: 2
            })
        );
        assert_eq!(
            push_entry(&mut bundle, &vec![0; 70_000]),
            Err(BundleError::EntryTooLarge(70_000))
        );
    }
}

//! RFC 6962 Merkle tree hashing and proofs ([RFC 6962 §2.1](https://www.rfc-editor.org/rfc/rfc6962#section-2.1)).
//!
//! The arithmetic is the `tlog_tiles` port of Go's `sumdb/tlog`; this module adds the
//! input checks that make every malformed proof an error rather than a panic, an in-memory
//! [`HashReader`] for computing trees from leaves, and serialisable proofs.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use thiserror::Error;
pub use tlog_tiles::{Error as TlogError, HashReader, record_hash};
use tlog_tiles::{
    Hash, check_record, check_tree, prove_record, prove_tree, stored_hash_index, stored_hashes,
    sub_tree_index, tree_hash,
};

/// A proof longer than this cannot belong to a tree of fewer than 2^64 leaves.
pub const MAX_PROOF_HASHES: usize = 64;

/// Why a proof was rejected or could not be built.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// A hash is not 32 bytes of base64.
    #[error("malformed hash")]
    MalformedHash,
    /// The leaf index is not inside the tree.
    #[error("leaf index {index} is not in a tree of size {tree_size}")]
    IndexOutOfRange {
        /// Leaf index.
        index: u64,
        /// Tree size.
        tree_size: u64,
    },
    /// The older tree is larger than the newer one: a rollback.
    #[error("tree size {old} is larger than {new}")]
    SizeRollback {
        /// Older size.
        old: u64,
        /// Newer size.
        new: u64,
    },
    /// Consistency from an empty tree proves nothing and is refused.
    #[error("consistency with an empty tree is not a proof")]
    EmptyOldTree,
    /// Equal sizes with different roots, or a non-empty proof between equal trees: a fork.
    #[error("trees of equal size {size} have different roots or a non-empty proof")]
    EqualSizeMismatch {
        /// The size.
        size: u64,
    },
    /// Too many hashes.
    #[error("proof has {0} hashes, more than any tree needs")]
    TooLong(usize),
    /// The proof does not lead to the expected root.
    #[error("proof does not verify")]
    Invalid,
    /// The tree's stored hashes could not be read.
    #[error("hashes unavailable: {0}")]
    Unavailable(String),
}

impl From<tlog_tiles::Error> for ProofError {
    fn from(error: tlog_tiles::Error) -> ProofError {
        match error {
            tlog_tiles::Error::InvalidProof | tlog_tiles::Error::InvalidInput(_) => {
                ProofError::Invalid
            }
            tlog_tiles::Error::MalformedHash | tlog_tiles::Error::InvalidBase64(_) => {
                ProofError::MalformedHash
            }
            other => ProofError::Unavailable(other.to_string()),
        }
    }
}

/// Parses a base64 hash, requiring exactly 32 bytes.
///
/// # Errors
/// [`ProofError::MalformedHash`].
pub fn parse_hash(text: &str) -> Result<Hash, ProofError> {
    let bytes = BASE64.decode(text).map_err(|_| ProofError::MalformedHash)?;
    let array: [u8; 32] = bytes.try_into().map_err(|_| ProofError::MalformedHash)?;
    Ok(Hash(array))
}

/// Base64 of a hash, as checkpoints and proofs carry it.
pub fn format_hash(hash: &Hash) -> String {
    BASE64.encode(hash.0)
}

/// Verifies that `leaf_hash` is leaf `index` of the tree of `tree_size` with `root`.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::TooLong`], [`ProofError::Invalid`].
pub fn verify_inclusion(
    index: u64,
    tree_size: u64,
    root: &Hash,
    leaf_hash: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong(proof.len()));
    }
    check_record(&proof.to_vec(), tree_size, *root, index, *leaf_hash)?;
    Ok(())
}

/// Verifies that the tree (`old_size`, `old_root`) is a prefix of (`new_size`, `new_root`).
///
/// # Errors
/// [`ProofError::SizeRollback`], [`ProofError::EmptyOldTree`],
/// [`ProofError::EqualSizeMismatch`], [`ProofError::TooLong`], [`ProofError::Invalid`].
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    let proof: Vec<Vec<u8>> = proof.iter().map(|hash| hash.0.to_vec()).collect();
    verify_consistency_bytes(old_size, new_size, &old_root.0, &new_root.0, &proof)
}

/// [`verify_consistency`] over raw wire bytes, as RFC 6962 verifiers take them: between
/// trees of equal size the roots are compared as given, whatever their length; otherwise
/// every hash must be 32 bytes.
///
/// # Errors
/// As [`verify_consistency`], and [`ProofError::MalformedHash`].
pub fn verify_consistency_bytes(
    old_size: u64,
    new_size: u64,
    old_root: &[u8],
    new_root: &[u8],
    proof: &[Vec<u8>],
) -> Result<(), ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizeRollback {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        return if proof.is_empty() && old_root == new_root && old_size > 0 {
            Ok(())
        } else {
            Err(ProofError::EqualSizeMismatch { size: old_size })
        };
    }
    if old_size == 0 {
        return Err(ProofError::EmptyOldTree);
    }
    if proof.len() > MAX_PROOF_HASHES {
        return Err(ProofError::TooLong(proof.len()));
    }
    let to_hash = |bytes: &[u8]| -> Result<Hash, ProofError> {
        Ok(Hash(
            bytes.try_into().map_err(|_| ProofError::MalformedHash)?,
        ))
    };
    let proof = proof
        .iter()
        .map(|bytes| to_hash(bytes))
        .collect::<Result<Vec<_>, _>>()?;
    check_tree(
        &proof,
        new_size,
        to_hash(new_root)?,
        old_size,
        to_hash(old_root)?,
    )?;
    Ok(())
}

/// An inclusion proof as the API and proof bundles carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InclusionProof {
    /// Leaf index of the entry.
    pub leaf_index: u64,
    /// Size of the tree the proof is for.
    pub tree_size: u64,
    /// Sibling hashes, base64, leaf to root.
    pub hashes: Vec<String>,
}

impl InclusionProof {
    /// A proof from its hashes.
    pub fn new(leaf_index: u64, tree_size: u64, hashes: &[Hash]) -> InclusionProof {
        InclusionProof {
            leaf_index,
            tree_size,
            hashes: hashes.iter().map(format_hash).collect(),
        }
    }

    /// Verifies the proof for `entry` against `root`.
    ///
    /// # Errors
    /// As [`verify_inclusion`], and [`ProofError::MalformedHash`].
    pub fn verify(&self, entry: &[u8], root: &Hash) -> Result<(), ProofError> {
        let hashes = self
            .hashes
            .iter()
            .map(|text| parse_hash(text))
            .collect::<Result<Vec<_>, _>>()?;
        verify_inclusion(
            self.leaf_index,
            self.tree_size,
            root,
            &record_hash(entry),
            &hashes,
        )
    }
}

/// A tree held in memory: every stored hash, by stored-hash index. For clients that rebuild
/// a log from its entries (audit, sync) and for tests.
#[derive(Debug, Clone, Default)]
pub struct MemoryTree {
    hashes: Vec<Hash>,
    size: u64,
}

impl MemoryTree {
    /// An empty tree.
    pub fn new() -> MemoryTree {
        MemoryTree::default()
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf by its entry bytes.
    pub fn push_entry(&mut self, entry: &[u8]) {
        self.push_leaf_hash(record_hash(entry));
    }

    /// Appends a leaf by its leaf hash.
    pub fn push_leaf_hash(&mut self, leaf: Hash) {
        // Invariant: the reader holds every stored hash of the current tree, which is all
        // `stored_hashes_for_record_hash` reads, so this cannot fail.
        #[allow(clippy::expect_used)]
        let new = tlog_tiles::stored_hashes_for_record_hash(self.size, leaf, self)
            .expect("an in-memory tree holds every stored hash");
        self.hashes.extend(new);
        self.size += 1;
    }

    /// The root of the first `size` leaves.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`] when `size` exceeds the tree.
    pub fn root_at(&self, size: u64) -> Result<Hash, ProofError> {
        if size > self.size {
            return Err(ProofError::IndexOutOfRange {
                index: size,
                tree_size: self.size,
            });
        }
        Ok(tree_hash(size, self)?)
    }

    /// The current root.
    pub fn root(&self) -> Hash {
        // Invariant: size is within the tree.
        self.root_at(self.size).unwrap_or(tlog_tiles::EMPTY_HASH)
    }

    /// Inclusion proof of leaf `index` in the tree of `tree_size`.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`].
    pub fn inclusion_proof(&self, index: u64, tree_size: u64) -> Result<Vec<Hash>, ProofError> {
        if index >= tree_size || tree_size > self.size {
            return Err(ProofError::IndexOutOfRange { index, tree_size });
        }
        Ok(prove_record(tree_size, index, self)?)
    }

    /// Consistency proof from `old_size` to `new_size`.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`].
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, ProofError> {
        if old_size > new_size || new_size > self.size {
            return Err(ProofError::IndexOutOfRange {
                index: old_size,
                tree_size: new_size,
            });
        }
        Ok(prove_tree(new_size, old_size, self)?)
    }

    /// The level-0 hash of leaf `index`.
    pub fn leaf_hash(&self, index: u64) -> Option<Hash> {
        let position = usize::try_from(stored_hash_index(0, index)).ok()?;
        (index < self.size).then(|| self.hashes.get(position).copied())?
    }
}

impl HashReader for MemoryTree {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|index| {
                usize::try_from(*index)
                    .ok()
                    .and_then(|i| self.hashes.get(i).copied())
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// A [`HashReader`] over hashes held in a map (a batch being appended).
#[derive(Debug, Default)]
pub struct MapHashReader {
    /// Stored hashes by stored-hash index.
    pub hashes: HashMap<u64, Hash>,
}

impl HashReader for MapHashReader {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<Hash>, tlog_tiles::Error> {
        indexes
            .iter()
            .map(|index| {
                self.hashes
                    .get(index)
                    .copied()
                    .ok_or(tlog_tiles::Error::IndexesNotInTree)
            })
            .collect()
    }
}

/// Root of the empty tree: SHA-256 of the empty string (RFC 6962 §2.1).
pub fn empty_root() -> Hash {
    use sha2::{Digest, Sha256};
    Hash(Sha256::digest([]).into())
}

/// The stored-hash index of leaf `index`'s hash.
pub fn leaf_stored_index(index: u64) -> u64 {
    stored_hash_index(0, index)
}

/// The stored-hash indexes of the perfect subtrees that make up a tree of `size` leaves:
/// all a log needs in memory to append and to compute its root.
pub fn frontier_indexes(size: u64) -> Vec<u64> {
    sub_tree_index(0, size, Vec::new())
}

/// The root of a tree of `size` leaves whose stored hashes `reader` holds.
///
/// # Errors
/// [`ProofError::Unavailable`] when the reader lacks a needed hash.
pub fn root_from<R: HashReader>(size: u64, reader: &R) -> Result<Hash, ProofError> {
    Ok(tree_hash(size, reader)?)
}

/// Inclusion proof of leaf `index` in the tree of `tree_size`, from a reader.
///
/// # Errors
/// [`ProofError::IndexOutOfRange`], [`ProofError::Unavailable`].
pub fn inclusion_proof_from<R: HashReader>(
    index: u64,
    tree_size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    if index >= tree_size {
        return Err(ProofError::IndexOutOfRange { index, tree_size });
    }
    Ok(prove_record(tree_size, index, reader)?)
}

/// Consistency proof from `old_size` to `new_size`, from a reader.
///
/// # Errors
/// [`ProofError::SizeRollback`], [`ProofError::Unavailable`].
pub fn consistency_proof_from<R: HashReader>(
    old_size: u64,
    new_size: u64,
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    if old_size > new_size {
        return Err(ProofError::SizeRollback {
            old: old_size,
            new: new_size,
        });
    }
    Ok(prove_tree(new_size, old_size, reader)?)
}

/// The stored hashes that appending `entry` as leaf `index` adds, given a reader of the
/// tree's existing stored hashes.
///
/// # Errors
/// [`ProofError::Unavailable`] when the reader lacks a needed hash.
pub fn stored_hashes_for_entry<R: HashReader>(
    index: u64,
    entry: &[u8],
    reader: &R,
) -> Result<Vec<Hash>, ProofError> {
    Ok(stored_hashes(index, entry, reader)?)
}

/// A tree grown by a run of entries, computed from the old tree's frontier alone.
///
/// Every hash that appending needs is either the hash of a perfect subtree left of the new
/// leaves — always one of the old tree's frontier hashes ([`frontier_indexes`]) — or a hash
/// of the new leaves. So the sequencer (appending its own entries) and a mirror (replaying a
/// peer's entries) keep only the frontier in memory and never read older hashes back.
#[derive(Debug)]
pub struct TreeExtension {
    old_size: u64,
    size: u64,
    /// Old frontier hashes plus every hash the new entries added.
    hashes: MapHashReader,
    added: Vec<(u64, Hash)>,
}

impl TreeExtension {
    /// Starts from a tree of `size` leaves given its frontier hashes (stored-hash index →
    /// hash, exactly [`frontier_indexes`]`(size)`).
    ///
    /// # Errors
    /// [`ProofError::Unavailable`] when a frontier hash is missing.
    pub fn new(size: u64, frontier: &HashMap<u64, Hash>) -> Result<TreeExtension, ProofError> {
        let indexes = frontier_indexes(size);
        let mut hashes = HashMap::with_capacity(indexes.len());
        for index in indexes {
            let hash = frontier.get(&index).ok_or_else(|| {
                ProofError::Unavailable(format!("frontier hash {index} of size {size}"))
            })?;
            hashes.insert(index, *hash);
        }
        Ok(TreeExtension {
            old_size: size,
            size,
            hashes: MapHashReader { hashes },
            added: Vec::new(),
        })
    }

    /// Appends one entry as the next leaf.
    ///
    /// # Errors
    /// [`ProofError::Unavailable`] (cannot happen for a frontier from [`TreeExtension::new`]).
    pub fn push(&mut self, entry: &[u8]) -> Result<(), ProofError> {
        let new = stored_hashes(self.size, entry, &self.hashes)?;
        let first = leaf_stored_index(self.size);
        for (offset, hash) in new.into_iter().enumerate() {
            let index = first + offset as u64;
            self.hashes.hashes.insert(index, hash);
            self.added.push((index, hash));
        }
        self.size += 1;
        Ok(())
    }

    /// Size before the extension.
    pub fn old_size(&self) -> u64 {
        self.old_size
    }

    /// Size after the entries pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// The stored hashes the pushed entries added, in order (what must be persisted).
    pub fn added_hashes(&self) -> &[(u64, Hash)] {
        &self.added
    }

    /// Root of the extended tree.
    ///
    /// # Errors
    /// [`ProofError::Unavailable`] (cannot happen).
    pub fn root(&self) -> Result<Hash, ProofError> {
        root_from(self.size, &self.hashes)
    }

    /// Frontier of the extended tree, to start the next extension from.
    ///
    /// # Errors
    /// [`ProofError::Unavailable`] (cannot happen).
    pub fn frontier(&self) -> Result<HashMap<u64, Hash>, ProofError> {
        let indexes = frontier_indexes(self.size);
        let hashes = self.hashes.read_hashes(&indexes)?;
        Ok(indexes.into_iter().zip(hashes).collect())
    }

    /// Inclusion proof of a leaf added by this extension in the extended tree.
    ///
    /// # Errors
    /// [`ProofError::IndexOutOfRange`] for a leaf that is not one of the new ones.
    pub fn inclusion_proof(&self, index: u64) -> Result<InclusionProof, ProofError> {
        if index < self.old_size || index >= self.size {
            return Err(ProofError::IndexOutOfRange {
                index,
                tree_size: self.size,
            });
        }
        let hashes = inclusion_proof_from(index, self.size, &self.hashes)?;
        Ok(InclusionProof::new(index, self.size, &hashes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extension_from_frontier_matches_full_tree() {
        let entries: Vec<Vec<u8>> = (0..300u32).map(|i| i.to_be_bytes().to_vec()).collect();
        let mut full = MemoryTree::new();
        let mut size = 0u64;
        let mut frontier = HashMap::new();
        // Uneven runs cross tile and subtree boundaries.
        for run in [1usize, 2, 5, 1, 64, 3, 100, 124] {
            let mut extension = TreeExtension::new(size, &frontier).expect("frontier");
            for entry in &entries[size as usize..size as usize + run] {
                extension.push(entry).expect("push");
                full.push_entry(entry);
            }
            assert_eq!(extension.root().expect("root"), full.root());
            for index in size..extension.size() {
                let proof = extension.inclusion_proof(index).expect("proof");
                proof
                    .verify(&entries[index as usize], &full.root())
                    .expect("proof verifies");
            }
            assert!(extension.inclusion_proof(extension.size()).is_err());
            for (index, hash) in extension.added_hashes() {
                assert_eq!(full.read_hashes(&[*index]).expect("in tree")[0], *hash);
            }
            frontier = extension.frontier().expect("frontier");
            size = extension.size();
        }
        assert_eq!(size, 300);
        assert!(TreeExtension::new(5, &HashMap::new()).is_err());
    }

    #[test]
    fn memory_tree_proofs_verify() {
        let mut tree = MemoryTree::new();
        let entries: Vec<Vec<u8>> = (0..37u32).map(|i| i.to_be_bytes().to_vec()).collect();
        for entry in &entries {
            tree.push_entry(entry);
        }
        for size in 1..=tree.size() {
            let root = tree.root_at(size).expect("root");
            for index in 0..size {
                let proof = tree.inclusion_proof(index, size).expect("proof");
                verify_inclusion(
                    index,
                    size,
                    &root,
                    &record_hash(&entries[index as usize]),
                    &proof,
                )
                .expect("inclusion verifies");
            }
            let latest = tree.root();
            let proof = tree.consistency_proof(size, tree.size()).expect("proof");
            verify_consistency(size, tree.size(), &root, &latest, &proof)
                .expect("consistency verifies");
        }
    }

    #[test]
    fn empty_tree_root_is_sha256_of_nothing() {
        assert_eq!(
            format_hash(&MemoryTree::new().root()),
            "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
        );
    }
}

//! Proofs from a log's served hash tiles: what an outside auditor, who may read the public
//! hash tiles but no entry, can prove about a tree whose signed checkpoint it holds.
//!
//! [`TiledTree`] is Go's `tlog.TileHashReader` (the `tlog_tiles` port): every tile it reads
//! is authenticated against the checkpoint's root before any hash of it is used, so a proof
//! built from served tiles is a proof about the signed tree or an error, never a lie.
//! Fetching is the caller's: a function from a C2SP tile path (`tile/0/001.p/5`) to bytes.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use thiserror::Error;
use tlog_tiles::{Hash, HashReader, Tile, TileHashReader, TileReader};

use crate::merkle::{self, ProofError};
use crate::tile::{MAX_LEAVES, TILE_HEIGHT, TilePath};

/// Why a proof could not be built from served tiles.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TileProofError {
    /// A tile could not be fetched.
    #[error("fetching {path}: {reason}")]
    Fetch {
        /// The tile's path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The served tiles do not recompute the checkpoint's root (or have the wrong length):
    /// they are not the signed tree's.
    #[error("the served hash tiles do not match the tree of {size} entries with root {root}")]
    TilesMismatch {
        /// Tree size.
        size: u64,
        /// The checkpoint's root, base64.
        root: String,
    },
    /// The sizes asked for are not a proof's (out of the tree, empty, or too large).
    #[error(transparent)]
    Proof(#[from] ProofError),
}

/// What the tiles of a tree say about its first leaves: their root, and the consistency
/// proof from it to the whole tree (verified).
#[derive(Debug, Clone, PartialEq)]
pub struct Prefix {
    /// Root of the first `old_size` leaves.
    pub root: Hash,
    /// Consistency proof from them to the whole tree.
    pub proof: Vec<Hash>,
}

/// A tree of `size` leaves with a trusted `root`, read through its served hash tiles.
#[derive(Debug)]
pub struct TiledTree<F> {
    size: u64,
    root: Hash,
    tiles: ServedTiles<F>,
}

impl<F> TiledTree<F>
where
    F: FnMut(&str) -> Result<Vec<u8>, String>,
{
    /// The tree of a verified checkpoint (`size`, `root`), whose tiles `fetch` reads.
    pub fn new(size: u64, root: Hash, fetch: F) -> TiledTree<F> {
        TiledTree {
            size,
            root,
            tiles: ServedTiles {
                fetch: RefCell::new(fetch),
                cache: RefCell::new(HashMap::new()),
                failure: RefCell::new(None),
                fetched: Cell::new(0),
            },
        }
    }

    /// The root of the tree's first `old_size` leaves and the consistency proof from it to
    /// the whole tree, both from the tiles and checked here against the trusted root. A
    /// checkpoint of `old_size` leaves with another root is a fork of this tree.
    ///
    /// # Errors
    /// [`TileProofError`]; [`ProofError::SizeRollback`] when `old_size` exceeds the tree,
    /// [`ProofError::EmptyOldTree`] for `old_size` 0.
    pub fn prefix(&self, old_size: u64) -> Result<Prefix, TileProofError> {
        self.check_sizes(old_size)?;
        let (root, proof) = self.read(|reader| {
            Ok((
                merkle::root_from(old_size, reader)?,
                merkle::consistency_proof_from(old_size, self.size, reader)?,
            ))
        })?;
        // `TileHashReader` (Go's, and the port) does not authenticate every full tile
        // against its parent when the tree hash's subtrees share a tile: the proof is
        // therefore checked against the signed root, so tiles that are not the signed
        // tree's never pass for a fork.
        merkle::verify_consistency(old_size, self.size, &root, &self.root, &proof)
            .map_err(|_| self.mismatch())?;
        Ok(Prefix { root, proof })
    }

    /// The hash of leaf `index` and its inclusion proof, from the tiles and checked here
    /// against the trusted root.
    ///
    /// # Errors
    /// [`TileProofError`]; [`ProofError::IndexOutOfRange`] outside the tree.
    pub fn leaf(&self, index: u64) -> Result<(Hash, Vec<Hash>), TileProofError> {
        if index >= self.size {
            return Err(ProofError::IndexOutOfRange {
                index,
                tree_size: self.size,
            }
            .into());
        }
        self.check_sizes(1)?;
        let (leaf, proof) = self.read(|reader| {
            let leaf = reader
                .read_hashes(&[merkle::leaf_stored_index(index)])?
                .pop()
                .ok_or(ProofError::Invalid)?;
            Ok((
                leaf,
                merkle::inclusion_proof_from(index, self.size, reader)?,
            ))
        })?;
        merkle::verify_inclusion(index, self.size, &self.root, &leaf, &proof)
            .map_err(|_| self.mismatch())?;
        Ok((leaf, proof))
    }

    /// How many tiles were fetched so far (each at most once).
    pub fn tiles_fetched(&self) -> usize {
        self.tiles.fetched.get()
    }

    /// Refuses sizes the tile arithmetic cannot take: `tlog_tiles` panics on an empty tree
    /// and overflows past [`MAX_LEAVES`].
    fn check_sizes(&self, old_size: u64) -> Result<(), ProofError> {
        if old_size == 0 {
            return Err(ProofError::EmptyOldTree);
        }
        if old_size > self.size {
            return Err(ProofError::SizeRollback {
                old: old_size,
                new: self.size,
            });
        }
        if self.size > MAX_LEAVES {
            return Err(ProofError::Unavailable(format!(
                "a tree of {} leaves is beyond the tile geometry",
                self.size
            )));
        }
        Ok(())
    }

    /// Runs `prove` over a reader that authenticates every tile against the root, and
    /// names what went wrong: a fetch, tiles that are not the signed tree's, or the proof.
    fn read<T>(
        &self,
        prove: impl FnOnce(&TileHashReader<'_>) -> Result<T, ProofError>,
    ) -> Result<T, TileProofError> {
        let reader = TileHashReader::new(self.size, self.root, &self.tiles);
        let result = prove(&reader);
        if let Some((path, reason)) = self.tiles.failure.borrow_mut().take() {
            return Err(TileProofError::Fetch { path, reason });
        }
        result.map_err(|error| match error {
            ProofError::Unavailable(_) => self.mismatch(),
            other => TileProofError::Proof(other),
        })
    }

    fn mismatch(&self) -> TileProofError {
        TileProofError::TilesMismatch {
            size: self.size,
            root: merkle::format_hash(&self.root),
        }
    }
}

/// A [`TileReader`] over fetched C2SP hash tiles, each fetched once.
#[derive(Debug)]
struct ServedTiles<F> {
    fetch: RefCell<F>,
    cache: RefCell<HashMap<TilePath, Vec<u8>>>,
    /// The first fetch that failed: `TileReader` errors cannot carry it.
    failure: RefCell<Option<(String, String)>>,
    fetched: Cell<usize>,
}

impl<F> TileReader for ServedTiles<F>
where
    F: FnMut(&str) -> Result<Vec<u8>, String>,
{
    fn height(&self) -> u8 {
        TILE_HEIGHT
    }

    fn read_tiles(&self, tiles: &[Tile]) -> Result<Vec<Vec<u8>>, tlog_tiles::Error> {
        tiles.iter().map(|tile| self.read_tile(tile)).collect()
    }

    // Tiles are cached as fetched; the hash reader authenticates them on every use.
    fn save_tiles(&self, _tiles: &[Tile], _data: &[Vec<u8>]) {}
}

impl<F> ServedTiles<F>
where
    F: FnMut(&str) -> Result<Vec<u8>, String>,
{
    fn read_tile(&self, tile: &Tile) -> Result<Vec<u8>, tlog_tiles::Error> {
        // Widths are 1..=256 for the tiles of a tree; anything else is not a served tile.
        let width = u16::try_from(tile.width()).map_err(|_| tlog_tiles::Error::BadMath)?;
        let path = TilePath::Hashes {
            level: tile.level(),
            index: tile.level_index(),
            width,
        };
        if let Some(data) = self.cache.borrow().get(&path) {
            return Ok(data.clone());
        }
        let text = path.to_string();
        let data = (self.fetch.borrow_mut())(&text).map_err(|reason| {
            self.failure.borrow_mut().get_or_insert((text, reason));
            tlog_tiles::Error::InvalidTile
        })?;
        self.fetched.set(self.fetched.get() + 1);
        self.cache.borrow_mut().insert(path, data.clone());
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::MemoryTree;
    use crate::tile::tiles_for_size;

    /// A tree of `size` entries and its hash tiles by path.
    fn served(size: u64) -> (MemoryTree, HashMap<String, Vec<u8>>) {
        let mut tree = MemoryTree::new();
        for i in 0..size {
            tree.push_entry(format!("entry {i}").as_bytes());
        }
        let tiles = tiles_for_size(size)
            .into_iter()
            .filter(|tile| matches!(tile, TilePath::Hashes { .. }))
            .map(|tile| (tile.to_string(), tile.read_hashes(&tree).expect("tile")))
            .collect();
        (tree, tiles)
    }

    fn fetch_from(
        tiles: &HashMap<String, Vec<u8>>,
    ) -> impl FnMut(&str) -> Result<Vec<u8>, String> + '_ {
        |path| {
            tiles
                .get(path)
                .cloned()
                .ok_or_else(|| format!("404 {path}"))
        }
    }

    #[test]
    fn prefixes_and_leaves_from_tiles_verify() {
        let (tree, tiles) = served(70_000);
        let tiled = TiledTree::new(tree.size(), tree.root(), fetch_from(&tiles));
        for old in [1, 255, 256, 257, 600, 65_536, 69_999, 70_000] {
            let prefix = tiled.prefix(old).expect("prefix");
            assert_eq!(prefix.root, tree.root_at(old).expect("old root"), "{old}");
            if old == tree.size() {
                assert!(prefix.proof.is_empty());
            } else {
                merkle::verify_consistency(
                    old,
                    tree.size(),
                    &prefix.root,
                    &tree.root(),
                    &prefix.proof,
                )
                .expect("consistent");
            }
        }
        let (leaf, proof) = tiled.leaf(4_321).expect("leaf");
        assert_eq!(leaf, merkle::record_hash(b"entry 4321"));
        merkle::verify_inclusion(4_321, tree.size(), &tree.root(), &leaf, &proof)
            .expect("included");
        assert!(tiled.tiles_fetched() <= 20, "{}", tiled.tiles_fetched());
    }

    #[test]
    fn changed_or_missing_tiles_and_impossible_sizes_are_named() {
        let (tree, mut tiles) = served(600);
        // Every hash of every tile, changed in turn, is caught (some only by checking the
        // proof against the root: see `prefix`).
        let paths: Vec<String> = tiles.keys().cloned().collect();
        for path in &paths {
            for offset in (0..tiles[path].len()).step_by(32 * 7) {
                let mut changed = tiles.clone();
                changed.get_mut(path).expect("tile")[offset] ^= 1;
                let tiled = TiledTree::new(tree.size(), tree.root(), fetch_from(&changed));
                for old in [1, 255, 256, 300, 512, 599] {
                    match tiled.prefix(old) {
                        Ok(prefix) => assert_eq!(
                            prefix.root,
                            tree.root_at(old).expect("root"),
                            "{path}@{offset}: a wrong root for {old}"
                        ),
                        Err(TileProofError::TilesMismatch { size: 600, .. }) => {}
                        Err(other) => panic!("{path}@{offset}, {old}: {other}"),
                    }
                }
            }
        }
        // A tile that cannot be fetched.
        tiles.remove("tile/0/002.p/88");
        let tiled = TiledTree::new(tree.size(), tree.root(), fetch_from(&tiles));
        assert!(matches!(
            tiled.prefix(300),
            Err(TileProofError::Fetch { path, .. }) if path == "tile/0/002.p/88"
        ));
        // Sizes that are not a proof's.
        assert!(matches!(
            tiled.prefix(0),
            Err(TileProofError::Proof(ProofError::EmptyOldTree))
        ));
        assert!(matches!(
            tiled.prefix(601),
            Err(TileProofError::Proof(ProofError::SizeRollback { .. }))
        ));
        assert!(matches!(
            tiled.leaf(600),
            Err(TileProofError::Proof(ProofError::IndexOutOfRange { .. }))
        ));
    }
}

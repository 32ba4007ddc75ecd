//! Where each public artefact goes in the bucket: the paths the node serves it at, under the
//! configured prefix, so that `<bucket URL>/<prefix>` is a base URL a reader or a CDN uses
//! exactly as it would use the node's.
//!
//! Only public artefacts have a path here: hash tiles, the checkpoint and the status-list
//! credentials. Entry bundles carry personal data and are never published
//! (docs/operations.md, "Scaling reads with object storage").

use object_store::path::Path;
use talent_core::status_list::StatusPurpose;
use talent_tlog::tile::{MAX_TILE_LEVEL, TILE_HEIGHT, TILE_WIDTH, TilePath};

/// The checkpoint, as `GET /log/checkpoint` serves it.
pub const CHECKPOINT: &str = "log/checkpoint";

/// Why a configured prefix cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PrefixError {
    /// A segment is empty, `.`, `..`, or holds a character outside `[A-Za-z0-9._-]`.
    #[error(
        "publication prefix {0:?} must be segments of letters, digits, '.', '_' or '-' separated by single '/' (no '..', no leading or trailing '/')"
    )]
    Invalid(String),
}

/// The bucket's layout under one prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    prefix: String,
}

impl Layout {
    /// The layout under `prefix` (empty: the bucket's root).
    ///
    /// # Errors
    /// [`PrefixError::Invalid`] for a prefix that is not plain path segments: one object
    /// has one key, and no prefix escapes into another's.
    pub fn new(prefix: &str) -> Result<Layout, PrefixError> {
        let valid_segment = |segment: &str| {
            !segment.is_empty()
                && segment != "."
                && segment != ".."
                && segment
                    .bytes()
                    .all(|byte| byte.is_ascii_alphanumeric() || b"._-".contains(&byte))
        };
        if !prefix.is_empty() && !prefix.split('/').all(valid_segment) {
            return Err(PrefixError::Invalid(prefix.to_owned()));
        }
        Ok(Layout {
            prefix: prefix.to_owned(),
        })
    }

    /// The object key of `relative` (a path the node serves, without its leading `/`).
    pub fn key(&self, relative: &str) -> Path {
        if self.prefix.is_empty() {
            Path::from(relative)
        } else {
            Path::from(format!("{}/{relative}", self.prefix))
        }
    }

    /// The key of a hash tile (`log/tile/<L>/<N>[.p/<W>]`).
    pub fn tile(&self, tile: TilePath) -> Path {
        self.key(&tile_relative(tile))
    }

    /// The key of the checkpoint.
    pub fn checkpoint(&self) -> Path {
        self.key(CHECKPOINT)
    }

    /// The key of status list `list` of `purpose` (`api/v1/status-lists/<purpose>/<n>`).
    pub fn status_list(&self, purpose: StatusPurpose, list: u32) -> Path {
        self.key(&status_list_relative(purpose, list))
    }
}

/// `log/tile/…` of a tile, as the node serves it.
pub fn tile_relative(tile: TilePath) -> String {
    format!("log/{tile}")
}

/// `api/v1/status-lists/<purpose>/<n>`, as the node serves it.
pub fn status_list_relative(purpose: StatusPurpose, list: u32) -> String {
    format!("api/v1/status-lists/{}/{list}", purpose.as_str())
}

/// Hashes a tree of `size` leaves has at tile level `level`.
fn hashes_at(size: u64, level: u8) -> u64 {
    size >> (u32::from(level) * u32::from(TILE_HEIGHT))
}

/// The full hash tiles of a tree of `to` leaves that a tree of `from` leaves lacks, lowest
/// level first, in index order within a level. Full tiles never change, so these are all
/// that must be added to a bucket holding the full tiles of `from`.
pub fn new_full_tiles(from: u64, to: u64) -> impl Iterator<Item = TilePath> {
    (0..=MAX_TILE_LEVEL).flat_map(move |level| {
        let first = hashes_at(from.min(to), level) / TILE_WIDTH;
        let end = hashes_at(to, level) / TILE_WIDTH;
        (first..end).map(move |index| TilePath::Hashes {
            level,
            index,
            width: 256,
        })
    })
}

/// The partial hash tiles of a tree of `size` leaves (at most one per level): with the full
/// ones, every tile a reader of a checkpoint of that size needs.
pub fn partial_tiles(size: u64) -> Vec<TilePath> {
    (0..=MAX_TILE_LEVEL)
        .filter_map(|level| {
            let hashes = hashes_at(size, level);
            let width = hashes % TILE_WIDTH;
            // Invariant: width < 256 fits u16.
            (width > 0).then_some(TilePath::Hashes {
                level,
                index: hashes / TILE_WIDTH,
                width: width as u16,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use talent_tlog::tile::tiles_for_size;

    fn hash_tiles_for_size(size: u64) -> Vec<TilePath> {
        tiles_for_size(size)
            .into_iter()
            .filter(|tile| matches!(tile, TilePath::Hashes { .. }))
            .collect()
    }

    #[test]
    fn keys_are_the_paths_the_node_serves_under_the_prefix() {
        let layout = Layout::new("registry/cq-sc").expect("valid");
        assert_eq!(
            layout.checkpoint().as_ref(),
            "registry/cq-sc/log/checkpoint"
        );
        let tile = TilePath::Hashes {
            level: 1,
            index: 1_234_067,
            width: 5,
        };
        assert_eq!(
            layout.tile(tile).as_ref(),
            "registry/cq-sc/log/tile/1/x001/x234/067.p/5"
        );
        assert_eq!(
            layout.status_list(StatusPurpose::Revocation, 3).as_ref(),
            "registry/cq-sc/api/v1/status-lists/revocation/3"
        );
        let root = Layout::new("").expect("valid");
        assert_eq!(root.checkpoint().as_ref(), "log/checkpoint");
    }

    #[test]
    fn a_prefix_is_plain_segments() {
        for bad in [
            "/a", "a/", "a//b", "..", "a/../b", "a b", "a/./b", "ü", "a?b",
        ] {
            assert_eq!(
                Layout::new(bad),
                Err(PrefixError::Invalid(bad.to_owned())),
                "{bad}"
            );
        }
        for good in ["a", "a/b-c/d_e.f", "2026"] {
            assert!(Layout::new(good).is_ok(), "{good}");
        }
    }

    #[test]
    fn full_and_partial_tiles_are_exactly_the_tiles_of_a_size() {
        for size in [
            0, 1, 255, 256, 257, 511, 512, 65_535, 65_536, 65_537, 70_000,
        ] {
            let mut ours: Vec<TilePath> = new_full_tiles(0, size).collect();
            ours.extend(partial_tiles(size));
            let mut expected = hash_tiles_for_size(size);
            ours.sort_by_key(|tile| tile.to_string());
            expected.sort_by_key(|tile| tile.to_string());
            assert_eq!(ours, expected, "size {size}");
        }
    }

    #[test]
    fn growing_adds_only_the_full_tiles_the_smaller_tree_lacked() {
        // Every step of a growing log, added up, gives each full tile once.
        let steps = [0, 1, 255, 256, 300, 511, 512, 1000, 65_536, 65_800, 70_000];
        let mut published: Vec<TilePath> = Vec::new();
        for pair in steps.windows(2) {
            let added: Vec<TilePath> = new_full_tiles(pair[0], pair[1]).collect();
            for tile in &added {
                assert!(tile.is_full(), "{tile}");
                assert!(!published.contains(tile), "{tile} twice");
            }
            published.extend(added);
        }
        let mut expected: Vec<TilePath> = hash_tiles_for_size(70_000)
            .into_iter()
            .filter(|tile| tile.is_full())
            .collect();
        published.sort_by_key(|tile| tile.to_string());
        expected.sort_by_key(|tile| tile.to_string());
        assert_eq!(published, expected);
        assert_eq!(new_full_tiles(512, 300).count(), 0, "never backwards");
        assert_eq!(new_full_tiles(256, 256).count(), 0);
    }
}

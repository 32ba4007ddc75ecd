//! C2SP `tlog-tiles` resource paths and tile geometry
//! ([c2sp.org/tlog-tiles](https://c2sp.org/tlog-tiles)).
//!
//! `tile/<L>/<N>[.p/<W>]` is the `N`th tile of level `L` (256 hashes of level `8·L` nodes;
//! a partial tile holds `W` < 256); `tile/entries/<N>[.p/<W>]` is the matching entry bundle.
//! `N` is written as 3-digit path elements, all but the last prefixed with `x`
//! (1234067 → `x001/x234/067`). Parsing accepts only the canonical spelling, so one
//! resource has one path.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;
use tlog_tiles::{Hash, HashReader, stored_hash_index};

/// Hashes (or entries) in a full tile.
pub const TILE_WIDTH: u64 = 256;
/// Tree levels one tile level spans (C2SP tiles have height 8).
pub const TILE_HEIGHT: u8 = 8;
/// Highest tile level: level-8 hashes would span more than 2^64 leaves.
pub const MAX_TILE_LEVEL: u8 = 7;
/// Leaves a tile path may reach: a path whose tile covers leaves from 2^63 on is refused.
/// Stored-hash indexes of such leaves do not fit a `u64` (the index of leaf `n` is about
/// `2n`), so their geometry would overflow; no log comes near that size.
pub const MAX_LEAVES: u64 = 1 << 63;

/// A tile or entry bundle path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TilePath {
    /// A hash tile.
    Hashes {
        /// Tile level `L` (hashes of tree level `8·L`).
        level: u8,
        /// Tile index `N` within the level.
        index: u64,
        /// Number of hashes, 1..=256 (256 = full, no `.p/` suffix).
        width: u16,
    },
    /// An entry bundle (the data tile of level 0).
    Entries {
        /// Bundle index `N`: entries `256·N ..`.
        index: u64,
        /// Number of entries, 1..=256.
        width: u16,
    },
}

/// A path that is not a canonical C2SP tile path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("not a canonical tile path: {0:?}")]
pub struct BadTilePath(pub String);

impl TilePath {
    /// Width of the tile.
    pub fn width(self) -> u16 {
        match self {
            TilePath::Hashes { width, .. } | TilePath::Entries { width, .. } => width,
        }
    }

    /// Whether the tile is full (256 wide) and so immutable.
    pub fn is_full(self) -> bool {
        u64::from(self.width()) == TILE_WIDTH
    }

    /// The stored-hash indexes of a hash tile's hashes, in tile order (empty for bundles).
    pub fn stored_hash_indexes(self) -> Vec<u64> {
        match self {
            TilePath::Hashes {
                level,
                index,
                width,
            } => (0..u64::from(width))
                .map(|i| stored_hash_index(level * TILE_HEIGHT, index * TILE_WIDTH + i))
                .collect(),
            TilePath::Entries { .. } => Vec::new(),
        }
    }

    /// Reads a hash tile's data (concatenated 32-byte hashes) through `reader`.
    ///
    /// # Errors
    /// The reader's error when a hash is unavailable.
    pub fn read_hashes<R: HashReader>(self, reader: &R) -> Result<Vec<u8>, tlog_tiles::Error> {
        let hashes = reader.read_hashes(&self.stored_hash_indexes())?;
        Ok(hashes.iter().flat_map(|hash: &Hash| hash.0).collect())
    }

    /// Range of leaf indexes an entry bundle holds.
    pub fn entry_range(self) -> std::ops::Range<u64> {
        match self {
            TilePath::Entries { index, width } => {
                index * TILE_WIDTH..index * TILE_WIDTH + u64::from(width)
            }
            TilePath::Hashes { .. } => 0..0,
        }
    }
}

/// Every hash tile and entry bundle of a tree of `size` leaves, lowest level first.
pub fn tiles_for_size(size: u64) -> Vec<TilePath> {
    let mut tiles = Vec::new();
    let mut push_level = |count: u64, make: &dyn Fn(u64, u16) -> TilePath| {
        for index in 0..count.div_ceil(TILE_WIDTH) {
            let width = (count - index * TILE_WIDTH).min(TILE_WIDTH);
            // Invariant: width is 1..=256, which fits u16.
            tiles.push(make(index, width as u16));
        }
    };
    push_level(size, &|index, width| TilePath::Entries { index, width });
    for level in 0..=MAX_TILE_LEVEL {
        let count = size >> (u32::from(level) * u32::from(TILE_HEIGHT));
        if count == 0 {
            break;
        }
        push_level(count, &|index, width| TilePath::Hashes {
            level,
            index,
            width,
        });
    }
    tiles
}

/// The entry bundle holding leaf `leaf` in a tree of `size` leaves.
pub fn bundle_for_leaf(leaf: u64, size: u64) -> Option<TilePath> {
    if leaf >= size {
        return None;
    }
    let index = leaf / TILE_WIDTH;
    let width = (size - index * TILE_WIDTH).min(TILE_WIDTH);
    // Invariant: width is 1..=256.
    Some(TilePath::Entries {
        index,
        width: width as u16,
    })
}

fn write_index(f: &mut fmt::Formatter<'_>, index: u64) -> fmt::Result {
    let mut groups = Vec::new();
    let mut rest = index;
    loop {
        groups.push(rest % 1000);
        rest /= 1000;
        if rest == 0 {
            break;
        }
    }
    for (position, group) in groups.iter().rev().enumerate() {
        if position + 1 < groups.len() {
            write!(f, "x{group:03}/")?;
        } else {
            write!(f, "{group:03}")?;
        }
    }
    Ok(())
}

impl fmt::Display for TilePath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (index, width) = match *self {
            TilePath::Hashes {
                level,
                index,
                width,
            } => {
                write!(f, "tile/{level}/")?;
                (index, width)
            }
            TilePath::Entries { index, width } => {
                write!(f, "tile/entries/")?;
                (index, width)
            }
        };
        write_index(f, index)?;
        if u64::from(width) < TILE_WIDTH {
            write!(f, ".p/{width}")?;
        }
        Ok(())
    }
}

impl FromStr for TilePath {
    type Err = BadTilePath;

    /// Parses `tile/…` (with or without a leading `/`).
    fn from_str(path: &str) -> Result<TilePath, BadTilePath> {
        let bad = || BadTilePath(path.to_owned());
        let rest = path.strip_prefix('/').unwrap_or(path);
        let rest = rest.strip_prefix("tile/").ok_or_else(bad)?;
        let (kind, rest) = rest.split_once('/').ok_or_else(bad)?;
        let (index_part, width) = match rest.split_once(".p/") {
            Some((index_part, width)) => {
                let canonical = !width.is_empty()
                    && !width.starts_with('0')
                    && width.bytes().all(|b| b.is_ascii_digit());
                let width: u16 = width.parse().map_err(|_| bad())?;
                if !canonical || width == 0 || u64::from(width) >= TILE_WIDTH {
                    return Err(bad());
                }
                (index_part, width)
            }
            // Invariant: 256 fits u16.
            None => (rest, TILE_WIDTH as u16),
        };
        let index = parse_index(index_part).ok_or_else(bad)?;
        if kind == "entries" {
            if !within_max_leaves(0, index, width) {
                return Err(bad());
            }
            return Ok(TilePath::Entries { index, width });
        }
        let canonical_level =
            (kind == "0" || !kind.starts_with('0')) && kind.bytes().all(|b| b.is_ascii_digit());
        let level: u8 = kind.parse().map_err(|_| bad())?;
        if !canonical_level || level > MAX_TILE_LEVEL || !within_max_leaves(level, index, width) {
            return Err(bad());
        }
        Ok(TilePath::Hashes {
            level,
            index,
            width,
        })
    }
}

/// Whether the tile `index` of `width` at tile level `level` covers only leaves below
/// [`MAX_LEAVES`]: its last hash (or entry) is number `256·index + width − 1` of its level,
/// and each hash of tile level `L` spans `2^(8·L)` leaves.
fn within_max_leaves(level: u8, index: u64, width: u16) -> bool {
    index
        .checked_mul(TILE_WIDTH)
        .and_then(|first| first.checked_add(u64::from(width)))
        .is_some_and(|end| end <= MAX_LEAVES >> (u32::from(level) * u32::from(TILE_HEIGHT)))
}

/// Parses `x001/x234/067`, refusing non-canonical spellings (`x000/…`, missing `x`).
fn parse_index(text: &str) -> Option<u64> {
    let parts: Vec<&str> = text.split('/').collect();
    let (last, leading) = parts.split_last()?;
    let group = |part: &str| -> Option<u64> {
        (part.len() == 3 && part.bytes().all(|b| b.is_ascii_digit()))
            .then(|| part.parse().ok())
            .flatten()
    };
    let mut value: u64 = 0;
    for (position, part) in leading.iter().enumerate() {
        let digits = part.strip_prefix('x')?;
        let number = group(digits)?;
        if position == 0 && number == 0 {
            return None;
        }
        value = value.checked_mul(1000)?.checked_add(number)?;
    }
    value.checked_mul(1000)?.checked_add(group(last)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip_in_canonical_form() {
        let cases = [
            (
                TilePath::Hashes {
                    level: 0,
                    index: 1_234_067,
                    width: 256,
                },
                "tile/0/x001/x234/067",
            ),
            (
                TilePath::Hashes {
                    level: 1,
                    index: 0,
                    width: 3,
                },
                "tile/1/000.p/3",
            ),
            (
                TilePath::Entries {
                    index: 1234,
                    width: 255,
                },
                "tile/entries/x001/234.p/255",
            ),
        ];
        for (tile, path) in cases {
            assert_eq!(tile.to_string(), path);
            assert_eq!(path.parse::<TilePath>(), Ok(tile));
        }
    }

    #[test]
    fn non_canonical_paths_are_refused() {
        for path in [
            "tile/0/x000/001",
            "tile/0/1",
            "tile/0/001/234",
            "tile/00/001",
            "tile/8/001",
            "tile/0/001.p/0",
            "tile/0/001.p/256",
            "tile/0/001.p/07",
            "tile/entries/x1/001",
            "tile/0/",
            "tiles/0/001",
            "tile/0/x999/x999/x999/x999/x999/x999/x999/999",
        ] {
            assert!(path.parse::<TilePath>().is_err(), "{path}");
        }
    }

    /// Regression: `tile/entries/x018/x446/x744/x073/x709/x551/615` parsed, and
    /// its `entry_range` (which the node's tile handler reads first) overflowed: a panic in a
    /// debug build, a wrapped range naming another bundle in a release build. Paths whose
    /// tile reaches 2^63 leaves are refused now, and every path that parses has geometry
    /// that fits.
    #[test]
    fn paths_beyond_the_addressable_leaves_are_refused() {
        for path in [
            "tile/entries/x018/x446/x744/x073/x709/x551/615",
            "tile/0/x018/x446/x744/x073/x709/x551/615",
            "tile/entries/x036/x028/x797/x018/x963/968.p/1",
            "tile/0/x036/x028/x797/x018/x963/968.p/1",
            "tile/1/x140/x737/x488/x355/328.p/1",
            "tile/7/000.p/129",
            "tile/7/000",
        ] {
            assert!(path.parse::<TilePath>().is_err(), "{path}");
        }
        // The last tiles below 2^63 leaves (2^63 = 256 · 36028797018963968).
        for path in [
            "tile/entries/x036/x028/x797/x018/x963/967",
            "tile/0/x036/x028/x797/x018/x963/967",
            "tile/1/x140/x737/x488/x355/327",
            "tile/7/000.p/128",
        ] {
            let tile: TilePath = path.parse().unwrap_or_else(|_| panic!("{path}"));
            assert_eq!(tile.to_string(), path);
            let range = tile.entry_range();
            assert!(range.end <= MAX_LEAVES, "{path}");
            let indexes = tile.stored_hash_indexes();
            assert!(indexes.windows(2).all(|pair| pair[0] < pair[1]), "{path}");
        }
    }

    #[test]
    fn tiles_for_size_covers_every_level() {
        let tiles = tiles_for_size(256 * 256 + 5);
        assert!(tiles.contains(&TilePath::Entries {
            index: 256,
            width: 5
        }));
        assert!(tiles.contains(&TilePath::Hashes {
            level: 1,
            index: 0,
            width: 256
        }));
        assert!(tiles.contains(&TilePath::Hashes {
            level: 2,
            index: 0,
            width: 1
        }));
        assert!(tiles_for_size(0).is_empty());
    }
}

//! The operator-facing limits a node is started with (`registry-node serve` flags): how
//! often an operator may search by full ID number, how many status-list slots an
//! issuer may hold reserved and unused, and the free disk space below which the node calls
//! itself unhealthy. Defaults are documented in docs/security.md.

use crate::reservations::DEFAULT_MAX_RESERVED_SLOTS;

/// Searches by full ID number one operator may make at once (the token bucket's size).
pub const DEFAULT_ID_SEARCH_BURST: u32 = 10;
/// Searches by full ID number one operator regains per hour (the bucket's refill).
pub const DEFAULT_ID_SEARCH_PER_HOUR: u32 = 60;

/// The limits of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PolicyConfig {
    /// Searches by full ID number an operator may make in a row.
    pub id_search_burst: u32,
    /// Searches by full ID number an operator regains per hour after that.
    pub id_search_per_hour: u32,
    /// Unused reserved status-list slots one issuer may hold.
    pub max_reserved_slots: u64,
    /// Whether the VC-API's open issuer signs general W3C credentials (see
    /// [`crate::open_issuer`]); off by default.
    pub open_issuer: bool,
    /// Free bytes on the data directory's filesystem below which `GET /healthz` reports
    /// `disk_low`.
    pub min_free_disk_bytes: u64,
}

impl Default for PolicyConfig {
    fn default() -> PolicyConfig {
        PolicyConfig {
            id_search_burst: DEFAULT_ID_SEARCH_BURST,
            id_search_per_hour: DEFAULT_ID_SEARCH_PER_HOUR,
            max_reserved_slots: DEFAULT_MAX_RESERVED_SLOTS,
            open_issuer: false,
            min_free_disk_bytes: crate::health::DEFAULT_MIN_FREE_DISK_BYTES,
        }
    }
}

//! The registry gate held across signing, admission and append.

use super::IssuanceService;

/// The registry gate held across signing, admission and append: shared for talent
/// credentials, exclusive for anything that changes the issuer history or a status.
pub(super) struct Gate<'a> {
    _shared: Option<tokio::sync::RwLockReadGuard<'a, ()>>,
    _exclusive: Option<tokio::sync::RwLockWriteGuard<'a, ()>>,
    /// Whether this task holds the gate alone.
    pub(super) exclusive: bool,
}

impl IssuanceService {
    /// Waits for the gate: alone when `exclusive`, shared with other talent credentials
    /// otherwise.
    pub(super) async fn enter(&self, exclusive: bool) -> Gate<'_> {
        if exclusive {
            Gate {
                _shared: None,
                _exclusive: Some(self.issuers.gate.write().await),
                exclusive,
            }
        } else {
            Gate {
                _shared: Some(self.issuers.gate.read().await),
                _exclusive: None,
                exclusive,
            }
        }
    }
}

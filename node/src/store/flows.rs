//! Counts of recognition answers per (from region, to region, type, outcome): aggregates
//! only, nothing about the person asked about.

use super::families::CF_RECOGNITION_FLOWS;
use super::{Store, StoreError};

impl Store {
    /// Adds one recognition answer to the flow counts (not synced: a count lost in a crash
    /// is not worth a disk flush per question).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn count_recognition(
        &self,
        from: &str,
        to: &str,
        credential_type: &str,
        outcome: &str,
    ) -> Result<(), StoreError> {
        let key = format!("{from}\u{1f}{to}\u{1f}{credential_type}\u{1f}{outcome}");
        let cf = self.cf(CF_RECOGNITION_FLOWS)?;
        let _guard = self
            .counters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let count = match self.db.get_cf(cf, &key)? {
            Some(bytes) => u64::from_be_bytes(bytes.as_slice().try_into().map_err(|_| {
                StoreError::Corrupt {
                    key: format!("recognition_flows/{key}"),
                    reason: "not 8 bytes".into(),
                }
            })?),
            None => 0,
        };
        self.db.put_cf(cf, &key, (count + 1).to_be_bytes())?;
        Ok(())
    }

    /// Every recognition flow count: ((from, to, type, outcome), count).
    ///
    /// # Errors
    /// [`StoreError::Engine`], [`StoreError::Corrupt`].
    pub fn recognition_flows(&self) -> Result<Vec<([String; 4], u64)>, StoreError> {
        let mut flows = Vec::new();
        for item in self
            .db
            .iterator_cf(self.cf(CF_RECOGNITION_FLOWS)?, rocksdb::IteratorMode::Start)
        {
            let (key, value) = item?;
            let corrupt = || StoreError::Corrupt {
                key: format!("recognition_flows/{}", String::from_utf8_lossy(&key)),
                reason: "not from/to/type/outcome -> count".into(),
            };
            let text = std::str::from_utf8(&key).map_err(|_| corrupt())?;
            let parts: Vec<String> = text.split('\u{1f}').map(str::to_owned).collect();
            let parts: [String; 4] = parts.try_into().map_err(|_| corrupt())?;
            let count = u64::from_be_bytes(value.as_ref().try_into().map_err(|_| corrupt())?);
            flows.push((parts, count));
        }
        Ok(flows)
    }
}

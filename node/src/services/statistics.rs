//! The published statistics: the credential counts brought up to date and the recognition
//! flows, aggregate counts only (how they are disclosed is `talent_core::statistics`).

use std::sync::Arc;

use crate::statistics::{CredentialStatistics, StatisticsSnapshot};
use crate::store::{Store, StoreError};

/// A recognition flow: (from region, to region, credential type, outcome) and its count.
pub type RecognitionFlow = ([String; 4], u64);

/// Why the statistics cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum StatisticsError {
    /// Reading the store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The blocking task reading them failed.
    #[error("statistics task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// The credential counts brought up to date (reads the store off the async runtime).
///
/// # Errors
/// [`StatisticsError`].
pub async fn current(
    statistics: Arc<CredentialStatistics>,
) -> Result<StatisticsSnapshot, StatisticsError> {
    Ok(tokio::task::spawn_blocking(move || statistics.current()).await??)
}

/// How often this node answered each recognition question (from region, to region, type,
/// outcome), read off the async runtime.
///
/// # Errors
/// [`StatisticsError`].
pub async fn recognition_flows(store: Arc<Store>) -> Result<Vec<RecognitionFlow>, StatisticsError> {
    Ok(tokio::task::spawn_blocking(move || store.recognition_flows()).await??)
}

//! Operator administration: `POST /api/v1/admin/backup` (admin), an online backup of the
//! running node into a directory on its machine (`crate::backup`).

use std::path::PathBuf;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiError, AppJson};
use crate::backup::BackupRequestError;
use crate::issuance::AccessError;
use crate::state::AppState;
use crate::tokens::{Operator, Role};

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/admin/backup", post(backup))
}

/// The body of `POST /api/v1/admin/backup`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackupRequest {
    /// The new directory, absolute, inside the node's `--backup-dir`.
    to: PathBuf,
}

/// `POST /api/v1/admin/backup` with `{"to": "/abs/dir"}` (admin): writes and verifies a
/// backup, then answers 201 with its manifest (without the file list). 409
/// `backup_in_progress` while another runs, 409 `backup_target_not_empty`, 403
/// `backup_target_refused` outside `--backup-dir`.
async fn backup(
    State(state): State<AppState>,
    operator: Operator,
    AppJson(body): AppJson<Value>,
) -> Result<(StatusCode, AppJson<Value>), ApiError> {
    let operator = state.tokens.recheck(&operator).map_err(ApiError::Token)?;
    if operator.role != Role::Admin {
        return Err(ApiError::Access(AccessError::Role {
            role: operator.role,
            action: "back up the node (admin only)",
        }));
    }
    let request: BackupRequest =
        serde_json::from_value(body).map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    let backups = std::sync::Arc::clone(&state.backups);
    let to = request.to.clone();
    let manifest = tokio::task::spawn_blocking(move || backups.back_up(&to))
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(|error| match error {
            BackupRequestError::InProgress => ApiError::BackupInProgress,
            BackupRequestError::Target(reason) => ApiError::BackupTarget(reason),
            BackupRequestError::Backup(error) => ApiError::Backup(error),
        })?;
    tracing::info!(
        operator = %operator.token_id,
        to = %request.to.display(),
        size = manifest.log.size,
        "backup written"
    );
    Ok((
        StatusCode::CREATED,
        AppJson(json!({
            "backup": request.to,
            "formatVersion": manifest.format_version,
            "member": manifest.member,
            "created": manifest.created,
            "log": manifest.log,
            "files": manifest.files.len(),
        })),
    ))
}

//! Verification endpoints: the registry's own `POST /api/v1/verify` and the VC-API
//! compatible `POST /credentials/verify`. Both run the one pipeline of `talent_core::verify`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use serde_json::Value;
use talent_core::identifiers::CredentialId;
use talent_core::schema::SchemaKind;
use talent_core::tlog::merkle::InclusionProof;
use talent_core::verify::{LogContext, LogEvidence, Verdict, VerifyOptions, verify_credential};

use super::error::{ApiError, AppJson};
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verify", post(verify))
        .route("/credentials/verify", post(verify_vc_api))
}

/// The log evidence this node holds for a presented credential: an inclusion proof under
/// its current checkpoint when the credential is one of its own entries.
enum Evidence {
    Found {
        checkpoint: std::sync::Arc<Vec<u8>>,
        proof: InclusionProof,
    },
    Missing(String),
}

fn find_evidence(state: &AppState, credential: &Value) -> Result<Evidence, ApiError> {
    let issuer = credential["issuer"].as_str().unwrap_or_default();
    if issuer != state.member.authority_did.to_string() {
        return Ok(Evidence::Missing(format!(
            "issuer {issuer} is not this member's authority, and this node mirrors no other logs"
        )));
    }
    let Some(id) = credential["id"]
        .as_str()
        .and_then(|id| id.parse::<CredentialId>().ok())
    else {
        return Ok(Evidence::Missing("the credential has no valid id".into()));
    };
    let Some(index) = state.store.credential_index(id)? else {
        return Ok(Evidence::Missing(format!(
            "{id} is not in {}",
            state.log.origin()
        )));
    };
    let (head, proof) = state
        .log
        .inclusion_proof(index)
        .map_err(|error| ApiError::Internal(error.into()))?;
    Ok(Evidence::Found {
        checkpoint: head.checkpoint,
        proof,
    })
}

async fn run_pipeline(state: &AppState, credential: Value) -> Result<Verdict, ApiError> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || {
        let evidence = find_evidence(&state, &credential)?;
        let log = match &evidence {
            Evidence::Found { checkpoint, proof } => LogContext::Evidence(LogEvidence {
                origin: &state.member.log_origin,
                log_vkey: &state.member.log_vkey,
                checkpoint,
                proof,
            }),
            Evidence::Missing(reason) => LogContext::Missing(reason.clone()),
        };
        let options = VerifyOptions {
            now: Utc::now(),
            schemas: &state.schemas,
            log,
        };
        Ok(verify_credential(&credential, &options))
    })
    .await
    .map_err(|error| ApiError::Internal(error.into()))?
}

/// `POST /api/v1/verify` with `{"credential": …}`: 200 with the verdict, whatever it says.
async fn verify(
    State(state): State<AppState>,
    AppJson(body): AppJson<Value>,
) -> Result<AppJson<Verdict>, ApiError> {
    state
        .schemas
        .validate(SchemaKind::VerifyRequest, &body)
        .map_err(ApiError::SchemaViolation)?;
    Ok(AppJson(
        run_pipeline(&state, body["credential"].clone()).await?,
    ))
}

/// `POST /credentials/verify` (W3C VC-API) with `{"verifiableCredential": …}`: 200 when
/// verified, 400 with the same verdict body when not.
async fn verify_vc_api(
    State(state): State<AppState>,
    AppJson(body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(credential) = body.get("verifiableCredential").filter(|c| c.is_object()) else {
        return Err(ApiError::InvalidJson(
            "body must be {\"verifiableCredential\": {…}}".into(),
        ));
    };
    let verdict = run_pipeline(&state, credential.clone()).await?;
    let status = if verdict.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, AppJson(verdict)))
}

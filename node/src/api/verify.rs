//! Verification endpoints: the registry's own `POST /api/v1/verify` and the VC-API
//! compatible `POST /credentials/verify`. Both run the one pipeline of `talent_core::verify`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use chrono::Utc;
use serde_json::Value;
use talent_core::schema::SchemaKind;
use talent_core::verify::{Verdict, VerifyOptions, verify_credential};

use super::error::{ApiError, AppJson};
use crate::state::AppState;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verify", post(verify))
        .route("/credentials/verify", post(verify_vc_api))
}

fn run_pipeline(state: &AppState, credential: &Value) -> Verdict {
    let options = VerifyOptions {
        now: Utc::now(),
        schemas: &state.schemas,
    };
    verify_credential(credential, &options)
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
    Ok(AppJson(run_pipeline(&state, &body["credential"])))
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
    let verdict = run_pipeline(&state, credential);
    let status = if verdict.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, AppJson(verdict)))
}

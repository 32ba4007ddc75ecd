//! Verification endpoints: the registry's own `POST /api/v1/verify` and the VC-API
//! compatible `POST /credentials/verify`. Both parse the request and ask
//! [`crate::services::verification`], which verifies concurrent requests on one server
//! thread together.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::post;
use serde_json::Value;
use talent_core::schema::SchemaKind;
use talent_core::verify::Verdict;

use super::error::{ApiError, AppJson};
use crate::services::verification::{self, Answer};
use crate::state::AppState;

/// Routes of this resource. Both verify through the node's one batch scheduler
/// (`AppState::verifier`), which the console shares.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/verify", post(verify))
        .route("/credentials/verify", post(verify_vc_api))
}

/// `POST /api/v1/verify` with `{"credential": …, "asRegion"?: ID}`: 200 with the verdict,
/// whatever it says; with `asRegion`, the verdict also answers whether the credential is
/// recognised in that region (`recognition`).
async fn verify(
    State(state): State<AppState>,
    AppJson(mut body): AppJson<Value>,
) -> Result<AppJson<VerifyAnswer>, ApiError> {
    state
        .schemas
        .validate(SchemaKind::VerifyRequest, &body)
        .map_err(ApiError::SchemaViolation)?;
    let require_quorum = body["requireQuorum"].as_bool().unwrap_or(false);
    let credential = body
        .get_mut("credential")
        .map(Value::take)
        .unwrap_or_default();
    let region = body["asRegion"].as_str().map(str::to_owned);
    let Answer {
        verdict,
        recognition,
    } = verification::answer(
        &state.verifier,
        state.verification_sources(),
        credential,
        require_quorum,
        region,
    )
    .await?;
    Ok(AppJson(VerifyAnswer {
        verdict,
        recognition,
    }))
}

/// The body of `POST /api/v1/verify`: the verdict's members, and `recognition` when a
/// region was asked about. Written straight to the response, not built as a `Value` first.
#[derive(Debug, serde::Serialize)]
struct VerifyAnswer {
    #[serde(flatten)]
    verdict: Verdict,
    #[serde(skip_serializing_if = "Option::is_none")]
    recognition: Option<talent_core::recognition::Recognition>,
}

/// `POST /credentials/verify` (W3C VC-API) with `{"verifiableCredential": …}`: 200 when
/// verified, 400 with the same verdict body when not.
async fn verify_vc_api(
    State(state): State<AppState>,
    AppJson(mut body): AppJson<Value>,
) -> Result<impl IntoResponse, ApiError> {
    let Some(credential) = body
        .get_mut("verifiableCredential")
        .filter(|c| c.is_object())
    else {
        return Err(ApiError::InvalidJson(
            "body must be {\"verifiableCredential\": {…}}".into(),
        ));
    };
    let verdict = verification::verdict(
        &state.verifier,
        state.verification_sources(),
        credential.take(),
        false,
    )
    .await?;
    let status = if verdict.verified {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok((status, AppJson(verdict)))
}

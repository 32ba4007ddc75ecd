//! The registry's verification endpoint, `POST /api/v1/verify` (the VC-API's are in
//! [`super::vc_api`]). It parses the request and asks [`crate::services::verification`],
//! which verifies concurrent requests on one server thread together.

use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde_json::Value;
use talent_core::schema::SchemaKind;
use talent_core::verify::Verdict;

use super::error::{ApiError, AppJson};
use crate::services::query_log::{Channel, Inquiry};
use crate::services::verification::{self, Answer};
use crate::state::AppState;

/// Routes of this resource. It verifies through the node's one batch scheduler
/// (`AppState::verifier`), which the console shares.
pub fn routes() -> Router<AppState> {
    Router::new().route("/api/v1/verify", post(verify))
}

/// `POST /api/v1/verify` with `{"credential": …, "asRegion"?: ID, "verifier"?: name,
/// "purpose"?: text}`: 200 with the verdict, whatever it says; with `asRegion`, the verdict
/// also answers whether the credential is recognised in that region (`recognition`). The
/// verifier and purpose go to the credential's query log, which its holder reads.
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
    let inquiry = Inquiry::new(
        body["verifier"].as_str(),
        body["purpose"].as_str(),
        Channel::Api,
    )?;
    let Answer {
        verdict,
        recognition,
    } = verification::answer(
        &state.verifier,
        state.verification_sources(),
        credential,
        require_quorum,
        region,
        &inquiry,
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

//! Operator authentication: the [`Operator`] extractor reads `Authorization: Bearer trt_…`
//! and checks it against the node's token file. Handlers that take an `Operator` refuse
//! anonymous callers with 401 before they run.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;

use super::error::ApiError;
use crate::state::AppState;
use crate::tokens::Operator;

impl FromRequestParts<AppState> for Operator {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Operator, ApiError> {
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        state.tokens.authenticate(header).map_err(ApiError::Token)
    }
}

//! The HTTP API: one module per resource, each with `fn routes() -> Router<AppState>`.

pub mod auth;
pub mod credentials;
pub mod error;
pub mod federation;
pub mod issuers;
pub mod log;
pub mod meta;
pub mod statistics;
pub mod status_lists;
pub mod verify;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{StatusCode, Uri};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use self::error::{ApiError, DEFAULT_BODY_LIMIT_BYTES};
use crate::state::AppState;

/// How long one request may take before the node answers 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The node's whole HTTP application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(meta::routes())
        .merge(credentials::routes())
        .merge(verify::routes())
        .merge(log::routes())
        .merge(federation::routes())
        .merge(issuers::routes())
        .merge(status_lists::routes())
        .merge(statistics::routes())
        .merge(crate::console::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

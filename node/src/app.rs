//! The node's whole HTTP application: the API's resources and the console's pages on one
//! router, with the limits every request shares. Apart from both so that neither names the
//! other (the console draws pages from the API's errors).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::api::error::DEFAULT_BODY_LIMIT_BYTES;
use crate::state::AppState;

/// How long one request may take before the node answers 408.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The node's whole HTTP application.
pub fn app(state: AppState) -> Router {
    crate::api::routes()
        .merge(crate::console::routes())
        .fallback(crate::api::not_found)
        .method_not_allowed_fallback(crate::api::method_not_allowed)
        .layer(DefaultBodyLimit::max(DEFAULT_BODY_LIMIT_BYTES))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        // tower-http's events (its access lines at debug, `response failed` for a 5xx at
        // error) in `observe`'s request span; its own span is dropped, as it would log the
        // path and query as sent.
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|_: &axum::http::Request<axum::body::Body>| tracing::Span::none()),
        )
        // Outermost, so timeouts and refused bodies are counted and carry the request id.
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(state.metrics.http.clone()),
            crate::observe::observe,
        ))
        .with_state(state)
}

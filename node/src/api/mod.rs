//! The HTTP API: one module per resource, each with `fn routes() -> Router<AppState>`.

pub mod admin;
pub mod auth;
pub mod credentials;
pub mod error;
pub mod federation;
pub mod holder;
pub mod issuers;
pub mod log;
pub mod meta;
pub mod monitoring;
pub mod statistics;
pub mod status_lists;
pub mod vc_api;
pub mod verify;
pub mod wallets;

use axum::Router;
use axum::http::Uri;

use self::error::ApiError;
use crate::state::AppState;

/// Every resource's routes (the `app` module adds the console's and the fallbacks).
pub fn routes() -> Router<AppState> {
    Router::new()
        .merge(meta::routes())
        .merge(admin::routes())
        .merge(monitoring::routes())
        .merge(credentials::routes())
        .merge(verify::routes())
        .merge(vc_api::routes())
        .merge(holder::routes())
        .merge(log::routes())
        .merge(federation::routes())
        .merge(issuers::routes())
        .merge(status_lists::routes())
        .merge(statistics::routes())
        .merge(wallets::routes())
}

/// What a path no route matches gets: 404 `route_not_found`.
pub async fn not_found(uri: Uri) -> ApiError {
    ApiError::RouteNotFound(uri.path().to_owned())
}

/// What a method a route does not take gets: 405 `method_not_allowed`.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

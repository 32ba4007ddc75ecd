//! `/api/v1/statistics`: aggregate counts only, never personal data. Every count goes
//! through `talent_core::statistics::disclosed`: one below
//! [`SMALL_COUNT_THRESHOLD`] is `null` with `"suppressed": true` (shown as "<5"), so that no
//! small group can be singled out.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use talent_core::credential::CredentialType;
use talent_core::statistics::{CredentialCounts, Dimension, SMALL_COUNT_THRESHOLD, disclosed};

use super::error::{ApiError, AppJson};
use crate::state::AppState;
use crate::statistics::StatisticsSnapshot;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/statistics/recognition-flows",
            get(recognition_flows),
        )
        .route("/api/v1/statistics/credentials", get(credentials))
}

/// A count as published: `{"count": n|null, "suppressed": bool}` fields.
fn count_fields(count: u64) -> (Value, bool) {
    match disclosed(count) {
        Some(count) => (json!(count), false),
        None => (Value::Null, true),
    }
}

/// `GET /api/v1/statistics/recognition-flows`: how often this node answered a recognition
/// question, per (from region, to region, credential type, outcome).
async fn recognition_flows(State(state): State<AppState>) -> Result<AppJson<Value>, ApiError> {
    let store = state.store.clone();
    let flows = tokio::task::spawn_blocking(move || store.recognition_flows())
        .await
        .map_err(|error| ApiError::Internal(error.into()))??;
    let flows: Vec<Value> = flows
        .into_iter()
        .map(|([from, to, credential_type, outcome], count)| {
            let (count, suppressed) = count_fields(count);
            json!({
                "from": from,
                "to": to,
                "type": credential_type,
                "outcome": outcome,
                "count": count,
                "suppressed": suppressed,
            })
        })
        .collect();
    Ok(AppJson(json!({
        "suppressBelow": SMALL_COUNT_THRESHOLD,
        "flows": flows,
    })))
}

/// `?format=json|csv` (JSON when absent).
#[derive(Debug, serde::Deserialize)]
struct CredentialsQuery {
    format: Option<String>,
}

/// `GET /api/v1/statistics/credentials[?format=csv]`: talent credentials of the own log and
/// the verified prefix of every mirror, per region, type, category, level and month.
async fn credentials(
    State(state): State<AppState>,
    Query(query): Query<CredentialsQuery>,
) -> Result<Response, ApiError> {
    let csv = match query.format.as_deref() {
        None | Some("json") => false,
        Some("csv") => true,
        Some(other) => {
            return Err(ApiError::InvalidSubmission {
                code: "invalid_format",
                message: format!("format {other:?} is not json or csv"),
            });
        }
    };
    let snapshot = current(&state).await?;
    if csv {
        let body = talent_forms::statistics_csv::counts_csv(&snapshot.counts)
            .map_err(|error| ApiError::Internal(error.into()))?;
        let filename = format!(
            "credential-statistics-{}.csv",
            snapshot.as_of.format("%Y%m%dT%H%M%SZ")
        );
        return Ok((
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{filename}\""),
                ),
            ],
            body,
        )
            .into_response());
    }
    Ok(AppJson(credentials_json(&snapshot)).into_response())
}

/// The counts brought up to date (reads the store off the async runtime).
pub async fn current(state: &AppState) -> Result<StatisticsSnapshot, ApiError> {
    let statistics = state.statistics.clone();
    tokio::task::spawn_blocking(move || statistics.current())
        .await
        .map_err(|error| ApiError::Internal(error.into()))?
        .map_err(ApiError::from)
}

/// The JSON body of `GET /api/v1/statistics/credentials`.
pub fn credentials_json(snapshot: &StatisticsSnapshot) -> Value {
    let counts = &snapshot.counts;
    let (total, total_suppressed) = count_fields(counts.total());
    let rollup = |dimension: Dimension, name: &str| -> Vec<Value> {
        counts
            .by(dimension)
            .into_iter()
            .map(|(value, count)| {
                let (count, suppressed) = count_fields(count);
                let mut item = json!({name: value, "count": count, "suppressed": suppressed});
                if dimension == Dimension::Type
                    && let Ok(credential_type) = value.parse::<CredentialType>()
                {
                    item["label"] = credential_type.label_zh().into();
                }
                item
            })
            .collect()
    };
    let by_region_and_type: Vec<Value> = counts
        .by_region_and_type()
        .into_iter()
        .map(|((region, credential_type), count)| {
            let (count, suppressed) = count_fields(count);
            json!({"region": region, "type": credential_type, "count": count,
                   "suppressed": suppressed})
        })
        .collect();
    json!({
        "asOf": talent_core::credential::format_datetime(snapshot.as_of),
        "threshold": SMALL_COUNT_THRESHOLD,
        "total": total,
        "totalSuppressed": total_suppressed,
        "coverage": coverage(&snapshot.covered),
        "byRegion": rollup(Dimension::Region, "region"),
        "byType": rollup(Dimension::Type, "type"),
        "byCategory": rollup(Dimension::Category, "category"),
        "byLevel": rollup(Dimension::Level, "level"),
        "byMonth": rollup(Dimension::Month, "month"),
        "byRegionAndType": by_region_and_type,
        "rows": rows(counts),
    })
}

/// Which logs the counts cover: `[{member, entries}]` (entries counted, of every kind).
fn coverage(covered: &BTreeMap<String, u64>) -> Vec<Value> {
    covered
        .iter()
        .map(|(member, entries)| json!({"member": member, "entries": entries}))
        .collect()
}

fn rows(counts: &CredentialCounts) -> Vec<Value> {
    counts
        .rows()
        .map(|(facets, count)| {
            let (count, suppressed) = count_fields(count);
            json!({
                "region": facets.region,
                "type": facets.credential_type,
                "category": facets.category,
                "level": facets.level,
                "month": facets.month,
                "count": count,
                "suppressed": suppressed,
            })
        })
        .collect()
}

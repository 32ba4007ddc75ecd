//! Who the node is and what it speaks: member identity, JSON Schemas and the JSON-LD
//! context. (Health and metrics: [`super::monitoring`].)

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use serde_json::{Value, json};
use talent_core::schema;
use talent_integrity::did::KeyKind;
use talent_integrity::proof::Cryptosuite;

use super::error::{ApiError, AppJson};
use crate::state::AppState;
use crate::tokens::Operator;

/// Routes of this resource.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/member", get(member))
        .route(
            "/api/v1/member/authority-key:rotate",
            post(rotate_authority_key),
        )
        .route("/schemas/{*path}", get(schema_document))
        .route("/ns/v1", get(context))
}

/// `GET /api/v1/member`: the identity (the authority DID is its first key), the key the
/// authority signs with now, and the public URL its credentials name the context and
/// schemas under.
async fn member(State(state): State<AppState>) -> AppJson<Value> {
    let mut identity = json!(state.member.as_ref());
    identity["authorityKey"] = json!(state.issuance.authority_did().to_string());
    identity["publicUrl"] = json!(state.public_url.as_ref());
    let own = state.issuers.own();
    identity["formerPublicUrls"] = json!(
        own.namespaces()
            .iter()
            .skip(1)
            .map(|namespace| namespace.base_url())
            .collect::<Vec<_>>()
    );
    if let Some(open) = &state.open_issuer {
        identity["openIssuer"] = json!(open.did().to_string());
    }
    AppJson(identity)
}

/// The optional body of a rotation: the suite the new key signs with.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    cryptosuite: Option<String>,
}

/// The kind of key a rotation body asks for; `None` (the current kind) for no body.
fn rotation_kind(body: &[u8]) -> Result<Option<KeyKind>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: RotateBody =
        serde_json::from_slice(body).map_err(|error| ApiError::InvalidJson(error.to_string()))?;
    body.cryptosuite
        .map(|name| {
            Cryptosuite::from_name(&name)
                .map(Cryptosuite::key_kind)
                .ok_or(ApiError::UnknownCryptosuite(name))
        })
        .transpose()
}

/// `POST /api/v1/member/authority-key:rotate` (admin): a new authority key, logged as an
/// `IssuerKeyRotation` signed by the old one. An optional body
/// `{"cryptosuite": "sm2-jcs-2025"}` (or `eddsa-jcs-2022`) chooses the new key's suite;
/// without it the new key is of the current key's kind.
async fn rotate_authority_key(
    State(state): State<AppState>,
    operator: Operator,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let kind = rotation_kind(&body)?;
    let issued = state.issuance.rotate_authority(&operator, kind).await?;
    Ok((
        StatusCode::CREATED,
        AppJson(json!({
            "authorityKey": state.issuance.authority_did().to_string(),
            "rotation": issued.credential,
            "log": {"index": issued.log.index},
        })),
    ))
}

/// `GET /schemas/<path>`: the JSON Schemas the node validates with, each with this node's
/// URL as its `$id` (the `credentialSchema.id` its credentials name), so that the relative
/// `$ref`s between them resolve here.
async fn schema_document(
    State(state): State<AppState>,
    Path(path): Path<String>,
) -> Result<impl IntoResponse, ApiError> {
    let namespace = state.issuers.own();
    let content_type = if path.ends_with(".jsonld") {
        "application/ld+json"
    } else {
        "application/schema+json"
    };
    schema::served_document(&path, namespace.namespace())
        .map(|text| ([(header::CONTENT_TYPE, content_type)], text))
        .ok_or(ApiError::RouteNotFound(format!("/schemas/{path}")))
}

/// `GET /ns/v1`: the project's JSON-LD context.
async fn context() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/ld+json")],
        schema::CONTEXT_V1,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rotation_body_names_the_new_key_suite_or_is_refused() {
        assert!(matches!(rotation_kind(b""), Ok(None)));
        assert!(matches!(rotation_kind(b"{}"), Ok(None)));
        assert!(matches!(
            rotation_kind(br#"{"cryptosuite": "sm2-jcs-2025"}"#),
            Ok(Some(KeyKind::Sm2))
        ));
        assert!(matches!(
            rotation_kind(br#"{"cryptosuite": "eddsa-jcs-2022"}"#),
            Ok(Some(KeyKind::Ed25519))
        ));
        let unknown = rotation_kind(br#"{"cryptosuite": "ecdsa-rdfc-2019"}"#).expect_err("refused");
        assert_eq!(unknown.code(), "unknown_cryptosuite");
        assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
        for bad in [
            &br#"{"suite": "sm2-jcs-2025"}"#[..],
            b"[",
            br#"{"cryptosuite": 1}"#,
        ] {
            assert_eq!(
                rotation_kind(bad).expect_err("refused").code(),
                "invalid_json"
            );
        }
    }
}

//! The W3C VC-API (`w3c/vcalm`) at this node: issuing (registry types through the
//! authority's issuance, other W3C credentials through the open issuer when enabled),
//! verifying any credential or presentation with the general checks plus, for registry
//! credentials, the registry's own, and changing a credential's status.

use serde::Serialize;
use serde_json::{Map, Value, json};
use talent_core::credential::CredentialType;
use talent_core::status_list::StatusEntry;
use talent_core::verify::{Check, CheckName, Verdict};
use talent_core::w3c::verify::{self as w3c, PresentationOptions};

use crate::issuance::{AccessError, IssueError};
use crate::open_issuer::OpenIssuerError;
use crate::services::query_log::{Channel, Inquiry, QueryLogError};
use crate::services::verification::{self, VerificationError};
use crate::state::AppState;
use crate::tokens::{Operator, Role};

/// Why a VC-API request was refused (besides the registry's own issuance errors).
#[derive(Debug, thiserror::Error)]
pub enum VcApiError {
    /// The body does not have the shape the endpoint takes.
    #[error("{0}")]
    Shape(&'static str),
    /// A credential of no registry type while the open issuer is off.
    #[error(
        "this node issues only the registry's credential types ({0}); general W3C credentials need the open issuer (serve --open-issuer)"
    )]
    UnsupportedType(String),
    /// A registry credential request with a member the registry does not take.
    #[error("a registry credential request may not carry `{0}`: the node sets it")]
    UnexpectedMember(String),
    /// `options.checks` names a check this verifier does not know.
    #[error("unknown check {0:?}")]
    UnknownCheck(String),
    /// The open issuer refused.
    #[error(transparent)]
    OpenIssuer(#[from] OpenIssuerError),
    /// The operator's role may not do this.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// The registry's issuance or status change refused, or failed.
    #[error(transparent)]
    Issue(#[from] IssueError),
    /// The registry's verification could not answer.
    #[error(transparent)]
    Verification(#[from] VerificationError),
    /// The verifier's inquiry is out of bounds.
    #[error(transparent)]
    Inquiry(#[from] QueryLogError),
    /// `credentialId` is not a credential id.
    #[error("{0:?} is not a credential id (urn:uuid:<uuid> or <uuid>)")]
    InvalidCredentialId(String),
    /// A blocking task of the request failed.
    #[error("a blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl VcApiError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            VcApiError::Shape(_) => "invalid_request",
            VcApiError::UnsupportedType(_) => "unsupported_credential_type",
            VcApiError::UnexpectedMember(_) => "unexpected_member",
            VcApiError::UnknownCheck(_) => "unknown_check",
            VcApiError::OpenIssuer(error) => match error {
                OpenIssuerError::DataModel(_) => "data_model",
                OpenIssuerError::IssuerMismatch(_) => "issuer_mismatch",
                OpenIssuerError::Proof(_) => "already_signed",
                OpenIssuerError::JsonLd(_) => "json_ld",
                OpenIssuerError::Cryptosuite(_) => "unknown_cryptosuite",
                OpenIssuerError::ListFull => "status_list_full",
                OpenIssuerError::UnknownIndex(_) => "unknown_status_index",
                OpenIssuerError::Store(_) => "internal",
            },
            // Answered with the codes of the errors they carry (`ApiError`).
            VcApiError::Access(_)
            | VcApiError::Issue(_)
            | VcApiError::Verification(_)
            | VcApiError::Inquiry(_)
            | VcApiError::InvalidCredentialId(_)
            | VcApiError::Task(_) => "see_cause",
        }
    }
}

/// Members a VC-API issue request for a registry type may carry; `credentialSubject`,
/// `validFrom` and `validUntil` go to the issuance request, the rest must agree with what
/// the node sets.
const REGISTRY_REQUEST_MEMBERS: [&str; 6] = [
    "@context",
    "type",
    "issuer",
    "credentialSubject",
    "validFrom",
    "validUntil",
];

/// `POST /credentials/issue`: the signed credential.
///
/// # Errors
/// [`VcApiError`] and the registry's issuance errors.
pub async fn issue(
    state: &AppState,
    operator: &Operator,
    body: &Value,
) -> Result<Value, VcApiError> {
    let credential = body
        .get("credential")
        .and_then(Value::as_object)
        .ok_or(VcApiError::Shape(
            "body must be {\"credential\": {…}, \"options\"?: {…}}",
        ))?;
    let registry_type = CredentialType::from_type_array(&credential["type"]).or_else(|| {
        credential["type"]
            .as_str()
            .and_then(|name| CredentialType::from_type_names([name]))
    });
    match registry_type {
        Some(credential_type) => issue_registry(state, operator, credential, credential_type).await,
        None => {
            let open = state.open_issuer.as_ref().ok_or_else(|| {
                VcApiError::UnsupportedType(
                    CredentialType::ALL
                        .iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
            if operator.role != Role::Admin {
                return Err(VcApiError::Access(AccessError::Role {
                    role: operator.role,
                    action: "issue through the open issuer (admin)",
                }));
            }
            let open = std::sync::Arc::clone(open);
            let credential = Value::Object(credential.clone());
            let suite = body["options"]["cryptosuite"].as_str().map(str::to_owned);
            tokio::task::spawn_blocking(move || open.issue(credential, suite.as_deref()))
                .await?
                .map_err(VcApiError::from)
        }
    }
}

async fn issue_registry(
    state: &AppState,
    operator: &Operator,
    credential: &Map<String, Value>,
    credential_type: CredentialType,
) -> Result<Value, VcApiError> {
    if let Some(member) = credential
        .keys()
        .find(|member| !REGISTRY_REQUEST_MEMBERS.contains(&member.as_str()))
    {
        return Err(VcApiError::UnexpectedMember(member.clone()));
    }
    let authority = state.member.authority_did.to_string();
    let issuer = match credential.get("issuer") {
        Some(Value::Object(issuer)) => issuer.get("id").and_then(Value::as_str),
        Some(other) => other.as_str(),
        None => Some(authority.as_str()),
    };
    if issuer != Some(authority.as_str()) {
        return Err(VcApiError::UnexpectedMember("issuer".into()));
    }
    let mut request = json!({
        "type": credential_type.as_str(),
        "credentialSubject": credential.get("credentialSubject").cloned().unwrap_or(Value::Null),
    });
    for name in ["validFrom", "validUntil"] {
        if let Some(value) = credential.get(name) {
            request[name] = value.clone();
        }
    }
    let issued = state.issuance.issue(operator, &request).await?;
    Ok(issued.credential)
}

/// The answer of `POST /credentials/verify` and `/presentations/verify`: VC-API's
/// `verified`, `checks` (the names of the checks that ran), `warnings` and `errors`, with
/// each check's outcome (`results`) and, for a registry credential, the registry's
/// verdict.
#[derive(Debug, Serialize)]
pub struct VerificationResult {
    /// Whether every check asked for passed.
    pub verified: bool,
    /// The checks that ran.
    pub checks: Vec<&'static str>,
    /// What the verifier could not check, and why.
    pub warnings: Vec<Problem>,
    /// The failed checks.
    pub errors: Vec<Problem>,
    /// Each check with its outcome.
    pub results: Vec<Check>,
    /// The registry's verdict, for a credential of a registry type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registry: Option<Verdict>,
    /// For a presentation: each embedded credential's result.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub credentials: Vec<VerificationResult>,
}

/// A problem in the style of RFC 9457: a type URI, a title and the detail.
#[derive(Debug, Serialize)]
pub struct Problem {
    /// `https://talent-registry.example/vc-api#<check>`-style identifier of the check.
    #[serde(rename = "type")]
    pub kind: String,
    /// The check's name.
    pub title: &'static str,
    /// What happened.
    pub detail: String,
}

/// The checks `options.checks` may name (with VC-API's `credentialStatus` and
/// `expiration` for ours).
fn check_by_name(name: &str) -> Option<CheckName> {
    Some(match name {
        "dataModel" => CheckName::DataModel,
        "proof" => CheckName::Proof,
        "issuer" => CheckName::Issuer,
        "validity" | "expiration" => CheckName::Validity,
        "status" | "credentialStatus" => CheckName::Status,
        "schema" => CheckName::Schema,
        "authority" => CheckName::Authority,
        "inclusion" => CheckName::Inclusion,
        _ => return None,
    })
}

/// The checks `options.checks` asks for; `None` when it does not say.
fn requested_checks(options: &Value) -> Result<Option<Vec<CheckName>>, VcApiError> {
    match options.get("checks") {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(names)) => names
            .iter()
            .map(|name| {
                let name = name.as_str().ok_or(VcApiError::Shape(
                    "options.checks must be an array of check names",
                ))?;
                check_by_name(name).ok_or_else(|| VcApiError::UnknownCheck(name.to_owned()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(VcApiError::Shape(
            "options.checks must be an array of check names",
        )),
    }
}

/// `POST /credentials/verify`.
///
/// # Errors
/// [`VcApiError`] for a malformed request; verification's storage errors.
pub async fn verify_credential(
    state: &AppState,
    body: &mut Value,
) -> Result<VerificationResult, VcApiError> {
    let requested = requested_checks(&body["options"])?;
    let inquiry = inquiry(&body["options"])?;
    let credential = body
        .get_mut("verifiableCredential")
        .filter(|credential| credential.is_object())
        .map(Value::take)
        .ok_or(VcApiError::Shape(
            "body must be {\"verifiableCredential\": {…}, \"options\"?: {…}}",
        ))?;
    credential_result(state, credential, requested.as_deref(), &inquiry).await
}

/// `options.verifier` and `options.purpose`, for the holder-visible query log.
fn inquiry(options: &Value) -> Result<Inquiry, VcApiError> {
    Ok(Inquiry::new(
        options["verifier"].as_str(),
        options["purpose"].as_str(),
        Channel::VcApi,
    )?)
}

/// The general checks of `credential`, its status where this node keeps its list, and the
/// registry's checks for a registry type; judged by `requested` (every check that ran when
/// `None`).
async fn credential_result(
    state: &AppState,
    credential: Value,
    requested: Option<&[CheckName]>,
    inquiry: &Inquiry,
) -> Result<VerificationResult, VcApiError> {
    let mut results =
        w3c::verify_credential(&credential, &state.known_documents, chrono::Utc::now());
    let mut warnings = Vec::new();
    let registry = if CredentialType::from_type_array(&credential["type"]).is_some() {
        let verdict = verification::verdict(
            &state.verifier,
            state.verification_sources(),
            credential,
            false,
            inquiry,
        )
        .await?;
        for check in &verdict.checks {
            if !results.iter().any(|general| general.name == check.name) {
                results.push(check.clone());
            }
        }
        Some(verdict)
    } else {
        if let Some(check) = open_issuer_status(state, &credential, &mut warnings) {
            results.push(check);
        }
        None
    };
    Ok(judge(results, warnings, registry, requested))
}

/// The status of a credential whose entry names the open issuer's list; a list elsewhere
/// is never fetched (a warning says so).
fn open_issuer_status(
    state: &AppState,
    credential: &Value,
    warnings: &mut Vec<Problem>,
) -> Option<Check> {
    let entries = StatusEntry::all_of(credential).ok()?;
    let mut revoked = None;
    for entry in entries {
        match &state.open_issuer {
            Some(open) if entry.list_credential == open.list_url() => {
                let bit = open.is_revoked(u64::from(entry.index)).unwrap_or(true);
                revoked = Some(revoked.unwrap_or(false) || bit);
            }
            _ => warnings.push(Problem {
                kind: problem_type(CheckName::Status),
                title: CheckName::Status.as_str(),
                detail: format!(
                    "status list {} is not kept by this node, and this verifier never fetches at run time",
                    entry.list_credential
                ),
            }),
        }
    }
    revoked.map(|revoked| {
        if revoked {
            Check::fail(CheckName::Status, "revoked in the open issuer's list")
        } else {
            Check::pass(CheckName::Status, "not revoked in the open issuer's list")
        }
    })
}

fn problem_type(name: CheckName) -> String {
    format!("https://www.w3.org/TR/vc-data-model-2.0/#{}", name.as_str())
}

/// The VC-API answer from the checks that ran.
fn judge(
    results: Vec<Check>,
    warnings: Vec<Problem>,
    registry: Option<Verdict>,
    requested: Option<&[CheckName]>,
) -> VerificationResult {
    let mut errors: Vec<Problem> = Vec::new();
    let mut verified = true;
    let counts = |check: &Check| requested.is_none_or(|requested| requested.contains(&check.name));
    for check in results.iter().filter(|check| counts(check)) {
        if !check.ok {
            verified = false;
            errors.push(Problem {
                kind: problem_type(check.name),
                title: check.name.as_str(),
                detail: check.detail.clone(),
            });
        }
    }
    for name in requested.unwrap_or_default() {
        if !results.iter().any(|check| check.name == *name) {
            verified = false;
            errors.push(Problem {
                kind: problem_type(*name),
                title: name.as_str(),
                detail: "this check does not apply to this credential, or could not run".into(),
            });
        }
    }
    VerificationResult {
        verified,
        checks: results.iter().map(|check| check.name.as_str()).collect(),
        warnings,
        errors,
        results,
        registry,
        credentials: Vec::new(),
    }
}

/// `POST /presentations/verify`: the presentation's checks (with `options.challenge` and
/// `options.domain`) and each embedded credential's, as [`verify_credential`].
///
/// # Errors
/// As [`verify_credential`].
pub async fn verify_presentation(
    state: &AppState,
    body: &mut Value,
) -> Result<VerificationResult, VcApiError> {
    let requested = requested_checks(&body["options"])?;
    let inquiry = inquiry(&body["options"])?;
    let text = |name: &str| body["options"][name].as_str().map(str::to_owned);
    let options = PresentationOptions {
        challenge: text("challenge"),
        domain: text("domain"),
    };
    let presentation = body
        .get_mut("verifiablePresentation")
        .filter(|presentation| presentation.is_object())
        .map(Value::take)
        .ok_or(VcApiError::Shape(
            "body must be {\"verifiablePresentation\": {…}, \"options\"?: {…}}",
        ))?;
    let own = w3c::verify_presentation(
        &presentation,
        &options,
        &state.known_documents,
        chrono::Utc::now(),
    );
    let mut result = judge(own.presentation, Vec::new(), None, None);
    let embedded: Vec<Value> = match &presentation["verifiableCredential"] {
        Value::Array(items) => items.clone(),
        single @ Value::Object(_) => vec![single.clone()],
        _ => Vec::new(),
    };
    for (credential, general) in embedded.into_iter().zip(own.credentials) {
        let enveloped = general.len() == 1
            && general[0].name == CheckName::DataModel
            && general[0].ok
            && credential.get("proof").is_none();
        let item = if enveloped {
            judge(general, Vec::new(), None, None)
        } else {
            Box::pin(credential_result(
                state,
                credential,
                requested.as_deref(),
                &inquiry,
            ))
            .await?
        };
        result.verified &= item.verified;
        result.credentials.push(item);
    }
    Ok(result)
}

/// `POST /credentials/status`: `{"credentialId", "credentialStatus": {"type":
/// "BitstringStatusListEntry", "statusPurpose", "statusListCredential"?,
/// "statusListIndex"?}, "status": bool, "reason"?}`. A registry credential's status change
/// is logged (revocation → 04 注销, suspension → 02 暂扣, lifting a suspension → 01); an
/// open issuer's credential is named by its entry.
///
/// # Errors
/// [`VcApiError`] for a malformed request; the registry's status-change errors.
pub async fn update_status(
    state: &AppState,
    operator: &Operator,
    body: &Value,
) -> Result<Value, VcApiError> {
    let status_entry = match &body["credentialStatus"] {
        Value::Array(items) if items.len() == 1 => &items[0],
        entry @ Value::Object(_) => entry,
        _ => {
            return Err(VcApiError::Shape(
                "credentialStatus must be one status entry object",
            ));
        }
    };
    let purpose = status_entry["statusPurpose"]
        .as_str()
        .unwrap_or("revocation");
    let set = body["status"]
        .as_bool()
        .ok_or(VcApiError::Shape("status must be true or false"))?;
    if let (Some(open), Some(list)) = (
        &state.open_issuer,
        status_entry["statusListCredential"].as_str(),
    ) && list == open.list_url()
    {
        if operator.role != Role::Admin {
            return Err(VcApiError::Access(AccessError::Role {
                role: operator.role,
                action: "change an open issuer credential's status (admin)",
            }));
        }
        if purpose != "revocation" {
            return Err(VcApiError::Shape(
                "the open issuer's list is a revocation list",
            ));
        }
        let index = status_entry["statusListIndex"]
            .as_str()
            .and_then(|index| index.parse::<u64>().ok())
            .ok_or(VcApiError::Shape(
                "statusListIndex must be a decimal string",
            ))?;
        let open = std::sync::Arc::clone(open);
        tokio::task::spawn_blocking(move || open.set_revoked(index, set)).await??;
        return Ok(json!({"credentialStatus": status_entry, "status": set}));
    }
    let id = body["credentialId"]
        .as_str()
        .ok_or(VcApiError::Shape("credentialId is required"))?;
    let id = talent_core::identifiers::CredentialId::parse_lenient(id)
        .map_err(|_| VcApiError::InvalidCredentialId(id.to_owned()))?;
    let code = match (purpose, set) {
        ("revocation", true) => "04",
        ("suspension", true) => "02",
        ("suspension", false) => "01",
        ("revocation", false) => {
            return Err(VcApiError::Shape("a revocation cannot be undone"));
        }
        _ => {
            return Err(VcApiError::Shape(
                "statusPurpose must be revocation or suspension",
            ));
        }
    };
    let reason = body["reason"].as_str().unwrap_or("VC-API status update");
    let change = json!({"status": code, "reason": reason});
    let credential_id = id.to_string();
    let issued = state.issuance.change_status(operator, id, &change).await?;
    Ok(json!({"credentialId": credential_id, "statusChange": issued.credential}))
}

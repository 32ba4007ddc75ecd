//! The one error type of the HTTP API: every failure maps to a status and a stable `code`.
//!
//! Client errors carry a message meant for the caller; internal errors are logged with their
//! cause and answered with a generic message, so storage details never leak.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;
use talent_core::credential::CredentialError;
use talent_core::request_auth::RequestAuthError;
use talent_core::schema::{SchemaError, Violation};

use crate::issuance::{AccessError, IssueError};
use crate::log::sequencer::SequenceError;
use crate::open_issuer::OpenIssuerError;
use crate::services::bundles::BundleError;
use crate::services::issuer_history::HistoryError;
use crate::services::query_log::QueryLogError;
use crate::services::search::ReadError;
use crate::services::statistics::StatisticsError;
use crate::services::vc_api::VcApiError;
use crate::services::verification::VerificationError;
use crate::store::StoreError;
use crate::tokens::TokenError;
use talent_core::issuers::{AdmitError, AuthorisationError};

/// Every way an API request can fail.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON.
    #[error("request body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body is not declared as `application/json`.
    #[error("request body must be sent with Content-Type: application/json")]
    UnsupportedMediaType,
    /// The body is larger than the route accepts.
    #[error("request body is larger than {limit_bytes} bytes")]
    BodyTooLarge {
        /// The route's limit.
        limit_bytes: usize,
    },
    /// A request names a cryptosuite the registry does not implement.
    #[error("unknown cryptosuite {0:?} (expected eddsa-jcs-2022 or sm2-jcs-2025)")]
    UnknownCryptosuite(String),
    /// The body does not match its JSON Schema.
    #[error("request does not match its schema: {0}")]
    SchemaViolation(SchemaError),
    /// The body matches its schema but cannot be issued as it is.
    #[error("{0}")]
    InvalidCredentialRequest(CredentialError),
    /// A path parameter is not a credential id.
    #[error("{0:?} is not a credential id (urn:uuid:<uuid> or <uuid>)")]
    InvalidCredentialId(String),
    /// No credential has this id.
    #[error("no credential {0} on this node")]
    CredentialNotFound(String),
    /// No status list with this purpose and number.
    #[error("no status list {0} on this node")]
    StatusListNotFound(String),
    /// The node holds no log of this member.
    #[error("no member {0:?} in this node's federation")]
    MemberNotFound(String),
    /// No route matches the path.
    #[error("no such endpoint: {0}")]
    RouteNotFound(String),
    /// The route exists but not for this method.
    #[error("method not allowed on this endpoint")]
    MethodNotAllowed,
    /// The signed credential is too large for a log entry.
    #[error("{0}")]
    EntryTooLarge(String),
    /// A batch request with invalid items: each (position, error). Nothing was issued.
    #[error("{} of the batch's credentials are invalid; none was issued", .0.len())]
    BatchInvalid(Vec<(usize, ApiError)>),
    /// A batch with no credentials or too many.
    #[error("{0}")]
    BatchSize(String),
    /// No such tile or entry bundle in the current tree.
    #[error("no such tile in the current tree: {0}")]
    TileNotFound(String),
    /// A consistency-proof query without two sizes 1 ≤ from ≤ to. 400.
    #[error("invalid consistency proof range: {0}")]
    InvalidProofRange(String),
    /// A proof asked for a tree larger than the log. 404.
    #[error("the log has {current} entries, not {size}")]
    SizeNotInLog {
        /// The size asked for.
        size: u64,
        /// The current size.
        current: u64,
    },
    /// A mirrored-entries query without `0 ≤ start`, `1 ≤ count ≤` the cap. 400.
    #[error("invalid entry range: {0}")]
    InvalidEntryRange(String),
    /// Entries of a log this node does not mirror, or beyond its verified mirror. 404.
    #[error("{0}")]
    EntriesNotMirrored(String),
    /// A member asked for the mirrored entries of another member's log: only the log's
    /// own member reads them (its recovery after a restore). 403.
    #[error("only {log} may read the mirror of its log here, not {reader}")]
    NotTheLogMember {
        /// The member whose log it is.
        log: String,
        /// The member that signed the request.
        reader: String,
    },
    /// The log's queue is full or it is shutting down: retry later.
    #[error("{0}")]
    Unavailable(String),
    /// The log takes no new entries until the peers confirm it (`crate::rollback`). 503.
    #[error("{0}")]
    LogHeld(String),
    /// A backup is being written already. 409.
    #[error("a backup is being written already; wait for it to finish")]
    BackupInProgress,
    /// The backup was refused or failed (`crate::backup`). 409 for a target in use or
    /// outside the backup directory, 500 otherwise.
    #[error(transparent)]
    Backup(crate::backup::BackupError),
    /// A backup target outside the node's backup directory, or without one. 403.
    #[error("{0}")]
    BackupTarget(String),
    /// The caller holds as much of a bounded resource as allowed (reserved status-list
    /// slots). 429.
    #[error("{message}")]
    LimitReached {
        /// Stable code.
        code: &'static str,
        /// What is exhausted, and what to do.
        message: String,
    },
    /// A members-only endpoint was called without a member signature. 401.
    #[error("this endpoint is for federation members: sign the request ({0})")]
    AuthenticationRequired(RequestAuthError),
    /// The member signature is invalid, expired, or by an unknown member. 403.
    #[error("member signature refused: {0}")]
    Forbidden(RequestAuthError),
    /// The node is not a federation member (development mode) and has no such function.
    #[error("this node is not a federation member; start it with --config and --member")]
    NotFederated,
    /// No valid operator token. 401.
    #[error(transparent)]
    Token(TokenError),
    /// The operator may not do this. 403.
    #[error(transparent)]
    Access(AccessError),
    /// The log's issuer registry refuses the entry (scope, accreditation, key, transition).
    #[error(transparent)]
    NotAdmitted(AdmitError),
    /// A submitted object or status request is malformed, badly signed or stale. 422.
    #[error("{message}")]
    InvalidSubmission {
        /// Stable code.
        code: &'static str,
        /// What is wrong.
        message: String,
    },
    /// A credential with this id is already logged. 409.
    #[error("{0} is already in the log")]
    Duplicate(String),
    /// Another member's log already holds a credential with this id. 409.
    #[error("{0}")]
    IdHeldByMember(String),
    /// A storage or other internal failure; the cause is logged, not sent.
    /// A verifier's inquiry too long, or a holder's access code that does not match.
    #[error(transparent)]
    QueryLog(crate::services::query_log::QueryLogError),
    /// A VC-API request refused (`crate::services::vc_api`).
    #[error(transparent)]
    VcApi(crate::services::vc_api::VcApiError),
    #[error("internal error")]
    Internal(#[source] crate::InternalError),
}

impl ApiError {
    /// HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::InvalidJson(_)
            | ApiError::UnknownCryptosuite(_)
            | ApiError::InvalidCredentialId(_)
            | ApiError::InvalidProofRange(_)
            | ApiError::InvalidEntryRange(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BodyTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::SchemaViolation(_)
            | ApiError::InvalidCredentialRequest(_)
            | ApiError::EntryTooLarge(_)
            | ApiError::BatchInvalid(_)
            | ApiError::BatchSize(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::CredentialNotFound(_)
            | ApiError::StatusListNotFound(_)
            | ApiError::MemberNotFound(_)
            | ApiError::RouteNotFound(_)
            | ApiError::TileNotFound(_)
            | ApiError::SizeNotInLog { .. }
            | ApiError::EntriesNotMirrored(_) => StatusCode::NOT_FOUND,
            ApiError::NotTheLogMember { .. } => StatusCode::FORBIDDEN,
            ApiError::Unavailable(_) | ApiError::LogHeld(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BackupInProgress => StatusCode::CONFLICT,
            ApiError::Backup(error) => match error {
                crate::backup::BackupError::TargetNotEmpty(_)
                | crate::backup::BackupError::NoParent(_) => StatusCode::CONFLICT,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::BackupTarget(_) => StatusCode::FORBIDDEN,
            ApiError::LimitReached { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::AuthenticationRequired(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFederated => StatusCode::NOT_FOUND,
            ApiError::Token(_) => StatusCode::UNAUTHORIZED,
            ApiError::Access(_) => StatusCode::FORBIDDEN,
            ApiError::NotAdmitted(error) => match error {
                AdmitError::UnknownCredential(_) => StatusCode::NOT_FOUND,
                AdmitError::Authorisation(AuthorisationError::Status(_)) => StatusCode::CONFLICT,
                AdmitError::Authorisation(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApiError::InvalidSubmission { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Duplicate(_) | ApiError::IdHeldByMember(_) => StatusCode::CONFLICT,
            ApiError::QueryLog(error) => match error {
                QueryLogError::TooLong { .. } => StatusCode::UNPROCESSABLE_ENTITY,
                QueryLogError::CodeMismatch => StatusCode::FORBIDDEN,
                QueryLogError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
            ApiError::VcApi(error) => match error {
                VcApiError::Shape(_) | VcApiError::UnknownCheck(_) => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            },
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// Stable machine-readable code (documented in `docs/api.yaml`).
    pub fn code(&self) -> &'static str {
        match self {
            ApiError::InvalidJson(_) => "invalid_json",
            ApiError::UnknownCryptosuite(_) => "unknown_cryptosuite",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::BodyTooLarge { .. } => "body_too_large",
            ApiError::SchemaViolation(_) => "schema_violation",
            ApiError::InvalidCredentialRequest(error) => match error {
                CredentialError::Identifier { .. } => "invalid_identifier",
                CredentialError::InvalidDateTime(_) => "invalid_datetime",
                CredentialError::EmptyValidityWindow => "empty_validity_window",
                CredentialError::RegionMismatch { .. } => "region_mismatch",
                _ => "invalid_request",
            },
            ApiError::EntryTooLarge(_) => "entry_too_large",
            ApiError::BatchInvalid(_) => "batch_invalid",
            ApiError::BatchSize(_) => "batch_size",
            ApiError::TileNotFound(_) => "tile_not_found",
            ApiError::InvalidProofRange(_) => "invalid_proof_range",
            ApiError::SizeNotInLog { .. } => "size_not_in_log",
            ApiError::InvalidEntryRange(_) => "invalid_entry_range",
            ApiError::EntriesNotMirrored(_) => "entries_not_mirrored",
            ApiError::NotTheLogMember { .. } => "not_the_log_member",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::LogHeld(_) => "log_held",
            ApiError::BackupInProgress => "backup_in_progress",
            ApiError::Backup(error) => match error {
                crate::backup::BackupError::TargetNotEmpty(_) => "backup_target_not_empty",
                crate::backup::BackupError::NoParent(_) => "backup_target_parent_missing",
                _ => "backup_failed",
            },
            ApiError::BackupTarget(_) => "backup_target_refused",
            ApiError::LimitReached { code, .. } => code,
            ApiError::InvalidCredentialId(_) => "invalid_credential_id",
            ApiError::CredentialNotFound(_) => "credential_not_found",
            ApiError::StatusListNotFound(_) => "status_list_not_found",
            ApiError::MemberNotFound(_) => "member_not_found",
            ApiError::RouteNotFound(_) => "route_not_found",
            ApiError::MethodNotAllowed => "method_not_allowed",
            ApiError::AuthenticationRequired(error) | ApiError::Forbidden(error) => error.code(),
            ApiError::NotFederated => "not_federated",
            ApiError::Token(error) => error.code(),
            ApiError::Access(error) => error.code(),
            ApiError::NotAdmitted(error) => error.code(),
            ApiError::InvalidSubmission { code, .. } => code,
            ApiError::Duplicate(_) => "duplicate_id",
            ApiError::IdHeldByMember(_) => "id_held_by_member",
            ApiError::QueryLog(error) => match error {
                QueryLogError::TooLong { .. } => "field_too_long",
                QueryLogError::CodeMismatch => "holder_code_mismatch",
                QueryLogError::Store(_) => "internal",
            },
            ApiError::VcApi(error) => error.code(),
            ApiError::Internal(_) => "internal",
        }
    }
}

/// The JSON body of every error response.
#[derive(Debug, Serialize)]
struct ErrorBody<'a> {
    code: &'static str,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    violations: Option<&'a [Violation]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    items: Option<Vec<serde_json::Value>>,
}

impl ApiError {
    /// The JSON body: `{code, message}`, with `violations` for schema errors and `items`
    /// (`{index, code, message, …}`) for a refused batch.
    fn body(&self) -> serde_json::Value {
        let violations = match self {
            ApiError::SchemaViolation(error) => Some(error.violations.as_slice()),
            _ => None,
        };
        let items = match self {
            ApiError::BatchInvalid(items) => Some(
                items
                    .iter()
                    .map(|(index, error)| {
                        let mut body = error.body();
                        body["index"] = json!(index);
                        body
                    })
                    .collect(),
            ),
            _ => None,
        };
        json!(ErrorBody {
            code: self.code(),
            message: self.to_string(),
            violations,
            items,
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(error = %with_sources(cause.as_ref()), "internal error");
        }
        let mut response = (self.status(), Json(self.body())).into_response();
        if matches!(self, ApiError::Token(_)) {
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static("Bearer realm=\"talent-registry\""),
            );
        }
        if matches!(self, ApiError::Unavailable(_)) {
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from_static("1"),
            );
        }
        response
    }
}

/// Request bodies are read with this limit unless a route sets its own.
pub const DEFAULT_BODY_LIMIT_BYTES: usize = 64 * 1024;

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        match rejection {
            JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
            rejection if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                ApiError::BodyTooLarge {
                    limit_bytes: DEFAULT_BODY_LIMIT_BYTES,
                }
            }
            rejection => ApiError::InvalidJson(rejection.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> ApiError {
        ApiError::InvalidCredentialId(rejection.body_text())
    }
}

impl From<QueryLogError> for ApiError {
    fn from(error: QueryLogError) -> ApiError {
        match error {
            QueryLogError::Store(error) => ApiError::from(error),
            error => ApiError::QueryLog(error),
        }
    }
}

impl From<VcApiError> for ApiError {
    fn from(error: VcApiError) -> ApiError {
        match error {
            VcApiError::OpenIssuer(OpenIssuerError::Store(error)) => ApiError::from(error),
            VcApiError::Access(error) => ApiError::Access(error),
            VcApiError::Issue(error) => ApiError::from(error),
            VcApiError::Verification(error) => ApiError::from(error),
            VcApiError::Inquiry(error) => ApiError::from(error),
            VcApiError::InvalidCredentialId(id) => ApiError::InvalidCredentialId(id),
            VcApiError::Task(error) => ApiError::Internal(error.into()),
            error => ApiError::VcApi(error),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError::Internal(error.into())
    }
}

impl From<VerificationError> for ApiError {
    fn from(error: VerificationError) -> ApiError {
        match error {
            VerificationError::UnknownRegion(region) => ApiError::MemberNotFound(region),
            VerificationError::Store(error) => error.into(),
            error => ApiError::Internal(error.into()),
        }
    }
}

impl From<HistoryError> for ApiError {
    fn from(error: HistoryError) -> ApiError {
        match error {
            HistoryError::MemberNotFound(member) => ApiError::MemberNotFound(member),
            HistoryError::Store(error) => error.into(),
            error => ApiError::Internal(error.into()),
        }
    }
}

impl From<BundleError> for ApiError {
    fn from(error: BundleError) -> ApiError {
        match error {
            BundleError::NotFound(id) => ApiError::CredentialNotFound(id.to_string()),
            error @ BundleError::StatusPublishing => ApiError::Unavailable(error.to_string()),
            BundleError::History(error) => error.into(),
            BundleError::Store(error) => error.into(),
            BundleError::StatusList(error) => error.into(),
            error => ApiError::Internal(error.into()),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> ApiError {
        match error {
            ReadError::NotFound(id) => ApiError::CredentialNotFound(id.to_string()),
            ReadError::Store(error) => error.into(),
            error => ApiError::Internal(error.into()),
        }
    }
}

impl From<StatisticsError> for ApiError {
    fn from(error: StatisticsError) -> ApiError {
        match error {
            StatisticsError::Store(error) => error.into(),
            error => ApiError::Internal(error.into()),
        }
    }
}

impl From<IssueError> for ApiError {
    fn from(error: IssueError) -> ApiError {
        match error {
            IssueError::Token(error) => ApiError::Token(error),
            IssueError::Access(error) => ApiError::Access(error),
            error @ IssueError::TooManyReservations { .. } => ApiError::LimitReached {
                code: "reservation_limit",
                message: error.to_string(),
            },
            IssueError::NotAdmitted(error) => ApiError::NotAdmitted(error),
            IssueError::Duplicate(id) => ApiError::Duplicate(id.to_string()),
            error @ IssueError::HeldByMember { .. } => ApiError::IdHeldByMember(error.to_string()),
            error @ (IssueError::Statement(_)
            | IssueError::Proof(_)
            | IssueError::IssuerNotSigner { .. }
            | IssueError::NotFresh { .. }
            | IssueError::NotSubmittable(_)
            | IssueError::StatusEntry(_)
            | IssueError::Agreement(_)
            | IssueError::ForeignNamespace(_)
            | IssueError::StatusEntryMissing
            | IssueError::StatusSlotUnavailable { .. }) => ApiError::InvalidSubmission {
                code: error.submission_code().unwrap_or("invalid_submission"),
                message: error.to_string(),
            },
            IssueError::Schema(error) => ApiError::SchemaViolation(error),
            IssueError::Credential(error) => ApiError::InvalidCredentialRequest(error),
            IssueError::Entry(error) => ApiError::EntryTooLarge(error.to_string()),
            IssueError::Batch(items) => ApiError::BatchInvalid(
                items
                    .into_iter()
                    .map(|(index, error)| (index, ApiError::from(error)))
                    .collect(),
            ),
            error @ IssueError::BatchSize(_) => ApiError::BatchSize(error.to_string()),
            IssueError::Log(SequenceError::Held(reason)) => ApiError::LogHeld(reason),
            IssueError::Log(error @ (SequenceError::Busy | SequenceError::Stopped)) => {
                ApiError::Unavailable(error.to_string())
            }
            IssueError::Log(error @ SequenceError::Failed(_)) => ApiError::Internal(error.into()),
            IssueError::Internal(error) => ApiError::Internal(error),
        }
    }
}

/// `axum::Json`, but rejections come back as [`ApiError`] JSON.
#[derive(Debug)]
pub struct AppJson<T>(pub T);

impl<T, S> FromRequest<S> for AppJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    /// Reads the body as `axum::Json` does. A body that parses is read once, with plain
    /// `serde_json`; only one that does not is read again by `axum::Json`, for its error
    /// (which names where the body went wrong): tracking that path cost every verify
    /// request about a tenth of its time.
    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| ApiError::from(JsonRejection::from(rejection)))?;
        match serde_json::from_slice(&body) {
            Ok(value) => Ok(AppJson(value)),
            Err(_) => match Json::<T>::from_bytes(&body) {
                Ok(Json(value)) => Ok(AppJson(value)),
                Err(rejection) => Err(rejection.into()),
            },
        }
    }
}

/// Whether the request says its body is JSON (`application/json` or `application/*+json`),
/// as `axum::Json` requires.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(mime) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<mime::Mime>().ok())
    else {
        return false;
    };
    mime.type_() == "application"
        && (mime.subtype() == "json" || mime.suffix().is_some_and(|suffix| suffix == "json"))
}

impl<T: Serialize> IntoResponse for AppJson<T> {
    fn into_response(self) -> Response {
        Json(self.0).into_response()
    }
}

/// `error: source: source …`, the whole chain, for the log.
fn with_sources(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

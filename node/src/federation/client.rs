//! HTTP client for talking to peer members: every request is signed with this member's
//! witness key (`talent_core::request_auth`): peers serve entry bundles only to members.

use std::time::Duration;

use ed25519_dalek::SigningKey;
use reqwest::StatusCode;
use talent_core::request_auth;
use talent_tlog::bundle;
use talent_tlog::tile::TilePath;
use talent_tlog::witness::{self, AddCheckpointRequest};

/// How long one request to a peer may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Most entries one `GET /api/v1/federation/mirrors/{member}/entries` serves: an entry
/// bundle's worth.
pub const MAX_MIRRORED_ENTRIES: u64 = talent_tlog::tile::TILE_WIDTH;

/// Why a request to a peer got no usable answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The HTTP client could not be built (TLS backend).
    #[error("building the HTTP client: {0}")]
    Build(#[source] reqwest::Error),
    /// The request could not be sent or its answer not read.
    #[error("{method} {url}: {error}")]
    Request {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// Why.
        #[source]
        error: reqwest::Error,
    },
    /// The peer answered an error status.
    #[error("{method} {url}: {status}: {body}")]
    Status {
        /// `GET` or `POST`.
        method: &'static str,
        /// The URL.
        url: String,
        /// The status.
        status: StatusCode,
        /// The start of its body.
        body: String,
    },
    /// The peer's answer is larger than the request can need.
    #[error("GET {url}: the answer is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The most it may be.
        limit: usize,
    },
    /// The peer has no checkpoint to serve.
    #[error("{endpoint} has no /log/checkpoint")]
    NoCheckpoint {
        /// The peer's endpoint.
        endpoint: String,
    },
}

/// What a peer's witness answered to `add-checkpoint`.
#[derive(Debug)]
pub enum AddCheckpointReply {
    /// 200: its cosignature line(s).
    Cosigned(Vec<u8>),
    /// 409 with the size it last cosigned: retry with a proof from there.
    SizeConflict(u64),
    /// Any other refusal (status and body), e.g. 409 for a different root at equal size.
    Refused(u16, String),
}

/// A client signing its requests as one member.
#[derive(Debug, Clone)]
pub struct PeerClient {
    http: reqwest::Client,
    member: String,
    key: SigningKey,
}

impl PeerClient {
    /// A client for member `member` signing with its witness `key`, trusting `roots` for
    /// peers' HTTPS endpoints beside the public web roots.
    ///
    /// # Errors
    /// The HTTP client cannot be built (TLS backend).
    pub fn new(
        member: &str,
        key: SigningKey,
        roots: &[reqwest::Certificate],
    ) -> Result<PeerClient, ClientError> {
        let mut http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .connect_timeout(Duration::from_secs(5));
        for root in roots {
            http = http.add_root_certificate(root.clone());
        }
        let http = http.build().map_err(ClientError::Build)?;
        Ok(PeerClient {
            http,
            member: member.to_owned(),
            key,
        })
    }

    fn signed(
        &self,
        method: reqwest::Method,
        endpoint: &str,
        path: &str,
        body: Vec<u8>,
    ) -> reqwest::RequestBuilder {
        let now = chrono::Utc::now().timestamp().max(0) as u64;
        let headers =
            request_auth::sign_request(&self.member, &self.key, method.as_str(), path, now, &body);
        let mut request = self.http.request(method, format!("{endpoint}{path}"));
        for (name, value) in headers {
            request = request.header(name, value);
        }
        request.body(body)
    }

    async fn get(&self, endpoint: &str, path: &str) -> Result<Option<Vec<u8>>, ClientError> {
        self.get_within(endpoint, path, None).await
    }

    /// A signed GET: `None` on 404, the body otherwise; with `limit`, a body larger than
    /// `limit` bytes is refused while it arrives, so a peer cannot make this node hold more.
    async fn get_within(
        &self,
        endpoint: &str,
        path: &str,
        limit: Option<usize>,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let url = format!("{endpoint}{path}");
        let failed = |error| ClientError::Request {
            method: "GET",
            url: url.clone(),
            error,
        };
        let mut response = self
            .signed(reqwest::Method::GET, endpoint, path, Vec::new())
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        if status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(ClientError::Status {
                method: "GET",
                url,
                status,
                body: truncate(&body).to_owned(),
            });
        }
        let Some(limit) = limit else {
            return Ok(Some(response.bytes().await.map_err(failed)?.to_vec()));
        };
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if body.len() + chunk.len() > limit {
                return Err(ClientError::TooLarge { url, limit });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body))
    }

    /// The peer's latest checkpoint (a signed note, with the cosignatures it collected).
    ///
    /// # Errors
    /// The peer is unreachable or answers an error.
    pub async fn checkpoint(&self, endpoint: &str) -> Result<Vec<u8>, ClientError> {
        self.get(endpoint, "/log/checkpoint")
            .await?
            .ok_or_else(|| ClientError::NoCheckpoint {
                endpoint: endpoint.to_owned(),
            })
    }

    /// A tile or entry bundle; `None` when the peer does not have it.
    ///
    /// # Errors
    /// The peer is unreachable or answers an error.
    pub async fn tile(
        &self,
        endpoint: &str,
        tile: TilePath,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        self.get(endpoint, &format!("/log/{tile}")).await
    }

    /// Entries `start..start + count` (`count` at most [`MAX_MIRRORED_ENTRIES`]) of this
    /// member's own log as the peer at `endpoint` mirrored them, as an entry bundle; `None`
    /// when its verified mirror does not hold them all.
    ///
    /// # Errors
    /// The peer is unreachable or answers an error.
    pub async fn mirrored_entries(
        &self,
        endpoint: &str,
        start: u64,
        count: u64,
    ) -> Result<Option<Vec<u8>>, ClientError> {
        let path = format!(
            "/api/v1/federation/mirrors/{}/entries?start={start}&count={count}",
            self.member
        );
        // A bundle of `count` entries of at most MAX_ENTRY_BYTES each, with their length
        // prefixes.
        let limit = count.min(MAX_MIRRORED_ENTRIES) as usize * (bundle::MAX_ENTRY_BYTES + 2);
        self.get_within(endpoint, &path, Some(limit)).await
    }

    /// Submits one of this member's checkpoints to a peer's witness.
    ///
    /// # Errors
    /// The peer is unreachable or its answer cannot be read.
    pub async fn add_checkpoint(
        &self,
        endpoint: &str,
        request: &AddCheckpointRequest,
    ) -> Result<AddCheckpointReply, ClientError> {
        let path = "/log/add-checkpoint";
        let failed = |error| ClientError::Request {
            method: "POST",
            url: format!("{endpoint}{path}"),
            error,
        };
        let response = self
            .signed(reqwest::Method::POST, endpoint, path, request.to_bytes())
            .send()
            .await
            .map_err(failed)?;
        let status = response.status();
        let is_size = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.starts_with(witness::SIZE_CONTENT_TYPE));
        let body = response.bytes().await.map_err(failed)?.to_vec();
        Ok(match status {
            StatusCode::OK => AddCheckpointReply::Cosigned(body),
            StatusCode::CONFLICT if is_size => match witness::parse_size_conflict(&body) {
                Ok(size) => AddCheckpointReply::SizeConflict(size),
                Err(error) => AddCheckpointReply::Refused(409, error.to_string()),
            },
            other => AddCheckpointReply::Refused(
                other.as_u16(),
                truncate(&String::from_utf8_lossy(&body)).to_owned(),
            ),
        })
    }
}

fn truncate(text: &str) -> &str {
    match text.char_indices().nth(300) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

//! Talking to a registry node: its member identity, a credential's inclusion proof, and log
//! resources for audits. Everything fetched is verified by `talent_core`, never trusted.

use std::time::Duration;

use anyhow::{Context, bail};
use ed25519_dalek::SigningKey;
use serde_json::Value;
use talent_core::request_auth;
use talent_tlog::merkle::InclusionProof;

/// A blocking client for one node.
pub struct Node {
    base: String,
    client: reqwest::blocking::Client,
    signer: Option<(String, SigningKey)>,
}

/// What a node says about itself (`GET /api/v1/member`).
pub struct Member {
    /// Member id.
    pub id: String,
    /// Authority DID.
    pub authority_did: String,
    /// Log origin.
    pub log_origin: String,
    /// Log verifier key.
    pub log_vkey: String,
    /// Verifier key of the log's SM2 checkpoint line, when the node announces one.
    pub log_sm2_vkey: Option<String>,
    /// The public URL its credentials name the context and schemas under (a node that does
    /// not announce one: the URL it was reached at).
    pub public_url: String,
    /// The public URLs it served under before, whose credentials name them.
    pub former_public_urls: Vec<String>,
}

/// A credential's place in the log (`GET /api/v1/credentials/{id}/proof`).
pub struct LogProof {
    /// The signed checkpoint.
    pub checkpoint: Vec<u8>,
    /// The inclusion proof under it.
    pub proof: InclusionProof,
}

/// Certificates trusted for nodes' HTTPS beside the public web roots (`--ca`), set once
/// before any client is built.
static EXTRA_ROOTS: std::sync::OnceLock<Vec<reqwest::Certificate>> = std::sync::OnceLock::new();

/// Trusts the certificates of the PEM file at `path` for every node this run talks to.
///
/// # Errors
/// The file cannot be read, holds no certificate, or roots were already set.
pub fn trust_roots(path: &std::path::Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let roots = reqwest::Certificate::from_pem_bundle(&pem)
        .with_context(|| format!("{} is not a PEM certificate bundle", path.display()))?;
    if roots.is_empty() {
        anyhow::bail!("{} holds no PEM certificate", path.display());
    }
    EXTRA_ROOTS
        .set(roots)
        .map_err(|_| anyhow::anyhow!("the trusted certificates were already set"))
}

/// The largest answer read from a node: far above any real one (a whole entry bundle is at
/// most 16 MiB), so that a node that streams without end cannot exhaust the verifier's memory.
pub const MAX_RESPONSE_BYTES: u64 = 64 << 20;

/// The body of `response` from `url`, refused past [`MAX_RESPONSE_BYTES`] (by its declared
/// length at once, else as it arrives).
fn read_body(response: reqwest::blocking::Response, url: &str) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let too_large = || {
        anyhow::anyhow!(
            "{url} answered with more than {} MiB; no node answer is that large",
            MAX_RESPONSE_BYTES >> 20
        )
    };
    if response
        .content_length()
        .is_some_and(|length| length > MAX_RESPONSE_BYTES)
    {
        return Err(too_large());
    }
    let mut body = Vec::new();
    response
        .take(MAX_RESPONSE_BYTES + 1)
        .read_to_end(&mut body)
        .with_context(|| format!("reading the answer of {url}"))?;
    if body.len() as u64 > MAX_RESPONSE_BYTES {
        return Err(too_large());
    }
    Ok(body)
}

impl Node {
    /// A client for the node at `base`.
    ///
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(base: &str) -> anyhow::Result<Node> {
        let mut client = reqwest::blocking::Client::builder().timeout(Duration::from_secs(30));
        for root in EXTRA_ROOTS.get().into_iter().flatten() {
            client = client.add_root_certificate(root.clone());
        }
        Ok(Node {
            base: base.trim_end_matches('/').to_owned(),
            client: client.build()?,
            signer: None,
        })
    }

    /// Signs every request as federation member `member` with its witness `key`
    /// (`talent_core::request_auth`), for the members-only log reads.
    pub fn sign_as(mut self, member: &str, key: SigningKey) -> Node {
        self.signer = Some((member.to_owned(), key));
        self
    }

    fn get(&self, path: &str) -> anyhow::Result<reqwest::blocking::Response> {
        let url = format!("{}{path}", self.base);
        let mut request = self.client.get(&url);
        if let Some((member, key)) = &self.signer {
            let now = chrono::Utc::now().timestamp().max(0) as u64;
            for (name, value) in request_auth::sign_request(member, key, "GET", path, now, &[]) {
                request = request.header(name, value);
            }
        }
        request.send().with_context(|| format!("contacting {url}"))
    }

    /// Raw bytes of a path, failing on any non-200 answer.
    ///
    /// # Errors
    /// Network failures and non-200 answers.
    pub fn bytes(&self, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self.get(path)?;
        let status = response.status();
        if status == reqwest::StatusCode::UNAUTHORIZED {
            bail!(
                "{}{path} is for federation members: pass --member ID --key <its witness.key>",
                self.base
            );
        }
        if !status.is_success() {
            bail!("{}{path} answered {status}", self.base);
        }
        read_body(response, &format!("{}{path}", self.base))
    }

    fn json(&self, path: &str) -> anyhow::Result<Option<Value>> {
        let response = self.get(path)?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let bytes = read_body(response, &format!("{}{path}", self.base))?;
        let body: Value = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{}{path} answered {status} with a body that is not JSON",
                self.base
            )
        })?;
        if !status.is_success() {
            bail!(
                "{}{path} answered {status}: {}",
                self.base,
                body["message"].as_str().unwrap_or("no message")
            );
        }
        Ok(Some(body))
    }

    /// The node's member identity.
    ///
    /// # Errors
    /// Network failures or an unexpected answer.
    pub fn member(&self) -> anyhow::Result<Member> {
        let body = self
            .json("/api/v1/member")?
            .context("the node has no /api/v1/member")?;
        let field = |name: &str| -> anyhow::Result<String> {
            body[name]
                .as_str()
                .map(str::to_owned)
                .with_context(|| format!("/api/v1/member has no {name}"))
        };
        Ok(Member {
            id: field("id")?,
            authority_did: field("authorityDid")?,
            log_origin: field("logOrigin")?,
            log_vkey: field("logVkey")?,
            log_sm2_vkey: body["logSm2Vkey"].as_str().map(str::to_owned),
            public_url: body["publicUrl"].as_str().unwrap_or(&self.base).to_owned(),
            former_public_urls: body["formerPublicUrls"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                // As many as a node keeps (`MAX_PUBLIC_URLS` in node/src/store/meta.rs).
                .take(64)
                .map(str::to_owned)
                .collect(),
        })
    }

    /// The node's verdict on `credential` (`POST /api/v1/verify`), for the status it holds now.
    ///
    /// # Errors
    /// Network failures or an answer that is not a verdict.
    pub fn verify(&self, credential: &Value) -> anyhow::Result<talent_core::verify::Verdict> {
        let url = format!("{}/api/v1/verify", self.base);
        let response = self
            .client
            .post(&url)
            .json(&serde_json::json!({"credential": credential}))
            .send()
            .with_context(|| format!("contacting {url}"))?;
        let status = response.status();
        if !status.is_success() {
            bail!("{url} answered {status}");
        }
        serde_json::from_slice(&read_body(response, &url)?)
            .with_context(|| format!("{url} did not answer with a verdict"))
    }

    /// The issuer history of `member` as the node holds it (unverified), or `None`.
    ///
    /// # Errors
    /// Network failures or an answer that is not a history.
    pub fn issuer_history(
        &self,
        member: &str,
    ) -> anyhow::Result<Option<talent_core::history::IssuerHistory>> {
        let path = format!("/api/v1/members/{member}/issuer-history");
        let Some(body) = self.json(&path)? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_value(body).with_context(|| {
            format!("{}{path} is not an issuer history", self.base)
        })?))
    }

    /// The inclusion proof of a credential, or `None` when the node does not have it.
    ///
    /// # Errors
    /// Network failures or an unexpected answer.
    pub fn log_proof(&self, credential_id: &str) -> anyhow::Result<Option<LogProof>> {
        let path = format!("/api/v1/credentials/{credential_id}/proof");
        let Some(body) = self.json(&path)? else {
            return Ok(None);
        };
        let checkpoint = body["checkpoint"]
            .as_str()
            .context("the proof answer has no checkpoint")?
            .as_bytes()
            .to_vec();
        let proof: InclusionProof = serde_json::from_value(body["inclusionProof"].clone())
            .context("the proof answer has a malformed inclusionProof")?;
        Ok(Some(LogProof { checkpoint, proof }))
    }
}

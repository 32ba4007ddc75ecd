//! Publication of the node's public read artefacts to S3-compatible object storage
//! (`serve --publish-s3`), so that a CDN or many readers serve them while the node
//! sequences: full hash tiles, the partial tiles of the published checkpoint, the
//! checkpoint with its cosignatures, and the signed status-list credentials, each at the
//! path the node serves it at ([`layout`]).
//!
//! One background worker (`publish`) does it, off the sequencer's path: every
//! [`PublishConfig::interval`] it compares the log's head and the status lists with what it
//! has published and uploads the difference, at most [`MAX_IN_FLIGHT`] objects at a time.
//! Full tiles are immutable, so each is uploaded once; the durable [`cursor::Cursor`] says up
//! to which log size they are all in the bucket, and a restart resumes there. The
//! checkpoint goes last, after every tile of its tree, so a reader never finds a checkpoint
//! whose tiles are missing. An unreachable object store fails the round; the worker backs
//! off ([`crate::worker::BackoffPolicy::NODE`]) and the next round catches up from the
//! cursor, while issuance goes on untouched.
//!
//! Entry bundles are never published: they carry personal data, which the node gives only
//! to members' signed requests, a check an object store cannot make.

pub mod cursor;
pub mod layout;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::{
    Attribute, AttributeValue, Attributes, BackoffConfig, ClientOptions, ObjectStore, PutOptions,
    PutPayload, RetryConfig,
};
use sha2::{Digest, Sha256};
use talent_core::status_list::{LIST_TTL_MS, StatusPurpose};
use talent_tlog::tile::TilePath;

use crate::issuance::IssuanceService;
use crate::log::Log;
use crate::services::held_logs::HeldLogs;
use crate::store::{Store, StoreError};
use crate::worker::{Pause, Worker, Workers};
use cursor::Cursor;
use layout::{Layout, PrefixError};

/// Most uploads one publisher has in flight: bounds its memory (a tile is 8 KiB) and its
/// share of the object store.
pub const MAX_IN_FLIGHT: usize = 8;

/// Leaves whose full tiles one step of a catch-up uploads before it moves the cursor: a
/// restart or an outage loses at most this much work.
const STEP_LEAVES: u64 = 64 * 256;

/// Most status lists of one purpose published (each covers 131,072 credentials).
const MAX_LISTS: u32 = 100_000;

/// How long one request to the object store may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Environment variable holding the access key id.
pub const ACCESS_KEY_ENV: &str = "AWS_ACCESS_KEY_ID";
/// Environment variable holding the secret access key.
pub const SECRET_KEY_ENV: &str = "AWS_SECRET_ACCESS_KEY";

/// Why publication cannot be configured.
#[derive(Debug, thiserror::Error)]
pub enum PublishConfigError {
    /// The endpoint is not an `https://` URL, or an `http://` one of a loopback host.
    #[error(
        "publication endpoint {0:?} must be an https:// URL with no path, or http:// to a loopback address (127.0.0.1, [::1], localhost)"
    )]
    Endpoint(String),
    /// The bucket name is not an S3 bucket name.
    #[error("publication bucket {0:?} must be 3–63 lowercase letters, digits, '.' or '-'")]
    Bucket(String),
    /// The prefix is not plain path segments.
    #[error(transparent)]
    Prefix(#[from] PrefixError),
    /// A credential is not in the environment.
    #[error("publication needs the object store's credentials in the environment: {0} is not set")]
    MissingCredential(&'static str),
    /// The object-store client cannot be built from the configuration.
    #[error("configuring the object store client: {0}")]
    Client(#[source] object_store::Error),
}

/// Why one publication round stopped short (the next one resumes).
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The node's store failed (reading a tile, the cursor).
    #[error("reading what to publish: {0}")]
    Store(#[from] StoreError),
    /// A tile of the current tree is missing from the store (corruption).
    #[error("tile {0} of the current tree is missing from the store")]
    MissingTile(String),
    /// A status list could not be made.
    #[error("making status list {0}: {1}")]
    StatusList(String, String),
    /// An upload failed: the object store is unreachable or refused it.
    #[error("uploading {key}: {source}")]
    Upload {
        /// The object key.
        key: String,
        /// Why.
        #[source]
        source: object_store::Error,
    },
    /// A blocking task died.
    #[error("a blocking task of the publisher failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// Where and how often to publish.
#[derive(Clone)]
pub struct PublishConfig {
    /// The S3 endpoint, e.g. `https://s3.cn-north-1.amazonaws.com.cn`.
    pub endpoint: String,
    /// The bucket.
    pub bucket: String,
    /// The key prefix everything goes under (empty: the bucket's root).
    pub layout: Layout,
    /// The region the requests are signed for.
    pub region: String,
    /// Time between two rounds (after a failed round, the backoff's delay instead).
    pub interval: Duration,
    access_key_id: String,
    secret_access_key: String,
}

impl std::fmt::Debug for PublishConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret.
        f.debug_struct("PublishConfig")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("layout", &self.layout)
            .field("region", &self.region)
            .field("interval", &self.interval)
            .finish_non_exhaustive()
    }
}

impl PublishConfig {
    /// Checks a configuration; the credentials come from `env` ([`ACCESS_KEY_ENV`],
    /// [`SECRET_KEY_ENV`]), never from the command line, where `ps` would show them.
    ///
    /// # Errors
    /// [`PublishConfigError`] naming what is wrong.
    pub fn new(
        endpoint: &str,
        bucket: &str,
        prefix: &str,
        region: &str,
        interval: Duration,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<PublishConfig, PublishConfigError> {
        check_endpoint(endpoint)?;
        check_bucket(bucket)?;
        let layout = Layout::new(prefix)?;
        let credential = |name: &'static str| {
            env(name)
                .filter(|value| !value.is_empty())
                .ok_or(PublishConfigError::MissingCredential(name))
        };
        Ok(PublishConfig {
            endpoint: endpoint.trim_end_matches('/').to_owned(),
            bucket: bucket.to_owned(),
            layout,
            region: region.to_owned(),
            interval,
            access_key_id: credential(ACCESS_KEY_ENV)?,
            secret_access_key: credential(SECRET_KEY_ENV)?,
        })
    }

    /// What the durable cursor is kept for: endpoint, bucket and prefix.
    fn destination(&self) -> String {
        format!(
            "{}/{}/{}",
            self.endpoint,
            self.bucket,
            self.layout.key("").as_ref()
        )
    }

    /// The object-store client: path-style requests, short timeouts and few retries of its
    /// own (the worker's backoff handles an outage).
    ///
    /// # Errors
    /// [`PublishConfigError::Client`].
    pub fn client(&self) -> Result<Arc<dyn ObjectStore>, PublishConfigError> {
        let store = AmazonS3Builder::new()
            .with_endpoint(&self.endpoint)
            .with_bucket_name(&self.bucket)
            .with_region(&self.region)
            .with_access_key_id(&self.access_key_id)
            .with_secret_access_key(&self.secret_access_key)
            .with_virtual_hosted_style_request(false)
            // Client options replace the builder's, so plain HTTP is allowed here (only to
            // a loopback address: [`check_endpoint`]).
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(self.endpoint.starts_with("http://"))
                    .with_timeout(REQUEST_TIMEOUT)
                    .with_connect_timeout(Duration::from_secs(2)),
            )
            .with_retry(RetryConfig {
                backoff: BackoffConfig::default(),
                max_retries: 1,
                retry_timeout: REQUEST_TIMEOUT,
            })
            .build()
            .map_err(PublishConfigError::Client)?;
        Ok(Arc::new(store))
    }
}

fn check_endpoint(endpoint: &str) -> Result<(), PublishConfigError> {
    let invalid = || PublishConfigError::Endpoint(endpoint.to_owned());
    let url = reqwest::Url::parse(endpoint).map_err(|_| invalid())?;
    let host = url.host_str().ok_or_else(invalid)?;
    let loopback = host == "localhost"
        || host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && loopback);
    let plain = url.path() == "/"
        && url.query().is_none()
        && url.fragment().is_none()
        && url.username().is_empty()
        && url.password().is_none();
    if scheme_ok && plain {
        Ok(())
    } else {
        Err(invalid())
    }
}

fn check_bucket(bucket: &str) -> Result<(), PublishConfigError> {
    let bytes = bucket.as_bytes();
    let edge =
        |byte: Option<&u8>| byte.is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
    let valid = (3..=63).contains(&bytes.len())
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'.' || *b == b'-')
        && edge(bytes.first())
        && edge(bytes.last());
    if valid {
        Ok(())
    } else {
        Err(PublishConfigError::Bucket(bucket.to_owned()))
    }
}

/// The parts of the node the publisher reads.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The store (tiles, the cursor).
    pub store: Arc<Store>,
    /// The own log (its head).
    pub log: Arc<Log>,
    /// The checkpoint with its cosignatures.
    pub logs: HeldLogs,
    /// The signed status lists.
    pub issuance: Arc<IssuanceService>,
}

/// A status list: its purpose and number.
type ListKey = (StatusPurpose, u32);

/// The publication worker's state.
struct Publisher {
    sources: Sources,
    bucket: Arc<dyn ObjectStore>,
    layout: Layout,
    cursor: Cursor,
    /// Full tiles of the tree of this many leaves are all in the bucket (from the cursor).
    published_size: Option<u64>,
    /// SHA-256 of the checkpoint note last put into the bucket.
    published_checkpoint: Option<[u8; 32]>,
    /// SHA-256 of each status list last put into the bucket.
    published_lists: HashMap<ListKey, [u8; 32]>,
}

/// Starts the `publish` worker among `workers`.
///
/// # Errors
/// The object-store client cannot be built.
pub fn start(
    config: &PublishConfig,
    sources: Sources,
    workers: &mut Workers,
) -> Result<(), PublishConfigError> {
    let publisher = Publisher {
        sources,
        bucket: config.client()?,
        layout: config.layout.clone(),
        cursor: Cursor::new(config.destination()),
        published_size: None,
        published_checkpoint: None,
        published_lists: HashMap::new(),
    };
    let interval = config.interval;
    tracing::info!(
        endpoint = %config.endpoint,
        bucket = %config.bucket,
        prefix = %config.layout.key("").as_ref(),
        "publishing the public log and status lists to object storage"
    );
    workers.spawn("publish", move |worker| publisher.run(worker, interval));
    Ok(())
}

/// What one round uploaded.
#[derive(Debug, Default, Clone, Copy)]
struct Uploaded {
    tiles: usize,
    checkpoint: bool,
    lists: usize,
}

impl Publisher {
    async fn run(mut self, mut worker: Worker, interval: Duration) {
        loop {
            let outcome = tokio::select! {
                biased;
                () = worker.stopped() => return,
                outcome = self.round() => outcome,
            };
            let delay = match outcome {
                Ok(uploaded) => {
                    if uploaded.tiles > 0 || uploaded.checkpoint || uploaded.lists > 0 {
                        tracing::info!(
                            size = self.published_size.unwrap_or_default(),
                            tiles = uploaded.tiles,
                            checkpoint = uploaded.checkpoint,
                            status_lists = uploaded.lists,
                            "published"
                        );
                    }
                    worker.succeeded();
                    interval
                }
                Err(error) => {
                    let delay = worker.failed(&error);
                    tracing::warn!(%error, retry_in = ?delay, "publication round failed");
                    delay
                }
            };
            if worker.pause(delay, std::future::pending()).await == Pause::Stopped {
                return;
            }
        }
    }

    /// Uploads what is new: full tiles up to the head (moving the cursor step by step),
    /// then the head's partial tiles and checkpoint if the checkpoint changed, then the
    /// status lists that changed.
    async fn round(&mut self) -> Result<Uploaded, PublishError> {
        let mut uploaded = Uploaded::default();
        let head = self.sources.log.head();
        let mut done = match self.published_size {
            Some(size) => size,
            None => {
                let store = Arc::clone(&self.sources.store);
                let cursor = self.cursor.clone();
                let size = tokio::task::spawn_blocking(move || cursor.load(&store)).await??;
                if size > head.size {
                    // A data directory restored from an older backup: what the bucket holds
                    // beyond the log is not this log's; publish everything again.
                    tracing::warn!(
                        cursor = size,
                        log = head.size,
                        "the publication cursor is beyond the log; publishing from the start"
                    );
                    0
                } else {
                    size
                }
            }
        };
        self.published_size = Some(done);
        while done < head.size {
            let step = head.size.min(done + STEP_LEAVES);
            uploaded.tiles += self
                .upload_tiles(layout::new_full_tiles(done, step))
                .await?;
            let store = Arc::clone(&self.sources.store);
            let cursor = self.cursor.clone();
            tokio::task::spawn_blocking(move || cursor.save(&store, step)).await??;
            done = step;
            self.published_size = Some(done);
        }
        let note = self.sources.logs.own_checkpoint(&head);
        let digest: [u8; 32] = Sha256::digest(&note).into();
        if self.published_checkpoint != Some(digest) {
            uploaded.tiles += self
                .upload_tiles(layout::partial_tiles(head.size).into_iter())
                .await?;
            self.put(
                self.layout.checkpoint(),
                note,
                "text/plain; charset=utf-8",
                "no-cache",
            )
            .await?;
            self.published_checkpoint = Some(digest);
            uploaded.checkpoint = true;
        }
        uploaded.lists = self.publish_status_lists().await?;
        Ok(uploaded)
    }

    /// Uploads `tiles`, [`MAX_IN_FLIGHT`] at a time; returns how many.
    async fn upload_tiles(
        &self,
        tiles: impl Iterator<Item = TilePath> + Send,
    ) -> Result<usize, PublishError> {
        let tiles: Vec<TilePath> = tiles.collect();
        let count = tiles.len();
        futures_util::stream::iter(tiles.into_iter().map(Ok))
            .try_for_each_concurrent(MAX_IN_FLIGHT, |tile| async move {
                let log = Arc::clone(&self.sources.log);
                let bytes = tokio::task::spawn_blocking(move || log.tile(tile))
                    .await??
                    .ok_or_else(|| PublishError::MissingTile(tile.to_string()))?;
                // The path says what the bytes are: a tile, partial or full, never changes.
                self.put(
                    self.layout.tile(tile),
                    bytes,
                    "application/octet-stream",
                    "public, max-age=31536000, immutable",
                )
                .await
            })
            .await?;
        Ok(count)
    }

    /// Uploads every status list whose signed credential differs from the one last
    /// uploaded (a status in it changed, or it was signed anew); returns how many.
    async fn publish_status_lists(&mut self) -> Result<usize, PublishError> {
        let issuance = Arc::clone(&self.sources.issuance);
        let lists = tokio::task::spawn_blocking(move || {
            let mut lists = Vec::new();
            for purpose in StatusPurpose::ALL {
                for list in 0..MAX_LISTS {
                    let credential =
                        issuance
                            .status_list_credential(purpose, list)
                            .map_err(|error| {
                                PublishError::StatusList(
                                    layout::status_list_relative(purpose, list),
                                    error.to_string(),
                                )
                            })?;
                    let Some(credential) = credential else { break };
                    // Invariant: a JSON value always serialises.
                    let bytes = serde_json::to_vec(credential.as_ref()).unwrap_or_default();
                    lists.push(((purpose, list), bytes));
                }
            }
            Ok::<_, PublishError>(lists)
        })
        .await??;
        let changed: Vec<(ListKey, Vec<u8>, [u8; 32])> = lists
            .into_iter()
            .filter_map(|(key, bytes)| {
                let digest: [u8; 32] = Sha256::digest(&bytes).into();
                (self.published_lists.get(&key) != Some(&digest)).then_some((key, bytes, digest))
            })
            .collect();
        let count = changed.len();
        let cache = format!("public, max-age={}", LIST_TTL_MS / 1000);
        let this = &*self;
        let done: Vec<(ListKey, [u8; 32])> = futures_util::stream::iter(changed.into_iter().map(
            |((purpose, list), bytes, digest)| {
                let key = this.layout.status_list(purpose, list);
                let cache = cache.as_str();
                async move {
                    this.put(key, bytes, "application/json", cache).await?;
                    Ok::<_, PublishError>(((purpose, list), digest))
                }
            },
        ))
        .buffer_unordered(MAX_IN_FLIGHT)
        .try_collect()
        .await?;
        self.published_lists.extend(done);
        Ok(count)
    }

    async fn put(
        &self,
        key: object_store::path::Path,
        bytes: Vec<u8>,
        content_type: &'static str,
        cache_control: &str,
    ) -> Result<(), PublishError> {
        let attributes = Attributes::from_iter([
            (Attribute::ContentType, AttributeValue::from(content_type)),
            (
                Attribute::CacheControl,
                AttributeValue::from(cache_control.to_owned()),
            ),
        ]);
        let options = PutOptions {
            attributes,
            ..PutOptions::default()
        };
        self.bucket
            .put_opts(&key, PutPayload::from(bytes), options)
            .await
            .map(|_| ())
            .map_err(|source| PublishError::Upload {
                key: key.to_string(),
                source,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            ACCESS_KEY_ENV => Some("AKIDEXAMPLE".into()),
            SECRET_KEY_ENV => Some("secret".into()),
            _ => None,
        }
    }

    fn config(
        endpoint: &str,
        bucket: &str,
        prefix: &str,
    ) -> Result<PublishConfig, PublishConfigError> {
        PublishConfig::new(
            endpoint,
            bucket,
            prefix,
            "us-east-1",
            Duration::from_secs(1),
            env,
        )
    }

    #[test]
    fn http_only_to_loopback_and_plain_bucket_names() {
        for good in [
            "http://127.0.0.1:9000",
            "http://localhost:9000/",
            "http://[::1]:9000",
            "https://s3.example.com",
        ] {
            assert!(config(good, "registry", "").is_ok(), "{good}");
        }
        for bad in [
            "http://10.0.0.1:9000",
            "http://s3.example.com",
            "ftp://127.0.0.1",
            "https://s3.example.com/path",
            "https://user:pw@s3.example.com",
            "not a url",
        ] {
            assert!(
                matches!(
                    config(bad, "registry", ""),
                    Err(PublishConfigError::Endpoint(_))
                ),
                "{bad}"
            );
        }
        for bad in [
            "ab",
            "Registry",
            "-registry",
            "registry-",
            "reg_istry",
            &"a".repeat(64),
        ] {
            assert!(
                matches!(
                    config("http://127.0.0.1:9", bad, ""),
                    Err(PublishConfigError::Bucket(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            config("http://127.0.0.1:9", "registry", "../x"),
            Err(PublishConfigError::Prefix(_))
        ));
    }

    #[test]
    fn credentials_come_from_the_environment_and_never_show() {
        let missing = PublishConfig::new(
            "http://127.0.0.1:9",
            "registry",
            "",
            "us-east-1",
            Duration::from_secs(1),
            |_| None,
        );
        assert!(matches!(
            missing,
            Err(PublishConfigError::MissingCredential(ACCESS_KEY_ENV))
        ));
        let config = config("http://127.0.0.1:9/", "registry", "cq-sc").expect("valid");
        assert!(!format!("{config:?}").contains("secret"));
        assert_eq!(config.destination(), "http://127.0.0.1:9/registry/cq-sc");
    }
}

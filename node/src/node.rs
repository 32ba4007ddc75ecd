//! Start-up and shutdown of a node: open the store, load the keys that belong to it,
//! build the state and start its workers ([`open`]); serve until SIGINT or SIGTERM, then
//! stop in order ([`Node::serve`]).
//!
//! Why one file: [`OpenError`] names every way start-up can fail, one
//! documented variant each, beside the start-up sequence they come from.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use talent_core::credential::Namespace;
use talent_core::federation::{ConfigError, Federation};
use talent_core::schema::SchemaSet;
use talent_tlog::cosignature::{CosignatureError, Cosigner};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::connections::ServerLimits;
use crate::federation::{FederationError, FederationNode};
use crate::file_error::FileError;
use crate::issuance::{IssuanceService, LogWriter};
use crate::issuers::{Issuers, LogToLoad};
use crate::keys::{KeyError, KeyRole, MemberKeys};
use crate::log::sequencer::{BatchConfig, Sequencer};
use crate::log::{Log, LogOpenError};
use crate::member::{DEV_LOG_ORIGIN, MemberIdentity};
use crate::metrics::Metrics;
use crate::policy::PolicyConfig;
use crate::rollback::RollbackCheck;
use crate::server::ServeError;
use crate::state::AppState;
use crate::statistics::CredentialStatistics;
use crate::status_lists::StatusLists;
use crate::store::{META_AUTHORITY_DID, META_MEMBER_ID, Store, StoreError};
use crate::tls::ServerTls;
use crate::tokens::Tokens;
use crate::worker::{BackoffPolicy, DRAIN_DEADLINE, Stopped, Workers};
use talent_integrity::did::KeyKind;

/// Why a federation configuration file was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadFederationError {
    /// The file cannot be read.
    #[error("reading {}: {error}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// The file is not a valid configuration (the error names the line).
    #[error("{}: {error}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        error: ConfigError,
    },
}

/// Why a node was not opened. Each names the data directory or file concerned.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The data directory cannot be created or restricted to this user.
    #[error("{action} {}: {error}", path.display())]
    DataDirectory {
        /// What was being done.
        action: &'static str,
        /// The directory.
        path: PathBuf,
        /// Why.
        #[source]
        error: std::io::Error,
    },
    /// A key file cannot be read, written or used.
    #[error("loading the {what} keys from {}: {error}", path.display())]
    Keys {
        /// `member` or `personal-data`.
        what: &'static str,
        /// The keys directory.
        path: PathBuf,
        /// Why.
        #[source]
        error: KeyError,
    },
    /// The store cannot be opened (locked by another node, corrupt).
    #[error("opening the store in {}: {error}", path.display())]
    OpenStore {
        /// The store directory.
        path: PathBuf,
        /// Why.
        #[source]
        error: StoreError,
    },
    /// The store failed while reading what it holds.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Member keys without a store: the database was lost, truncated or moved.
    #[error(
        "{} has member keys but an empty store: the database was lost or moved. Restore {} (or remove {} to start a new member)",
        data_dir.display(),
        data_dir.join("db").display(),
        data_dir.join("keys").display()
    )]
    KeysWithoutStore {
        /// The data directory.
        data_dir: PathBuf,
    },
    /// The authority DID in the store does not parse.
    #[error("the stored authority DID {stored:?} is invalid: {reason}")]
    StoredAuthority {
        /// What is stored.
        stored: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The member is not in the federation configuration.
    #[error("member {member:?} is not in the federation configuration (members: {known})")]
    UnknownMember {
        /// The member asked for.
        member: String,
        /// The members configured, comma-separated.
        known: String,
    },
    /// The configuration names an SM2 checkpoint key (`log_sm2_vkey`) but the data
    /// directory has no `keys/log-sm2.key`.
    #[error("member {member} has a log_sm2_vkey but {} does not exist", path.display())]
    LogSm2KeyMissing {
        /// The missing key file.
        path: PathBuf,
        /// The member.
        member: String,
    },
    /// A key in the data directory is not the one the configuration lists.
    #[error("{}/{file} does not match {field} {configured} of member {member}", keys_dir.display())]
    KeyMismatch {
        /// The keys directory.
        keys_dir: PathBuf,
        /// `log.key`, `log-sm2.key` or `witness.key`.
        file: &'static str,
        /// `log_vkey`, `log_sm2_vkey` or `witness_vkey`.
        field: &'static str,
        /// The configured verifier key.
        configured: String,
        /// The member.
        member: String,
    },
    /// The configured witness name is not a valid key name.
    #[error("witness name {name}: {error}")]
    WitnessName {
        /// The name.
        name: String,
        /// Why.
        #[source]
        error: CosignatureError,
    },
    /// The data directory holds another member's data.
    #[error("{} holds data of member {stored:?}, not {member:?}", data_dir.display())]
    OtherMember {
        /// The data directory.
        data_dir: PathBuf,
        /// The member it holds.
        stored: String,
        /// The member asked for.
        member: String,
    },
    /// The stored credentials belong to another authority.
    #[error(
        "{}: the stored credentials belong to authority {stored}, but this member's authority is {authority}",
        data_dir.display()
    )]
    OtherAuthority {
        /// The data directory.
        data_dir: PathBuf,
        /// The authority stored.
        stored: String,
        /// This member's authority.
        authority: String,
    },
    /// `authority.key` is not the authority's newest key in the own log.
    #[error(
        "{}/authority.key is {key}, but the authority's key in this member's log is {latest} (first key {root}); restore the original key",
        keys_dir.display()
    )]
    AuthorityKey {
        /// The keys directory.
        keys_dir: PathBuf,
        /// The key in the file.
        key: String,
        /// The newest key in the log.
        latest: String,
        /// The authority's first key.
        root: String,
    },
    /// `keys/authority.key` holds a key of another kind than the authority's (the configured
    /// did:key, or the key it was last rotated to): an SM2 member with an Ed25519 file, or
    /// the reverse.
    #[error(
        "{}/authority.key holds an {kind} key, but the member's authority key is an {expected} key ({latest}); the member's cryptosuite in federation.toml and the key file must agree",
        keys_dir.display()
    )]
    AuthorityKeyKind {
        /// The keys directory.
        keys_dir: PathBuf,
        /// Kind of the key in the file.
        kind: KeyKind,
        /// Kind of the authority's current key.
        expected: KeyKind,
        /// The authority's current key.
        latest: String,
    },
    /// The log on disk is damaged or not this member's.
    #[error("refusing to serve the log in {}: {error}", path.display())]
    Log {
        /// The store directory.
        path: PathBuf,
        /// Why.
        #[source]
        error: LogOpenError,
    },
    /// A part of the node's state cannot be loaded from the store.
    #[error("{what} in {}: {error}", data_dir.display())]
    Load {
        /// What was being loaded.
        what: &'static str,
        /// The data directory.
        data_dir: PathBuf,
        /// Why.
        #[source]
        error: StoreError,
    },
    /// The federation runtime cannot start (a stored mirror does not verify).
    #[error("opening the mirrors in {}: {error}", data_dir.display())]
    Federation {
        /// The data directory.
        data_dir: PathBuf,
        /// Why.
        #[source]
        error: FederationError,
    },
    /// The audit log of ID-number searches cannot be opened.
    #[error("opening the ID-search audit log: {0}")]
    Audit(#[source] crate::audit::AuditError),
    /// The metrics could not be defined (a bug: their names are fixed).
    #[error(transparent)]
    Metrics(#[from] crate::metrics::MetricsError),
    /// [`open`] was called outside a Tokio runtime.
    #[error("a node is opened on the runtime it runs on: {0}")]
    Runtime(#[from] tokio::runtime::TryCurrentError),
}

/// An open node: its state and its running workers. Serve it with [`Node::serve`].
#[derive(Debug)]
pub struct Node {
    /// The state the API serves.
    pub state: AppState,
    /// The log's worker (the sequencer): stopped after the last request is answered.
    log_workers: Workers,
    /// The federation's workers: stopped at the signal.
    federation_workers: Workers,
    /// The check of the own log against the peers', started with the federation.
    rollback: Option<RollbackCheck>,
}

/// How a node's workers stopped ([`Node::serve`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Shutdown {
    /// The log's worker.
    pub log: Stopped,
    /// The federation's workers.
    pub federation: Stopped,
}

/// Who the node is to be.
#[derive(Debug, Clone)]
pub enum Role {
    /// The single development member (no federation): keys generated on first start.
    Development,
    /// A member of a federation: its keys must match the configuration.
    Member {
        /// The parsed federation configuration.
        federation: Arc<Federation>,
        /// Which member this node is.
        member: String,
        /// Copy the keys from this directory on first start (dev-only demo keys).
        keys_from: Option<PathBuf>,
        /// Trust anchors for peers' HTTPS endpoints beside the public web roots
        /// (`--peer-ca`: a federation's own certificate authority).
        peer_roots: Vec<reqwest::Certificate>,
    },
}

/// Reads and checks a federation configuration file; errors name the file and line.
///
/// # Errors
/// The file cannot be read or is not a valid configuration.
pub fn load_federation(path: &Path) -> Result<Federation, LoadFederationError> {
    let text = std::fs::read_to_string(path).map_err(|error| LoadFederationError::Read {
        path: path.to_path_buf(),
        error,
    })?;
    Federation::parse(&text).map_err(|error| LoadFederationError::Invalid {
        path: path.to_path_buf(),
        error,
    })
}

/// Opens the member whose data lives in `data_dir` and starts its sequencer (so it must
/// run inside a Tokio runtime). Federation workers start with [`Node::start_federation`].
///
/// A new directory of the development member gets fresh keys. An existing one must hold
/// the keys its data was issued with: a node never silently starts signing with a key its
/// stored credentials don't name. A federation member's keys must be the ones its
/// configuration lists.
///
/// # Errors
/// The store cannot be opened (locked by another node, corrupt), a key file is unreadable,
/// the keys do not belong to the stored data or the configuration, or the log on disk is
/// damaged.
pub fn open(
    data_dir: &Path,
    batching: BatchConfig,
    role: Role,
    public_url: &str,
    policy: PolicyConfig,
) -> Result<Node, OpenError> {
    let directory = |action| {
        move |error| OpenError::DataDirectory {
            action,
            path: data_dir.to_path_buf(),
            error,
        }
    };
    std::fs::create_dir_all(data_dir).map_err(directory("creating data directory"))?;
    // Written by an older version (0644 files) or restored from a backup: only this user.
    let loosened = crate::file_modes::restrict_data_dir(data_dir).map_err(directory(
        "making readable by this user only the data directory",
    ))?;
    if loosened > 0 {
        tracing::warn!(
            entries = loosened,
            "removed group and other permissions in the data directory"
        );
    }
    let keys_error = |what| {
        move |error| OpenError::Keys {
            what,
            path: data_dir.join("keys"),
            error,
        }
    };
    let personal =
        crate::keys::load_or_generate_personal(data_dir).map_err(keys_error("personal-data"))?;
    let store =
        Store::open(&data_dir.join("db"), personal).map_err(|error| OpenError::OpenStore {
            path: data_dir.join("db"),
            error,
        })?;
    let fresh = store.meta(META_MEMBER_ID)?.is_none();
    if let Role::Member {
        keys_from: Some(source),
        ..
    } = &role
        && fresh
    {
        MemberKeys::install_from(data_dir, source).map_err(keys_error("member"))?;
    }
    if fresh && MemberKeys::exist(data_dir) && matches!(role, Role::Development) {
        // Keys without a store means the database was lost, truncated or moved: starting
        // an empty log under the same keys would silently roll the member's history back.
        return Err(OpenError::KeysWithoutStore {
            data_dir: data_dir.to_path_buf(),
        });
    }
    let generate = fresh && matches!(role, Role::Development);
    // A generated authority key is of the kind the member's cryptosuite names.
    let authority_kind = match &role {
        Role::Member {
            federation, member, ..
        } => federation
            .member(member)
            .map_or(KeyKind::Ed25519, |m| m.cryptosuite.key_kind()),
        Role::Development => KeyKind::Ed25519,
    };
    let keys = MemberKeys::load_or_generate(data_dir, generate, authority_kind)
        .map_err(keys_error("member"))?;
    let (member, federation) = match &role {
        Role::Development => {
            let log_vkey =
                talent_tlog::checkpoint::verifier_key(DEV_LOG_ORIGIN, &keys.log.verifying_key());
            // The authority's identity is its first key; after a rotation authority.key
            // holds a later one.
            let root = match store.meta(META_AUTHORITY_DID)? {
                Some(stored) => {
                    stored
                        .parse()
                        .map_err(|error: talent_integrity::did::DidError| {
                            OpenError::StoredAuthority {
                                reason: error.to_string(),
                                stored: stored.clone(),
                            }
                        })?
                }
                None => keys.authority_did(),
            };
            (MemberIdentity::development(root, log_vkey), None)
        }
        Role::Member {
            federation, member, ..
        } => {
            let Some(config) = federation.member(member) else {
                let known: Vec<&str> = federation.members().iter().map(|m| m.id.as_str()).collect();
                return Err(OpenError::UnknownMember {
                    member: member.clone(),
                    known: known.join(", "),
                });
            };
            check_keys_match(&keys, config, data_dir)?;
            (
                MemberIdentity::from_config(config, &federation.id),
                Some(config.clone()),
            )
        }
    };
    let authority = member.authority_did.to_string();
    if fresh {
        store.set_meta(&[
            (META_MEMBER_ID, member.id.as_str()),
            (META_AUTHORITY_DID, &authority),
        ])?;
    } else {
        let stored_member = store.meta(META_MEMBER_ID)?.unwrap_or_default();
        let stored_authority = store.meta(META_AUTHORITY_DID)?.unwrap_or_default();
        if stored_member != member.id.as_str() {
            return Err(OpenError::OtherMember {
                data_dir: data_dir.to_path_buf(),
                stored: stored_member,
                member: member.id.as_str().to_owned(),
            });
        }
        if stored_authority != authority {
            return Err(OpenError::OtherAuthority {
                data_dir: data_dir.to_path_buf(),
                stored: stored_authority,
                authority,
            });
        }
    }
    let store = Arc::new(store);
    // The SM2 line is signed only for a member whose configuration names its key.
    let log_sm2 = federation
        .as_ref()
        .filter(|config| config.log_sm2_vkey.is_some())
        .and_then(|_| keys.log_sm2.clone());
    let log = Arc::new(
        Log::open_with_sm2(
            Arc::clone(&store),
            &member.log_origin,
            keys.log.clone(),
            log_sm2,
        )
        .map_err(|error| OpenError::Log {
            path: data_dir.join("db"),
            error,
        })?,
    );
    let restored = restore_marker(data_dir, &role, &log);
    let loading = |what| {
        move |error| OpenError::Load {
            what,
            data_dir: data_dir.to_path_buf(),
            error,
        }
    };
    let public_urls = store
        .remember_public_url(public_url.trim_end_matches('/'))
        .map_err(loading("recording the public URL"))?;
    let own = LogToLoad {
        member: member.id.as_str().to_owned(),
        authority: member.authority_did.clone(),
        verified: u64::MAX,
        namespace: Namespace::at(public_url),
        former_namespaces: Namespace::each_at(public_urls.get(1..).unwrap_or_default()),
    };
    let mut peers = Vec::new();
    if let Role::Member { federation, .. } = &role {
        for peer in federation.peers_of(&member.id) {
            let id = peer.id.as_str();
            peers.push(LogToLoad {
                member: id.to_owned(),
                authority: peer.authority.clone(),
                verified: store.mirror_state(id)?.map_or(0, |state| state.size),
                namespace: Namespace::at(&peer.endpoint),
                former_namespaces: Namespace::each_at(&peer.former_endpoints),
            });
        }
    }
    let issuers = Arc::new(
        Issuers::load(&store, &own, &peers).map_err(loading("loading the issuer history"))?,
    );
    let keys = reconcile_authority_key(data_dir, keys, &issuers.own())?;
    let metrics = Arc::new(Metrics::new()?);
    let federation = match (&role, federation) {
        (
            Role::Member {
                federation,
                peer_roots,
                ..
            },
            Some(me),
        ) => Some(Arc::new(
            FederationNode::new(
                Arc::clone(federation),
                me,
                Arc::clone(&store),
                Arc::clone(&issuers),
                keys.witness.clone(),
                peer_roots,
                metrics.federation.clone(),
            )
            .map_err(|error| OpenError::Federation {
                data_dir: data_dir.to_path_buf(),
                error,
            })?,
        )),
        _ => None,
    };
    let status_lists = Arc::new(
        StatusLists::open(Arc::clone(&store), public_url)
            .map_err(loading("opening the status lists"))?,
    );
    let recovery_lists = Arc::clone(&status_lists);
    let background = tokio::runtime::Handle::try_current()?;
    let mut log_workers = Workers::new(BackoffPolicy::NODE);
    let sequencer = Sequencer::start(
        Arc::clone(&log),
        batching,
        &mut log_workers,
        metrics.log.clone(),
    );
    let schemas = Arc::new(SchemaSet::new());
    let tokens = Arc::new(Tokens::open(data_dir));
    let id_search_audit =
        Arc::new(crate::audit::IdSearchAudit::open(data_dir).map_err(OpenError::Audit)?);
    let issuance = Arc::new(IssuanceService::new(
        Arc::clone(&schemas),
        LogWriter {
            sequencer,
            store: Arc::clone(&store),
            log: Arc::clone(&log),
            issuers: Arc::clone(&issuers),
            data_dir: data_dir.to_path_buf(),
            status_lists,
            tokens: Arc::clone(&tokens),
            max_reserved_slots: policy.max_reserved_slots,
            metrics: metrics.issuance.clone(),
        },
        keys.authority.clone(),
        member.id.clone(),
    ));
    let statistics = Arc::new(
        CredentialStatistics::open(
            Arc::clone(&store),
            Arc::clone(&log),
            member.id.as_str(),
            federation.clone(),
        )
        .map_err(loading("loading the statistics"))?,
    );
    // Read by the VC-API verifier and the open issuer alike.
    let known_documents = issuers.known_documents();
    let open_issuer = if policy.open_issuer {
        let key = crate::keys::load_or_generate_open_issuer(data_dir)
            .map_err(keys_error("open issuer"))?;
        Some(Arc::new(crate::open_issuer::OpenIssuer::new(
            key,
            Arc::clone(&store),
            public_url,
            known_documents.clone(),
        )))
    } else {
        None
    };
    let backups = Arc::new(crate::backup::BackupService::new(
        Arc::clone(&store),
        Arc::clone(&issuers),
        data_dir,
        log.origin(),
        None,
    ));
    let state = AppState {
        open_issuer,
        store,
        schemas,
        member: Arc::new(member),
        issuance,
        log,
        federation,
        issuers,
        tokens,
        public_url: Arc::from(public_url.trim_end_matches('/')),
        known_documents,
        verifier: Arc::new(crate::services::verification::Batcher::counted(
            metrics.verification.clone(),
        )),
        statistics,
        id_searches: Arc::new(crate::rate_limit::RateLimiter::new(
            policy.id_search_burst,
            policy.id_search_per_hour,
        )),
        id_search_audit,
        wallets: Arc::default(),
        backups,
        health: Arc::new(crate::health::Health::new(
            data_dir,
            policy.min_free_disk_bytes,
        )),
        metrics,
        background,
    };
    let peer_roots = match &role {
        Role::Member { peer_roots, .. } => peer_roots.clone(),
        Role::Development => Vec::new(),
    };
    let rollback = state.federation.as_ref().map(|federation| RollbackCheck {
        log: Arc::clone(&state.log),
        member: federation.me.id.to_string(),
        peers: federation
            .config
            .peers_of(&federation.me.id)
            .map(|peer| (peer.id.to_string(), peer.endpoint.clone()))
            .collect(),
        restored,
        recovery: Some(crate::recovery::Recovery {
            store: Arc::clone(&state.store),
            issuers: Arc::clone(&state.issuers),
            status_lists: Arc::clone(&recovery_lists),
            client: federation.client().clone(),
        }),
        peer_roots,
    });
    Ok(Node {
        state,
        log_workers,
        federation_workers: Workers::new(BackoffPolicy::NODE),
        rollback,
    })
}

/// The restore marker of `data_dir`, when it was restored from a backup: a member's log is
/// held until its peers confirm it ([`RollbackCheck`]); a development node has no peers to
/// ask, so its marker is removed with a warning.
fn restore_marker(data_dir: &Path, role: &Role, log: &Log) -> Option<PathBuf> {
    let marker = data_dir.join(crate::backup::RESTORED_MARKER);
    let restored = crate::backup::Restored::read(data_dir)?;
    let from = restored.map_or_else(|error| format!("(unreadable marker: {error})"), |r| r.from);
    match role {
        Role::Development => {
            tracing::warn!(%from, "restored from a backup; a development node has no peers to confirm its log");
            if let Err(error) = std::fs::remove_file(&marker) {
                tracing::warn!(path = %marker.display(), %error, "could not remove the restore marker");
            }
            None
        }
        Role::Member { .. } => {
            log.hold(format!(
                "restored from the backup {from}; waiting for the peers to confirm the log"
            ));
            Some(marker)
        }
    }
}

/// Opens the single development member (see [`open`]).
///
/// # Errors
/// As [`open`].
pub fn open_development(
    data_dir: &Path,
    batching: BatchConfig,
    public_url: &str,
) -> Result<Node, OpenError> {
    open(
        data_dir,
        batching,
        Role::Development,
        public_url,
        PolicyConfig::default(),
    )
}

/// What `registry-node check-config` learns of a member's keys without opening its store
/// or writing anything: the member is configured, and the keys in `<data_dir>/keys` load
/// and are the ones the configuration lists (before the first start: `keys_from`, or
/// `<data_dir>/keys`, holds the three key files).
///
/// # Errors
/// The member is unknown, a key cannot be read, or a key is not the configured one.
pub fn check_member_keys(
    data_dir: &Path,
    federation: &Federation,
    member: &str,
    keys_from: Option<&Path>,
) -> Result<(), OpenError> {
    let Some(config) = federation.member(member) else {
        let known: Vec<&str> = federation.members().iter().map(|m| m.id.as_str()).collect();
        return Err(OpenError::UnknownMember {
            member: member.to_owned(),
            known: known.join(", "),
        });
    };
    if !MemberKeys::exist(data_dir) {
        // Before the first start: the keys will be copied from `keys_from`.
        let source = keys_from.unwrap_or(&data_dir.join("keys")).to_path_buf();
        for role in [KeyRole::Authority, KeyRole::Log, KeyRole::Witness] {
            let path = source.join(role.file_name());
            if !path.is_file() {
                return Err(OpenError::Keys {
                    what: "member",
                    path: source,
                    error: KeyError::Io(FileError::of("reading", &path)(std::io::Error::from(
                        std::io::ErrorKind::NotFound,
                    ))),
                });
            }
        }
        return Ok(());
    }
    let keys = MemberKeys::load_or_generate(data_dir, false, config.cryptosuite.key_kind())
        .map_err(|error| OpenError::Keys {
            what: "member",
            path: data_dir.join("keys"),
            error,
        })?;
    check_keys_match(&keys, config, data_dir)
}

fn check_keys_match(
    keys: &MemberKeys,
    config: &talent_core::federation::Member,
    data_dir: &Path,
) -> Result<(), OpenError> {
    let mismatch = |file, field, configured: &str| OpenError::KeyMismatch {
        keys_dir: data_dir.join("keys"),
        file,
        field,
        configured: configured.to_owned(),
        member: config.id.to_string(),
    };
    if keys.log.verifying_key() != config.log_key {
        return Err(mismatch("log.key", "log_vkey", &config.log_vkey));
    }
    if let Some(configured) = &config.log_sm2_vkey {
        let Some(key) = &keys.log_sm2 else {
            return Err(OpenError::LogSm2KeyMissing {
                path: data_dir.join("keys").join(crate::keys::LOG_SM2_KEY_FILE),
                member: config.id.to_string(),
            });
        };
        let held =
            talent_tlog::sm2_note::sm2_verifier_key(&config.log_origin, key.verifying_key()).ok();
        if held.as_deref() != Some(configured.as_str()) {
            return Err(mismatch(
                crate::keys::LOG_SM2_KEY_FILE,
                "log_sm2_vkey",
                configured,
            ));
        }
    }
    let witness = Cosigner::new(&config.witness_name, keys.witness.clone()).map_err(|error| {
        OpenError::WitnessName {
            name: config.witness_name.clone(),
            error,
        }
    })?;
    if witness.vkey() != config.witness_vkey {
        return Err(mismatch(
            "witness.key",
            "witness_vkey",
            &config.witness_vkey,
        ));
    }
    Ok(())
}

/// Finishes an authority key rotation interrupted by a crash, then requires
/// `keys/authority.key` to be the authority's newest key in the own log (the configured
/// authority itself until a rotation is logged).
fn reconcile_authority_key(
    data_dir: &Path,
    mut keys: MemberKeys,
    registry: &talent_core::issuers::IssuerRegistry,
) -> Result<MemberKeys, OpenError> {
    let keys_error = |error| OpenError::Keys {
        what: "member",
        path: data_dir.join("keys"),
        error,
    };
    let latest = registry.latest_authority_key();
    if let Some(successor) = MemberKeys::staged_authority_successor(data_dir).map_err(keys_error)? {
        let successor_did = successor.did();
        if successor_did == latest && keys.authority_did() != latest {
            MemberKeys::promote_authority_successor(data_dir).map_err(keys_error)?;
            keys.authority = successor;
            tracing::info!(key = %latest, "finished an interrupted authority key rotation");
        } else {
            MemberKeys::discard_authority_successor(data_dir).map_err(keys_error)?;
        }
    }
    let authority = keys.authority_did();
    if authority.kind() != latest.kind() {
        return Err(OpenError::AuthorityKeyKind {
            keys_dir: data_dir.join("keys"),
            kind: authority.kind(),
            expected: latest.kind(),
            latest: latest.to_string(),
        });
    }
    if authority != latest {
        return Err(OpenError::AuthorityKey {
            keys_dir: data_dir.join("keys"),
            key: authority.to_string(),
            latest: latest.to_string(),
            root: registry.authority_root().to_string(),
        });
    }
    Ok(keys)
}

impl Node {
    /// Lets the node write online backups (`POST /api/v1/admin/backup`) into `dir` or a
    /// directory under it (`serve --backup-dir`).
    #[must_use]
    pub fn with_backup_dir(mut self, data_dir: &Path, dir: PathBuf) -> Node {
        self.state.backups = Arc::new(crate::backup::BackupService::new(
            Arc::clone(&self.state.store),
            Arc::clone(&self.state.issuers),
            data_dir,
            self.state.log.origin(),
            Some(dir),
        ));
        self
    }

    /// Starts the federation workers (sync from each peer, cosignature collection) of a
    /// member node; a development node has none.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start_federation(&mut self) {
        // Listed in the federation status with the log's workers.
        let mut listed = self.log_workers.health();
        if let Some(check) = self.rollback.take() {
            listed.push(
                self.federation_workers
                    .spawn("rollback-check", |worker| check.run(worker)),
            );
        }
        if let Some(federation) = &self.state.federation {
            federation.start(
                Arc::clone(&self.state.log),
                &mut self.federation_workers,
                listed,
            );
        }
    }

    /// Starts the `publish` worker, which copies the public log and the status lists to
    /// the object store `config` names ([`crate::publish`]); it stops at the signal, with
    /// the federation's workers.
    ///
    /// # Errors
    /// The object-store client cannot be built from `config`.
    ///
    /// # Panics
    /// Outside a Tokio runtime.
    pub fn start_publication(
        &mut self,
        config: &crate::publish::PublishConfig,
    ) -> Result<(), crate::publish::PublishConfigError> {
        let sources = crate::publish::Sources {
            store: Arc::clone(&self.state.store),
            log: Arc::clone(&self.state.log),
            logs: self.state.held_logs(),
            issuance: Arc::clone(&self.state.issuance),
        };
        crate::publish::start(config, sources, &mut self.federation_workers)
    }

    /// Serves the API on `listener` within `limits` (over HTTPS with `tls`) until SIGINT or
    /// SIGTERM, then stops: the listener closes and the federation's workers are asked to
    /// stop at once; the requests in flight are finished, each issuance answered once
    /// durable; then the sequencer answers whatever is still queued and stops. Workers get [`DRAIN_DEADLINE`]
    /// from their stop signal; those still running then are aborted (see
    /// [`crate::worker`]).
    ///
    /// # Errors
    /// [`ServeError`]: the server could not start or stopped serving before the signal (the
    /// workers are stopped all the same).
    pub async fn serve(
        self,
        listener: TcpListener,
        limits: ServerLimits,
        tls: Option<ServerTls>,
    ) -> Result<Shutdown, ServeError> {
        self.serve_until(listener, limits, tls, shutdown_signal(), DRAIN_DEADLINE)
            .await
    }

    /// [`Node::serve`], stopping when `stop` resolves, each group of workers within
    /// `deadline`.
    ///
    /// # Errors
    /// As [`Node::serve`].
    pub async fn serve_until(
        self,
        listener: TcpListener,
        limits: ServerLimits,
        tls: Option<ServerTls>,
        stop: impl std::future::Future<Output = ()> + Send + 'static,
        deadline: Duration,
    ) -> Result<Shutdown, ServeError> {
        let Node {
            state,
            log_workers,
            federation_workers,
            rollback: _,
        } = self;
        let signalled = CancellationToken::new();
        let watching = signalled.clone();
        let watcher = tokio::spawn(async move {
            tokio::select! {
                () = stop => watching.cancel(),
                () = watching.cancelled() => {}
            }
        });
        // The federation stops at the signal, beside the server's drain; it serves no
        // request anyone waits for.
        let federation_signal = signalled.clone();
        let federation = tokio::spawn(async move {
            federation_signal.cancelled().await;
            federation_workers.stop(deadline).await
        });
        let served = crate::server::serve(
            state,
            listener,
            limits,
            tls,
            signalled.clone().cancelled_owned(),
        )
        .await;
        // Also when the server failed: the workers stop either way.
        signalled.cancel();
        let _ = watcher.await;
        // Every request is answered now: what the sequencer still holds came from
        // elsewhere (an import job); it is committed and answered before it stops.
        let log = log_workers.stop(deadline).await;
        let federation = federation.await.unwrap_or_default();
        let shutdown = Shutdown { log, federation };
        for (group, stopped) in [("log", &shutdown.log), ("federation", &shutdown.federation)] {
            if stopped.aborted.is_empty() && stopped.panicked.is_empty() {
                tracing::info!(group, workers = ?stopped.drained, "workers stopped");
            } else {
                tracing::warn!(
                    group,
                    drained = ?stopped.drained,
                    aborted = ?stopped.aborted,
                    panicked = ?stopped.panicked,
                    "workers did not all stop cleanly"
                );
            }
        }
        served.map(|()| shutdown)
    }
}

/// Resolves at the first SIGINT (Ctrl-C) or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: draining in-flight requests");
}

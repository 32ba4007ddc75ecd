//! `registry-node serve` and `registry-node check-config`: the options of a node (from the
//! command line and the node configuration file, `super::node_config`), checked once, then
//! either served or summarised.

use std::fmt::Write as _;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use registry_node::connections::ServerLimits;
use registry_node::log::sequencer::BatchConfig;
use registry_node::node::Role;
use registry_node::policy::PolicyConfig;
use registry_node::tls::ServerTls;
use talent_core::federation::Federation;

/// The options of `serve` (and `check-config`).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// A node configuration file (TOML): one `option = value` line per option of `serve`,
    /// named as the option without its dashes (`max_connections = 2048`, `tls_cert =
    /// "/etc/talent-registry/tls.crt"`, `open_issuer = true`). Options on the command line
    /// win over the file. See packaging/node.toml.
    #[arg(long, value_name = "FILE")]
    node_config: Option<PathBuf>,
    /// Address to listen on (port 0 picks a free port; the chosen address is printed).
    /// Default: the member's endpoint with --config, else 127.0.0.1:8080.
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// The URL clients reach this node at: credentials name their context
    /// (<URL>/ns/v1), schema and status lists under it. A member's is its endpoint (the
    /// default with --config); else the default is http(s)://<listen address>.
    #[arg(long)]
    public_url: Option<String>,
    /// Federation configuration (federation.toml); needs --member.
    #[arg(long, requires = "member")]
    config: Option<PathBuf>,
    /// Which member of the federation this node is.
    #[arg(long, requires = "config")]
    member: Option<String>,
    /// On first start, copy the member's keys from this directory (the dev-only demo
    /// keys); otherwise they must already be in <data>/keys.
    #[arg(long, requires = "config")]
    keys_from: Option<PathBuf>,
    /// Data directory (RocksDB store and keys); created on first start.
    #[arg(long, default_value = "./data")]
    data: PathBuf,
    /// Most log entries one durable batch commits.
    #[arg(long, default_value_t = 4096)]
    batch_max_entries: usize,
    /// How long the sequencer waits for more entries before committing (0: commit what
    /// is queued at once; batches still grow under load).
    #[arg(long, default_value_t = 0)]
    batch_max_delay_ms: u64,
    /// Submissions that may wait for the log; beyond, requests get 503 + Retry-After.
    #[arg(long, default_value_t = 1024)]
    queue_capacity: usize,
    /// Stop as on SIGTERM when standard input closes: how `registry-node demo` makes
    /// its members stop when it dies, however it dies.
    #[arg(long)]
    stop_when_stdin_closes: bool,
    #[command(flatten)]
    limits: LimitArgs,
    /// Serve HTTPS with this PEM certificate chain (leaf first); needs --tls-key.
    #[arg(long, requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The PEM private key (PKCS#8, PKCS#1 or SEC1) of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Trust the certificates of this PEM file for peers' HTTPS endpoints, beside the
    /// public web roots (a federation's own certificate authority).
    #[arg(long, requires = "config")]
    peer_ca: Option<PathBuf>,
    /// Let the VC-API's open issuer sign general W3C credentials (types that are not the
    /// registry's) with its own key, `keys/open-issuer.key`: for W3C interoperability
    /// tests. The authority never signs them, and they are not logged.
    #[arg(long)]
    open_issuer: bool,
    /// Free space (MiB) on the data directory's filesystem below which GET /healthz
    /// answers 503 with `disk_low`.
    #[arg(long, default_value_t = registry_node::health::DEFAULT_MIN_FREE_DISK_BYTES >> 20)]
    min_free_disk_mb: u64,
    /// How log lines are written to standard error: `text` for people, `json` (one
    /// object per line, with the request's span) for a log collector.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    /// Boxed: the options would otherwise dwarf the other commands.
    #[command(flatten)]
    publish: Box<PublishArgs>,
    /// Let admins write online backups (POST /api/v1/admin/backup, `registry-node backup
    /// --node`) into this directory or one under it; without it the node writes none.
    #[arg(long)]
    backup_dir: Option<PathBuf>,
    /// Console searches by full ID number one operator may make in a row.
    #[arg(long, default_value_t = registry_node::policy::DEFAULT_ID_SEARCH_BURST)]
    id_search_burst: u32,
    /// Console searches by full ID number an operator regains per hour (0: none).
    #[arg(long, default_value_t = registry_node::policy::DEFAULT_ID_SEARCH_PER_HOUR)]
    id_search_per_hour: u32,
    /// Status-list slots one issuer may hold reserved and unused
    /// (POST /api/v1/status-lists:allocate).
    #[arg(long, default_value_t = registry_node::reservations::DEFAULT_MAX_RESERVED_SLOTS)]
    max_reserved_slots: u64,
}

impl ServeArgs {
    /// How the node's log lines are written.
    pub fn log_format(&self) -> LogFormat {
        self.log_format
    }
}

/// The format of the node's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields` (with `message`),
    /// `target`, and `span` (a request's `id`, `method`, `route`).
    Json,
}

/// Publication to S3-compatible object storage (docs/operations.md, "Scaling reads with
/// object storage"). The credentials are read from AWS_ACCESS_KEY_ID and
/// AWS_SECRET_ACCESS_KEY, never from the command line.
#[derive(Debug, clap::Args)]
pub struct PublishArgs {
    /// Publish full hash tiles, the checkpoint and the status lists to this S3 endpoint
    /// (https://…, or http:// to a loopback address); needs --publish-bucket.
    #[arg(long, value_name = "URL", requires = "publish_bucket")]
    publish_s3: Option<String>,
    /// The bucket to publish to.
    #[arg(long, value_name = "NAME", requires = "publish_s3")]
    publish_bucket: Option<String>,
    /// Key prefix under which the node's paths are published (e.g. registry/cq-sc).
    #[arg(
        long,
        value_name = "PREFIX",
        default_value = "",
        requires = "publish_s3"
    )]
    publish_prefix: String,
    /// The region requests to the object store are signed for.
    #[arg(long, default_value = "us-east-1", requires = "publish_s3")]
    publish_region: String,
    /// Milliseconds between two publication rounds.
    #[arg(long, default_value_t = 1000, requires = "publish_s3")]
    publish_interval_ms: u64,
}

impl PublishArgs {
    /// The checked configuration, when publication is asked for.
    fn config(&self) -> anyhow::Result<Option<registry_node::publish::PublishConfig>> {
        let (Some(endpoint), Some(bucket)) = (&self.publish_s3, &self.publish_bucket) else {
            return Ok(None);
        };
        Ok(Some(registry_node::publish::PublishConfig::new(
            endpoint,
            bucket,
            &self.publish_prefix,
            &self.publish_region,
            Duration::from_millis(self.publish_interval_ms.max(10)),
            |name| std::env::var(name).ok(),
        )?))
    }
}

/// The connection limits of `serve` (docs/security.md, "Connections").
#[derive(Debug, clap::Args)]
struct LimitArgs {
    /// Seconds a new connection may take to send its first whole request head; then it
    /// is closed.
    #[arg(long, default_value_t = ServerLimits::DEFAULT_HEADER_READ_TIMEOUT_SECS)]
    header_read_timeout_secs: u64,
    /// Seconds a kept-alive connection may wait for its next request after a response;
    /// then it is closed.
    #[arg(long, default_value_t = ServerLimits::DEFAULT_IDLE_TIMEOUT_SECS)]
    idle_timeout_secs: u64,
    /// Most connections the node holds; when full, the longest-idle connection without a
    /// request in flight makes room for a new one. Needs this many file descriptors plus
    /// 576 (the node raises its soft RLIMIT_NOFILE to the hard limit at start).
    /// [default: 4096, or what the descriptor limit holds]
    #[arg(long)]
    max_connections: Option<usize>,
    /// Most connections one client address (an IPv6 /64) holds; beyond, 429.
    #[arg(long, default_value_t = ServerLimits::DEFAULT_MAX_CONNECTIONS_PER_IP)]
    max_connections_per_ip: usize,
}

impl LimitArgs {
    /// The limits, checked against the process's descriptor limit (raised first). Without
    /// --max-connections, the default is lowered to what the descriptors hold.
    fn limits(&self) -> anyhow::Result<ServerLimits> {
        let descriptors = registry_node::connections::raise_descriptor_limit()
            .context("reading the open-file limit")?;
        let mut limits = ServerLimits {
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_connections: self
                .max_connections
                .unwrap_or(ServerLimits::DEFAULT_MAX_CONNECTIONS),
            max_connections_per_ip: self.max_connections_per_ip,
        };
        if self.max_connections.is_none() && limits.check_descriptors(descriptors).is_err() {
            let within = ServerLimits::max_connections_within(descriptors);
            if within > 0 {
                tracing::warn!(
                    descriptors,
                    max_connections = within,
                    "the open-file limit holds fewer connections than the default; raise it (ulimit -Hn, systemd LimitNOFILE=) to hold more"
                );
                limits.max_connections = within;
            }
        }
        limits.check()?;
        limits.check_descriptors(descriptors)?;
        Ok(limits)
    }
}

/// A node's options, read and checked: what `serve` starts and `check-config` reports.
struct Checked {
    limits: ServerLimits,
    policy: PolicyConfig,
    batching: BatchConfig,
    tls: Option<ServerTls>,
    role: Role,
    /// The member's endpoint in the federation configuration.
    endpoint: Option<String>,
    listen: SocketAddr,
    public_url: Option<String>,
    data: PathBuf,
    backup_dir: Option<PathBuf>,
    publication: Option<registry_node::publish::PublishConfig>,
}

/// Reads and checks every option that can be checked without binding the port or opening
/// the store.
fn checked(args: ServeArgs) -> anyhow::Result<Checked> {
    // Before anything opens a file: the limits decide how many the node may need.
    let limits = args.limits.limits()?;
    let publication = args.publish.config()?;
    let policy = PolicyConfig {
        id_search_burst: args.id_search_burst,
        id_search_per_hour: args.id_search_per_hour,
        max_reserved_slots: args.max_reserved_slots,
        open_issuer: args.open_issuer,
        min_free_disk_bytes: args.min_free_disk_mb.saturating_mul(1 << 20),
    };
    let batching = BatchConfig {
        max_batch_entries: args.batch_max_entries.max(1),
        max_batch_delay: Duration::from_millis(args.batch_max_delay_ms),
        queue_capacity: args.queue_capacity.max(1),
    };
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(ServerTls::load(cert, key)?),
        _ => None,
    };
    let peer_roots = match &args.peer_ca {
        Some(path) => registry_node::tls::peer_roots(path)?,
        None => Vec::new(),
    };
    if let Some(url) = &args.public_url {
        check_public_url(url)?;
    }
    let (role, endpoint) = match (args.config, args.member) {
        (Some(config), Some(member)) => {
            let federation: Arc<Federation> =
                Arc::new(registry_node::node::load_federation(&config)?);
            let endpoint = federation
                .member(&member)
                .map(|config| config.endpoint.clone());
            (
                Role::Member {
                    federation,
                    member,
                    keys_from: args.keys_from,
                    peer_roots,
                },
                endpoint,
            )
        }
        _ => (Role::Development, None),
    };
    if let (Some(url), Some(endpoint)) = (&args.public_url, &endpoint) {
        anyhow::ensure!(
            url.trim_end_matches('/') == endpoint,
            "--public-url {url:?} is not the member's endpoint {endpoint:?} in the federation \
             configuration: a member's credentials name their context and schemas under its \
             endpoint, which is what peers and verifiers check them against"
        );
    }
    let listen = match (args.listen, &endpoint) {
        (Some(listen), _) => listen,
        (None, Some(endpoint)) => listen_address(endpoint)?,
        (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
    };
    Ok(Checked {
        limits,
        policy,
        batching,
        tls,
        role,
        endpoint,
        listen,
        public_url: args.public_url,
        data: args.data,
        backup_dir: args.backup_dir,
        publication,
    })
}

/// A public URL is an absolute `http(s)://` URL without query or fragment: it is the base
/// of every URL the node writes into credentials.
fn check_public_url(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .with_context(|| format!("--public-url {url:?} is not an http:// or https:// URL"))?;
    let host = rest.split('/').next().unwrap_or_default();
    anyhow::ensure!(
        !host.is_empty() && !url.contains(['?', '#', ' ']),
        "--public-url {url:?} needs a host and no query, fragment or space"
    );
    Ok(())
}

/// `registry-node serve`: opens the node and serves until SIGTERM or SIGINT.
pub async fn run(args: ServeArgs) -> anyhow::Result<()> {
    if args.stop_when_stdin_closes {
        super::demo::stop_when_stdin_closes()?;
    }
    let checked = checked(args)?;
    let listener = tokio::net::TcpListener::bind(checked.listen)
        .await
        .with_context(|| format!("listening on {}", checked.listen))?;
    let address = listener.local_addr()?;
    let scheme = if checked.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let public_url = checked
        .public_url
        .or(checked.endpoint)
        .unwrap_or_else(|| format!("{scheme}://{address}"));
    let data = checked.data;
    let mut node = registry_node::node::open(
        &data,
        checked.batching,
        checked.role,
        &public_url,
        checked.policy,
    )?;
    if let Some(dir) = checked.backup_dir {
        node = node.with_backup_dir(&data, dir);
    }
    let member = &node.state.member;
    let mut stdout = std::io::stdout();
    writeln!(
        stdout,
        "registry-node: member {} ({}), authority {}\nregistry-node: data in {} (on-disk format version {})\nregistry-node: listening on {scheme}://{address}",
        member.id,
        member.name_zh,
        member.authority_did,
        data.display(),
        node.state
            .store
            .format_version()?
            .unwrap_or(registry_node::store::FORMAT_VERSION)
    )?;
    stdout.flush()?;
    node.start_federation();
    if let Some(config) = &checked.publication {
        node.start_publication(config)?;
    }
    node.serve(listener, checked.limits, checked.tls).await?;
    Ok(())
}

/// `registry-node check-config`: checks the options as `serve` would and describes the
/// node they make, without binding its port, opening its store or writing anything.
///
/// # Errors
/// What `serve` would refuse at start, and keys that are not the member's.
pub fn check(args: ServeArgs) -> anyhow::Result<String> {
    let node_config = args.node_config.clone();
    let checked = checked(args)?;
    let mut summary = String::new();
    if let Some(file) = &node_config {
        writeln!(summary, "node configuration: {}", file.display())?;
    }
    match &checked.role {
        Role::Member {
            federation,
            member,
            keys_from,
            ..
        } => {
            registry_node::node::check_member_keys(
                &checked.data,
                federation,
                member,
                keys_from.as_deref(),
            )?;
            writeln!(
                summary,
                "member: {member} of federation {} ({} members); keys match the configuration",
                federation.id,
                federation.members().len()
            )?;
        }
        Role::Development => writeln!(summary, "member: the development member")?,
    }
    check_data_dir(&checked.data)?;
    writeln!(summary, "data: {}", checked.data.display())?;
    let scheme = if checked.tls.is_some() {
        "https"
    } else {
        "http"
    };
    writeln!(summary, "listen: {scheme}://{}", checked.listen)?;
    let public_url = checked
        .public_url
        .or(checked.endpoint)
        .unwrap_or_else(|| format!("{scheme}://{}", checked.listen));
    writeln!(summary, "public URL: {public_url}")?;
    let limits = checked.limits;
    writeln!(
        summary,
        "limits: {} connections ({} per address), header-read timeout {:?}, idle timeout {:?}",
        limits.max_connections,
        limits.max_connections_per_ip,
        limits.header_read_timeout,
        limits.idle_timeout
    )?;
    writeln!(
        summary,
        "sequencer: batches of at most {} entries, queue of {}",
        checked.batching.max_batch_entries, checked.batching.queue_capacity
    )?;
    if let Some(config) = &checked.publication {
        writeln!(
            summary,
            "publication: {} bucket {} (credentials from the environment)",
            config.endpoint, config.bucket
        )?;
    }
    writeln!(summary, "configuration ok")?;
    Ok(summary)
}

/// The data directory exists and is a directory this user may write, or can be created.
fn check_data_dir(data: &Path) -> anyhow::Result<()> {
    match std::fs::metadata(data) {
        Ok(metadata) => {
            anyhow::ensure!(
                metadata.is_dir(),
                "the data directory {} is not a directory",
                data.display()
            );
            rustix::fs::access(
                data,
                rustix::fs::Access::WRITE_OK | rustix::fs::Access::EXEC_OK,
            )
            .with_context(|| format!("the data directory {} is not writable", data.display()))
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let parent = data
                .parent()
                .filter(|parent| !parent.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            rustix::fs::access(parent, rustix::fs::Access::WRITE_OK).with_context(|| {
                format!(
                    "the data directory {} does not exist and {} is not writable",
                    data.display(),
                    parent.display()
                )
            })
        }
        Err(error) => Err(error).with_context(|| format!("reading {}", data.display())),
    }
}

/// The socket address of an `http://host:port` endpoint (the host must be an IP address).
fn listen_address(endpoint: &str) -> anyhow::Result<SocketAddr> {
    let authority = endpoint
        .split_once("://")
        .map_or(endpoint, |(_, rest)| rest);
    authority.parse().with_context(|| {
        format!(
            "the member endpoint {endpoint} has no IP address and port to listen on; pass --listen"
        )
    })
}

//! `registry-node`: command-line entry point. Parses arguments and starts the node; the
//! node itself is the `registry_node` library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use registry_node::connections::ServerLimits;
use registry_node::log::sequencer::BatchConfig;
use registry_node::node::Role;
use std::sync::Arc;
use tracing_subscriber::EnvFilter;

mod commands;

// Issuance and verification allocate many small JSON values; mimalloc spends less time
// on them than the system allocator (measured with `perf`, docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A regional registry node of the Chengdu–Chongqing talent credential federation.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a node. Without a federation config: one development member.
    Serve {
        /// Address to listen on (port 0 picks a free port; the chosen address is printed).
        /// Default: the member's endpoint with --config, else 127.0.0.1:8080.
        #[arg(long)]
        listen: Option<SocketAddr>,
        /// The URL clients reach this node at, written into credentials' status-list
        /// entries. Default: the member's endpoint with --config, else http://<listen address>.
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
        /// Let the VC-API's open issuer sign general W3C credentials (types that are not the
        /// registry's) with its own key, `keys/open-issuer.key`: for W3C interoperability
        /// tests. The authority never signs them, and they are not logged.
        #[arg(long)]
        open_issuer: bool,
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
        /// Boxed: the variant would otherwise dwarf the other commands.
        #[command(flatten)]
        publish: Box<PublishArgs>,
    },
    /// Manage operator tokens (stored hashed in <data>/tokens.json; takes effect at once,
    /// also while the node runs).
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Issue the credentials of a CSV file (UTF-8, Chinese headers; see the console's import
    /// page) at a running node. Every row is checked first: with any row wrong, every
    /// problem is listed by row and column and nothing is issued (exit 2), unless
    /// --valid-rows. Prints `row,credentialId` for each issued row.
    Import {
        /// The CSV file.
        file: PathBuf,
        /// The node's URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        node: String,
        /// An operator token allowed to issue (or set REGISTRY_TOKEN).
        #[arg(long, env = "REGISTRY_TOKEN", hide_env_values = true)]
        token: String,
        /// Issue the valid rows even when some rows are wrong.
        #[arg(long)]
        valid_rows: bool,
        /// Credentials per durable batch (1–1000).
        #[arg(long, default_value_t = commands::import::DEFAULT_BATCH)]
        batch: usize,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
    /// Start the five-member Chengdu–Chongqing federation locally (dev-only keys), issue a
    /// sample credential of every type at each member and show them verified everywhere.
    Demo {
        /// Federation configuration; its dev-keys/ directory holds the members' keys.
        #[arg(
            long,
            default_value = "federation-config/chengdu-chongqing/federation.toml"
        )]
        config: PathBuf,
        /// Parent directory of the members' data directories.
        #[arg(long, default_value = "./data/demo")]
        data: PathBuf,
    },
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

/// Publication to S3-compatible object storage (docs/operations.md, "Scaling reads with
/// object storage"). The credentials are read from AWS_ACCESS_KEY_ID and
/// AWS_SECRET_ACCESS_KEY, never from the command line.
#[derive(Debug, clap::Args)]
struct PublishArgs {
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

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Create a token and print it (it is shown only once).
    Create {
        /// admin (everything), issuer (one issuer DID's credentials), auditor (read-only).
        #[arg(long)]
        role: registry_node::tokens::Role,
        /// For an issuer token: the issuer DID it acts for.
        #[arg(long)]
        issuer: Option<String>,
        /// Who holds it (for the records).
        #[arg(long)]
        name: String,
        /// The node's data directory.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
    },
    /// List tokens (never their secrets).
    List {
        /// The node's data directory.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
    },
    /// Revoke a token by id.
    Revoke {
        /// The token id (the part after `trt_`, before the second `_`).
        id: String,
        /// The node's data directory.
        #[arg(long, default_value = "./data")]
        data: PathBuf,
    },
}

fn main() -> ExitCode {
    // Before anything is written: the data directory is for this user only (full ID
    // numbers, keys, token hashes), RocksDB's files included.
    registry_node::file_modes::restrict_new_files();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("registry-node: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn run_token(command: TokenCommand) -> anyhow::Result<()> {
    use registry_node::tokens;
    let mut stdout = std::io::stdout();
    match command {
        TokenCommand::Create {
            role,
            issuer,
            name,
            data,
        } => {
            let (record, token) = tokens::create(&data, role, issuer.as_deref(), &name)?;
            writeln!(stdout, "{token}")?;
            eprintln!(
                "registry-node: created {} token {} for {:?}{} — store it now, it is not shown again",
                record.role,
                record.id,
                record.name,
                record
                    .issuer
                    .as_deref()
                    .map(|did| format!(" acting for {did}"))
                    .unwrap_or_default()
            );
        }
        TokenCommand::List { data } => {
            for record in tokens::list(&data)? {
                writeln!(
                    stdout,
                    "{}\t{}\t{}\t{}\t{}\t{}",
                    record.id,
                    record.role,
                    record.name,
                    record.issuer.as_deref().unwrap_or("-"),
                    record.created,
                    record
                        .revoked
                        .as_deref()
                        .map_or("active".to_owned(), |at| format!("revoked {at}"))
                )?;
            }
        }
        TokenCommand::Revoke { id, data } => {
            let record = tokens::revoke(&data, &id)?;
            writeln!(stdout, "revoked {} ({})", record.id, record.name)?;
        }
    }
    Ok(())
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = || {
        tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")
    };
    match cli.command {
        Command::Serve {
            listen,
            public_url,
            config,
            member,
            keys_from,
            data,
            batch_max_entries,
            batch_max_delay_ms,
            queue_capacity,
            stop_when_stdin_closes,
            limits,
            id_search_burst,
            id_search_per_hour,
            max_reserved_slots,
            open_issuer,
            publish,
        } => runtime()?.block_on(async {
            if stop_when_stdin_closes {
                commands::demo::stop_when_stdin_closes()?;
            }
            // Before anything opens a file: the limits decide how many the node may need.
            let limits = limits.limits()?;
            let publication = publish.config()?;
            let policy = registry_node::policy::PolicyConfig {
                id_search_burst,
                id_search_per_hour,
                max_reserved_slots,
                open_issuer,
            };
            let batching = BatchConfig {
                max_batch_entries: batch_max_entries.max(1),
                max_batch_delay: Duration::from_millis(batch_max_delay_ms),
                queue_capacity: queue_capacity.max(1),
            };
            let (role, endpoint): (Role, Option<String>) = match (config, member) {
                (Some(config), Some(member)) => {
                    let federation = Arc::new(registry_node::node::load_federation(&config)?);
                    let endpoint = federation
                        .member(&member)
                        .map(|config| config.endpoint.clone());
                    (
                        Role::Member {
                            federation,
                            member,
                            keys_from,
                        },
                        endpoint,
                    )
                }
                _ => (Role::Development, None),
            };
            let listen = match (listen, &endpoint) {
                (Some(listen), _) => listen,
                (None, Some(endpoint)) => listen_address(endpoint)?,
                (None, None) => SocketAddr::from(([127, 0, 0, 1], 8080)),
            };
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let address = listener.local_addr()?;
            let public_url = public_url
                .or(endpoint)
                .unwrap_or_else(|| format!("http://{address}"));
            let mut node = registry_node::node::open(&data, batching, role, &public_url, policy)?;
            let member = &node.state.member;
            let mut stdout = std::io::stdout();
            writeln!(
                stdout,
                "registry-node: member {} ({}), authority {}\nregistry-node: data in {}\nregistry-node: listening on http://{address}",
                member.id,
                member.name_zh,
                member.authority_did,
                data.display()
            )?;
            stdout.flush()?;
            node.start_federation();
            if let Some(config) = &publication {
                node.start_publication(config)?;
            }
            node.serve(listener, limits).await?;
            Ok(())
        }),
        Command::Demo { config, data } => {
            runtime()?.block_on(commands::demo::run(&config, &data))
        }
        Command::Token { command } => run_token(command),
        Command::Import {
            file,
            node,
            token,
            valid_rows,
            batch,
            quiet,
        } => {
            use commands::import::{ImportOptions, ImportOutcome, run};
            let options = ImportOptions {
                node: &node,
                token: &token,
                valid_rows,
                batch,
                progress: !quiet,
            };
            match run(&file, &options, &mut std::io::stdout(), &mut std::io::stderr())? {
                ImportOutcome::Issued(count) => {
                    eprintln!("registry-node: issued {count} credentials from {}", file.display());
                    Ok(())
                }
                ImportOutcome::Refused(rows) => {
                    anyhow::bail!("{rows} rows are wrong; nothing was issued")
                }
            }
        }
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

//! `registry-node`: command-line entry point. Parses arguments and starts the node; the
//! node itself is the `registry_node` library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use commands::serve::LogFormat;
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
    /// Run a node. Without a federation config: one development member. Every option can
    /// also be set in a node configuration file (--node-config); options given here win.
    #[command(args_override_self = true)]
    Serve(commands::serve::ServeArgs),
    /// Check a node's configuration as `serve` would read it (the node configuration file,
    /// the federation configuration, the TLS files, the limits, the data directory and its
    /// keys) without starting it: exit 0 and a summary, or exit 2 and what is wrong.
    #[command(args_override_self = true)]
    CheckConfig(commands::serve::ServeArgs),
    /// Write a verified backup (RocksDB checkpoint, keys, tokens, audit log, manifest) into
    /// a new directory: through the running node (--node, admin token; the directory is on
    /// the node's machine, inside its --backup-dir) or from a stopped node's --data.
    Backup {
        /// The new backup directory (absent or empty).
        #[arg(long)]
        to: PathBuf,
        /// The running node's URL.
        #[arg(
            long,
            conflicts_with = "data",
            required_unless_present = "data",
            requires = "token"
        )]
        node: Option<String>,
        /// An admin token of that node (or set REGISTRY_TOKEN).
        #[arg(long, env = "REGISTRY_TOKEN", hide_env_values = true)]
        token: Option<String>,
        /// The stopped node's data directory.
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Verify a backup and restore it into a data directory whose node is stopped. The node
    /// then checks its log against its peers before it appends again.
    Restore {
        /// The backup directory.
        #[arg(long)]
        from: PathBuf,
        /// The data directory to restore into.
        #[arg(long)]
        data: PathBuf,
        /// Restore even when the data directory holds something: it is moved to
        /// <data>.before-restore-<time>, never deleted.
        #[arg(long)]
        force: bool,
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

/// Starts the log: lines on standard error in `format`, filtered by `RUST_LOG` (default
/// `info`).
fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .init(),
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
    let arguments =
        match commands::node_config::expand(std::env::args_os().collect(), &Cli::command()) {
            Ok(arguments) => arguments,
            Err(error) => {
                eprintln!("registry-node: {error:#}");
                return ExitCode::from(2);
            }
        };
    let cli = Cli::parse_from(arguments);
    init_logging(match &cli.command {
        Command::Serve(args) => args.log_format(),
        _ => LogFormat::Text,
    });
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
        Command::Serve(args) => runtime()?.block_on(commands::serve::run(args)),
        Command::CheckConfig(args) => {
            let summary = commands::serve::check(args)?;
            print!("{summary}");
            Ok(())
        }
        Command::Demo { config, data } => runtime()?.block_on(commands::demo::run(&config, &data)),
        Command::Token { command } => run_token(command),
        Command::Backup {
            to,
            node,
            token,
            data,
        } => {
            use commands::backup::{BackupFrom, back_up};
            let from = match (&node, &token, &data) {
                (Some(url), Some(token), _) => BackupFrom::Node { url, token },
                (_, _, Some(data)) => BackupFrom::Data(data),
                _ => anyhow::bail!("give --node with --token, or --data"),
            };
            back_up(&from, &to, &mut std::io::stdout())
        }
        Command::Restore { from, data, force } => {
            commands::backup::restore(&from, &data, force, &mut std::io::stdout())
        }
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
            match run(
                &file,
                &options,
                &mut std::io::stdout(),
                &mut std::io::stderr(),
            )? {
                ImportOutcome::Issued(count) => {
                    eprintln!(
                        "registry-node: issued {count} credentials from {}",
                        file.display()
                    );
                    Ok(())
                }
                ImportOutcome::Refused(rows) => {
                    anyhow::bail!("{rows} rows are wrong; nothing was issued")
                }
            }
        }
    }
}

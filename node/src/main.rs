//! `registry-node`: command-line entry point. Parses arguments and starts the node; the
//! node itself is the `registry_node` library.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand};
use registry_node::log::sequencer::BatchConfig;
use tracing_subscriber::EnvFilter;

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
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
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
    },
}

fn main() -> ExitCode {
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

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    match cli.command {
        Command::Serve {
            listen,
            data,
            batch_max_entries,
            batch_max_delay_ms,
            queue_capacity,
        } => runtime.block_on(async {
            let batching = BatchConfig {
                max_batch_entries: batch_max_entries.max(1),
                max_batch_delay: Duration::from_millis(batch_max_delay_ms),
                queue_capacity: queue_capacity.max(1),
            };
            let state = registry_node::node::open_development(&data, batching)?;
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("listening on {listen}"))?;
            let address = listener.local_addr()?;
            let mut stdout = std::io::stdout();
            writeln!(
                stdout,
                "registry-node: member {} ({}), authority {}\nregistry-node: data in {}\nregistry-node: listening on http://{address}",
                state.member.id,
                state.member.name_zh,
                state.member.authority_did,
                data.display()
            )?;
            stdout.flush()?;
            registry_node::node::serve(state, listener).await
        }),
    }
}

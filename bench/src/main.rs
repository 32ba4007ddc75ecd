//! `talent-bench`: the documented benchmarks of the talent registry (`docs/benchmarks.md`).
//!
//! Each subcommand runs the release binaries of the workspace (`talent-verify`,
//! `registry-node`) the way a user would, and prints the figures next to the hardware limits
//! it measured in the same run (Ed25519 signs and verifies per second, synced RocksDB
//! commits per second), so a figure is always read against the machine it came from.
//! Benchmarks are commands, never timed tests: nothing here asserts a target.
//!
//! Every loop is bounded in count and in time, and everything talks to 127.0.0.1 only.

mod binaries;
mod closed_loop;
mod corpus;
mod crypto;
mod http1;
mod issue;
mod limits;
mod node;
mod procfs;
mod read_path;
mod report;
mod sync;
mod verify;
mod verify_api;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Benchmarks of the Chengdu–Chongqing talent credential registry.
///
/// Run with `cargo run --release -p talent-bench -- <benchmark>` after
/// `cargo build --release -p registry-node -p talent-verify`.
#[derive(Debug, Parser)]
#[command(name = "talent-bench", version, about, long_about = None)]
struct Cli {
    /// Which benchmark.
    #[command(subcommand)]
    command: Command,
}

/// The benchmarks.
#[derive(Debug, Subcommand)]
enum Command {
    /// Offline verification rate of `talent-verify` over generated credentials, next to the
    /// Ed25519 verify rate of this machine.
    Verify(verify::VerifyArgs),
    /// Issuance throughput and acknowledgement latency of a `registry-node` under concurrent
    /// clients, next to Ed25519 signs/s and synced RocksDB commits/s.
    Issue(issue::IssueArgs),
    /// Federation catch-up (a fresh member mirroring a peer's log, verifying every entry)
    /// and propagation latency (issue → verified with a quorum at another member), next to
    /// the Ed25519 verify and batch-verify limits.
    Sync(sync::SyncArgs),
    /// Ed25519 and SM2 signs and verifies per second side by side: the limits of the two
    /// cryptosuites.
    Crypto(crypto::CryptoArgs),
    /// `POST /api/v1/verify` requests/s and latency of a `registry-node` under concurrent
    /// connections, next to the Ed25519 verify and batch-verify limits.
    VerifyApi(verify_api::VerifyApiArgs),
    /// Reads of hash tiles and status lists from the node and from the object store it
    /// publishes to, side by side, and issuance with publication off and on.
    ReadPath(read_path::ReadPathArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cfg!(debug_assertions) {
        eprintln!(
            "talent-bench: warning: this is a debug build; figures are only meaningful from \
             `cargo run --release -p talent-bench`"
        );
    }
    let result = match cli.command {
        Command::Verify(args) => verify::run(&args),
        Command::Issue(args) => issue::run(&args),
        Command::Sync(args) => sync::run(&args),
        Command::VerifyApi(args) => verify_api::run(&args),
        Command::Crypto(args) => crypto::run(&args),
        Command::ReadPath(args) => read_path::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("talent-bench: {error:#}");
            ExitCode::FAILURE
        }
    }
}

//! Command-line arguments. Parsing only: no I/O happens here.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Verify Chengdu–Chongqing talent credentials, offline or against a registry node.
///
/// Exit status: 0 valid, 1 not valid, 2 bad input or usage.
#[derive(Debug, Parser)]
#[command(name = "talent-verify", version, about, long_about = None)]
pub struct Args {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a credential (a signed VC, or an API response `{"credential": …}`).
    Verify(VerifyArgs),
}

/// `talent-verify verify`.
#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// Credential file, or `-` for standard input.
    pub file: PathBuf,
    /// Ask this registry node (e.g. http://127.0.0.1:8080) instead of verifying offline.
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
    /// Print the verdict as JSON instead of a report.
    #[arg(long)]
    pub json: bool,
}

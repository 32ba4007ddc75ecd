//! `talent-verify`: the employer's verifier. Glue only: arguments → input → `talent_core`
//! verification (or a node's) → report. Exit 0 valid, 1 not valid, 2 bad input or usage.

mod args;
mod report;

use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Parser;
use serde_json::Value;
use talent_core::schema::SchemaSet;
use talent_core::verify::{Verdict, VerifyOptions, verify_credential};

use crate::args::{Args, Command, VerifyArgs};

/// What a run concluded, mapped to the exit status.
enum Outcome {
    Valid,
    NotValid,
}

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(error) => {
            // --help and --version are not errors.
            let code = if error.use_stderr() { 2 } else { 0 };
            let _ = error.print();
            return ExitCode::from(code);
        }
    };
    match run(args) {
        Ok(Outcome::Valid) => ExitCode::SUCCESS,
        Ok(Outcome::NotValid) => ExitCode::from(1),
        Err(error) => {
            // A closed pipe (`talent-verify … | head`) is not an error worth reporting.
            if is_broken_pipe(&error) {
                return ExitCode::SUCCESS;
            }
            eprintln!("talent-verify: {error:#}");
            ExitCode::from(2)
        }
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(args: Args) -> anyhow::Result<Outcome> {
    match args.command {
        Command::Verify(verify) => run_verify(&verify),
    }
}

fn run_verify(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let credential = read_credential(args)?;
    let verdict = match &args.node {
        Some(node) => verify_online(node, &credential)?,
        None => verify_credential(
            &credential,
            &VerifyOptions {
                now: chrono::Utc::now(),
                schemas: &SchemaSet::new(),
            },
        ),
    };
    let mut stdout = std::io::stdout().lock();
    if args.json {
        serde_json::to_writer_pretty(&mut stdout, &verdict)?;
        writeln!(stdout)?;
    } else {
        write!(stdout, "{}", report::render(&verdict))?;
    }
    stdout.flush()?;
    Ok(if verdict.verified {
        Outcome::Valid
    } else {
        Outcome::NotValid
    })
}

/// Reads the input and finds the credential in it: a signed VC, or `{"credential": VC}` as
/// the node's issuance API returns it.
fn read_credential(args: &VerifyArgs) -> anyhow::Result<Value> {
    let text = if args.file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("reading standard input")?;
        text
    } else {
        std::fs::read_to_string(&args.file)
            .with_context(|| format!("reading {}", args.file.display()))?
    };
    let value: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", display_name(args)))?;
    let credential = match value.get("credential") {
        Some(inner) if value.get("proof").is_none() => inner.clone(),
        _ => value,
    };
    if !credential.is_object() || credential.get("@context").is_none() {
        bail!(
            "{} is not a verifiable credential (no @context object found)",
            display_name(args)
        );
    }
    Ok(credential)
}

fn display_name(args: &VerifyArgs) -> String {
    if args.file.as_os_str() == "-" {
        "standard input".into()
    } else {
        args.file.display().to_string()
    }
}

/// Asks a node for its verdict (`POST /api/v1/verify`).
fn verify_online(node: &str, credential: &Value) -> anyhow::Result<Verdict> {
    let url = format!("{}/api/v1/verify", node.trim_end_matches('/'));
    let client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(30))
        .build()?;
    let response = client
        .post(&url)
        .json(&serde_json::json!({ "credential": credential }))
        .send()
        .with_context(|| format!("contacting {url}"))?;
    let status = response.status();
    let body: Value = response
        .json()
        .with_context(|| format!("{url} answered {status} with a body that is not JSON"))?;
    if !status.is_success() {
        bail!(
            "{url} refused the request ({status}): {}",
            body["message"].as_str().unwrap_or("no message")
        );
    }
    serde_json::from_value(body)
        .with_context(|| format!("{url} answered with an unknown verdict shape"))
}

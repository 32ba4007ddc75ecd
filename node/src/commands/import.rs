//! `registry-node import FILE.csv`: bulk certification from the command line, against a
//! running node. Every row is checked first ([`talent_forms::bulk`]); with any row wrong,
//! every problem is listed by row and column and nothing is issued, unless `--valid-rows`
//! asks to issue the valid ones. Rows are then issued through
//! `POST /api/v1/credentials:batch` in durable batches (each all or none) with a progress
//! bar, and each issued row's credential id is printed as CSV (`row,credentialId`).

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};
use talent_core::schema::SchemaSet;
use talent_forms::bulk::{self, BulkPlan};

pub use registry_node::issuance::IMPORT_BATCH as DEFAULT_BATCH;

/// How an import ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportOutcome {
    /// Every row to issue was issued.
    Issued(usize),
    /// The file has wrong rows and `--valid-rows` was not given: nothing was issued.
    Refused(usize),
}

/// What to import and where.
#[derive(Debug, Clone)]
pub struct ImportOptions<'a> {
    /// The node's base URL.
    pub node: &'a str,
    /// An operator token allowed to issue.
    pub token: &'a str,
    /// Issue the valid rows even when others are wrong.
    pub valid_rows: bool,
    /// Credentials per durable batch (1–1000).
    pub batch: usize,
    /// Show a progress bar (on stderr).
    pub progress: bool,
}

/// Checks and issues `file`, writing problems to `problems` and issued ids to `issued`.
///
/// # Errors
/// The file cannot be read or is unusable as a whole, the node cannot be reached, or it
/// refuses a batch (the rows issued before are printed and stay issued).
pub fn run(
    file: &Path,
    options: &ImportOptions<'_>,
    issued: &mut impl Write,
    problems: &mut impl Write,
) -> anyhow::Result<ImportOutcome> {
    if !(1..=1000).contains(&options.batch) {
        bail!("--batch must be between 1 and 1000");
    }
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let plan =
        bulk::plan(&bytes, &SchemaSet::new()).with_context(|| format!("{}", file.display()))?;
    report(&plan, problems)?;
    let invalid = plan.invalid_rows();
    if invalid > 0 && !options.valid_rows {
        writeln!(
            problems,
            "{invalid} of {} rows are wrong: nothing was issued (correct them, or pass --valid-rows to issue the others)",
            plan.rows.len()
        )?;
        return Ok(ImportOutcome::Refused(invalid));
    }
    let requests: Vec<(usize, &Value)> = plan.valid_requests().collect();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .build()?;
    let url = format!(
        "{}/api/v1/credentials:batch",
        options.node.trim_end_matches('/')
    );
    let bar = if options.progress {
        let bar = ProgressBar::new(requests.len() as u64);
        bar.set_style(
            ProgressStyle::with_template(
                "{bar:40} {pos}/{len} credentials ({per_sec}, {eta} left)",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };
    writeln!(issued, "row,credentialId")?;
    let mut count = 0;
    for chunk in requests.chunks(options.batch) {
        let body =
            json!({ "credentials": chunk.iter().map(|(_, request)| *request).collect::<Vec<_>>() });
        let response = client
            .post(&url)
            .bearer_auth(options.token)
            .json(&body)
            .send()
            .with_context(|| format!("sending a batch to {url}"))?;
        let status = response.status();
        let answer: Value = response.json().unwrap_or_default();
        if !status.is_success() {
            bar.abandon();
            let first_row = chunk.first().map_or(0, |(row, _)| *row);
            bail!(
                "the node refused the batch starting at row {first_row} ({status}): {} {}; {count} credentials were issued before it",
                answer["code"].as_str().unwrap_or_default(),
                answer["message"].as_str().unwrap_or_default()
            );
        }
        let results = answer["results"].as_array().cloned().unwrap_or_default();
        for ((row, _), result) in chunk.iter().zip(&results) {
            writeln!(
                issued,
                "{row},{}",
                result["id"].as_str().unwrap_or_default()
            )?;
        }
        count += results.len();
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    Ok(ImportOutcome::Issued(count))
}

/// Lists every problem of the plan: `row R, column C: message`.
fn report(plan: &BulkPlan, problems: &mut impl Write) -> std::io::Result<()> {
    for error in plan.errors() {
        if error.column.is_empty() {
            writeln!(problems, "row {}: {}", error.row, error.message)?;
        } else {
            writeln!(
                problems,
                "row {}, column {}: {}",
                error.row, error.column, error.message
            )?;
        }
    }
    Ok(())
}

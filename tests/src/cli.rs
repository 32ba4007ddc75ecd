//! Running the `registry-node` binary's one-shot commands (not a serving node: see
//! [`crate::Node`]) and reading what they said.

use std::process::{Command, Output, Stdio};

use crate::binary;

/// Runs `registry-node <args>` to its end, with no standard input.
///
/// # Panics
/// When the binary cannot be run (a test failure).
pub fn registry_node(args: &[&str]) -> Output {
    Command::new(binary("registry-node"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("registry-node runs")
}

/// What a command printed: its standard output, then its standard error.
pub fn said(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// The example issuance request of `credential_type` in `docs/examples/`.
///
/// # Panics
/// When there is none (a test failure).
pub fn example_request(credential_type: &str) -> serde_json::Value {
    crate::example_requests()
        .into_iter()
        .find(|(name, _)| name == credential_type)
        .map(|(_, request)| request)
        .unwrap_or_else(|| panic!("docs/examples has no {credential_type}"))
}

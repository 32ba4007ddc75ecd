//! Running the binaries' one-shot commands (`talent-verify`, and `registry-node`'s other
//! than a serving node: see [`crate::Node`]) and reading what they said.

use std::process::{Command, Output, Stdio};

use anyhow::Context;

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

/// Runs `talent-verify` with `args`, feeding `stdin`. Trust anchors stored on this machine
/// are not used (a test passes --trust or stores its own with [`talent_verify_with_env`]).
///
/// # Errors
/// The binary could not be run.
pub fn talent_verify(args: &[&str], stdin: Option<&[u8]>) -> anyhow::Result<Output> {
    talent_verify_with_env(
        args,
        stdin,
        &[("TALENT_VERIFY_TRUST", "/nonexistent/trust.json")],
    )
}

/// Runs `talent-verify` with `args`, feeding `stdin`, with extra environment variables.
///
/// # Errors
/// The binary could not be run.
pub fn talent_verify_with_env(
    args: &[&str],
    stdin: Option<&[u8]>,
    env: &[(&str, &str)],
) -> anyhow::Result<Output> {
    use std::io::Write;
    let mut child = Command::new(binary("talent-verify"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(bytes) = stdin {
        child
            .stdin
            .take()
            .context("stdin is piped")?
            .write_all(bytes)?;
    }
    Ok(child.wait_with_output()?)
}

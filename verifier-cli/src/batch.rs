//! Verifying many inputs on all cores: each thread takes the next group of inputs, reads and
//! parses them itself, and checks the group's credential signatures as one Ed25519 batch
//! (`talent_core::verify::verify_credentials`). Verdicts are those of verifying each input
//! alone, in input order.
//!
//! Reading happens on the verifier threads rather than before them: parsing is about a
//! quarter of the work per credential, and a document is dropped as soon as its verdict is
//! reached, so memory stays at one group per thread.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use talent_core::did::KeyCache;
use talent_core::proof_bundle::BundleOptions;
use talent_core::verify::{Verdict, VerifyOptions, verify_credentials};

use crate::input::{Document, Input};

/// Inputs a thread takes at a time, and the largest signature batch: large enough to
/// amortise a batch (most of its cost is per signature beyond a few dozen), small enough
/// that two threads share the work evenly and a bad signature costs little to re-check.
pub const GROUP: usize = 64;

/// A group's index and the outcome of each of its inputs.
type Group = (usize, Vec<Result<Verdict, Failure>>);

/// Why one input has no verdict.
enum Failure {
    /// It could not be read or is not a credential or bundle.
    Read(anyhow::Error),
    /// It is a bundle, and no `--trust` was given.
    BundleWithoutTrust,
    /// Its bundle could not be checked.
    Bundle(anyhow::Error),
}

/// Verifies every input on `threads` threads. Credentials are judged with `options`, bundles
/// with `bundles` (`None`: no `--trust` was given, and a bundle is then an error).
///
/// # Errors
/// As verifying the inputs one after another would fail: the first unreadable input, else
/// `needs_trust` if any input is a bundle and `bundles` is `None`, else the first bundle that
/// could not be checked (named by its input).
pub fn verify_all(
    inputs: &[Input],
    threads: usize,
    options: &VerifyOptions<'_>,
    bundles: Option<&BundleOptions<'_>>,
    needs_trust: impl FnOnce() -> anyhow::Error,
) -> anyhow::Result<Vec<Verdict>> {
    let groups = inputs.len().div_ceil(GROUP);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Group>> = Mutex::new(Vec::with_capacity(groups));
    let worker = || {
        let mut keys = KeyCache::new();
        loop {
            let group = next.fetch_add(1, Ordering::Relaxed);
            let start = group.saturating_mul(GROUP);
            let Some(part) = inputs.get(start..inputs.len().min(start.saturating_add(GROUP)))
            else {
                break;
            };
            if part.is_empty() {
                break;
            }
            let results = verify_group(part, options, bundles, &mut keys);
            // A poisoned lock means another worker panicked; its group is then missing,
            // which is reported below.
            if let Ok(mut done) = done.lock() {
                done.push((group, results));
            }
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..threads.clamp(1, groups.max(1)) {
            scope.spawn(worker);
        }
    });
    let mut done = done
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a verifier thread failed"))?;
    if done.len() != groups {
        anyhow::bail!("a verifier thread failed");
    }
    done.sort_unstable_by_key(|(group, _)| *group);
    let results: Vec<Result<Verdict, Failure>> =
        done.into_iter().flat_map(|(_, results)| results).collect();
    let failure = |wanted: fn(&Failure) -> bool| {
        results
            .iter()
            .zip(inputs)
            .position(|(result, _)| result.as_ref().err().is_some_and(wanted))
    };
    if let Some(at) = failure(|failure| matches!(failure, Failure::Read(_))) {
        return Err(take_error(results, at, inputs));
    }
    if failure(|failure| matches!(failure, Failure::BundleWithoutTrust)).is_some() {
        return Err(needs_trust());
    }
    if let Some(at) = failure(|failure| matches!(failure, Failure::Bundle(_))) {
        return Err(take_error(results, at, inputs));
    }
    Ok(results.into_iter().filter_map(Result::ok).collect())
}

/// The error of input `at`, as the one-by-one path reported it.
fn take_error(
    results: Vec<Result<Verdict, Failure>>,
    at: usize,
    inputs: &[Input],
) -> anyhow::Error {
    let name = inputs.get(at).map(Input::name).unwrap_or_default();
    match results.into_iter().nth(at) {
        Some(Err(Failure::Read(error))) => error,
        Some(Err(Failure::Bundle(error))) => error.context(name),
        _ => anyhow::anyhow!("{name}: no verdict"),
    }
}

/// Reads one group and verifies it: its credentials as one batch, its bundles one by one.
fn verify_group(
    part: &[Input],
    options: &VerifyOptions<'_>,
    bundles: Option<&BundleOptions<'_>>,
    keys: &mut KeyCache,
) -> Vec<Result<Verdict, Failure>> {
    let documents: Vec<Result<Document, Failure>> = part
        .iter()
        .map(|input| input.document().map_err(Failure::Read))
        .collect();
    let credentials: Vec<&Value> = documents
        .iter()
        .filter_map(|document| match document {
            Ok(Document::Credential(credential)) => Some(credential),
            _ => None,
        })
        .collect();
    let mut verdicts = verify_credentials(&credentials, options, keys).into_iter();
    documents
        .into_iter()
        .map(|document| match document {
            Ok(Document::Credential(_)) => verdicts
                .next()
                .ok_or_else(|| Failure::Read(anyhow::anyhow!("no verdict for a credential"))),
            Ok(Document::Bundle(bundle)) => match bundles {
                Some(bundles) => bundle
                    .verify(bundles)
                    .map_err(|error| Failure::Bundle(error.into())),
                None => Err(Failure::BundleWithoutTrust),
            },
            Err(failure) => Err(failure),
        })
        .collect()
}

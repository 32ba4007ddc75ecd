//! Verifying many inputs on all cores: each thread takes the next group of inputs, reads and
//! parses them itself, and checks the group's credential signatures as one Ed25519 batch
//! (`talent_core::verify::verify_credentials`). Verdicts are those of verifying each input
//! alone, in input order.
//!
//! Reading happens on the verifier threads rather than before them: parsing is about a
//! quarter of the work per credential, and a document is dropped as soon as its verdict is
//! reached, so memory stays at one group per thread. A verdict is turned into what the
//! caller keeps of it (see [`verify_all`]) on the thread that reached it: a whole verdict is
//! about a kilobyte of small strings, and on this kind of virtual machine every megabyte of
//! memory a process touches for the first time costs about 2 ms of kernel time.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use talent_core::proof_bundle::BundleOptions;
use talent_core::verify::{Verdict, VerifyOptions, verify_credentials};
use talent_integrity::did::KeyCache;

use crate::input::{Document, Input};

/// Inputs a thread takes at a time, and the largest signature batch. From about 190 points
/// `curve25519-dalek` switches the batch's multiscalar multiplication from Straus to
/// Pippenger, which costs about a quarter less per signature (measured: 16.6 µs at 64,
/// 12.7 µs at 256). The price: fewer than 257 inputs run on one thread, and a bad
/// signature sends 256 signatures to the one-by-one check instead of 64.
pub const GROUP: usize = 256;

/// A group's index and the outcome of each of its inputs.
type Group<T> = (usize, Vec<Result<T, Failure>>);

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
/// with `bundles` (`None`: no `--trust` was given, and a bundle is then an error). What
/// `keep` makes of each input's verdict is returned, one per input, in input order.
///
/// # Errors
/// As verifying the inputs one after another would fail: the first unreadable input, else
/// `needs_trust` if any input is a bundle and `bundles` is `None`, else the first bundle that
/// could not be checked (named by its input).
pub fn verify_all<T: Send>(
    inputs: &[Input],
    threads: usize,
    options: &VerifyOptions<'_>,
    bundles: Option<&BundleOptions<'_>>,
    needs_trust: impl FnOnce() -> anyhow::Error,
    keep: impl Fn(&Input, Verdict) -> T + Sync,
) -> anyhow::Result<Vec<T>> {
    let groups = inputs.len().div_ceil(GROUP);
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Group<T>>> = Mutex::new(Vec::with_capacity(groups));
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
            let results = verify_group(part, options, bundles, &mut keys)
                .into_iter()
                .zip(part)
                .map(|(result, input)| result.map(|verdict| keep(input, verdict)))
                .collect();
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
    let mut results: Vec<Result<T, Failure>> = Vec::with_capacity(inputs.len());
    for (_, group) in done {
        results.extend(group);
    }
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
fn take_error<T>(results: Vec<Result<T, Failure>>, at: usize, inputs: &[Input]) -> anyhow::Error {
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

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::SigningKey;
    use serde_json::json;
    use talent_core::credential::{self, IssueRequest, parse_datetime};
    use talent_core::identifiers::CredentialId;
    use talent_core::schema::SchemaSet;
    use talent_core::verify::{IssuerContext, LogContext, verify_credential};
    use talent_integrity::did::DidKey;
    use talent_integrity::proof::{self, ASSERTION_METHOD, ProofOptions};

    /// A signed credential numbered `serial`.
    fn signed(serial: u32) -> Value {
        let key = SigningKey::from_bytes(&[11u8; 32]);
        let request = IssueRequest::from_json(&json!({
            "type": "ProfessionalTitleCredential",
            "credentialSubject": {
                "name": format!("王五{serial}"),
                "idNumber": "11010519491231002X",
                "employer": {"name": "重庆某科技有限公司", "creditCode": "91500000MA5U1234XH"},
                "series": "工程",
                "specialty": "软件工程",
                "level": "正高级",
                "titleName": "正高级工程师",
                "committee": "重庆市工程技术高级职称评审委员会",
                "conferredOn": "2025-12-30"
            },
            "validUntil": "2036-11-26T00:00:00Z"
        }))
        .expect("request");
        let now = parse_datetime("2026-11-26T03:00:00Z").expect("time");
        let id = format!("0192f1c4-5d6e-7a8b-9c0d-1e2f3a4b{serial:04x}");
        let document = credential::prepare(
            request,
            &DidKey::from_verifying_key(&key.verifying_key()),
            &"cq-sc".parse().expect("region"),
            &credential::Namespace::at("https://cq-sc.example"),
            CredentialId::parse_lenient(&id).expect("id"),
            now,
        )
        .expect("prepares")
        .document;
        let options = ProofOptions {
            created: "2026-11-26T03:00:00Z".into(),
            proof_purpose: ASSERTION_METHOD,
        };
        proof::sign(&document, &key, &options).expect("signs")
    }

    /// A directory of its own under the system temporary directory, removed when dropped.
    struct Scratch(std::path::PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let path = std::env::temp_dir()
                .join(format!("talent-verify-batch-{name}-{}", std::process::id()));
            std::fs::create_dir_all(&path).expect("scratch directory");
            Scratch(path)
        }

        fn write(&self, name: &str, text: &str) -> Input {
            let path = self.0.join(name);
            std::fs::write(&path, text).expect("writes");
            Input::File(path)
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            // Best effort: a leftover directory in the temporary directory is harmless.
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn options(schemas: &SchemaSet) -> VerifyOptions<'_> {
        VerifyOptions {
            now: parse_datetime("2026-11-27T00:00:00Z").expect("time"),
            schemas,
            log: LogContext::NotRequested,
            issuers: IssuerContext::NotRequested,
            status: None,
        }
    }

    #[test]
    fn verdicts_over_several_groups_are_the_one_by_one_verdicts_in_order() {
        let scratch = Scratch::new("verdicts");
        let schemas = SchemaSet::new();
        let options = options(&schemas);
        let mut documents: Vec<Value> = (0..(GROUP as u32 * 2 + 5)).map(signed).collect();
        // One forged credential in the second group: only it fails, on its proof.
        documents[GROUP + 3]["credentialSubject"]["name"] = json!("李四");
        let inputs: Vec<Input> = documents
            .iter()
            .enumerate()
            .map(|(index, document)| {
                scratch.write(&format!("{index:04}.json"), &document.to_string())
            })
            .collect();
        let verdicts = verify_all(
            &inputs,
            2,
            &options,
            None,
            || anyhow::anyhow!("no bundles here"),
            |_, verdict| verdict,
        )
        .expect("verifies");
        assert_eq!(verdicts.len(), documents.len());
        for (index, (document, verdict)) in documents.iter().zip(&verdicts).enumerate() {
            assert_eq!(
                verdict,
                &verify_credential(document, &options),
                "input {index}"
            );
            assert_eq!(verdict.verified, index != GROUP + 3, "input {index}");
        }
    }

    #[test]
    fn the_first_unreadable_input_in_order_is_the_error() {
        let scratch = Scratch::new("unreadable");
        let schemas = SchemaSet::new();
        let options = options(&schemas);
        let inputs: Vec<Input> = (0..(GROUP as u32 + 10))
            .map(|index| {
                let text = match index {
                    // A bad file in each group: the first one must be reported.
                    7 => "not JSON".to_owned(),
                    70 => "[]".to_owned(),
                    _ => signed(index).to_string(),
                };
                scratch.write(&format!("{index:04}.json"), &text)
            })
            .collect();
        let error = verify_all(
            &inputs,
            2,
            &options,
            None,
            || anyhow::anyhow!("no bundles"),
            |_, verdict| verdict.verified,
        )
        .expect_err("an input is not JSON");
        assert!(format!("{error:#}").contains("0007.json"), "{error:#}");
    }
}

//! Hardware limits, measured in the same run as the figures they are printed next to.
//!
//! Each limit is the rate of the one primitive that bounds a benchmark: an Ed25519 verify
//! or sign of the 64-byte message `eddsa-jcs-2022` signs (two SHA-256 digests), an SM2
//! verify or sign of the 64-byte message `sm2-jcs-2025` signs (two SM3 digests), the JCS
//! canonicalisation and hash of a credential, or a synced RocksDB `WriteBatch` commit.
//! Every measurement is bounded by a time budget and by an operation count.

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use ed25519_dalek::{Signer, SigningKey, Verifier};
use serde_json::Value;
use sha2::{Digest, Sha256};
use talent_integrity::jcs;

/// How long each CPU-bound limit is measured.
pub const CPU_BUDGET: Duration = Duration::from_secs(1);
/// How long the synced-commit limit is measured.
pub const COMMIT_BUDGET: Duration = Duration::from_secs(2);
/// Upper bound on operations of one measurement, whatever the budget.
pub const MAX_OPS: u64 = 50_000_000;
/// Size of the `WriteBatch` of the synced-commit limit: four values of 1 KiB, about four
/// signed credentials.
const COMMIT_VALUES: usize = 4;
const COMMIT_VALUE_BYTES: usize = 1024;

/// Seed of the key the limits sign and verify with.
const LIMIT_SEED: [u8; 32] = [7; 32];

/// Operations done in a measured time.
#[derive(Debug, Clone, Copy)]
pub struct Rate {
    /// Operations completed.
    pub ops: u64,
    /// Time they took.
    pub elapsed: Duration,
}

impl Rate {
    /// Operations per second.
    pub fn per_second(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Mean time per operation.
    pub fn mean(&self) -> Duration {
        self.elapsed.div_f64(self.ops.max(1) as f64)
    }
}

/// Runs `op(i)` for `i = 0, 1, …` until `budget` has passed or `max_ops` ran.
///
/// # Errors
/// The first error `op` returns.
pub fn measure(
    budget: Duration,
    max_ops: u64,
    mut op: impl FnMut(u64) -> anyhow::Result<()>,
) -> anyhow::Result<Rate> {
    let started = Instant::now();
    let mut ops = 0;
    while ops < max_ops && started.elapsed() < budget {
        op(ops)?;
        ops += 1;
    }
    Ok(Rate {
        ops,
        elapsed: started.elapsed(),
    })
}

/// The 64-byte message of the Ed25519 limits: shaped like `eddsa-jcs-2022`'s
/// `SHA-256(proof config) ‖ SHA-256(document)`.
fn message() -> [u8; 64] {
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&Sha256::digest(b"proof configuration"));
    message[32..].copy_from_slice(&Sha256::digest(b"document"));
    message
}

/// Rates of threads that measured the same operation at the same time.
#[derive(Debug, Clone)]
pub struct Parallel {
    /// One rate per thread.
    pub threads: Vec<Rate>,
}

impl Parallel {
    /// The summed rate of all threads.
    pub fn per_second(&self) -> f64 {
        self.threads.iter().map(Rate::per_second).sum()
    }
}

/// Runs `measurement` on `threads` threads at once.
///
/// # Errors
/// The first error of a thread, or a panic.
fn on_threads(
    threads: usize,
    measurement: impl Fn() -> anyhow::Result<Rate> + Sync,
) -> anyhow::Result<Parallel> {
    let results: Vec<anyhow::Result<Rate>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| scope.spawn(&measurement))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a measuring thread panicked")))
            })
            .collect()
    });
    Ok(Parallel {
        threads: results.into_iter().collect::<anyhow::Result<_>>()?,
    })
}

/// Ed25519 verifies per second of one 64-byte message, on `threads` threads at once (each
/// verifying for the whole budget).
///
/// # Errors
/// A verification failed (it cannot, for a signature made here), or a thread panicked.
pub fn ed25519_verify(threads: usize) -> anyhow::Result<Parallel> {
    let key = SigningKey::from_bytes(&LIMIT_SEED);
    let verifying = key.verifying_key();
    let message = message();
    let signature = key.sign(&message);
    on_threads(threads, || {
        measure(CPU_BUDGET, MAX_OPS, |_| {
            // The same `verify` (not `verify_strict`) that `proof::verify` uses.
            verifying
                .verify(black_box(&message), black_box(&signature))
                .context("Ed25519 verify of a signature made here failed")
        })
    })
}

/// Signatures of 64-byte messages per second checked by Ed25519 batch verification
/// (`ed25519_dalek::verify_batch`, batches of `batch` signatures by one key), on `threads`
/// threads at once: the ceiling of a verifier that checks many credentials together.
///
/// # Errors
/// A batch failed to verify (it cannot, for signatures made here), or a thread panicked.
pub fn ed25519_batch_verify(threads: usize, batch: usize) -> anyhow::Result<Parallel> {
    let key = SigningKey::from_bytes(&LIMIT_SEED);
    let messages: Vec<[u8; 64]> = (0..batch.max(1))
        .map(|index| {
            let mut message = message();
            message[..8].copy_from_slice(&(index as u64).to_be_bytes());
            message
        })
        .collect();
    let signatures: Vec<_> = messages.iter().map(|message| key.sign(message)).collect();
    let keys = vec![key.verifying_key(); messages.len()];
    let message_refs: Vec<&[u8]> = messages.iter().map(|message| &message[..]).collect();
    let parallel = on_threads(threads, || {
        measure(CPU_BUDGET, MAX_OPS, |_| {
            ed25519_dalek::verify_batch(black_box(&message_refs), &signatures, &keys)
                .context("Ed25519 batch verify of signatures made here failed")
        })
    })?;
    // Count signatures, not batches.
    Ok(Parallel {
        threads: parallel
            .threads
            .into_iter()
            .map(|rate| Rate {
                ops: rate.ops * messages.len() as u64,
                elapsed: rate.elapsed,
            })
            .collect(),
    })
}

/// Ed25519 signs per second of one 64-byte message, on one core.
///
/// # Errors
/// Never in practice; the signature of the first run is checked.
pub fn ed25519_sign() -> anyhow::Result<Rate> {
    let key = SigningKey::from_bytes(&LIMIT_SEED);
    let message = message();
    key.verify(&message, &key.sign(&message))
        .context("Ed25519 sign/verify round trip failed")?;
    measure(CPU_BUDGET, MAX_OPS, |_| {
        black_box(key.sign(black_box(&message)));
        Ok(())
    })
}

/// JCS canonicalisation plus SHA-256 of one credential per second, on one core.
///
/// # Errors
/// Never; the signature is fallible for symmetry with the other limits.
pub fn jcs_sha256(credential: &Value) -> anyhow::Result<Rate> {
    measure(CPU_BUDGET, MAX_OPS, |_| {
        black_box(Sha256::digest(jcs::canonicalize(black_box(credential))));
        Ok(())
    })
}

/// The 64-byte message of the SM2 limits: shaped like `sm2-jcs-2025`'s
/// `SM3(proof config) ‖ SM3(document)`.
fn sm2_message() -> [u8; 64] {
    use sm3::Digest as _;
    let mut message = [0u8; 64];
    message[..32].copy_from_slice(&sm3::Sm3::digest(b"proof configuration"));
    message[32..].copy_from_slice(&sm3::Sm3::digest(b"document"));
    message
}

/// The SM2 key of the limits, with GB/T 32918's default distinguishing ID (what
/// `sm2-jcs-2025` keys use).
fn sm2_key() -> anyhow::Result<sm2::dsa::SigningKey> {
    sm2::dsa::SigningKey::from_slice(talent_integrity::did::SM2_DISTINGUISHING_ID, &LIMIT_SEED)
        .map_err(|_| anyhow::anyhow!("the SM2 limit key is not a valid scalar"))
}

/// SM2 verifies per second of one 64-byte message (the signer's SM3 of `Z_A ‖ message`
/// included), on `threads` threads at once.
///
/// # Errors
/// A verification failed (it cannot, for a signature made here), or a thread panicked.
pub fn sm2_verify(threads: usize) -> anyhow::Result<Parallel> {
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    let key = sm2_key()?;
    let verifying = key.verifying_key().clone();
    let message = sm2_message();
    let signature: sm2::dsa::Signature = key.sign(&message);
    on_threads(threads, || {
        measure(CPU_BUDGET, MAX_OPS, |_| {
            verifying
                .verify(black_box(&message), black_box(&signature))
                .map_err(|_| anyhow::anyhow!("SM2 verify of a signature made here failed"))
        })
    })
}

/// SM2 signs per second of one 64-byte message, on one core (deterministic nonces, as
/// `sm2-jcs-2025` signs).
///
/// # Errors
/// The key is invalid or the first signature does not verify.
pub fn sm2_sign() -> anyhow::Result<Rate> {
    use sm2::dsa::signature::{Signer as _, Verifier as _};
    let key = sm2_key()?;
    let message = sm2_message();
    let signature: sm2::dsa::Signature = key.sign(&message);
    key.verifying_key()
        .verify(&message, &signature)
        .map_err(|_| anyhow::anyhow!("SM2 sign/verify round trip failed"))?;
    measure(CPU_BUDGET, MAX_OPS, |_| {
        let signature: sm2::dsa::Signature = key.sign(black_box(&message));
        black_box(signature);
        Ok(())
    })
}

/// Ed25519 verifies per second, as [`ed25519_verify`] but on one core and as a [`Rate`].
///
/// # Errors
/// As [`ed25519_verify`].
pub fn ed25519_verify_one() -> anyhow::Result<Rate> {
    let mut parallel = ed25519_verify(1)?;
    parallel
        .threads
        .pop()
        .context("one thread measured nothing")
}

/// A synced-commit measurement.
#[derive(Debug, Clone, Copy)]
pub struct Commits {
    /// Commits per measured time.
    pub rate: Rate,
    /// Bytes of values in each committed batch.
    pub batch_bytes: usize,
}

/// Synced RocksDB commits per second: a `WriteBatch` of about 4 KiB written with
/// `WriteOptions::set_sync(true)`, one after another, into a new database in `dir`.
///
/// `dir` should be on the filesystem of the node's data: the rate is that of its `fsync`.
///
/// # Errors
/// The database could not be opened or a write failed.
pub fn synced_commits(dir: &Path) -> anyhow::Result<Commits> {
    let mut options = rocksdb::Options::default();
    options.create_if_missing(true);
    let db = rocksdb::DB::open(&options, dir)
        .with_context(|| format!("opening a RocksDB database in {}", dir.display()))?;
    let mut write_options = rocksdb::WriteOptions::default();
    write_options.set_sync(true);
    let mut value = vec![0u8; COMMIT_VALUE_BYTES];
    let rate = measure(COMMIT_BUDGET, MAX_OPS, |commit| {
        let mut batch = rocksdb::WriteBatch::default();
        for slot in 0..COMMIT_VALUES as u64 {
            let key = commit * COMMIT_VALUES as u64 + slot;
            // Different bytes in every value, so nothing is trivially compressible.
            for (offset, byte) in value.iter_mut().enumerate() {
                *byte = (key as usize).wrapping_mul(31).wrapping_add(offset) as u8;
            }
            batch.put(key.to_be_bytes(), &value);
        }
        db.write_opt(batch, &write_options)
            .context("synced RocksDB write failed")
    })?;
    ensure!(rate.ops > 0, "no synced commit completed within the budget");
    Ok(Commits {
        rate,
        batch_bytes: COMMIT_VALUES * COMMIT_VALUE_BYTES,
    })
}

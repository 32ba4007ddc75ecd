//! Properties of offline proof bundles (`talent_core::proof_bundle`), what an employer's
//! `talent-verify` reads from a holder: a bundle of the fixture credential verifies with the
//! federation's quorum, and any change to it — the credential, its inclusion proof, the
//! checkpoint and its cosignatures, the issuer history — does not, except `asOf`, which is
//! the building node's statement of freshness and not signed by anyone (and members the
//! reader drops).

mod fixtures;
mod support;

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::Value;
use support::{any_edit, any_json, cases, edited, flipped, same_or_context_appended, schemas};
use talent_core::federation::Federation;
use talent_core::proof_bundle::{BundleOptions, ProofBundle};
use talent_tlog::merkle::{MAX_PROOF_HASHES, format_hash};

fn bundle() -> &'static Value {
    static BUNDLE: OnceLock<Value> = OnceLock::new();
    BUNDLE.get_or_init(fixtures::bundle)
}

fn federation() -> &'static Federation {
    static FEDERATION: OnceLock<Federation> = OnceLock::new();
    FEDERATION.get_or_init(fixtures::federation)
}

/// Whether `value` reads as a bundle that verifies with the quorum.
fn verifies(value: &Value) -> bool {
    let Ok(bundle) = ProofBundle::from_json(value) else {
        return false;
    };
    let options = BundleOptions {
        now: fixtures::now() + chrono::Duration::days(1),
        schemas: schemas(),
        trust: federation(),
        require_quorum: true,
        max_status_age: None,
    };
    bundle
        .verify(&options)
        .is_ok_and(|verdict| verdict.verified)
}

/// Whether `changed` reads as the fixture bundle but for what a change may alter and still
/// verify: its `asOf`, values appended to the credential's `@context` (see
/// [`same_or_context_appended`]), and members the reader drops (an unknown member of an
/// inclusion proof, which carries no meaning).
fn harmless(changed: &Value) -> bool {
    let (Ok(mut changed), Ok(original)) = (
        ProofBundle::from_json(changed),
        ProofBundle::from_json(bundle()),
    ) else {
        return false;
    };
    if !same_or_context_appended(&changed.credential, &original.credential) {
        return false;
    }
    changed.as_of = original.as_of.clone();
    changed.credential = original.credential.clone();
    changed == original
}

#[test]
fn the_fixture_bundle_verifies_with_the_quorum() {
    assert!(verifies(bundle()));
    let bundle = ProofBundle::from_json(bundle()).expect("reads");
    let verdict = bundle
        .verify(&BundleOptions {
            now: fixtures::now() + chrono::Duration::days(1),
            schemas: schemas(),
            trust: federation(),
            require_quorum: true,
            max_status_age: None,
        })
        .expect("verifies");
    assert_eq!(verdict.log.expect("log status").cosigners.len(), 3);
}

proptest! {
    #![proptest_config(cases(128))]

    /// Any byte of the bundle file changed (a credential field, a proof hash, a checkpoint
    /// line, a cosignature): if it still parses, it does not verify, unless the change is
    /// one that may.
    #[test]
    fn a_changed_byte_never_verifies(at in any::<Index>(), flip in 1u8..=255) {
        let bytes = serde_json::to_vec(bundle()).expect("JSON");
        let changed = flipped(&bytes, at, flip);
        if let Ok(value) = serde_json::from_slice::<Value>(&changed) {
            prop_assume!(!harmless(&value));
            prop_assert!(!verifies(&value));
        }
    }

    /// Any member anywhere in the bundle replaced, removed or added to.
    #[test]
    fn a_changed_member_never_verifies(at in any::<Index>(), edit in any_edit()) {
        let changed = edited(bundle(), at, &edit);
        prop_assume!(!harmless(&changed));
        prop_assert!(!verifies(&changed), "{edit:?}");
    }

    /// Any JSON value as a bundle, or the fixture bundle with any value in one place: read or
    /// refused without a panic, and never verified.
    #[test]
    fn any_json_is_refused(value in any_json(), at in any::<Index>(), use_whole in any::<bool>()) {
        let value = if use_whole {
            value
        } else {
            edited(bundle(), at, &support::Edit::Replace(value))
        };
        prop_assume!(!harmless(&value));
        prop_assert!(!verifies(&value));
        if let Ok(bundle) = ProofBundle::from_json(&value) {
            for region in ["cq-sc", "cd-hz", "xx"] {
                let _ = bundle.recognise(region, None, federation(), fixtures::now());
            }
        }
    }

    /// Inclusion proofs of hostile lengths (past the 64 hashes any u64-sized tree needs)
    /// are refused, whatever the hashes.
    #[test]
    fn overlong_inclusion_proofs_are_refused(
        extra in 1usize..200,
        hash in any::<[u8; 32]>(),
    ) {
        let hash = format_hash(&talent_tlog::Hash(hash));
        let mut changed = bundle().clone();
        let hashes = changed["inclusionProof"]["hashes"].as_array_mut().expect("hashes");
        while hashes.len() < MAX_PROOF_HASHES + extra {
            hashes.push(hash.clone().into());
        }
        prop_assert!(!verifies(&changed));
    }
}

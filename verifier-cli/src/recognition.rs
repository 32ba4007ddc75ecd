//! `--as-region` and `explain`: whether a credential is recognised in a region, from that
//! region's recognition agreements as its log gives them — carried in a proof bundle
//! (offline) or fetched from a node — verified against the pinned federation, then judged by
//! `talent_core::recognition` exactly as a node judges it.

use std::fmt::Write as _;

use anyhow::{Context, bail};
use serde_json::Value;
use talent_core::credential::{CredentialView, VerifiedCredential};
use talent_core::federation::Federation;
use talent_core::proof_bundle::ProofBundle;
use talent_core::recognition::{self, Presented, Recognition};

use crate::online;

/// Where the region's agreements come from.
pub enum Source<'a> {
    /// The bundle (its own region's history, or one it carries for the region).
    Bundle(&'a ProofBundle),
    /// A node's copy of the region's issuer history.
    Node(&'a str),
}

/// Answers whether `credential` is recognised in `region`: `verified` is the credential
/// when its verification passed with log evidence (the member that issued it is that log's).
/// One that did not is recognised nowhere (the rules are still explained).
///
/// # Errors
/// An unknown region, a bundle without that region's history, a history that does not
/// verify against the pinned federation, or a node that cannot be reached.
pub fn answer(
    source: Source<'_>,
    credential: &Value,
    verified: Option<&VerifiedCredential>,
    region: &str,
    trust: Option<&Federation>,
) -> anyhow::Result<Recognition> {
    let Some(trust) = trust else {
        bail!(
            "recognition is judged from the region's logged agreements, checked against a pinned federation: pass --trust federation.toml or run `talent-verify trust update`"
        );
    };
    let now = chrono::Utc::now();
    match source {
        Source::Bundle(bundle) => Ok(bundle.recognise(region, verified, trust, now)?),
        Source::Node(url) => {
            let member = trust.member(region).with_context(|| {
                format!("region {region:?} is not a member of the pinned federation")
            })?;
            let history = online::Node::new(url)?
                .issuer_history(region)?
                .with_context(|| format!("{url} holds no log of region {region}"))?;
            let (registry, _) = history.verify_member(member).map_err(|error| {
                anyhow::anyhow!(
                    "the issuer history of {region} from {url} does not verify: {error}"
                )
            })?;
            let presented = match verified {
                Some(credential) => Presented::Verified(credential),
                // Not verified: explained as issued by the region it claims.
                None => Presented::NotVerified {
                    credential,
                    issuing: CredentialView::of(credential).region().unwrap_or_default(),
                },
            };
            Ok(recognition::recognise_in(
                &registry,
                presented,
                Some(trust),
                now,
            ))
        }
    }
}

/// The recognition part of a report.
pub fn render(answer: &Recognition) -> String {
    let mut out = String::new();
    let mark = if answer.recognised { "✓" } else { "✗" };
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        "互认 Recognition in {}  {mark} {}",
        answer.region, answer.reason
    );
    if let Some(equivalent) = &answer.equivalent {
        let _ = writeln!(out, "  等同 Equivalent    {equivalent}");
    }
    if let (Some(name), Some(rule)) = (&answer.agreement_name, &answer.rule) {
        let _ = writeln!(out, "  依据 Agreement     {name} (rule {rule})");
    }
    if let Some(basis) = &answer.basis {
        let _ = writeln!(
            out,
            "  文件 Basis         {} ({})",
            basis.document, basis.date
        );
    }
    for grant in &answer.grants {
        let _ = writeln!(out, "  授予 Grants        {grant}");
    }
    for condition in &answer.conditions {
        let _ = writeln!(out, "  条件 Condition     {condition}");
    }
    if answer.illustrative {
        let _ = writeln!(
            out,
            "  ⚠ 示例数据 illustrative: the agreement is example data, not a confirmed policy"
        );
    }
    out
}

/// `explain`: every rule considered and why it matched or not, then the decision.
pub fn render_explanation(answer: &Recognition) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} rules of {}'s agreements considered:",
        answer.considered.len(),
        answer.region
    );
    for item in &answer.considered {
        let _ = writeln!(
            out,
            "  {} {} / {}: {}",
            if item.matched { "✓" } else { "·" },
            item.agreement_name,
            item.rule,
            item.reason
        );
    }
    out.push_str(&render(answer));
    out
}

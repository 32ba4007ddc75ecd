//! Where a credential names the registry's JSON-LD context and its JSON Schema: under the
//! issuing member's node (`<base>/ns/v1`, `<base>/schemas/credentials/<type>.json`), which
//! serves both, or under the legacy base `https://talent-registry.example` that credentials
//! issued before carry and statements in the logs keep.
//!
//! Every member serves the same context and schemas, so a verifier never needs to fetch them
//! (it holds them: [`crate::schema`]); the URLs are there for readers outside the registry,
//! and they must be the issuing member's so that nobody but that member decides what a
//! credential's terms mean.

use std::fmt;

use serde_json::Value;

use super::types::CredentialType;
use super::view::CredentialView;

/// The base of the URLs credentials issued before members named their own: an identifier
/// nobody can resolve, kept for the credentials and statements that carry it.
pub const LEGACY_BASE_URL: &str = "https://talent-registry.example";

/// The path of the context under a base URL.
const CONTEXT_PATH: &str = "/ns/v1";

/// The path of the credential schemas under a base URL (then `<type>.json`).
const SCHEMA_PATH: &str = "/schemas/credentials/";

/// A base URL under which credentials name the context and schemas: a member node's public
/// URL, or the legacy one.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Namespace {
    base: String,
}

impl Namespace {
    /// The legacy base ([`LEGACY_BASE_URL`]).
    pub fn legacy() -> Namespace {
        Namespace {
            base: LEGACY_BASE_URL.to_owned(),
        }
    }

    /// The namespace under a node's public URL (`http(s)://host[:port][/path]`, as the node
    /// and the federation configuration check it); a trailing `/` is dropped.
    pub fn at(public_url: &str) -> Namespace {
        Namespace {
            base: public_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The namespace under each of `urls` (a member's former endpoints, a node's former
    /// public URLs), in order.
    pub fn each_at<S: AsRef<str>>(urls: &[S]) -> Vec<Namespace> {
        urls.iter().map(|url| Namespace::at(url.as_ref())).collect()
    }

    /// The base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// True for the legacy base.
    pub fn is_legacy(&self) -> bool {
        self.base == LEGACY_BASE_URL
    }

    /// The URL of the JSON-LD context: `<base>/ns/v1`.
    pub fn context_url(&self) -> String {
        format!("{}{CONTEXT_PATH}", self.base)
    }

    /// The URL of `credential_type`'s JSON Schema: `<base>/schemas/credentials/<type>.json`.
    pub fn schema_url(&self, credential_type: CredentialType) -> String {
        format!(
            "{}{SCHEMA_PATH}{}.json",
            self.base,
            credential_type.as_str()
        )
    }

    /// Whether `credential` names its context and its schema (both) under this base: its
    /// second `@context` entry is [`Namespace::context_url`] and its `credentialSchema.id`
    /// is [`Namespace::schema_url`] of its type.
    pub fn names(&self, credential: &CredentialView<'_>) -> bool {
        let document = credential.document();
        let Some(credential_type) = credential.credential_type() else {
            return false;
        };
        // Compared in place: verification asks this of every credential, for each base.
        fn under<'a>(url: &'a Value, base: &str) -> Option<&'a str> {
            url.as_str()?.strip_prefix(base)
        }
        under(&document["@context"][1], &self.base) == Some(CONTEXT_PATH)
            && under(&document["credentialSchema"]["id"], &self.base)
                .and_then(|path| path.strip_prefix(SCHEMA_PATH))
                .and_then(|file| file.strip_suffix(".json"))
                == Some(credential_type.as_str())
    }
}

impl fmt::Display for Namespace {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.base)
    }
}

/// Why a credential's context or schema URL is not its issuing member's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the credential names its context {context:?} and schema {schema:?}; a credential of \
     {member} names them under {} or under the legacy {LEGACY_BASE_URL}",
    expected.iter().map(Namespace::base_url).collect::<Vec<_>>().join(" or ")
)]
pub struct ForeignNamespace {
    /// The credential's second `@context` entry, as written (empty when missing).
    pub context: String,
    /// Its `credentialSchema.id`, as written (empty when missing).
    pub schema: String,
    /// The member.
    pub member: String,
    /// The member's namespaces: its node's now, then those it had before.
    pub expected: Vec<Namespace>,
}

/// Checks that `credential`, a credential of `member`, names its context and schema under
/// one of `accepted` (the member's node now and before) or the legacy base.
///
/// # Errors
/// [`ForeignNamespace`] naming what the credential says.
pub fn check_namespace(
    credential: &CredentialView<'_>,
    member: &str,
    accepted: &[Namespace],
) -> Result<(), ForeignNamespace> {
    if Namespace::legacy().names(credential) || accepted.iter().any(|n| n.names(credential)) {
        return Ok(());
    }
    let document = credential.document();
    let text = |value: &serde_json::Value| value.as_str().unwrap_or_default().to_owned();
    Err(ForeignNamespace {
        context: text(&document["@context"][1]),
        schema: text(&document["credentialSchema"]["id"]),
        member: member.to_owned(),
        expected: accepted.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn credential(context: &str, schema: &str) -> serde_json::Value {
        json!({
            "@context": ["https://www.w3.org/ns/credentials/v2", context],
            "type": ["VerifiableCredential", "SkillLevelCredential"],
            "credentialSchema": {"id": schema, "type": "JsonSchema"},
        })
    }

    #[test]
    fn urls_live_under_the_base() {
        let own = Namespace::at("https://cq-sc.example.gov.cn/");
        assert_eq!(own.base_url(), "https://cq-sc.example.gov.cn");
        assert_eq!(own.context_url(), "https://cq-sc.example.gov.cn/ns/v1");
        assert_eq!(
            own.schema_url(CredentialType::SkillLevelCredential),
            "https://cq-sc.example.gov.cn/schemas/credentials/SkillLevelCredential.json"
        );
        assert!(!own.is_legacy());
        assert!(Namespace::legacy().is_legacy());
        assert_eq!(
            Namespace::legacy().context_url(),
            "https://talent-registry.example/ns/v1"
        );
    }

    #[test]
    fn a_credential_names_its_member_or_the_legacy_base_for_both_urls() {
        let own = Namespace::at("https://cq-sc.example.gov.cn");
        let other = Namespace::at("https://evil.example");
        let ty = CredentialType::SkillLevelCredential;
        let ours = credential(&own.context_url(), &own.schema_url(ty));
        let legacy = credential(
            &Namespace::legacy().context_url(),
            &Namespace::legacy().schema_url(ty),
        );
        assert!(
            check_namespace(
                &CredentialView::of(&ours),
                "cq-sc",
                std::slice::from_ref(&own)
            )
            .is_ok()
        );
        assert!(check_namespace(&CredentialView::of(&legacy), "cq-sc", &[]).is_ok());
        for foreign in [
            credential(&other.context_url(), &other.schema_url(ty)),
            // Mixed bases: the context is the member's, the schema someone else's.
            credential(&own.context_url(), &other.schema_url(ty)),
            credential(&Namespace::legacy().context_url(), &own.schema_url(ty)),
            // Another type's schema.
            credential(
                &own.context_url(),
                &own.schema_url(CredentialType::ProfessionalTitleCredential),
            ),
        ] {
            let error = check_namespace(
                &CredentialView::of(&foreign),
                "cq-sc",
                std::slice::from_ref(&own),
            )
            .expect_err("foreign");
            assert_eq!(error.member, "cq-sc");
            assert!(error.to_string().contains("https://cq-sc.example.gov.cn"));
        }
        let mut no_type = ours.clone();
        no_type["type"] = json!(["VerifiableCredential"]);
        assert!(
            check_namespace(
                &CredentialView::of(&no_type),
                "cq-sc",
                std::slice::from_ref(&own)
            )
            .is_err()
        );
        // A former base of the member still counts; the message lists every base.
        let moved = [Namespace::at("https://new.example"), own.clone()];
        assert!(check_namespace(&CredentialView::of(&ours), "cq-sc", &moved).is_ok());
        let foreign = credential(&other.context_url(), &other.schema_url(ty));
        let error =
            check_namespace(&CredentialView::of(&foreign), "cq-sc", &moved).expect_err("foreign");
        assert!(
            error
                .to_string()
                .contains("https://new.example or https://cq-sc.example.gov.cn"),
            "{error}"
        );
    }
}

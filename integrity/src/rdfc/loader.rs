//! The JSON-LD context documents a canonicalisation may use: the W3C contexts embedded in
//! the crate (`integrity/contexts/`, sources in its README) and any the caller registers.
//! Nothing is ever fetched.

use std::collections::BTreeMap;
use std::sync::Arc;

/// `https://www.w3.org/ns/credentials/v2`, the VC Data Model 2.0 context.
pub const CREDENTIALS_V2_URL: &str = "https://www.w3.org/ns/credentials/v2";
/// `https://www.w3.org/2018/credentials/v1`, the VC Data Model 1.1 context.
pub const CREDENTIALS_V1_URL: &str = "https://www.w3.org/2018/credentials/v1";
/// `https://w3id.org/security/data-integrity/v2`, the Data Integrity context.
pub const DATA_INTEGRITY_V2_URL: &str = "https://w3id.org/security/data-integrity/v2";
/// `https://w3id.org/security/multikey/v1`, the Multikey context.
pub const MULTIKEY_V1_URL: &str = "https://w3id.org/security/multikey/v1";
/// `https://www.w3.org/ns/credentials/examples/v2`, the context of the W3C examples and
/// test vectors.
pub const CREDENTIALS_EXAMPLES_V2_URL: &str = "https://www.w3.org/ns/credentials/examples/v2";

/// The embedded contexts: URL and document text.
const EMBEDDED: [(&str, &str); 7] = [
    (
        CREDENTIALS_V2_URL,
        include_str!("../../contexts/credentials-v2.jsonld"),
    ),
    (
        CREDENTIALS_V1_URL,
        include_str!("../../contexts/credentials-v1.jsonld"),
    ),
    (
        "https://www.w3.org/ns/credentials/undefined-terms/v2",
        include_str!("../../contexts/credentials-undefined-terms-v2.jsonld"),
    ),
    (
        DATA_INTEGRITY_V2_URL,
        include_str!("../../contexts/data-integrity-v2.jsonld"),
    ),
    (
        "https://w3id.org/security/data-integrity/v1",
        include_str!("../../contexts/data-integrity-v1.jsonld"),
    ),
    (
        MULTIKEY_V1_URL,
        include_str!("../../contexts/multikey-v1.jsonld"),
    ),
    (
        CREDENTIALS_EXAMPLES_V2_URL,
        include_str!("../../contexts/credentials-examples-v2.jsonld"),
    ),
];

/// The context documents JSON-LD processing may load, by URL: the embedded W3C contexts
/// ([`ContextLoader::new`]) and those [`ContextLoader::with_context`] adds. Cloning is
/// cheap (the registered documents are shared).
#[derive(Debug, Clone)]
pub struct ContextLoader {
    registered: Arc<BTreeMap<String, Arc<str>>>,
}

impl Default for ContextLoader {
    fn default() -> Self {
        ContextLoader::new()
    }
}

impl ContextLoader {
    /// A loader of the embedded W3C contexts only.
    pub fn new() -> ContextLoader {
        ContextLoader {
            registered: Arc::new(BTreeMap::new()),
        }
    }

    /// This loader with `document` (the text of a JSON-LD context document) served for
    /// `url`; it replaces an embedded or earlier document of the same URL.
    #[must_use]
    pub fn with_context(mut self, url: impl Into<String>, document: impl Into<Arc<str>>) -> Self {
        Arc::make_mut(&mut self.registered).insert(url.into(), document.into());
        self
    }

    /// The document served for `url`, if any.
    pub fn document(&self, url: &str) -> Option<&str> {
        if let Some(document) = self.registered.get(url) {
            return Some(document);
        }
        EMBEDDED
            .iter()
            .find(|(embedded, _)| *embedded == url)
            .map(|(_, document)| *document)
    }

    /// The URLs of the embedded contexts.
    pub fn embedded_urls() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(url, _)| *url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_context_is_a_json_object_with_a_context() {
        let loader = ContextLoader::new();
        for url in ContextLoader::embedded_urls() {
            let document = loader.document(url).expect("embedded");
            let value: serde_json::Value = serde_json::from_str(document).expect("JSON");
            assert!(value.get("@context").is_some(), "{url}");
        }
    }

    #[test]
    fn registered_contexts_are_served_and_others_are_not() {
        let loader = ContextLoader::new().with_context("https://x.example/ctx", "{}");
        assert_eq!(loader.document("https://x.example/ctx"), Some("{}"));
        assert!(loader.document(CREDENTIALS_V2_URL).is_some());
        assert_eq!(loader.document("https://x.example/other"), None);
        assert_eq!(ContextLoader::new().document("https://x.example/ctx"), None);
    }
}

//! JSON-LD documents as canonical N-Quads: the transformation of the `eddsa-rdfc-2022`
//! cryptosuite ([vc-di-eddsa §3.3.3](https://www.w3.org/TR/vc-di-eddsa/#transformation-eddsa-rdfc-2022)).
//!
//! A document is expanded and turned into an RDF dataset (JSON-LD 1.1 toRdf, Oxigraph's
//! `oxjsonld`), whose contexts come from a [`ContextLoader`] and never from the network,
//! and the dataset is written as canonical N-Quads by RDFC-1.0 (`rdf-canon`).
//!
//! JSON-LD drops silently what its contexts do not define; a signature over what is left
//! would hold however the dropped members are changed. This module refuses such a document
//! instead ("safe mode", vc-data-integrity §2.4.1 *securing data losslessly*): the document
//! is processed with two sentinels that no real document uses, a vocabulary mapping
//! prepended to its `@context` and to every nested one (which its own contexts override
//! where they define one; see [`guard_contexts`]) and a base IRI, and any sentinel IRI in the dataset names a term
//! ([`RdfcError::UndefinedTerm`]) or a relative IRI ([`RdfcError::RelativeIri`]) the
//! document used. A dataset without a sentinel is exactly the one plain processing gives,
//! since both sentinels only ever complete what would otherwise be dropped. The parser runs
//! in its lenient mode, which leaves terms unchecked instead of dropping invalid ones, and
//! every term is checked here: an invalid IRI ([`RdfcError::InvalidIri`]), language tag
//! ([`RdfcError::InvalidLanguageTag`]) or blank node identifier, and a base direction,
//! which RDF 1.1 cannot hold ([`RdfcError::BaseDirection`]), are refused.
//!
//! Where this differs from jsonld.js (the W3C suites' processor): a JSON integer beyond
//! 2⁵³ keeps its digits as JCS writes them (jsonld.js reads it as a double first), and an
//! explicit `{"@value": null}` is dropped as JSON-LD says (jsonld.js's safe mode refuses it).
//! oxjsonld names the blank nodes it makes at random; RDFC-1.0 relabels every blank node, so
//! the canonical N-Quads are the same on every run.

mod loader;

use std::sync::{Arc, Mutex, PoisonError};

use oxjsonld::{JsonLdParser, JsonLdRemoteDocument};
use rdf_canon::{CanonicalizationOptions, canonicalize_with};
use serde_json::Value;
use sha2::Sha256;
use thiserror::Error;

use crate::jcs;

pub use loader::{
    CREDENTIALS_EXAMPLES_V2_URL, CREDENTIALS_V1_URL, CREDENTIALS_V2_URL, ContextLoader,
    DATA_INTEGRITY_V2_URL, MULTIKEY_V1_URL,
};

/// The vocabulary mapping put before a document's contexts: a term no context defines
/// expands to this prefix followed by the term.
const UNDEFINED_TERM_VOCAB: &str = "urn:talent-integrity:undefined-term:";
/// The base IRI of every document: a relative IRI resolves below it.
const RELATIVE_IRI_BASE: &str = "https://relative-iri.talent-integrity.invalid/";
/// The most calls of RDFC-1.0's Hash N-Degree Quads algorithm one document may need; a
/// credential needs none (its blank nodes hash apart at the first degree), and a crafted
/// dataset of many alike blank nodes would otherwise take exponential time.
const HNDQ_CALL_LIMIT: usize = 1_000;

/// Why a document has no canonical N-Quads.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RdfcError {
    /// The document is not a JSON object.
    #[error("document is not a JSON object")]
    NotAnObject,
    /// The document names a context that is neither embedded nor registered; contexts are
    /// never fetched.
    #[error("JSON-LD context {0:?} is not in the local context cache")]
    UnknownContext(String),
    /// A member name or type the document's contexts do not define: JSON-LD would drop it.
    #[error("term {0:?} is not defined by the document's @context (its data would be dropped)")]
    UndefinedTerm(String),
    /// A relative IRI, which JSON-LD to RDF would drop.
    #[error("relative IRI reference {0:?} (its data would be dropped)")]
    RelativeIri(String),
    /// A term expanded to something that is not an absolute IRI (a space in a member name
    /// under a vocabulary mapping, say), which JSON-LD to RDF would drop.
    #[error("{0:?} is not a valid IRI (its data would be dropped)")]
    InvalidIri(String),
    /// A language tag that is not BCP 47, which JSON-LD to RDF would drop.
    #[error("{0:?} is not a valid language tag (its data would be dropped)")]
    InvalidLanguageTag(String),
    /// A string with a base direction (`@direction`), which RDF 1.1 literals cannot hold:
    /// JSON-LD to RDF would drop the direction.
    #[error("string {0:?} has a base direction, which canonical N-Quads would drop")]
    BaseDirection(String),
    /// The document is not valid JSON-LD.
    #[error("invalid JSON-LD: {0}")]
    JsonLd(String),
    /// RDFC-1.0 gave up (the dataset needs more work than [`HNDQ_CALL_LIMIT`] allows).
    #[error("RDF canonicalization failed: {0}")]
    Canonicalization(String),
}

/// The canonical N-Quads (RDFC-1.0) of the JSON-LD `document`, with contexts from
/// `contexts`.
///
/// # Errors
/// Every [`RdfcError`] variant.
pub fn canonical_nquads(document: &Value, contexts: &ContextLoader) -> Result<String, RdfcError> {
    let quads = to_rdf(document, contexts)?;
    let dataset: oxrdf_canon::Dataset = quads.into_iter().collect();
    let options = CanonicalizationOptions {
        hndq_call_limit: Some(HNDQ_CALL_LIMIT),
    };
    canonicalize_with::<Sha256>(&dataset, &options)
        .map_err(|error| RdfcError::Canonicalization(error.to_string()))
}

/// The RDF dataset of `document` (JSON-LD toRdf), in safe mode (see the module's doc).
fn to_rdf(document: &Value, contexts: &ContextLoader) -> Result<Vec<oxrdf_canon::Quad>, RdfcError> {
    if !document.is_object() {
        return Err(RdfcError::NotAnObject);
    }
    let mut guarded = document.clone();
    guard_contexts(&mut guarded, true);
    // JCS writes numbers as JavaScript does (1.0 as 1), so that a number's RDF literal is
    // the one a JavaScript processor (the W3C suites') makes.
    let input = jcs::canonicalize(&guarded);

    let unknown_context = Arc::new(Mutex::new(None::<String>));
    let loader = contexts.clone();
    let missing = Arc::clone(&unknown_context);
    let parser = JsonLdParser::new()
        .lenient()
        .with_base_iri(RELATIVE_IRI_BASE)
        .map_err(|error| RdfcError::JsonLd(error.to_string()))?;
    let quads = parser
        .for_slice(&input)
        .with_load_document_callback(move |url, _options| match loader.document(url) {
            Some(document) => Ok(JsonLdRemoteDocument {
                document: document.as_bytes().to_vec(),
                document_url: url.to_owned(),
            }),
            None => {
                *missing.lock().unwrap_or_else(PoisonError::into_inner) = Some(url.to_owned());
                Err(format!("{url} is not in the local context cache").into())
            }
        });
    let mut converted = Vec::new();
    for quad in quads {
        let quad = quad.map_err(|error| {
            match unknown_context
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take()
            {
                Some(url) => RdfcError::UnknownContext(url),
                None => RdfcError::JsonLd(error.to_string()),
            }
        })?;
        converted.push(convert::quad(quad)?);
    }
    Ok(converted)
}

/// Puts the undefined-term sentinel into the `@context` of the top-level object (which
/// gets one if it has none) and of every nested node object that has one, after the last
/// `null` (which would reset it): a nested context is where a context reset (the VC 2.0
/// context's for `verifiableCredential`, which holds whole credentials) is followed by new
/// contexts. Context definitions themselves are left as they are.
fn guard_contexts(value: &mut Value, top_level: bool) {
    match value {
        Value::Object(object) => {
            if top_level || object.contains_key("@context") {
                let context = match object.remove("@context") {
                    Some(Value::Array(items)) => items,
                    Some(other) => vec![other],
                    None => Vec::new(),
                };
                // A context item that is itself `{"@context": …}` (a context document
                // written inline) stands for its `@context`, as jsonld.js reads it; the W3C
                // suites' fixtures write contexts so.
                let mut context: Vec<Value> = context
                    .into_iter()
                    .flat_map(|item| match item {
                        Value::Object(mut wrapper) if wrapper.contains_key("@context") => {
                            match wrapper.remove("@context") {
                                Some(Value::Array(items)) => items,
                                Some(inner) => vec![inner],
                                None => Vec::new(),
                            }
                        }
                        other => vec![other],
                    })
                    .collect();
                let after_reset = context
                    .iter()
                    .rposition(Value::is_null)
                    .map_or(0, |null| null + 1);
                context.insert(
                    after_reset,
                    serde_json::json!({ "@vocab": UNDEFINED_TERM_VOCAB }),
                );
                object.insert("@context".into(), Value::Array(context));
            }
            for (name, member) in object.iter_mut() {
                if name != "@context" {
                    guard_contexts(member, false);
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                guard_contexts(item, false);
            }
        }
        _ => {}
    }
}

/// oxjsonld's terms (oxrdf 0.3) as rdf-canon's (oxrdf 0.2), refusing the sentinels.
mod convert {
    use oxrdf::{GraphName, NamedNode, NamedOrBlankNode, Term};
    use oxrdf_canon as canon;

    use super::{RELATIVE_IRI_BASE, RdfcError, UNDEFINED_TERM_VOCAB};

    pub(super) fn quad(quad: oxrdf::Quad) -> Result<canon::Quad, RdfcError> {
        Ok(canon::Quad::new(
            subject(quad.subject)?,
            named(quad.predicate)?,
            term(quad.object)?,
            match quad.graph_name {
                GraphName::NamedNode(node) => canon::GraphName::NamedNode(named(node)?),
                GraphName::BlankNode(node) => canon::GraphName::BlankNode(blank(node)?),
                GraphName::DefaultGraph => canon::GraphName::DefaultGraph,
            },
        ))
    }

    fn subject(subject: NamedOrBlankNode) -> Result<canon::Subject, RdfcError> {
        Ok(match subject {
            NamedOrBlankNode::NamedNode(node) => canon::Subject::NamedNode(named(node)?),
            NamedOrBlankNode::BlankNode(node) => canon::Subject::BlankNode(blank(node)?),
        })
    }

    fn term(term: Term) -> Result<canon::Term, RdfcError> {
        Ok(match term {
            Term::NamedNode(node) => canon::Term::NamedNode(named(node)?),
            Term::BlankNode(node) => canon::Term::BlankNode(blank(node)?),
            Term::Literal(literal) => {
                let (value, datatype, language, direction) = literal.destruct();
                if direction.is_some() {
                    return Err(RdfcError::BaseDirection(value));
                }
                canon::Term::Literal(match (datatype, language) {
                    (_, Some(language)) => {
                        canon::Literal::new_language_tagged_literal(value, &language)
                            .map_err(|_| RdfcError::InvalidLanguageTag(language))?
                    }
                    (Some(datatype), None) => {
                        canon::Literal::new_typed_literal(value, named(datatype)?)
                    }
                    (None, None) => canon::Literal::new_simple_literal(value),
                })
            }
            // JSON-LD 1.1 makes no triple terms; refused should a later parser make one.
            Term::Triple(triple) => {
                return Err(RdfcError::JsonLd(format!(
                    "a triple term ({triple}) is not RDF 1.1"
                )));
            }
        })
    }

    fn blank(node: oxrdf::BlankNode) -> Result<canon::BlankNode, RdfcError> {
        let id = node.into_string();
        canon::BlankNode::new(&id)
            .map_err(|_| RdfcError::JsonLd(format!("invalid blank node identifier _:{id}")))
    }

    fn named(node: NamedNode) -> Result<canon::NamedNode, RdfcError> {
        let iri = node.into_string();
        if let Some(term) = iri.strip_prefix(UNDEFINED_TERM_VOCAB) {
            return Err(RdfcError::UndefinedTerm(term.to_owned()));
        }
        if let Some(reference) = iri.strip_prefix(RELATIVE_IRI_BASE) {
            return Err(RdfcError::RelativeIri(reference.to_owned()));
        }
        canon::NamedNode::new(&iri).map_err(|_| RdfcError::InvalidIri(iri))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn v2(members: Value) -> Value {
        let mut document = json!({
            "@context": [CREDENTIALS_V2_URL, CREDENTIALS_EXAMPLES_V2_URL],
            "type": ["VerifiableCredential"],
            "issuer": "did:example:issuer",
        });
        for (name, value) in members.as_object().expect("members") {
            document[name] = value.clone();
        }
        document
    }

    #[test]
    fn a_credential_becomes_canonical_nquads() {
        let nquads = canonical_nquads(
            &v2(json!({"id": "urn:x", "credentialSubject": {"id": "did:example:s", "name": "A"}})),
            &ContextLoader::new(),
        )
        .expect("canonical");
        assert_eq!(
            nquads,
            "<did:example:s> <https://schema.org/name> \"A\" .\n\
             <urn:x> <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> <https://www.w3.org/2018/credentials#VerifiableCredential> .\n\
             <urn:x> <https://www.w3.org/2018/credentials#credentialSubject> <did:example:s> .\n\
             <urn:x> <https://www.w3.org/2018/credentials#issuer> <did:example:issuer> .\n"
        );
    }

    #[test]
    fn an_unknown_context_is_refused_not_fetched() {
        let document = json!({"@context": ["https://contexts.example/none"], "a": 1});
        assert_eq!(
            canonical_nquads(&document, &ContextLoader::new()),
            Err(RdfcError::UnknownContext(
                "https://contexts.example/none".into()
            ))
        );
        let registered = ContextLoader::new().with_context(
            "https://contexts.example/none",
            r#"{"@context": {"a": "https://vocab.example/a"}}"#,
        );
        assert_eq!(
            canonical_nquads(&document, &registered).expect("canonical"),
            "_:c14n0 <https://vocab.example/a> \"1\"^^<http://www.w3.org/2001/XMLSchema#integer> .\n"
        );
    }

    #[test]
    fn undefined_terms_and_types_are_refused() {
        let v1 = json!({
            "@context": [CREDENTIALS_V1_URL],
            "type": ["VerifiableCredential"],
            "credentialSubject": {"id": "did:example:s", "undefinedTerm": "x"},
        });
        for (document, term) in [
            (v1.clone(), "undefinedTerm"),
            (
                json!({
                    "@context": [CREDENTIALS_V2_URL],
                    "type": ["VerifiableCredential"],
                    "credentialSubject": {"id": "did:example:s"},
                    "undefinedTop": 1,
                }),
                "undefinedTop",
            ),
        ] {
            assert_eq!(
                canonical_nquads(&document, &ContextLoader::new()),
                Err(RdfcError::UndefinedTerm(term.into())),
                "{document}"
            );
        }
        let mut undefined_type = v1;
        undefined_type["credentialSubject"] = json!({"id": "did:example:s"});
        undefined_type["type"] = json!(["VerifiableCredential", "UndefinedType"]);
        assert_eq!(
            canonical_nquads(&undefined_type, &ContextLoader::new()),
            Err(RdfcError::UndefinedTerm("UndefinedType".into()))
        );
    }

    #[test]
    fn undefined_terms_after_a_context_reset_are_refused() {
        let credential = json!({
            "@context": [CREDENTIALS_V2_URL],
            "type": ["VerifiableCredential"],
            "issuer": "did:example:i",
            "credentialSubject": {"id": "did:example:s", "undefinedInside": 1},
        });
        // The VC 2.0 context resets the context for `verifiableCredential`.
        let presentation = json!({
            "@context": [CREDENTIALS_V2_URL],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": [credential],
        });
        assert_eq!(
            canonical_nquads(&presentation, &ContextLoader::new()),
            Err(RdfcError::UndefinedTerm("undefinedInside".into()))
        );
        let reset = json!({
            "@context": [CREDENTIALS_V2_URL, null, {"a": "https://vocab.example/a"}],
            "a": 1,
            "b": 2,
        });
        assert_eq!(
            canonical_nquads(&reset, &ContextLoader::new()),
            Err(RdfcError::UndefinedTerm("b".into()))
        );
    }

    #[test]
    fn relative_iris_are_refused() {
        assert_eq!(
            canonical_nquads(&v2(json!({"id": "relative/7"})), &ContextLoader::new()),
            Err(RdfcError::RelativeIri("relative/7".into()))
        );
    }

    #[test]
    fn what_rdf_cannot_hold_is_refused_not_dropped() {
        let loader = ContextLoader::new();
        for (subject, expected) in [
            (
                json!({"name with space": "x"}),
                RdfcError::InvalidIri(
                    "https://www.w3.org/ns/credentials/examples#name with space".into(),
                ),
            ),
            (
                json!({"id": "did:example:a b"}),
                RdfcError::InvalidIri("did:example:a b".into()),
            ),
            (
                json!({"alumniOf": {"@value": "x", "@language": "not a tag"}}),
                RdfcError::InvalidLanguageTag("not a tag".into()),
            ),
            (
                json!({"alumniOf": {"@value": "大学", "@language": "zh", "@direction": "ltr"}}),
                RdfcError::BaseDirection("大学".into()),
            ),
        ] {
            assert_eq!(
                canonical_nquads(&v2(json!({ "credentialSubject": subject })), &loader),
                Err(expected),
                "{subject}"
            );
        }
        let tagged = canonical_nquads(
            &v2(json!({"credentialSubject": {"alumniOf": {"@value": "大学", "@language": "zh"}}})),
            &loader,
        )
        .expect("canonical");
        assert!(tagged.contains("\"大学\"@zh"));
    }

    #[test]
    fn a_context_vocabulary_is_not_an_undefined_term() {
        // The examples context maps every other term below its own vocabulary.
        let nquads = canonical_nquads(
            &v2(json!({"credentialSubject": {"alumniOf": "x"}})),
            &ContextLoader::new(),
        )
        .expect("canonical");
        assert!(nquads.contains("<https://www.w3.org/ns/credentials/examples#alumniOf>"));
    }

    #[test]
    fn numbers_are_read_as_javascript_reads_them() {
        let loader = ContextLoader::new().with_context(
            "https://contexts.example/n",
            r#"{"@context": {"n": "https://vocab.example/n"}}"#,
        );
        let nquads = |n: Value| {
            canonical_nquads(
                &json!({"@context": "https://contexts.example/n", "n": n}),
                &loader,
            )
            .expect("canonical")
        };
        assert_eq!(nquads(json!(1.0)), nquads(json!(1)));
        assert!(
            nquads(json!(1.5)).contains("\"1.5E0\"^^<http://www.w3.org/2001/XMLSchema#double>")
        );
    }

    #[test]
    fn not_an_object_is_refused() {
        assert_eq!(
            canonical_nquads(&json!([]), &ContextLoader::new()),
            Err(RdfcError::NotAnObject)
        );
    }
}

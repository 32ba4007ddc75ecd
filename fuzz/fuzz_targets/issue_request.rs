//! An issue request body (`POST /api/v1/credentials`): the request schema, reading it, the
//! checks a bulk import makes, and `credential::prepare`. A credential prepared from a
//! request the schema accepted carries the ID number only masked, in `idNumberMasked`.
//! (Reading does not apply the schema: a request that skipped it may carry any member,
//! which the credential schema then refuses before anything is signed.)
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use talent_core::credential::{self, CredentialType, IssueRequest};
use talent_integrity::did::DidKey;
use talent_core::schema::SchemaKind;
use talent_core_fuzz::fixtures;
use talent_core_fuzz::schemas;

fuzz_target!(|data: &[u8]| {
    let Ok(body) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let valid = schemas().validate(SchemaKind::IssueRequest, &body).is_ok();
    let Ok(request) = IssueRequest::from_json(&body) else {
        return;
    };
    let checked = request.check();
    let full_id = request
        .subject
        .get("idNumber")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let issuer =
        DidKey::from_verifying_key(&fixtures::key(fixtures::MEMBER, "authority").verifying_key());
    let prepared = credential::prepare(
        request,
        &issuer,
        &fixtures::MEMBER.parse().expect("region"),
        &fixtures::namespace(),
        fixtures::credential_id(9),
        fixtures::now(),
    );
    if let Ok(prepared) = prepared {
        assert!(checked.is_ok(), "check refused what prepare accepted");
        let subject = &prepared.document["credentialSubject"];
        assert!(subject.get("idNumber").is_none());
        if valid && let Some(full) = full_id {
            let masked = format!("{}**********{}", &full[..4], &full[14..]);
            assert_eq!(subject["idNumberMasked"], masked.as_str());
        }
        // A request the schema accepted either gives a credential its own schema accepts,
        // or the node refuses it before signing; both are decided without a panic.
        if valid && prepared.credential_type != CredentialType::IssuerAccreditationCredential {
            let _ = schemas().validate(
                SchemaKind::Credential(prepared.credential_type),
                &prepared.document,
            );
        }
    }
});

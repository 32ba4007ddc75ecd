//! Multibase base58btc values, signatures and did:key identifiers (proofs, configurations):
//! a value that decodes encodes back to the same text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_integrity::did::DidKey;
use talent_integrity::multibase;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let general = multibase::decode_base58btc(text);
    if let Ok(bytes) = &general {
        assert_eq!(multibase::encode_base58btc(bytes), text);
    }
    match multibase::decode_signature(text) {
        Ok(signature) => assert_eq!(general.as_deref().ok(), Some(&signature[..])),
        Err(Ok(length)) => assert_eq!(general.map(|b| b.len()), Ok(length)),
        Err(Err(error)) => assert_eq!(general, Err(error)),
    }
    let _ = multibase::decode_ed25519_public(text);
    let _ = multibase::decode_ed25519_secret(text);
    if let Ok(did) = text.parse::<DidKey>() {
        assert_eq!(did.to_string(), text);
    }
    if let Ok(did) = DidKey::from_verification_method(text) {
        assert_eq!(did.verification_method(), text);
    }
});

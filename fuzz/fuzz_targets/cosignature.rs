//! Cosignature lines and cosigner keys: a witness's `add-checkpoint` answer attached to a
//! note (`attach`), and `cosignature/v1` verifier keys from a configuration. The input is a
//! note, a 0xff byte, then the lines (or, without 0xff, a vkey).
#![no_main]

use libfuzzer_sys::fuzz_target;
use talent_tlog::cosignature::{
    CosignerKey, MAX_NOTE_SIGNATURES, MAX_NOTE_SIZE, attach, verify_cosignatures,
};
use talent_core_fuzz::federation;
use talent_core_fuzz::fixtures::MEMBER;

fuzz_target!(|data: &[u8]| {
    let Some(split) = data.iter().position(|&b| b == 0xff) else {
        if let Ok(text) = std::str::from_utf8(data)
            && let Ok(key) = CosignerKey::from_vkey(text)
        {
            assert_eq!(key.vkey(), text, "a vkey read back differently");
        }
        return;
    };
    let (note, lines) = (&data[..split], &data[split + 1..]);
    if let Ok(cosigned) = attach(note, lines) {
        assert!(cosigned.len() <= MAX_NOTE_SIZE);
        let signatures = cosigned
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with("— ".as_bytes()))
            .count();
        assert!(signatures <= MAX_NOTE_SIGNATURES);
        let _ = verify_cosignatures(&cosigned, &federation().cosigners_of(MEMBER));
    }
});

//! Properties of the transparency-log parsers: checkpoints and signed notes
//! (`tlog::checkpoint`, `tlog::cosignature`), `add-checkpoint` bodies
//! (`tlog::witness::AddCheckpointRequest::parse` and the witness's decision), tile paths
//! (`tlog::tile`), entry bundles (`tlog::bundle`) and log entries (`tlog::entry`). A changed
//! checkpoint never opens or keeps its quorum, what parses writes back to the same bytes, and
//! the limits hold on hostile lengths.

mod fixtures;
mod support;

use std::sync::OnceLock;

use fixtures::{Log, MEMBER, NOW_SECS, WITNESSES};
use proptest::prelude::*;
use proptest::sample::Index;
use support::{any_json, cases, flipped};
use talent_core::federation::Federation;
use talent_core::log_entry::{self, EntryError};
use talent_tlog::Hash;
use talent_tlog::bundle::{self, BundleError, MAX_ENTRY_BYTES};
use talent_tlog::checkpoint::open_checkpoint;
use talent_tlog::cosignature::{
    CosignatureError, Cosigner, CosignerKey, MAX_NOTE_SIGNATURES, attach, verify_cosignatures,
};
use talent_tlog::tile::{MAX_LEAVES, MAX_TILE_LEVEL, TILE_WIDTH, TilePath};
use talent_tlog::witness::{
    AddCheckpointRequest, MAX_PROOF_LINES, MAX_REQUEST_SIZE, MalformedBody, WitnessError,
    WitnessOutcome, WitnessRecord, WitnessedLog, add_checkpoint,
};

fn log() -> &'static Log {
    static LOG: OnceLock<Log> = OnceLock::new();
    LOG.get_or_init(fixtures::log)
}

fn federation() -> &'static Federation {
    static FEDERATION: OnceLock<Federation> = OnceLock::new();
    FEDERATION.get_or_init(fixtures::federation)
}

/// The fixture log's checkpoint with only the log's signature.
fn bare_checkpoint() -> &'static [u8] {
    static NOTE: OnceLock<Vec<u8>> = OnceLock::new();
    NOTE.get_or_init(|| fixtures::checkpoint_of(&log().tree, &[]))
}

/// Whether `note` opens with the member's log key and carries the quorum of cosignatures.
fn opens_with_quorum(note: &[u8]) -> bool {
    let member = federation().member(MEMBER).expect("member");
    open_checkpoint(note, &member.log_origin, &member.log_vkey).is_ok()
        && verify_cosignatures(note, &federation().cosigners_of(MEMBER))
            .is_ok_and(|verified| verified.len() >= federation().witness_quorum)
}

fn opens(note: &[u8]) -> bool {
    let member = federation().member(MEMBER).expect("member");
    open_checkpoint(note, &member.log_origin, &member.log_vkey).is_ok()
}

#[test]
fn the_fixture_checkpoint_opens_with_the_quorum() {
    assert!(opens(bare_checkpoint()));
    assert!(opens_with_quorum(&log().checkpoint));
    assert!(!opens_with_quorum(bare_checkpoint()));
}

/// The witness of the properties: `cd-hz`, which last cosigned size 3 of the fixture log.
fn witness_decides(body: &[u8]) -> Result<WitnessOutcome, WitnessError> {
    let request = AddCheckpointRequest::parse(body)?;
    let member = federation().member(MEMBER).expect("member");
    let logs = [WitnessedLog {
        origin: member.log_origin.clone(),
        log_vkey: member.log_vkey.clone(),
        log_sm2_vkey: None,
    }];
    let previous = WitnessRecord {
        size: 3,
        root: log().tree.root_at(3).expect("root"),
        checkpoint: Vec::new(),
    };
    let witness = federation().member("cd-hz").expect("witness");
    let cosigner =
        Cosigner::new(&witness.witness_name, fixtures::key("cd-hz", "witness")).expect("key");
    add_checkpoint(&request, &logs, Some(&previous), &cosigner, NOW_SECS)
}

/// The fixture's `add-checkpoint` body from size 3.
fn fixture_body() -> &'static [u8] {
    static BODY: OnceLock<Vec<u8>> = OnceLock::new();
    BODY.get_or_init(|| fixtures::add_checkpoint_body(3))
}

#[test]
fn the_witness_cosigns_the_fixture_body() {
    assert!(matches!(
        witness_decides(fixture_body()),
        Ok(WitnessOutcome::Cosigned { .. })
    ));
}

/// The cosignature line of witness `n` of [`WITNESSES`] on the bare checkpoint.
fn witness_line(n: usize) -> Vec<u8> {
    let witness = WITNESSES[n];
    let name = &federation().member(witness).expect("witness").witness_name;
    let cosigner = Cosigner::new(name, fixtures::key(witness, "witness")).expect("key");
    cosigner
        .cosign(bare_checkpoint(), NOW_SECS)
        .expect("cosigns")
}

/// Any tile path that can exist: level, index and width within the addressable leaves.
fn any_tile() -> impl Strategy<Value = TilePath> {
    (any::<bool>(), 0..=MAX_TILE_LEVEL, any::<u64>(), 1u16..=256).prop_map(
        |(entries, level, raw, width)| {
            let bits = if entries { 0 } else { 8 * u32::from(level) };
            // Hashes (or entries) of this level below MAX_LEAVES; 128 at tile level 7.
            let cap = MAX_LEAVES >> bits;
            let width = width.min(u16::try_from(cap).unwrap_or(u16::MAX));
            // The largest index whose tile of this width stays within them.
            let index = raw % ((cap - u64::from(width)) / TILE_WIDTH + 1);
            if entries {
                TilePath::Entries { index, width }
            } else {
                TilePath::Hashes {
                    level,
                    index,
                    width,
                }
            }
        },
    )
}

proptest! {
    #![proptest_config(cases(256))]

    /// Any byte of the checkpoint (log signature only) changed: it no longer opens.
    #[test]
    fn a_changed_checkpoint_never_opens(at in any::<Index>(), flip in 1u8..=255) {
        prop_assert!(!opens(&flipped(bare_checkpoint(), at, flip)));
    }

    /// Any byte of the cosigned checkpoint changed: it does not both open and keep the
    /// quorum (a changed cosignature line is ignored or refused; a changed body or log
    /// signature does not open).
    #[test]
    fn a_changed_cosigned_checkpoint_loses_its_quorum(at in any::<Index>(), flip in 1u8..=255) {
        prop_assert!(!opens_with_quorum(&flipped(&log().checkpoint, at, flip)));
    }

    /// A cut anywhere (what a truncated response gives): never opens with the quorum, and
    /// opens at all only when the cut removed whole cosignature lines.
    #[test]
    fn a_truncated_checkpoint_never_keeps_its_quorum(at in any::<Index>()) {
        let note = &log().checkpoint;
        let cut = &note[..at.index(note.len())];
        prop_assert!(!opens_with_quorum(cut));
        prop_assert!(!opens(&bare_checkpoint()[..at.index(bare_checkpoint().len())]));
    }

    /// Any bytes as a note: opening and checking cosignatures answer without a panic, and
    /// nothing opens.
    #[test]
    fn any_bytes_as_a_checkpoint_are_refused(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        prop_assert!(!opens(&bytes));
        let _ = verify_cosignatures(&bytes, &federation().cosigners_of(MEMBER));
    }

    /// Cosignature lines attached to the checkpoint (the witnesses' own, well-formed lines of
    /// others, any bytes): the note still opens with the log key, never carries more
    /// signatures than signed-note reads, and has the quorum exactly when all three
    /// witnesses' lines are among them.
    #[test]
    fn attached_lines_keep_the_note_readable(
        lines in prop::collection::vec(
            prop_oneof![
                6 => (0usize..3).prop_map(|n| (Some(n), witness_line(n))),
                1 => "— [a-z.]{1,12} [A-Za-z0-9+/]{0,100}={0,2}\n"
                    .prop_map(|line| (None, line.into_bytes())),
                1 => prop::collection::vec(any::<u8>(), 0..40).prop_map(|bytes| (None, bytes)),
            ],
            0..6,
        ),
    ) {
        let mut witnesses: Vec<usize> = lines.iter().filter_map(|(n, _)| *n).collect();
        witnesses.sort_unstable();
        witnesses.dedup();
        let lines: Vec<u8> = lines.into_iter().flat_map(|(_, line)| line).collect();
        if let Ok(note) = attach(bare_checkpoint(), &lines) {
            prop_assert!(opens(&note));
            let signatures = String::from_utf8_lossy(&note).matches("\n— ").count();
            prop_assert!(signatures <= MAX_NOTE_SIGNATURES);
            prop_assert_eq!(opens_with_quorum(&note), witnesses.len() == WITNESSES.len());
        }
    }

    /// A cosigner vkey that parses writes back to the same text; any other text is refused
    /// without a panic.
    #[test]
    fn vkeys_read_back_as_written(
        text in prop_oneof![
            "[a-z.+0-9A-F]{0,20}\\+[0-9a-f]{8}\\+[A-Za-z0-9+/=]{0,50}",
            (0usize..5, any::<Index>(), 1u8..=255).prop_map(|(n, at, flip)| {
                let vkey = &federation().members()[n].witness_vkey;
                String::from_utf8_lossy(&flipped(vkey.as_bytes(), at, flip)).into_owned()
            }),
            (0usize..5).prop_map(|n| federation().members()[n].witness_vkey.clone()),
        ],
    ) {
        if let Ok(key) = CosignerKey::from_vkey(&text) {
            prop_assert_eq!(key.vkey(), text);
        }
    }
}

proptest! {
    // Each case signs over a hundred cosignatures.
    #![proptest_config(cases(4))]

    /// More cosignature lines than signed-note reads are refused by attach.
    #[test]
    fn attach_refuses_more_signatures_than_a_note_holds(extra in 0usize..20) {
        let count = MAX_NOTE_SIGNATURES + extra;
        let mut lines = Vec::new();
        for n in 0..count {
            let cosigner = Cosigner::new(
                &format!("witness-{n}.example"),
                ed25519_dalek::SigningKey::from_bytes(&[n as u8; 32]),
            )
            .expect("key");
            lines.extend(cosigner.cosign(bare_checkpoint(), NOW_SECS).expect("cosigns"));
        }
        prop_assert!(matches!(
            attach(bare_checkpoint(), &lines),
            Err(CosignatureError::TooManySignatures(_))
        ));
    }

}

proptest! {
    #![proptest_config(cases(256))]

    /// A body that parses writes back to exactly its bytes (old size, proof lines, checkpoint).
    #[test]
    fn add_checkpoint_bodies_round_trip(
        old in prop_oneof![Just(0u64), any::<u64>(), 1u64..10],
        proof in prop::collection::vec(any::<[u8; 32]>(), 0..70),
        checkpoint in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let request = AddCheckpointRequest {
            old_size: old,
            proof: proof.into_iter().map(Hash).collect(),
            checkpoint,
        };
        let bytes = request.to_bytes();
        match AddCheckpointRequest::parse(&bytes) {
            Ok(parsed) => {
                prop_assert_eq!(parsed.to_bytes(), bytes);
                prop_assert_eq!(parsed, request);
            }
            Err(WitnessError::Malformed(MalformedBody::TooManyProofLines)) => {
                prop_assert!(request.proof.len() > MAX_PROOF_LINES);
            }
            Err(WitnessError::Malformed(MalformedBody::ProofFromZero)) => {
                prop_assert!(request.old_size == 0 && !request.proof.is_empty());
            }
            Err(other) => prop_assert!(false, "{other:?}"),
        }
    }

    /// Any bytes as a body: parsed or refused without a panic, and what parses writes back
    /// the same.
    #[test]
    fn any_bytes_as_a_body_are_read_or_refused(
        head in prop_oneof![Just(b"old ".to_vec()), Just(Vec::new())],
        bytes in prop::collection::vec(prop_oneof![Just(b'\n'), Just(b'0'), Just(b'='), any::<u8>()], 0..300),
    ) {
        let body = [head, bytes].concat();
        if let Ok(request) = AddCheckpointRequest::parse(&body) {
            prop_assert_eq!(request.to_bytes(), body);
            let _ = request.origin();
        }
    }

    /// Any byte of a valid body changed before its checkpoint's cosignatures: the witness does
    /// not cosign (the old size, the proof and the log-signed checkpoint are all checked).
    #[test]
    fn a_changed_body_is_not_cosigned(at in any::<Index>(), flip in 1u8..=255) {
        let body = fixture_body();
        // Cosignature lines of the checkpoint are the witnesses' business, not the log's.
        let signed_part = body.len() - (log().checkpoint.len() - bare_checkpoint().len());
        let position = at.index(signed_part);
        let mut changed = body.to_vec();
        changed[position] ^= flip;
        prop_assert!(witness_decides(&changed).is_err());
    }

    /// Bodies beyond the size limit are refused before they are read.
    #[test]
    fn oversized_bodies_are_refused(extra in 1usize..4096) {
        let mut body = b"old 0\n\n".to_vec();
        body.resize(MAX_REQUEST_SIZE + extra, b'x');
        prop_assert_eq!(
            AddCheckpointRequest::parse(&body),
            Err(WitnessError::Malformed(MalformedBody::TooLarge))
        );
    }
}

proptest! {
    #![proptest_config(cases(512))]

    /// Every tile that can exist writes a canonical path that parses back to it, and its
    /// geometry (stored-hash indexes, entry range) is computed without overflow.
    #[test]
    fn tile_paths_round_trip(tile in any_tile(), slash in any::<bool>()) {
        let path = tile.to_string();
        let written = if slash { format!("/{path}") } else { path.clone() };
        prop_assert_eq!(written.parse::<TilePath>(), Ok(tile));
        let range = tile.entry_range();
        prop_assert!(range.end <= MAX_LEAVES);
        let indexes = tile.stored_hash_indexes();
        prop_assert!(indexes.len() as u64 <= TILE_WIDTH);
        prop_assert!(indexes.windows(2).all(|pair| pair[0] < pair[1]));
    }

    /// Any text as a tile path: what parses is the canonical spelling of a tile whose
    /// geometry computes; the rest is refused without a panic.
    #[test]
    fn any_text_as_a_tile_path(
        path in "/?tile/(entries|[0-9]{1,3})/((x[0-9]{3}/){0,7}[0-9]{3}|[0-9x/]{0,30})(\\.p/[0-9]{1,4})?",
    ) {
        if let Ok(tile) = path.parse::<TilePath>() {
            prop_assert_eq!(tile.to_string(), path.strip_prefix('/').unwrap_or(&path));
            let _ = tile.stored_hash_indexes();
            prop_assert!(tile.entry_range().end <= MAX_LEAVES);
        }
    }

    /// Entry bundles: any entries encode and decode back to themselves, with exactly the
    /// count asked for; any other count is refused.
    #[test]
    fn entry_bundles_round_trip(
        entries in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 1..20),
        wrong in 0usize..40,
    ) {
        let mut encoded = Vec::new();
        for entry in &entries {
            bundle::push_entry(&mut encoded, entry).expect("fits");
        }
        let decoded = bundle::decode(&encoded, entries.len()).expect("decodes");
        prop_assert_eq!(&decoded, &entries.iter().map(Vec::as_slice).collect::<Vec<_>>());
        if wrong != entries.len() {
            let refused = matches!(
                bundle::decode(&encoded, wrong),
                Err(BundleError::WrongCount { .. })
            );
            prop_assert!(refused);
        }
    }

    /// Any bytes as a bundle: decoded or refused without a panic, and a decoded bundle
    /// encodes back to the same bytes.
    #[test]
    fn any_bytes_as_a_bundle(bytes in prop::collection::vec(any::<u8>(), 0..600), count in 0usize..8) {
        if let Ok(entries) = bundle::decode(&bytes, count) {
            let mut again = Vec::new();
            for entry in &entries {
                bundle::push_entry(&mut again, entry).expect("fits");
            }
            prop_assert_eq!(again, bytes);
        }
    }

    /// An entry longer than a bundle can carry is refused on both sides.
    #[test]
    fn oversized_entries_are_refused(extra in 1usize..2048) {
        let entry = vec![b' '; MAX_ENTRY_BYTES + extra];
        let refused = matches!(
            bundle::push_entry(&mut Vec::new(), &entry),
            Err(BundleError::EntryTooLarge(_))
        );
        prop_assert!(refused);
        prop_assert_eq!(log_entry::decode(&entry), Err(EntryError::TooLarge(entry.len())));
    }
}

proptest! {
    #![proptest_config(cases(256))]

    /// A log entry decodes only from its canonical bytes: what decodes canonicalises back to
    /// the same bytes, for any JSON written any way serde_json writes it.
    #[test]
    fn entries_decode_only_when_canonical(value in any_json(), pretty in any::<bool>()) {
        let bytes = if pretty {
            serde_json::to_vec_pretty(&value).expect("JSON")
        } else {
            serde_json::to_vec(&value).expect("JSON")
        };
        if let Ok(decoded) = log_entry::decode(&bytes) {
            prop_assert_eq!(talent_integrity::jcs::canonicalize(&decoded.object), bytes);
        }
    }

    /// Any byte of any entry of the fixture log changed: neither the whole check nor the
    /// mirror's fast check accepts it.
    #[test]
    fn a_changed_entry_never_verifies(which in any::<Index>(), at in any::<Index>(), flip in 1u8..=255) {
        let entry = which.get(&log().entries);
        let changed = flipped(entry, at, flip);
        prop_assert!(log_entry::verify_entry(&changed).is_err());
        let fast = log_entry::prepare_entry_with(&changed, &mut talent_integrity::did::KeyCache::new())
            .ok()
            .is_some_and(|prepared| log_entry::verify_entries(vec![prepared], &[&changed]).is_ok());
        prop_assert!(!fast);
    }
}

//! The public audit over a log of cq-sc signed with its development keys: views that agree
//! pass, and each way a view can disagree is named.

use std::collections::HashMap;

use super::*;
use crate::federation::Federation;
use talent_tlog::cosignature::Cosigner;
use talent_tlog::merkle::MemoryTree;
use talent_tlog::tile::{TilePath, tiles_for_size};

fn federation() -> Federation {
    Federation::parse(include_str!(
        "../../../federation-config/chengdu-chongqing/federation.toml"
    ))
    .expect("config")
}

/// A development key of the shipped federation (their secrets are public).
fn secret(member: &str, key: &str) -> ed25519_dalek::SigningKey {
    macro_rules! dev_key {
        ($path:literal) => {
            include_str!(concat!(
                "../../../federation-config/chengdu-chongqing/dev-keys/",
                $path
            ))
        };
    }
    let text = match (member, key) {
        ("cq-sc", "log") => dev_key!("cq-sc/log.key"),
        ("cd-hz", "log") => dev_key!("cd-hz/log.key"),
        ("cd-hz", "witness") => dev_key!("cd-hz/witness.key"),
        ("cq-hrss", "witness") => dev_key!("cq-hrss/witness.key"),
        ("sc-hrss", "witness") => dev_key!("sc-hrss/witness.key"),
        ("bj-zgc", "witness") => dev_key!("bj-zgc/witness.key"),
        other => panic!("no dev key {other:?} in these tests"),
    };
    let seed = talent_integrity::multibase::decode_ed25519_secret(text.trim()).expect("secret");
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

/// A tree of `size` entries (with `tag` in each) and its hash tiles.
fn log(size: u64, tag: &str) -> (MemoryTree, HashMap<String, Vec<u8>>) {
    let mut tree = MemoryTree::new();
    for i in 0..size {
        tree.push_entry(format!("{tag} {i}").as_bytes());
    }
    let tiles = tiles_for_size(size)
        .into_iter()
        .filter(|tile| matches!(tile, TilePath::Hashes { .. }))
        .map(|tile| (tile.to_string(), tile.read_hashes(&tree).expect("tile")))
        .collect();
    (tree, tiles)
}

/// cq-sc's checkpoint of the first `size` entries of `tree`, cosigned by `witnesses`.
fn checkpoint(tree: &MemoryTree, size: u64, witnesses: &[&str]) -> Vec<u8> {
    let member = &federation().member("cq-sc").expect("cq-sc").clone();
    let root = tree.root_at(size).expect("root");
    let mut note = talent_tlog::checkpoint::sign_checkpoint(
        &member.log_origin,
        size,
        root,
        &secret("cq-sc", "log"),
    )
    .expect("signs");
    for witness in witnesses {
        let peer = federation().member(witness).expect("peer").clone();
        let cosigner = Cosigner::new(&peer.witness_name, secret(witness, "witness")).expect("key");
        let line = cosigner.cosign(&note, 1_764_146_400).expect("cosigns");
        note = cosignature::attach(&note, &line).expect("attaches");
    }
    note
}

fn view(source: &str, note: Vec<u8>) -> View {
    View {
        source: source.into(),
        note,
    }
}

fn run(
    views: &Views<'_>,
    tiles: &HashMap<String, Vec<u8>>,
) -> Result<PublicAuditReport, PublicAuditError> {
    let federation = federation();
    let member = federation.member("cq-sc").expect("cq-sc");
    audit(member, &federation.cosigners_of("cq-sc"), views, |path| {
        tiles
            .get(path)
            .cloned()
            .ok_or_else(|| format!("404 {path}"))
    })
}

#[test]
fn agreeing_views_pass_and_the_state_is_the_members_checkpoint() {
    let (tree, tiles) = log(700, "entry");
    let views = Views {
        own: view("cq-sc", checkpoint(&tree, 700, &["cd-hz"])),
        held: vec![
            view(
                "cd-hz",
                checkpoint(&tree, 700, &["cd-hz", "sc-hrss", "bj-zgc"]),
            ),
            view("sc-hrss", checkpoint(&tree, 300, &["cq-hrss"])),
            view("bj-zgc", checkpoint(&tree, 300, &[])),
        ],
        previous: None,
    };
    let report = run(&views, &tiles).expect("consistent");
    assert_eq!((report.state.size, report.proofs), (700, 1));
    assert_eq!(report.views.len(), 4);
    assert_eq!(report.views[1].cosigners.len(), 3);
    assert!(report.tiles > 0);

    // The next run starts from the state: the log grew, still consistent.
    let (grown, grown_tiles) = log(900, "entry");
    let views = Views {
        own: view("cq-sc", checkpoint(&grown, 900, &[])),
        held: vec![view("cd-hz", checkpoint(&grown, 800, &[]))],
        previous: Some(&report.state),
    };
    let again = run(&views, &grown_tiles).expect("consistent with the saved state");
    assert_eq!((again.previous_size, again.proofs), (Some(700), 2));
}

#[test]
fn rollbacks_split_views_forks_bad_signatures_and_foreign_state_are_named() {
    let (tree, tiles) = log(700, "entry");
    let (other, _) = log(700, "other");
    let own = || view("cq-sc", checkpoint(&tree, 700, &[]));
    let check = |held: View, tiles: &HashMap<String, Vec<u8>>| {
        run(
            &Views {
                own: own(),
                held: vec![held],
                previous: None,
            },
            tiles,
        )
    };
    let (bigger, _) = log(701, "entry");
    assert!(matches!(
        check(view("cd-hz", checkpoint(&bigger, 701, &[])), &tiles),
        Err(PublicAuditError::Rollback {
            size: 701,
            current: 700,
            ..
        })
    ));
    assert!(matches!(
        check(view("cd-hz", checkpoint(&other, 700, &[])), &tiles),
        Err(PublicAuditError::SplitView { size: 700, .. })
    ));
    assert!(matches!(
        check(view("cd-hz", checkpoint(&other, 300, &[])), &tiles),
        Err(PublicAuditError::Fork { size: 300, .. })
    ));
    // Signed by another member's log key.
    let forged = talent_tlog::checkpoint::sign_checkpoint(
        "registry.cq-sc.example/log",
        300,
        tree.root_at(300).expect("root"),
        &secret("cd-hz", "log"),
    )
    .expect("signs");
    assert!(matches!(
        check(view("cd-hz", forged), &tiles),
        Err(PublicAuditError::BadSignature { .. })
    ));
    // A trusted witness's line that does not verify.
    let mut cosigned = String::from_utf8(checkpoint(&tree, 300, &["cd-hz"])).expect("UTF-8");
    // A character of the signature, past the key id and timestamp.
    let last = cosigned.trim_end().rfind(' ').expect("line") + 60;
    cosigned.replace_range(
        last..last + 1,
        if &cosigned[last..=last] == "A" {
            "B"
        } else {
            "A"
        },
    );
    assert!(matches!(
        check(view("cd-hz", cosigned.into_bytes()), &tiles),
        Err(PublicAuditError::BadCosignature { .. })
    ));
    // Tiles of another tree, and tiles that cannot be read.
    let (_, other_tiles) = log(700, "other");
    assert!(matches!(
        check(view("cd-hz", checkpoint(&tree, 300, &[])), &other_tiles),
        Err(PublicAuditError::Tiles(_))
    ));
    let error =
        check(view("cd-hz", checkpoint(&tree, 300, &[])), &HashMap::new()).expect_err("no tiles");
    assert!(error.is_unreadable(), "{error}");
    // A saved state of another log.
    let mut state = run(
        &Views {
            own: own(),
            held: vec![],
            previous: None,
        },
        &tiles,
    )
    .expect("passes")
    .state;
    state.origin = "registry.cd-hz.example/log".into();
    assert!(matches!(
        run(
            &Views {
                own: own(),
                held: vec![],
                previous: Some(&state),
            },
            &tiles
        ),
        Err(PublicAuditError::StateMismatch(_))
    ));
}

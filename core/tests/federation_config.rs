//! The federation config (`federation-config/chengdu-chongqing/`): the shipped file parses and
//! its public keys match the dev-only secret keys beside it; every broken variant is refused
//! with its exact error kind, at the line of the offending value.

use std::fs;
use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{SigningKey, VerifyingKey};
use talent_core::federation::{ConfigErrorKind, Federation, MemberClass, VkeyError};
use talent_core::identifiers::{IdentifierError, RegionId};
use talent_integrity::did::{DidError, DidKey, KeyKind};
use talent_integrity::keys::Sm2SigningKey;
use talent_integrity::multibase;
use talent_integrity::proof::Cryptosuite;
use talent_tlog::Hash;
use talent_tlog::checkpoint::{
    open_checkpoint, open_checkpoint_with_sm2, sign_checkpoint, sign_checkpoint_with_sm2,
    verifier_key,
};
use talent_tlog::sm2_note::{Sm2NoteError, sm2_verifier_key};

fn config_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../federation-config/chengdu-chongqing")
}

fn shipped() -> String {
    fs::read_to_string(config_dir().join("federation.toml")).expect("shipped federation.toml")
}

/// `tlog-cosignature` vkey: `<name>+<hex id>+<base64(0x04 || key)>`, id = first 4 bytes of
/// SHA-256(name || "\n" || 0x04 || key).
fn cosignature_vkey(name: &str, key: &VerifyingKey) -> String {
    let mut encoded = vec![0x04];
    encoded.extend_from_slice(key.as_bytes());
    format!(
        "{name}+{:08x}+{}",
        signed_note::key_id(name, &encoded),
        BASE64.encode(&encoded)
    )
}

/// Reads a dev key file, requiring exactly the secret multikey and one newline.
fn dev_key(member: &str, role: &str) -> SigningKey {
    let path = config_dir().join(format!("dev-keys/{member}/{role}.key"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let secret = text
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{} must end with a newline", path.display()));
    let seed = multibase::decode_ed25519_secret(secret)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(multibase::encode_ed25519_secret(&seed), secret);
    SigningKey::from_bytes(&seed)
}

/// The did:key of a member's dev authority key: Ed25519, or SM2 (`sm2-priv`) for a member on
/// `sm2-jcs-2025`.
fn dev_authority(member: &str) -> DidKey {
    let path = config_dir().join(format!("dev-keys/{member}/authority.key"));
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let secret = text
        .strip_suffix('\n')
        .unwrap_or_else(|| panic!("{} must end with a newline", path.display()));
    match multibase::decode_sm2_secret(secret) {
        Ok(scalar) => {
            assert_eq!(multibase::encode_sm2_secret(&scalar), secret);
            Sm2SigningKey::from_bytes(&scalar)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
                .did()
        }
        Err(_) => DidKey::from_verifying_key(&dev_key(member, "authority").verifying_key()),
    }
}

#[test]
fn shipped_config_parses() {
    let federation = Federation::parse(&shipped()).expect("shipped config parses");
    assert_eq!(federation.id, "chengdu-chongqing");
    assert_eq!(federation.name_zh, "成渝地区双城经济圈人才互认联盟");
    assert_eq!(federation.witness_quorum, 3);
    let expected = [
        ("cq-sc", "重庆西部科学城", MemberClass::ScienceCity),
        ("cd-hz", "成都高新区", MemberClass::HighTechZone),
        (
            "cq-hrss",
            "重庆市人力资源和社会保障局",
            MemberClass::ProvincialHrAuthority,
        ),
        (
            "sc-hrss",
            "四川省人力资源和社会保障厅",
            MemberClass::ProvincialHrAuthority,
        ),
        ("bj-zgc", "中关村（重庆）人才飞地", MemberClass::EnclavePark),
    ];
    assert_eq!(federation.members().len(), expected.len());
    for (index, (member, (id, name_zh, class))) in
        federation.members().iter().zip(expected).enumerate()
    {
        assert_eq!(member.id.as_str(), id);
        assert_eq!(member.name_zh, name_zh);
        assert_eq!(member.class, class);
        assert_eq!(
            member.endpoint,
            format!("http://127.0.0.1:{}", 7101 + index)
        );
        assert_eq!(member.log_origin, format!("registry.{id}.example/log"));
        assert_eq!(member.witness_name, format!("witness.{id}.example"));

        assert_eq!(federation.member(id), Some(member));
        assert_eq!(
            federation.member_by_authority(&member.authority),
            Some(member)
        );
        assert_eq!(
            federation.member_by_origin(&member.log_origin),
            Some(member)
        );
        assert_eq!(
            federation.member_by_witness_name(&member.witness_name),
            Some(member)
        );
        let peers: Vec<&str> = federation
            .peers_of(&member.id)
            .map(|peer| peer.id.as_str())
            .collect();
        assert_eq!(peers.len(), 4);
        assert!(!peers.contains(&id));
    }
    assert_eq!(federation.member("xx-none"), None);
    assert_eq!(
        federation.member_by_origin("registry.cq-sc.example/log2"),
        None
    );
}

#[test]
fn dev_keys_match_the_public_values() {
    let federation = Federation::parse(&shipped()).expect("shipped config parses");
    let mut dirs: Vec<String> = fs::read_dir(config_dir().join("dev-keys"))
        .expect("dev-keys directory")
        .map(|entry| entry.expect("entry"))
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    dirs.sort();
    let mut ids: Vec<String> = federation
        .members()
        .iter()
        .map(|m| m.id.to_string())
        .collect();
    ids.sort();
    assert_eq!(dirs, ids, "one dev-keys directory per member");

    for member in federation.members() {
        let id = member.id.as_str();
        assert_eq!(
            dev_authority(id).to_string(),
            member.authority.to_string(),
            "{id} authority"
        );
        assert_eq!(
            member.authority.kind(),
            member.cryptosuite.key_kind(),
            "{id} suite"
        );
        let log = dev_key(id, "log");
        assert_eq!(
            verifier_key(&member.log_origin, &log.verifying_key()),
            member.log_vkey,
            "{id} log_vkey"
        );
        assert_eq!(member.log_key, log.verifying_key());
        let witness = dev_key(id, "witness").verifying_key();
        assert_eq!(
            cosignature_vkey(&member.witness_name, &witness),
            member.witness_vkey,
            "{id} witness_vkey"
        );
        assert_eq!(member.witness_key, witness);

        // The log key really verifies the member's checkpoints.
        let note = sign_checkpoint(&member.log_origin, 3, Hash([7; 32]), &log).expect("signs");
        let checkpoint =
            open_checkpoint(&note, &member.log_origin, &member.log_vkey).expect("opens");
        assert_eq!(checkpoint.size(), 3);

        // A member with an SM2 checkpoint key holds it as dev-keys/<id>/log-sm2.key; it
        // signs the second line that receivers then require.
        let sm2_path = config_dir().join(format!("dev-keys/{id}/log-sm2.key"));
        let Some(sm2_vkey) = &member.log_sm2_vkey else {
            assert!(
                !sm2_path.exists(),
                "{id} has log-sm2.key but no log_sm2_vkey"
            );
            continue;
        };
        let text = fs::read_to_string(&sm2_path).expect("log-sm2.key");
        let scalar = multibase::decode_sm2_secret(text.strip_suffix('\n').expect("newline"))
            .expect("an SM2 secret multikey");
        let sm2 = Sm2SigningKey::from_bytes(&scalar).expect("a valid scalar");
        assert_eq!(
            &sm2_verifier_key(&member.log_origin, sm2.verifying_key()).expect("vkey"),
            sm2_vkey,
            "{id} log_sm2_vkey"
        );
        let note =
            sign_checkpoint_with_sm2(&member.log_origin, 3, Hash([7; 32]), &log, sm2.as_sm2())
                .expect("signs");
        open_checkpoint_with_sm2(&note, &member.log_origin, &member.log_vkey, Some(sm2_vkey))
            .expect("opens with both lines");
    }
    assert!(
        federation
            .member("cq-hrss")
            .is_some_and(|m| m.log_sm2_vkey.is_some()),
        "the demo's SM2 member signs checkpoints with SM2 too"
    );
}

/// Whether a line holds `needle` outside a comment (the file's comments quote field names).
fn holds(line: &str, needle: &str) -> bool {
    !line.trim_start().starts_with('#') && line.contains(needle)
}

/// 1-based line of the `nth` (0-based) line of `text` holding `needle`.
fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, line)| holds(line, needle))
        .nth(nth)
        .map(|(index, _)| index + 1)
        .unwrap_or_else(|| panic!("{needle:?} #{nth} not in config"))
}

/// Replaces the single line containing `needle` by `with`.
fn replace_line(text: &str, needle: &str, with: &str) -> String {
    assert_eq!(
        text.lines().filter(|line| holds(line, needle)).count(),
        1,
        "{needle:?} must be on exactly one line"
    );
    text.lines()
        .map(|line| if holds(line, needle) { with } else { line })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

/// Inserts `line` after the single line containing `needle`.
fn insert_after(text: &str, needle: &str, line: &str) -> String {
    let original = text.lines().find(|l| holds(l, needle)).expect("needle");
    replace_line(text, needle, &format!("{original}\n{line}"))
}

struct Case {
    name: &'static str,
    text: String,
    line: usize,
    kind: ConfigErrorKind,
}

fn broken_configs() -> Vec<Case> {
    let good = shipped();
    let federation = Federation::parse(&good).expect("shipped config parses");
    let cq_sc = federation.member("cq-sc").expect("cq-sc");
    let cd_hz = federation.member("cd-hz").expect("cd-hz");
    let first_member = good.find("\n[[member]]").expect("a member");
    let header_line = line_of(&good, "[federation]", 0);

    let mut cases = Vec::new();
    let mut case = |name, text: String, line, kind| {
        cases.push(Case {
            name,
            text,
            line,
            kind,
        })
    };

    // Syntax: not TOML at all.
    let text = replace_line(&good, "witness_quorum = 3", "witness_quorum = = 3");
    let line = line_of(&text, "witness_quorum = = 3", 0);
    case(
        "syntax error",
        text,
        line,
        ConfigErrorKind::Syntax(String::new()),
    );
    let text = replace_line(&good, r#"id = "cd-hz""#, r#"id = "cd-hz"#);
    let line = line_of(&text, r#"id = "cd-hz"#, 0);
    case(
        "unterminated string",
        text,
        line,
        ConfigErrorKind::Syntax(String::new()),
    );

    // Shape.
    let text = insert_after(&good, r#"class = "science-city""#, r#"region = "cq""#);
    let line = line_of(&text, "region = ", 0);
    case(
        "unknown member field",
        text,
        line,
        ConfigErrorKind::UnknownField("region".into()),
    );
    let text = insert_after(&good, "witness_quorum = 3", "quorum = 3");
    let line = line_of(&text, "quorum = 3", 1);
    case(
        "unknown federation field",
        text,
        line,
        ConfigErrorKind::UnknownField("quorum".into()),
    );
    let text = format!("{good}\n[extra]\nx = 1\n");
    let line = line_of(&text, "[extra]", 0);
    case(
        "unknown table",
        text,
        line,
        ConfigErrorKind::UnknownField("extra".into()),
    );
    let text = replace_line(&good, "endpoint = \"http://127.0.0.1:7102\"", "");
    let line = line_of(&text, "[[member]]", 1);
    case(
        "missing endpoint",
        text,
        line,
        ConfigErrorKind::MissingField("endpoint"),
    );
    let text = replace_line(&good, "witness_quorum = 3", r#"witness_quorum = "3""#);
    let line = line_of(&text, "witness_quorum = ", 0);
    case(
        "quorum as a string",
        text,
        line,
        ConfigErrorKind::WrongType {
            field: "witness_quorum",
            expected: "a non-negative integer",
        },
    );
    let text = replace_line(&good, "witness_quorum = 3", "witness_quorum = -1");
    let line = line_of(&text, "witness_quorum = ", 0);
    case(
        "negative quorum",
        text,
        line,
        ConfigErrorKind::WrongType {
            field: "witness_quorum",
            expected: "a non-negative integer",
        },
    );
    let text = replace_line(
        &good,
        "name_en = \"Chengdu High-tech Zone\"",
        "name_en = \" \"",
    );
    let line = line_of(&text, "name_en = \" \"", 0);
    case(
        "empty name",
        text,
        line,
        ConfigErrorKind::EmptyField("name_en"),
    );

    // Member ids.
    let text = replace_line(&good, r#"id = "cd-hz""#, r#"id = "CD-HZ""#);
    let line = line_of(&text, r#"id = "CD-HZ""#, 0);
    case(
        "bad member id",
        text,
        line,
        ConfigErrorKind::BadMemberId(IdentifierError::InvalidRegionId("CD-HZ".into())),
    );
    let text = replace_line(&good, r#"id = "cd-hz""#, r#"id = "cq-sc""#);
    let first_line = line_of(&text, r#"id = "cq-sc""#, 0);
    let line = line_of(&text, r#"id = "cq-sc""#, 1);
    case(
        "duplicate member id",
        text,
        line,
        ConfigErrorKind::DuplicateMemberId {
            id: "cq-sc".into(),
            first_line,
        },
    );
    let text = replace_line(&good, r#"class = "high-tech-zone""#, r#"class = "city""#);
    let line = line_of(&text, r#"class = "city""#, 0);
    case(
        "bad class",
        text,
        line,
        ConfigErrorKind::BadClass("city".into()),
    );

    // Endpoints.
    for (name, endpoint, reason) in [
        (
            "endpoint with a path",
            "http://127.0.0.1:7102/api",
            "must not have a path",
        ),
        (
            "endpoint with a trailing slash",
            "http://127.0.0.1:7102/",
            "must not end with '/'",
        ),
        (
            "ftp endpoint",
            "ftp://127.0.0.1:7102",
            "must start with http:// or https://",
        ),
    ] {
        let text = replace_line(
            &good,
            "endpoint = \"http://127.0.0.1:7102\"",
            &format!("endpoint = \"{endpoint}\""),
        );
        let line = line_of(&text, endpoint, 0);
        case(name, text, line, ConfigErrorKind::BadEndpoint { reason });
    }
    // Former endpoints: each one an endpoint, none twice, none the endpoint itself.
    for (name, former, reason) in [
        (
            "former endpoint with a path",
            r#"["http://127.0.0.1:7001/talent"]"#,
            "must not have a path",
        ),
        (
            "former endpoint listed twice",
            r#"["http://127.0.0.1:7001", "http://127.0.0.1:7001"]"#,
            "a former endpoint is listed twice or is the endpoint",
        ),
        (
            "former endpoint that is the endpoint",
            r#"["http://127.0.0.1:7102"]"#,
            "a former endpoint is listed twice or is the endpoint",
        ),
    ] {
        let text = insert_after(
            &good,
            "endpoint = \"http://127.0.0.1:7102\"",
            &format!("former_endpoints = {former}"),
        );
        let line = line_of(&text, "former_endpoints", 0);
        case(name, text, line, ConfigErrorKind::BadEndpoint { reason });
    }
    let text = insert_after(
        &good,
        "endpoint = \"http://127.0.0.1:7102\"",
        "former_endpoints = \"http://127.0.0.1:7001\"",
    );
    let line = line_of(&text, "former_endpoints", 0);
    case(
        "former endpoints not an array",
        text,
        line,
        ConfigErrorKind::WrongType {
            field: "former_endpoints",
            expected: "an array of endpoints",
        },
    );

    // Authority DIDs.
    let text = replace_line(
        &good,
        &cd_hz.authority.to_string(),
        &format!("authority = \"{}\"", cq_sc.authority),
    );
    let first_line = line_of(&text, &cq_sc.authority.to_string(), 0);
    let line = line_of(&text, &cq_sc.authority.to_string(), 1);
    case(
        "duplicate authority DID",
        text,
        line,
        ConfigErrorKind::DuplicateKey {
            field: "authority",
            first_line,
        },
    );
    let text = replace_line(
        &good,
        &cd_hz.authority.to_string(),
        r#"authority = "did:web:cd-hz.example""#,
    );
    let line = line_of(&text, "did:web:", 0);
    case(
        "did:web authority",
        text,
        line,
        ConfigErrorKind::BadDid(DidError::NotDidKey),
    );
    let text = replace_line(
        &good,
        &cd_hz.authority.to_string(),
        r#"authority = "did:key:z6Mk0OIl""#,
    );
    let line = line_of(&text, "did:key:z6Mk0OIl", 0);
    case(
        "authority not base58",
        text,
        line,
        ConfigErrorKind::BadDid(DidError::Multikey(multibase::MultibaseError::InvalidBase58)),
    );

    // Log keys.
    let (name, rest) = cq_sc.log_vkey.split_once('+').expect("vkey");
    let (id_hex, key) = rest.split_once('+').expect("vkey");
    let expected = u32::from_str_radix(id_hex, 16).expect("hex id");
    let found = expected ^ 1;
    let text = replace_line(
        &good,
        &cq_sc.log_vkey,
        &format!("log_vkey = \"{name}+{found:08x}+{key}\""),
    );
    let line = line_of(&text, &format!("{found:08x}"), 0);
    case(
        "log vkey with the wrong key id",
        text,
        line,
        ConfigErrorKind::BadLogVkey(VkeyError::KeyIdMismatch { expected, found }),
    );
    let text = replace_line(
        &good,
        &cq_sc.log_vkey,
        &format!("log_vkey = \"{}\"", cosignature_vkey(name, &cq_sc.log_key)),
    );
    let line = line_of(&text, "log_vkey = ", 0);
    case(
        "log vkey with alg 0x04",
        text,
        line,
        ConfigErrorKind::BadLogVkey(VkeyError::Algorithm {
            expected: 0x01,
            found: 0x04,
        }),
    );
    let text = replace_line(
        &good,
        r#"log_origin = "registry.cq-sc.example/log""#,
        r#"log_origin = "registry.cq-sc.example/other""#,
    );
    let line = line_of(&text, &cq_sc.log_vkey, 0);
    case(
        "log vkey name is not the origin",
        text,
        line,
        ConfigErrorKind::LogVkeyNameNotOrigin {
            key_name: "registry.cq-sc.example/log".into(),
            origin: "registry.cq-sc.example/other".into(),
        },
    );
    let other = SigningKey::from_bytes(&[42; 32]).verifying_key();
    let text = replace_line(
        &good,
        &cd_hz.log_vkey,
        &format!("log_vkey = \"{}\"", verifier_key(&cq_sc.log_origin, &other)),
    )
    .replace(
        r#"log_origin = "registry.cd-hz.example/log""#,
        r#"log_origin = "registry.cq-sc.example/log""#,
    );
    let first_line = line_of(&text, r#"log_origin = "registry.cq-sc.example/log""#, 0);
    let line = line_of(&text, r#"log_origin = "registry.cq-sc.example/log""#, 1);
    case(
        "duplicate log origin",
        text,
        line,
        ConfigErrorKind::DuplicateName {
            name: "registry.cq-sc.example/log".into(),
            first_line,
        },
    );

    // Witness keys.
    let text = replace_line(
        &good,
        &cq_sc.witness_vkey,
        &format!(
            "witness_vkey = \"{}\"",
            verifier_key(&cq_sc.witness_name, &cq_sc.witness_key)
        ),
    );
    let line = line_of(&text, "witness_vkey = ", 0);
    case(
        "witness vkey with alg 0x01",
        text,
        line,
        ConfigErrorKind::BadWitnessVkey(VkeyError::Algorithm {
            expected: 0x04,
            found: 0x01,
        }),
    );
    let text = replace_line(
        &good,
        &cd_hz.witness_vkey,
        &format!(
            "witness_vkey = \"{}\"",
            cosignature_vkey(&cd_hz.witness_name, &cq_sc.log_key)
        ),
    );
    let first_line = line_of(&text, &cq_sc.log_vkey, 0);
    let line = line_of(&text, &cd_hz.witness_name, 0);
    case(
        "witness key reuses a log key",
        text,
        line,
        ConfigErrorKind::DuplicateKey {
            field: "witness_vkey",
            first_line,
        },
    );

    // Members and quorum.
    let text = good[..first_member].to_owned();
    case("no members", text, header_line, ConfigErrorKind::NoMembers);
    // Cryptosuite: an unknown name, and an authority of the other kind than the suite.
    let text = insert_after(
        &good,
        r#"class = "science-city""#,
        r#"cryptosuite = "ecdsa-jcs-2019""#,
    );
    let line = line_of(&text, "cryptosuite = ", 0);
    case(
        "unknown cryptosuite",
        text,
        line,
        ConfigErrorKind::BadCryptosuite("ecdsa-jcs-2019".into()),
    );
    let text = insert_after(&good, r#"class = "science-city""#, "cryptosuite = 7");
    let line = line_of(&text, "cryptosuite = ", 0);
    case(
        "cryptosuite not a string",
        text,
        line,
        ConfigErrorKind::WrongType {
            field: "cryptosuite",
            expected: "a string",
        },
    );
    let text = insert_after(
        &good,
        r#"class = "science-city""#,
        r#"cryptosuite = "sm2-jcs-2025""#,
    );
    let line = line_of(&text, &cq_sc.authority.to_string(), 0);
    case(
        "sm2 suite with an Ed25519 authority",
        text,
        line,
        ConfigErrorKind::AuthorityNotOfSuite {
            key: KeyKind::Ed25519,
            cryptosuite: Cryptosuite::Sm2Jcs2025,
        },
    );
    let sm2 = sm2_authority(1);
    let text = replace_line(
        &good,
        &format!("authority = \"{}\"", cq_sc.authority),
        &format!("authority = \"{sm2}\""),
    );
    let line = line_of(&text, &sm2.to_string(), 0);
    case(
        "SM2 authority without its cryptosuite",
        text,
        line,
        ConfigErrorKind::AuthorityNotOfSuite {
            key: KeyKind::Sm2,
            cryptosuite: Cryptosuite::EddsaJcs2022,
        },
    );
    let text = sm2_member(
        &sm2_member(&good, &cq_sc.authority, &sm2),
        &cd_hz.authority,
        &sm2,
    );
    let line = line_of(&text, &sm2.to_string(), 1);
    case(
        "SM2 authority repeated",
        text,
        line,
        ConfigErrorKind::DuplicateKey {
            field: "authority",
            first_line: line_of(
                &sm2_member(&good, &cq_sc.authority, &sm2),
                &sm2.to_string(),
                0,
            ),
        },
    );

    // The optional SM2 log key.
    let cases_sm2: [(&str, String, ConfigErrorKind); 4] = [
        (
            "log_sm2_vkey malformed",
            "\"registry.cq-sc.example/log+0000+AAAA\"".into(),
            ConfigErrorKind::BadLogSm2Vkey(Sm2NoteError::MalformedVerifierKey),
        ),
        (
            "log_sm2_vkey is an Ed25519 key",
            format!("\"{}\"", cq_sc.log_vkey),
            ConfigErrorKind::BadLogSm2Vkey(Sm2NoteError::NotSm2),
        ),
        (
            "log_sm2_vkey named by another origin",
            format!("\"{}\"", sm2_log_vkey("registry.cd-hz.example/log", 3)),
            ConfigErrorKind::LogSm2VkeyNameNotOrigin {
                key_name: "registry.cd-hz.example/log".into(),
                origin: cq_sc.log_origin.clone(),
            },
        ),
        (
            "log_sm2_vkey not a string",
            "7".into(),
            ConfigErrorKind::WrongType {
                field: "log_sm2_vkey",
                expected: "a string",
            },
        ),
    ];
    for (name, value, kind) in cases_sm2 {
        let text = insert_after(
            &good,
            &format!("log_vkey = \"{}\"", cq_sc.log_vkey),
            &format!("log_sm2_vkey = {value}"),
        );
        let line = line_of(&text, "log_sm2_vkey = ", 0);
        case(name, text, line, kind);
    }
    // The same SM2 point under each member's own name is one key in two roles.
    let once = with_sm2_log_vkey(&good, &cq_sc.log_origin, &cq_sc.log_vkey, 4);
    let text = with_sm2_log_vkey(&once, &cd_hz.log_origin, &cd_hz.log_vkey, 4);
    let line = line_of(&text, "log_sm2_vkey = ", 1);
    case(
        "log_sm2_vkey repeated under another origin",
        text,
        line,
        ConfigErrorKind::DuplicateKey {
            field: "log_sm2_vkey",
            first_line: line_of(&once, "log_sm2_vkey = ", 0),
        },
    );

    let text = replace_line(&good, "witness_quorum = 3", "witness_quorum = 0");
    let line = line_of(&text, "witness_quorum = 0", 0);
    case("quorum 0", text, line, ConfigErrorKind::QuorumZero);
    for quorum in [5, 6] {
        let text = replace_line(
            &good,
            "witness_quorum = 3",
            &format!("witness_quorum = {quorum}"),
        );
        let line = line_of(&text, "witness_quorum = ", 0);
        case(
            "quorum not below the member count",
            text,
            line,
            ConfigErrorKind::QuorumTooLarge { quorum, members: 5 },
        );
    }
    cases
}

/// The did:key of the SM2 key with every scalar byte `seed`.
fn sm2_authority(seed: u8) -> DidKey {
    Sm2SigningKey::from_bytes(&[seed; 32])
        .expect("a valid scalar")
        .did()
}

/// `text` with the member whose authority is `old` signing with SM2 under `new`.
fn sm2_member(text: &str, old: &DidKey, new: &DidKey) -> String {
    replace_line(
        text,
        &format!("authority = \"{old}\""),
        &format!("cryptosuite = \"sm2-jcs-2025\"\nauthority = \"{new}\""),
    )
}

/// The SM2 signed-note verifier key, named `origin`, of the key with every scalar byte `seed`.
fn sm2_log_vkey(origin: &str, seed: u8) -> String {
    let key = Sm2SigningKey::from_bytes(&[seed; 32]).expect("a valid scalar");
    sm2_verifier_key(origin, key.verifying_key()).expect("a key name")
}

/// `text` with the member of `origin` (log vkey `log_vkey`) given an SM2 log key of `seed`.
fn with_sm2_log_vkey(text: &str, origin: &str, log_vkey: &str, seed: u8) -> String {
    insert_after(
        text,
        &format!("log_vkey = \"{log_vkey}\""),
        &format!("log_sm2_vkey = \"{}\"", sm2_log_vkey(origin, seed)),
    )
}

#[test]
fn former_endpoints_are_read_and_written_back() {
    let good = shipped();
    assert!(
        !Federation::parse(&good)
            .expect("parses")
            .to_toml()
            .contains("former_endpoints")
    );
    let text = insert_after(
        &good,
        "endpoint = \"http://127.0.0.1:7102\"",
        r#"former_endpoints = ["https://cd-hz.old.example", "http://127.0.0.1:7002"]"#,
    );
    let federation = Federation::parse(&text).expect("former endpoints parse");
    let moved: Vec<_> = federation
        .members()
        .iter()
        .filter(|m| !m.former_endpoints.is_empty())
        .map(|m| (m.id.as_str(), m.former_endpoints.clone()))
        .collect();
    assert_eq!(
        moved,
        [(
            "cd-hz",
            vec![
                "https://cd-hz.old.example".to_owned(),
                "http://127.0.0.1:7002".to_owned()
            ]
        )]
    );
    let written = federation.to_toml();
    assert_eq!(Federation::parse(&written), Ok(federation));
}

#[test]
fn an_sm2_log_vkey_is_read_and_written_back() {
    let good = shipped();
    let federation = Federation::parse(&good).expect("shipped config parses");
    // Written back only when present: the shipped file has one, cq-hrss's.
    assert_eq!(federation.to_toml().matches("log_sm2_vkey = ").count(), 1);
    let cq_sc = federation.member("cq-sc").expect("cq-sc");
    let vkey = sm2_log_vkey(&cq_sc.log_origin, 5);
    let text = with_sm2_log_vkey(&good, &cq_sc.log_origin, &cq_sc.log_vkey, 5);
    let federation = Federation::parse(&text).expect("an SM2 log key parses");
    let with_sm2: Vec<_> = federation
        .members()
        .iter()
        .filter(|m| m.log_sm2_vkey.is_some())
        .map(|m| m.id.as_str())
        .collect();
    assert_eq!(with_sm2, ["cq-sc", "cq-hrss"]);
    assert_eq!(
        federation
            .member("cq-sc")
            .and_then(|m| m.log_sm2_vkey.as_deref()),
        Some(vkey.as_str())
    );
    let written = federation.to_toml();
    assert_eq!(written.matches("log_sm2_vkey = ").count(), 2, "{written}");
    assert_eq!(Federation::parse(&written), Ok(federation));
}

#[test]
fn an_sm2_member_is_read_and_written_back() {
    let good = shipped();
    let federation = Federation::parse(&good).expect("shipped config parses");
    let cd_hz = federation.member("cd-hz").expect("cd-hz");
    let sm2 = sm2_authority(2);
    let text = sm2_member(&good, &cd_hz.authority, &sm2);
    let federation = Federation::parse(&text).expect("an SM2 member parses");
    let member = federation.member("cd-hz").expect("cd-hz");
    assert_eq!(member.cryptosuite, Cryptosuite::Sm2Jcs2025);
    assert_eq!(member.authority, sm2);
    assert_eq!(federation.member_by_authority(&sm2), Some(member));
    // Only the SM2 members' suite is written: an Ed25519 member's lines are as they were.
    let written = federation.to_toml();
    let sm2_members = federation
        .members()
        .iter()
        .filter(|m| m.cryptosuite == Cryptosuite::Sm2Jcs2025)
        .count();
    assert_eq!(
        written.matches("cryptosuite = ").count(),
        sm2_members,
        "{written}"
    );
    assert_eq!(Federation::parse(&written), Ok(federation));
    // A member without the field is on eddsa-jcs-2022.
    let shipped = Federation::parse(&good).expect("parses");
    assert_eq!(
        shipped.member("cq-sc").map(|m| m.cryptosuite),
        Some(Cryptosuite::EddsaJcs2022)
    );
    assert_eq!(
        shipped.member("cq-hrss").map(|m| m.cryptosuite),
        Some(Cryptosuite::Sm2Jcs2025),
        "the demo's SM2 member"
    );
}

#[test]
fn broken_configs_are_refused_at_their_line() {
    for case in broken_configs() {
        let error = Federation::parse(&case.text).expect_err(case.name);
        // Syntax messages are the TOML parser's own; only the kind and line are ours.
        let kind = match error.kind {
            ConfigErrorKind::Syntax(ref message) => {
                assert!(!message.is_empty(), "{}: empty syntax message", case.name);
                ConfigErrorKind::Syntax(String::new())
            }
            ref kind => kind.clone(),
        };
        assert_eq!(kind, case.kind, "{}: {error}", case.name);
        assert_eq!(error.line, case.line, "{}: {error}", case.name);
        assert!(error.column >= 1, "{}", case.name);
        assert_eq!(
            error.to_string(),
            format!(
                "line {}, column {}: {}",
                error.line, error.column, error.kind
            )
        );
    }
}

#[test]
fn columns_point_at_the_value() {
    let text = replace_line(&shipped(), "witness_quorum = 3", "witness_quorum = 0");
    let error = Federation::parse(&text).expect_err("quorum 0");
    assert_eq!(error.column, "witness_quorum = ".len() + 1);
    // Columns count characters, not bytes.
    let text = replace_line(
        &shipped(),
        r#"name_zh = "成都高新区""#,
        r#"name_zh = "成都高新区" bad"#,
    );
    let error = Federation::parse(&text).expect_err("trailing text");
    assert!(matches!(error.kind, ConfigErrorKind::Syntax(_)), "{error}");
    assert_eq!(
        error.column,
        r#"name_zh = "成都高新区" "#.chars().count() + 1
    );
}

#[test]
fn quorum_up_to_members_minus_one_is_accepted() {
    let text = replace_line(&shipped(), "witness_quorum = 3", "witness_quorum = 4");
    let federation = Federation::parse(&text).expect("quorum 4 of 5");
    assert_eq!(federation.witness_quorum, 4);
    let region: RegionId = "cq-sc".parse().expect("region");
    assert_eq!(federation.peers_of(&region).count(), 4);
}

#[test]
fn oversized_config_is_refused() {
    let text = format!(
        "{}\n# {}\n",
        shipped(),
        "x".repeat(talent_core::federation::MAX_CONFIG_BYTES)
    );
    let error = Federation::parse(&text).expect_err("too large");
    assert!(matches!(error.kind, ConfigErrorKind::TooLarge { .. }));
}

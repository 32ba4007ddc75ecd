//! Go's `golang.org/x/mod/sumdb/note` (the reference implementation of C2SP signed-note, as
//! Debian packages it) opens checkpoints that carry the SM2 line with the Ed25519 log key
//! alone: it verifies the log's line and keeps the SM2 line as an unknown signature, as
//! signed-note requires. So public tlog tooling keeps reading an SM2 member's log.
//!
//! Needs `go` and the x/mod sources (`scripts/setup.sh` installs `golang-go` and
//! `golang-golang-x-mod-dev`); fails, never skips, without them.

use std::path::{Path, PathBuf};
use std::process::Command;

use talent_tlog::Hash;
use talent_tlog::checkpoint::{sign_checkpoint_with_sm2, verifier_key};
use talent_tlog::sm2_note::SM2_DISTINGUISHING_ID;

/// Where Debian's golang-golang-x-mod-dev puts the sources (a GOPATH).
const GOPATH: &str = "/usr/share/gocode";

/// Builds `tests/go/note_open` into `dir`; returns the binary.
fn build_note_open(dir: &Path) -> PathBuf {
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/go/note_open");
    assert!(
        Path::new(GOPATH)
            .join("src/golang.org/x/mod/sumdb/note")
            .is_dir(),
        "Go's x/mod sources are missing: run scripts/setup.sh (golang-golang-x-mod-dev)"
    );
    let binary = dir.join("note_open");
    let output = Command::new("go")
        .arg("build")
        .arg("-o")
        .arg(&binary)
        .arg(".")
        .current_dir(&source)
        .env("GOPATH", GOPATH)
        .env("GO111MODULE", "off")
        .env("GOFLAGS", "")
        .env("GOCACHE", dir.join("go-cache"))
        .output()
        .unwrap_or_else(|error| {
            panic!("go is missing ({error}): run scripts/setup.sh (golang-go)")
        });
    assert!(
        output.status.success(),
        "go build failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    binary
}

/// Runs note_open on `note` with `vkey`: (exit code, output).
fn go_opens(binary: &Path, dir: &Path, vkey: &str, note: &[u8]) -> (Option<i32>, String) {
    let file = dir.join("note");
    std::fs::write(&file, note).expect("writes the note");
    let output = Command::new(binary)
        .arg(vkey)
        .arg(&file)
        .output()
        .expect("runs note_open");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[test]
fn go_opens_a_checkpoint_with_the_sm2_line_and_refuses_a_changed_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = build_note_open(dir.path());

    // The vector.
    let vectors = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/sm2-checkpoint");
    let read = |name: &str| std::fs::read(vectors.join(name)).expect("vector file");
    let vkey = String::from_utf8(read("ed25519.vkey")).expect("UTF-8");
    let (code, out) = go_opens(&binary, dir.path(), vkey.trim(), &read("checkpoint.note"));
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.trim(), "verified 1, unverified 1");

    // A checkpoint signed now, with other keys.
    let origin = "registry.cq-hrss.example/log";
    let ed = ed25519_dalek::SigningKey::from_bytes(&[0x21; 32]);
    let sm2 = sm2::dsa::SigningKey::from_slice(SM2_DISTINGUISHING_ID, &[0x22; 32]).expect("SM2");
    let note = sign_checkpoint_with_sm2(origin, 7, Hash([3; 32]), &ed, &sm2).expect("signs");
    let vkey = verifier_key(origin, &ed.verifying_key());
    let (code, out) = go_opens(&binary, dir.path(), &vkey, &note);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(out.trim(), "verified 1, unverified 1");

    // The same note with its size changed: Go refuses it.
    let changed = String::from_utf8(note)
        .expect("UTF-8")
        .replacen("\n7\n", "\n8\n", 1);
    let (code, out) = go_opens(&binary, dir.path(), &vkey, changed.as_bytes());
    assert_eq!(code, Some(1), "{out}");
}

//! Data at rest: someone who can read the node's files (another local user, a copied disk
//! or backup without the key files) must not find a full resident ID number in them. A
//! credential issued with a full ID number through a real node leaves no file under the
//! data directory (table files, WAL, MANIFEST, RocksDB's logs, keys, tokens) holding its
//! bytes, the directory is 0700 and every file 0600 (also after someone loosened them), and
//! the console's search by full ID number still finds the credential, after a restart too.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use federation_tests::{Node, client_with_token};
use reqwest::StatusCode;

use super::console_search::ConsoleSession;

/// A valid full ID number (GB 11643 check character) used nowhere else in the suite.
const ID_NUMBER: &str = "510107199003071236";

/// Every file and directory under `dir` (not following links), `dir` first.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut found = vec![dir.to_path_buf()];
    let mut position = 0;
    while let Some(path) = found.get(position).cloned() {
        position += 1;
        let metadata = std::fs::symlink_metadata(&path).expect("metadata");
        if metadata.is_dir() {
            let mut entries: Vec<PathBuf> = std::fs::read_dir(&path)
                .expect("lists")
                .map(|entry| entry.expect("entry").path())
                .collect();
            entries.sort();
            found.extend(entries);
        }
    }
    found
}

/// The files under `dir`, and `also`, whose bytes contain `needle`.
fn files_containing(dir: &Path, also: &[PathBuf], needle: &[u8]) -> Vec<PathBuf> {
    tree(dir)
        .into_iter()
        .chain(also.iter().cloned())
        .filter(|path| path.is_file())
        .filter(|path| {
            std::fs::read(path)
                .expect("reads")
                .windows(needle.len())
                .any(|window| window == needle)
        })
        .collect()
}

/// Entries whose mode is not 0700 (directories) or 0600 (files), with their mode.
fn open_modes(dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter_map(|path| {
            let metadata = std::fs::symlink_metadata(&path).expect("metadata");
            let mode = metadata.permissions().mode() & 0o777;
            let wanted = if metadata.is_dir() { 0o700 } else { 0o600 };
            (mode != wanted).then(|| format!("{} {mode:o}", path.display()))
        })
        .collect()
}

/// Gives group and others read access to everything under `dir` but the key files, as an
/// older version (or a careless restore) left it. (A key file readable by others stops the
/// node: it may have been copied.)
fn loosen(dir: &Path) {
    for path in tree(dir) {
        if path.extension().is_some_and(|extension| extension == "key") {
            continue;
        }
        let metadata = std::fs::symlink_metadata(&path).expect("metadata");
        let mode = if metadata.is_dir() { 0o755 } else { 0o644 };
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }
}

/// The console's search results for a full ID number (the only place the node looks a
/// person up by it), searched as an admin in a fresh console session.
fn search_by_id_number(node: &Node) -> String {
    let session = ConsoleSession::login(node, &node.admin_token);
    let csrf = session.csrf("/console/credentials");
    let response = session.post("/console/credentials", &[("csrf", &csrf), ("q", ID_NUMBER)]);
    assert_eq!(response.status(), StatusCode::OK);
    response.text().expect("html")
}

#[test]
fn no_file_of_the_node_holds_a_full_id_number_or_is_readable_by_others() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let log = data.with_extension("log");
    let node = Node::start(&data).expect("node starts");
    let mut request: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(
            federation_tests::workspace_root()
                .join("docs/examples/GoldenPhoenixTalentCredential.json"),
        )
        .expect("example"),
    )
    .expect("JSON");
    request["credentialSubject"]["idNumber"] = ID_NUMBER.into();
    let issued = client_with_token(&node.admin_token)
        .post(node.at("/api/v1/credentials"))
        .json(&request)
        .send()
        .expect("issue");
    assert_eq!(issued.status(), StatusCode::CREATED);
    let issued: serde_json::Value = issued.json().expect("JSON");
    let id = issued["credential"]["id"]
        .as_str()
        .expect("credential id")
        .trim_start_matches("urn:uuid:")
        .to_owned();
    assert!(
        search_by_id_number(&node).contains(&id),
        "the search by full ID number finds the credential"
    );
    node.stop().expect("stops");

    let needle = ID_NUMBER.as_bytes();
    assert_eq!(
        files_containing(&data, std::slice::from_ref(&log), needle),
        Vec::<PathBuf>::new(),
        "files holding the full ID number"
    );
    assert_eq!(
        open_modes(&data),
        Vec::<String>::new(),
        "entries readable by others"
    );

    // Loosened modes (an older version, a restore) are closed again at start, and the
    // search still finds the credential: its ID number opens under the kept keys.
    loosen(&data);
    let node = Node::start(&data).expect("node restarts");
    assert!(
        search_by_id_number(&node).contains(&id),
        "the search finds the credential after a restart"
    );
    node.stop().expect("stops");
    assert_eq!(
        open_modes(&data),
        Vec::<String>::new(),
        "entries readable by others after a restart"
    );
    assert_eq!(
        files_containing(&data, &[log], needle),
        Vec::<PathBuf>::new()
    );
}

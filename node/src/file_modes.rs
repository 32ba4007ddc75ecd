//! Who may read what the node keeps on disk: its own user only.
//!
//! The data directory holds full ID numbers (sealed), operator token hashes and the
//! member's keys, in RocksDB files the node does not open itself. So the process creates
//! every file and directory without group or other permissions ([`restrict_new_files`],
//! umask 0077: RocksDB's 0644 becomes 0600), and a directory written by an older version
//! or restored from a backup is brought to the same modes at start
//! ([`restrict_data_dir`]).

use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rustix::fs::Mode;

/// Permission bits a file or directory of the node must not have: any for group or others.
const OTHERS: u32 = 0o077;

/// Sets the process umask to 0077: every file and directory it creates from now on (its
/// own, RocksDB's, a child process's) has no permission for group or others.
pub fn restrict_new_files() {
    rustix::process::umask(Mode::RWXG | Mode::RWXO);
}

/// What the node writes in its data directory, and whether to restrict what is inside
/// too: the store, the token file (with its temporary twin), the audit records and the
/// keys' directory.
/// Anything else there is not the node's and is left alone. The key files themselves are
/// not changed: a key that others could read may have been copied, so the node refuses to
/// start with it ([`crate::keys`]) rather than quietly closing it.
const NODE_ENTRIES: [(&str, bool); 5] = [
    ("db", true),
    (crate::audit::AUDIT_DIR, true),
    (crate::tokens::TOKENS_FILE, true),
    ("tokens.json.tmp", true),
    ("keys", false),
];

/// Removes group and other permissions from the data directory itself and from what the
/// node keeps in it ([`NODE_ENTRIES`]), without following symbolic links; the number of
/// entries changed.
///
/// # Errors
/// An entry that cannot be read or changed (e.g. owned by another user), named.
pub fn restrict_data_dir(data_dir: &Path) -> io::Result<usize> {
    let mut changed = restrict(data_dir, false)?;
    for (name, recursive) in NODE_ENTRIES {
        let path = data_dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok() {
            changed += restrict(&path, recursive)?;
        }
    }
    Ok(changed)
}

/// Removes group and other permissions from `root`, and from everything under it when
/// `recursive`, without following symbolic links; the number of entries changed.
fn restrict(root: &Path, recursive: bool) -> io::Result<usize> {
    let mut changed = 0;
    let mut pending: Vec<PathBuf> = vec![root.to_path_buf()];
    while let Some(path) = pending.pop() {
        let with_path =
            |error: io::Error| io::Error::new(error.kind(), format!("{}: {error}", path.display()));
        let metadata = std::fs::symlink_metadata(&path).map_err(with_path)?;
        if metadata.file_type().is_symlink() {
            // chmod would change the link's target, which may be anything.
            continue;
        }
        let mode = metadata.permissions().mode();
        if mode & OTHERS != 0 {
            std::fs::set_permissions(
                &path,
                std::fs::Permissions::from_mode(mode & !OTHERS & 0o7777),
            )
            .map_err(with_path)?;
            changed += 1;
        }
        if recursive && metadata.is_dir() {
            for entry in std::fs::read_dir(&path).map_err(with_path)? {
                pending.push(entry.map_err(with_path)?.path());
            }
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::symlink_metadata(path)
            .expect("exists")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn the_node_s_entries_are_made_private_and_links_keys_and_other_files_are_left_alone() {
        let outside = tempfile::tempdir().expect("temp dir");
        let target = outside.path().join("shared.txt");
        std::fs::write(&target, "not ours").expect("write");
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("db")).expect("mkdir");
        std::fs::create_dir_all(root.join("keys")).expect("mkdir");
        std::fs::write(root.join("db/000001.sst"), "x").expect("write");
        std::fs::write(root.join("tokens.json"), "{}").expect("write");
        std::fs::write(root.join("keys/log.key"), "z").expect("write");
        std::fs::write(root.join("notes.txt"), "someone else's").expect("write");
        std::os::unix::fs::symlink(&target, root.join("db/link")).expect("symlink");
        let set = |path: &Path, bits: u32| {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(bits)).expect("chmod");
        };
        set(&target, 0o644);
        set(&root, 0o755);
        set(&root.join("db"), 0o775);
        set(&root.join("db/000001.sst"), 0o644);
        set(&root.join("tokens.json"), 0o666);
        set(&root.join("keys"), 0o755);
        set(&root.join("keys/log.key"), 0o644);
        set(&root.join("notes.txt"), 0o644);
        assert_eq!(restrict_data_dir(&root).expect("restricts"), 5);
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("db")), 0o700);
        assert_eq!(mode(&root.join("db/000001.sst")), 0o600);
        assert_eq!(mode(&root.join("tokens.json")), 0o600);
        assert_eq!(mode(&root.join("keys")), 0o700);
        assert_eq!(
            mode(&root.join("keys/log.key")),
            0o644,
            "an exposed key is refused at load, not quietly closed"
        );
        assert_eq!(mode(&root.join("notes.txt")), 0o644, "not the node's file");
        assert_eq!(
            mode(&target),
            0o644,
            "a link's target is not ours to change"
        );
        assert_eq!(
            restrict_data_dir(&root).expect("restricts"),
            0,
            "nothing left"
        );
    }
}

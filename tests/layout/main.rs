//! The workspace's layout, checked over its source (issue 20): no file has more than 600
//! lines of code before its test module without a reason written at its top (a line
//! starting `//! Why one file:`), and the modules of a crate form no circle (see
//! [`circles`]). The source of every workspace member's `src/` is read from disk; nothing
//! is built or run.

mod circles;
mod references;

use std::path::{Path, PathBuf};

use circles::{ModuleSource, circles};
use references::{gives_reason_to_be_long, module_of, non_test_code};

/// Lines of code (before the test module) a file may have without a reason at its top.
const LINE_LIMIT: usize = 600;

/// The workspace root: this crate's parent directory.
fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// The workspace members, from the root `Cargo.toml`'s `members = [...]` line.
fn members() -> Vec<String> {
    let manifest = std::fs::read_to_string(workspace().join("Cargo.toml"))
        .expect("read the workspace Cargo.toml");
    let line = manifest
        .lines()
        .find(|line| line.trim_start().starts_with("members"))
        .expect("a members line");
    let list = line
        .split_once('[')
        .and_then(|(_, rest)| rest.split_once(']'))
        .map(|(list, _)| list)
        .expect("members = [...] on one line");
    list.split(',')
        .map(|member| member.trim().trim_matches('"').to_owned())
        .filter(|member| !member.is_empty())
        .collect()
}

/// One source file of a member.
struct SourceFile {
    /// Its path under the member's `src/`.
    relative: PathBuf,
    /// Its path from the workspace root, for messages.
    shown: String,
    text: String,
}

/// Every `.rs` file under `member/src`, in path order.
fn source_files(member: &str) -> Vec<SourceFile> {
    let src = workspace().join(member).join("src");
    let mut files = Vec::new();
    let mut directories = vec![src.clone()];
    while let Some(directory) = directories.pop() {
        let listing = std::fs::read_dir(&directory)
            .unwrap_or_else(|error| panic!("read {}: {error}", directory.display()));
        for item in listing {
            let path = item.expect("a directory entry").path();
            if path.is_dir() {
                directories.push(path);
            } else if path.extension().is_some_and(|extension| extension == "rs") {
                let relative = path.strip_prefix(&src).expect("under src").to_path_buf();
                let text = std::fs::read_to_string(&path)
                    .unwrap_or_else(|error| panic!("read {}: {error}", path.display()));
                files.push(SourceFile {
                    shown: format!("{member}/src/{}", relative.display()),
                    relative,
                    text,
                });
            }
        }
    }
    files.sort_by(|a, b| a.relative.cmp(&b.relative));
    files
}

#[test]
fn every_member_has_source_to_check() {
    let members = members();
    assert!(members.len() >= 5, "members found: {members:?}");
    for member in members {
        assert!(
            !source_files(&member).is_empty(),
            "{member}/src holds no .rs file"
        );
    }
}

#[test]
fn no_file_is_long_without_a_reason_at_its_top() {
    let mut long = Vec::new();
    for member in members() {
        // A `tests.rs` is a test module in a file of its own (`#[cfg(test)] mod tests;`).
        for file in source_files(&member)
            .into_iter()
            .filter(|file| !file.relative.ends_with("tests.rs"))
        {
            let lines = non_test_code(&file.text).lines().count();
            if lines > LINE_LIMIT && !gives_reason_to_be_long(&file.text) {
                long.push(format!("{}: {lines} lines", file.shown));
            }
        }
    }
    assert!(
        long.is_empty(),
        "files with more than {LINE_LIMIT} lines before their test module and no \
         `//! Why one file:` line in their top comment:\n  {}",
        long.join("\n  ")
    );
}

#[test]
fn no_circle_between_the_modules_of_a_crate() {
    let mut found = Vec::new();
    for member in members() {
        let files = source_files(&member);
        let sources: Vec<ModuleSource<'_>> = files
            .iter()
            .map(|file| ModuleSource {
                module: module_of(&file.relative),
                file: file.shown.clone(),
                code: non_test_code(&file.text),
            })
            .collect();
        for circle in circles(&sources) {
            let links: Vec<String> = circle
                .links
                .iter()
                .map(|link| format!("    {} → {} ({})", link.from, link.to, link.at))
                .collect();
            found.push(format!(
                "{member}: {}\n{}",
                circle.modules.join(", "),
                links.join("\n")
            ));
        }
    }
    assert!(
        found.is_empty(),
        "modules that reach each other through `crate::`/`super::` names:\n  {}",
        found.join("\n  ")
    );
}

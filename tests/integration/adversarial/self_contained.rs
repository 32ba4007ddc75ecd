//! A fresh clone tests itself: no code, script or manifest of the repository reads files
//! beside the clone (the shared directory the developers keep beside it is not there for anyone
//! who clones the repository).

use std::path::Path;

use federation_tests::workspace_root;

/// Files whose contents can make a build, test or run read a path.
fn is_code(path: &Path) -> bool {
    path.extension()
        .and_then(|extension| extension.to_str())
        .is_some_and(|extension| ["rs", "sh", "toml", "yaml", "yml", "json"].contains(&extension))
        || path.file_name().is_some_and(|name| name == "run")
}

fn walk(dir: &Path, found: &mut Vec<String>, needles: &[String]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if path.is_dir() {
            if !["target", ".git", "node_modules", "data"].contains(&name.as_ref()) {
                walk(&path, found, needles);
            }
        } else if is_code(&path) {
            let Ok(text) = std::fs::read_to_string(&path) else {
                continue;
            };
            for (number, line) in text.lines().enumerate() {
                if needles.iter().any(|needle| line.contains(needle.as_str())) {
                    found.push(format!("{}:{}: {line}", path.display(), number + 1));
                }
            }
        }
    }
}

#[test]
fn no_code_reads_the_development_shared_directory() {
    // Built from parts so this file does not match itself.
    let needles = [["..", "/shared"].concat(), ["shared", "/vectors"].concat()];
    let mut found = Vec::new();
    walk(&workspace_root(), &mut found, &needles);
    assert!(
        found.is_empty(),
        "these lines point outside the repository:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_vectors_are_in_the_repository() {
    let vectors = workspace_root().join("core/tests/vectors");
    for file in [
        "jcs/jcs-cases.json",
        "w3c-vc-di-eddsa/signedJCS.json",
        "rfc6962-merkle/SOURCE.txt",
        "README.md",
    ] {
        assert!(vectors.join(file).is_file(), "{file} is missing");
    }
}

//! A file or directory operation that failed, saying what was being done and where: the
//! one shape of I/O error in the node's files (keys, tokens, the audit log).

use std::path::{Path, PathBuf};

/// `action` on `path` failed with `error`.
#[derive(Debug, thiserror::Error)]
#[error("{action} {}: {error}", path.display())]
pub struct FileError {
    /// What was being done (`reading`, `creating`, …).
    pub action: &'static str,
    /// The file or directory.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub error: std::io::Error,
}

impl FileError {
    /// The error of `action` on `path`, for `map_err`.
    pub fn of(action: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> FileError {
        let path = path.to_path_buf();
        move |error| FileError {
            action,
            path,
            error,
        }
    }
}

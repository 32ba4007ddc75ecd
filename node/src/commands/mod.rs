//! The binary's commands that are programs of their own rather than parts of a node: the
//! local federation demo, the command-line CSV import, and backup and restore. They report with `anyhow`, as
//! `main.rs` does: their errors end in a message to the operator, not in a caller's match.

pub mod backup;
pub mod demo;
pub mod import;

//! The binary's commands: serving a node and checking its configuration (with the node
//! configuration file), backup and restore, the local federation demo and the command-line
//! CSV import. They report with `anyhow`, as
//! `main.rs` does: their errors end in a message to the operator, not in a caller's match.

pub mod backup;
pub mod demo;
pub mod import;
pub mod node_config;
pub mod serve;

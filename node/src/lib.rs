//! # registry-node
//!
//! A regional member of the Chengdu–Chongqing talent credential federation: it issues signed
//! credentials, stores them in RocksDB and verifies credentials presented to it. The binary
//! (`main.rs`) is argument parsing and start-up; everything else is here so tests can build
//! the same application (`app::app`) without a socket.

/// The cause of a failure that is the node's own fault (storage, a broken invariant, a task
/// that died), kept to be logged with its chain of sources and never sent to a client. Every
/// failure a caller can act on has its own variant in a precise error enum instead.
pub type InternalError = Box<dyn std::error::Error + Send + Sync>;

pub mod api;
pub mod app;
pub mod audit;
pub mod backup;
pub mod connections;
pub mod console;
pub mod federation;
pub mod file_error;
pub mod file_modes;
pub mod health;
pub mod issuance;
pub mod issuers;
pub mod keys;
pub mod log;
pub mod member;
pub mod metrics;
pub mod node;
pub mod observe;
pub mod open_issuer;
pub mod policy;
pub mod publish;
pub mod rate_limit;
pub mod recognition;
pub mod recovery;
pub mod reservations;
pub mod rollback;
pub mod server;
pub mod services;
pub mod state;
pub mod statistics;
pub mod status_lists;
pub mod store;
pub mod tls;
pub mod tokens;
pub mod wallets;
pub mod worker;

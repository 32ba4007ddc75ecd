//! The standing adversarial suite (issue 19): every attack an outside security test found,
//! kept as a case that fails if the hole reopens. One module per attack; the property tests
//! of the parsers that take outside bytes live beside the parsers (`proptest`), and longer
//! fuzzing runs are `cargo fuzz` targets (`fuzz/`, see docs/security.md).

mod connections;
mod console_search;
mod data_at_rest;
mod demo_signals;
mod id_hijack;
mod outage_quorum;
mod oversized_answers;
mod policy;
mod qr_bomb;
mod self_contained;

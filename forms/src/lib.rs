//! # talent-forms
//!
//! The registry's credentials as people fill and read them, beside the web console:
//!
//! - [`form`]: issue forms generated from the JSON Schemas (fields, labels, entered text to
//!   an issue request);
//! - [`bulk`]: bulk certification from a CSV file, every row checked before anything is issued;
//! - [`statistics_csv`]: the statistics export for spreadsheets.
//!
//! Nothing here performs I/O; the node's console and import feed text in.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod bulk;
pub mod form;
pub mod statistics_csv;

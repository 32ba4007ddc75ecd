//! The W3C credential world outside the registry's own types: the VC Data Model's rules
//! ([`data_model`]) and general verification of any credential or presentation secured by a
//! proof this project verifies ([`verify`]). The VC-API endpoints stand on it.

pub mod data_model;
pub mod verify;

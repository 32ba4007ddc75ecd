//! The names of the store's column families (the table in [`super`]'s documentation says
//! what each holds): part of the on-disk format, so a name never changes.

pub(super) const CF_ENTRIES: &str = "entries";
pub(super) const CF_HASHES: &str = "hashes";
pub(super) const CF_CREDENTIALS: &str = "credentials";
pub(super) const CF_PERSONAL: &str = "personal";
/// Keyed hashes of full ID numbers → credentials: look-ups without decrypting.
pub(super) const CF_PERSONAL_INDEX: &str = "personal_index";
pub(super) const CF_META: &str = "meta";
pub(super) const CF_MIRROR_ENTRIES: &str = "mirror_entries";
pub(super) const CF_MIRROR_HASHES: &str = "mirror_hashes";
pub(super) const CF_MIRROR_CREDENTIALS: &str = "mirror_credentials";
pub(super) const CF_MIRROR_STATE: &str = "mirror_state";
pub(super) const CF_WITNESS: &str = "witness";
pub(super) const CF_EVIDENCE: &str = "evidence";
pub(super) const CF_ISSUER_EVENTS: &str = "issuer_events";
pub(super) const CF_STATUSES: &str = "statuses";
/// Status-list slots handed out: reserved for an issuer, or used by a credential.
pub(super) const CF_STATUS_SLOTS: &str = "status_slots";
/// The current status of every own credential whose status changed, by status-list slot:
/// what the published status lists are made of.
pub(super) const CF_STATUS_BITS: &str = "status_bits";
/// Recognition answers counted per (from region, to region, type, outcome): aggregates only.
pub(super) const CF_RECOGNITION_FLOWS: &str = "recognition_flows";
/// The holder-visible query log: who verified an own credential at this node, and why,
/// sealed under the personal-data key; keyed by credential UUID ‖ time ‖ random.
pub(super) const CF_QUERIES: &str = "queries";
pub(super) const COLUMN_FAMILIES: [&str; 18] = [
    CF_ENTRIES,
    CF_HASHES,
    CF_CREDENTIALS,
    CF_PERSONAL,
    CF_PERSONAL_INDEX,
    CF_META,
    CF_MIRROR_ENTRIES,
    CF_MIRROR_HASHES,
    CF_MIRROR_CREDENTIALS,
    CF_MIRROR_STATE,
    CF_WITNESS,
    CF_EVIDENCE,
    CF_ISSUER_EVENTS,
    CF_STATUSES,
    CF_STATUS_SLOTS,
    CF_STATUS_BITS,
    CF_RECOGNITION_FLOWS,
    CF_QUERIES,
];

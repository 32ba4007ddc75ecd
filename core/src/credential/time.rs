//! Date-times as credentials carry them.

use chrono::{DateTime, SecondsFormat, Utc};

/// Formats a time the way credentials carry it: RFC 3339, UTC, whole seconds, `Z`.
pub fn format_datetime(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Parses an RFC 3339 / XML Schema dateTime with an explicit offset.
pub fn parse_datetime(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

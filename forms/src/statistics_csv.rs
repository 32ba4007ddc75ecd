//! The statistics export for spreadsheets: a CSV file of [`CredentialCounts`] with a
//! bilingual header, small counts suppressed.

use talent_core::statistics::{CredentialCounts, SUPPRESSED_LABEL, disclosed};
use thiserror::Error;

/// The header row of the CSV export: Chinese and English names of each column.
pub const CSV_HEADER: [&str; 6] = [
    "地区 region",
    "类型 type",
    "类别 category",
    "级别 level",
    "月份 month",
    "数量 count",
];

/// The UTF-8 byte order mark the CSV export starts with, so that spreadsheet programs
/// (Excel in particular) read the Chinese header and values as UTF-8.
pub const UTF8_BOM: &str = "\u{feff}";

/// The CSV writer failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("writing CSV: {0}")]
pub struct CsvError(pub String);

/// The counts as a CSV file: [`UTF8_BOM`], the bilingual [`CSV_HEADER`], then one row per
/// facet tuple, with absent category or level empty and suppressed counts written as
/// [`SUPPRESSED_LABEL`].
///
/// # Errors
/// [`CsvError`] if the CSV writer fails (it writes to memory, so only on a bug in it).
pub fn counts_csv(counts: &CredentialCounts) -> Result<Vec<u8>, CsvError> {
    let mut writer = csv::Writer::from_writer(UTF8_BOM.as_bytes().to_vec());
    writer
        .write_record(CSV_HEADER)
        .map_err(|error| CsvError(error.to_string()))?;
    for (facets, count) in counts.rows() {
        let count = disclosed(count).map_or_else(|| SUPPRESSED_LABEL.to_owned(), |c| c.to_string());
        writer
            .write_record([
                facets.region.as_str(),
                facets.credential_type.as_str(),
                facets.category.as_deref().unwrap_or(""),
                facets.level.as_deref().unwrap_or(""),
                facets.month.as_str(),
                count.as_str(),
            ])
            .map_err(|error| CsvError(error.to_string()))?;
    }
    writer
        .into_inner()
        .map_err(|error| CsvError(error.error().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use talent_core::credential::CredentialType;
    use talent_core::statistics::Facets;

    fn facets(
        region: &str,
        credential_type: CredentialType,
        category: Option<&str>,
        level: Option<&str>,
        month: &str,
    ) -> Facets {
        Facets {
            region: region.to_owned(),
            credential_type,
            category: category.map(str::to_owned),
            level: level.map(str::to_owned),
            month: month.to_owned(),
        }
    }

    #[test]
    fn csv_has_a_bilingual_header_and_suppresses_small_counts() {
        let mut counts = CredentialCounts::new();
        let title = CredentialType::ProfessionalTitleCredential;
        counts.add_many(facets("cq-sc", title, None, Some("正高级"), "2025-03"), 6);
        counts.add_many(facets("sc-hrss", title, None, Some("中级"), "2025-04"), 1);
        let phoenix = CredentialType::GoldenPhoenixTalentCredential;
        counts.add_many(
            facets("cq-sc", phoenix, Some("青年人才"), None, "2026-01"),
            2,
        );

        let csv = String::from_utf8(counts_csv(&counts).expect("CSV")).expect("UTF-8");
        let body = csv.strip_prefix(UTF8_BOM).expect("starts with a BOM");
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(
            lines[0],
            "地区 region,类型 type,类别 category,级别 level,月份 month,数量 count"
        );
        assert!(
            lines.contains(&"cq-sc,ProfessionalTitleCredential,,正高级,2025-03,6"),
            "{csv}"
        );
        assert!(
            lines.contains(&"cq-sc,GoldenPhoenixTalentCredential,青年人才,,2026-01,<5"),
            "{csv}"
        );
        assert!(
            lines.contains(&"sc-hrss,ProfessionalTitleCredential,,中级,2025-04,<5"),
            "{csv}"
        );
        assert_eq!(lines.len(), 4);
    }
}

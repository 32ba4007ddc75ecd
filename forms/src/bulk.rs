//! Bulk certification from a CSV file: every row becomes an issue request, and every
//! problem is reported by row and column before anything is issued.
//!
//! The file is UTF-8 (a byte-order mark is allowed), comma-separated, with one header row.
//! The column `类型` (or `type`) names the row's credential type, by its type name
//! (`ProfessionalTitleCredential`) or its Chinese name (`职称`). Every other header is a
//! field's label from [`crate::form`] (`姓名`, `身份证号`, `工作单位`, `级别`, …; English
//! labels and dotted paths are accepted too), so a file may mix types: a row fills the
//! columns of its own type and leaves the others empty.
//!
//! Row numbers are the spreadsheet's: the header is row 1, the first credential row 2.

use std::collections::BTreeMap;

use serde_json::Value;
use thiserror::Error;

use crate::form::{FormSpec, FormValues};
use talent_core::credential::CredentialType;
use talent_core::schema::SchemaSet;

/// Most rows one file may carry.
pub const MAX_ROWS: usize = 100_000;

/// Header of the type column (Chinese, then English).
pub const TYPE_COLUMN: [&str; 2] = ["类型", "type"];

/// Why a file cannot be read at all.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum BulkError {
    /// The file is not UTF-8.
    #[error("the file is not UTF-8 text (save it as CSV UTF-8)")]
    NotUtf8,
    /// The file has no header row or no data rows.
    #[error("the file has no credential rows")]
    Empty,
    /// No column names the credential type.
    #[error("no column 类型 (type) names the credential type")]
    NoTypeColumn,
    /// Headers that are no field of any type.
    #[error("unknown columns: {}", .0.join(", "))]
    UnknownColumns(Vec<String>),
    /// Two columns name the same field.
    #[error("column {0} appears twice")]
    DuplicateColumn(String),
    /// More than [`MAX_ROWS`] rows.
    #[error("the file has more than {MAX_ROWS} rows; split it")]
    TooManyRows,
    /// A row the CSV reader cannot read (e.g. an unterminated quote).
    #[error("row {row}: {message}")]
    Unreadable {
        /// Spreadsheet row number.
        row: usize,
        /// What the reader said.
        message: String,
    },
}

/// A problem of one cell (or of a row, when `column` is empty).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CellError {
    /// Spreadsheet row number (the header is row 1).
    pub row: usize,
    /// The column's header as written in the file; empty for the row as a whole.
    pub column: String,
    /// What is wrong (never the cell's value: it may be an identity number).
    pub message: String,
}

/// One credential row.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkRow {
    /// Spreadsheet row number.
    pub row: usize,
    /// The issue request, or what is wrong with the row.
    pub request: Result<Value, Vec<CellError>>,
}

/// A whole file, read and checked.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkPlan {
    /// Every credential row, in file order.
    pub rows: Vec<BulkRow>,
}

impl BulkPlan {
    /// Every problem, by row then column order.
    pub fn errors(&self) -> impl Iterator<Item = &CellError> {
        self.rows
            .iter()
            .filter_map(|row| row.request.as_ref().err())
            .flatten()
    }

    /// How many rows are wrong.
    pub fn invalid_rows(&self) -> usize {
        self.rows.iter().filter(|row| row.request.is_err()).count()
    }

    /// The requests of the valid rows, with their row numbers.
    pub fn valid_requests(&self) -> impl Iterator<Item = (usize, &Value)> {
        self.rows
            .iter()
            .filter_map(|row| Some((row.row, row.request.as_ref().ok()?)))
    }
}

/// The credential type a cell names: the type name or its Chinese name.
pub fn parse_type(text: &str) -> Option<CredentialType> {
    let text = text.trim();
    CredentialType::ALL
        .into_iter()
        .find(|ty| ty.as_str() == text || ty.label_zh() == text)
}

/// Reads and checks a CSV file: each row against its type's form, the issue-request schema
/// and the checks issuance makes without an issuer (identity number check digit, validity
/// window).
///
/// # Errors
/// [`BulkError`] when the file as a whole cannot be used; problems of single rows are in
/// the plan.
pub fn plan(bytes: &[u8], schemas: &SchemaSet) -> Result<BulkPlan, BulkError> {
    let text = std::str::from_utf8(bytes).map_err(|_| BulkError::NotUtf8)?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let headers: Vec<String> = reader
        .headers()
        .map_err(|error| BulkError::Unreadable {
            row: 1,
            message: error.to_string(),
        })?
        .iter()
        .map(str::to_owned)
        .collect();
    let type_column = headers
        .iter()
        .position(|header| TYPE_COLUMN.contains(&header.as_str()))
        .ok_or(BulkError::NoTypeColumn)?;
    let forms: BTreeMap<CredentialType, FormSpec> = CredentialType::ALL
        .into_iter()
        .filter(|ty| ty.is_talent())
        .map(|ty| (ty, FormSpec::for_type(ty)))
        .collect();
    check_headers(&headers, type_column, &forms)?;

    let mut rows = Vec::new();
    for (offset, record) in reader.records().enumerate() {
        let row = offset + 2;
        let record = record.map_err(|error| BulkError::Unreadable {
            row,
            message: error.to_string(),
        })?;
        if record.iter().all(str::is_empty) {
            continue;
        }
        if rows.len() == MAX_ROWS {
            return Err(BulkError::TooManyRows);
        }
        rows.push(BulkRow {
            row,
            request: read_row(row, &headers, type_column, &record, &forms, schemas),
        });
    }
    if rows.is_empty() {
        return Err(BulkError::Empty);
    }
    Ok(BulkPlan { rows })
}

/// The field path a header names in `form`: its Chinese or English label or its path.
fn path_of<'a>(form: &'a FormSpec, header: &str) -> Option<&'a str> {
    form.fields
        .iter()
        .find(|field| field.label_zh == header || field.label_en == header || field.path == header)
        .map(|field| field.path.as_str())
}

fn check_headers(
    headers: &[String],
    type_column: usize,
    forms: &BTreeMap<CredentialType, FormSpec>,
) -> Result<(), BulkError> {
    let unknown: Vec<String> = headers
        .iter()
        .enumerate()
        .filter(|(index, header)| {
            *index != type_column && forms.values().all(|form| path_of(form, header).is_none())
        })
        .map(|(_, header)| {
            if header.is_empty() {
                "(empty header)".to_owned()
            } else {
                header.clone()
            }
        })
        .collect();
    if !unknown.is_empty() {
        return Err(BulkError::UnknownColumns(unknown));
    }
    for form in forms.values() {
        let mut seen = BTreeMap::new();
        for header in headers {
            if let Some(path) = path_of(form, header)
                && seen.insert(path, header).is_some()
            {
                return Err(BulkError::DuplicateColumn(header.clone()));
            }
        }
    }
    Ok(())
}

fn read_row(
    row: usize,
    headers: &[String],
    type_column: usize,
    record: &csv::StringRecord,
    forms: &BTreeMap<CredentialType, FormSpec>,
    schemas: &SchemaSet,
) -> Result<Value, Vec<CellError>> {
    let error = |column: &str, message: String| CellError {
        row,
        column: column.to_owned(),
        message,
    };
    let type_header = &headers[type_column];
    let type_text = record.get(type_column).unwrap_or_default();
    let Some(form) = parse_type(type_text).and_then(|ty| forms.get(&ty)) else {
        return Err(vec![error(
            type_header,
            "not a talent credential type (职称, 金凤凰人才认定, 职业技能等级, 职业资格, 英才服务卡 or the type name)".into(),
        )]);
    };
    if record.len() > headers.len() {
        return Err(vec![error(
            "",
            format!("{} cells, but {} columns", record.len(), headers.len()),
        )]);
    }
    let mut errors = Vec::new();
    let mut values = FormValues::new();
    let mut column_of: BTreeMap<String, String> = BTreeMap::new();
    for (index, cell) in record.iter().enumerate() {
        if index == type_column || cell.is_empty() {
            continue;
        }
        let header = &headers[index];
        match path_of(form, header) {
            Some(path) => {
                values.insert(path.to_owned(), cell.to_owned());
                column_of.insert(path.to_owned(), header.clone());
            }
            None => errors.push(error(
                header,
                format!(
                    "{} has no such field; leave it empty",
                    form.credential_type.label_zh()
                ),
            )),
        }
    }
    // A field's column: as written in the file, else its Chinese label.
    let column = |path: &str| -> String {
        column_of
            .get(path)
            .cloned()
            .or_else(|| form.field(path).map(|field| field.label_zh.clone()))
            .unwrap_or_default()
    };
    match form.check(&values, schemas) {
        Ok(request) if errors.is_empty() => return Ok(request),
        Ok(_) => {}
        Err(field_errors) => {
            errors.extend(
                field_errors
                    .into_iter()
                    .map(|e| error(&column(&e.path), e.message)),
            );
        }
    }
    Err(errors)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "类型,姓名,身份证号,工作单位,系列,专业,级别,职称名称,评审委员会,批准文号,取得日期";

    fn plan_of(text: &str) -> Result<BulkPlan, BulkError> {
        plan(text.as_bytes(), &SchemaSet::new())
    }

    #[test]
    fn valid_rows_become_requests() {
        let csv = format!(
            "\u{feff}{HEADER}\n职称,张三,11010519491231002X,重庆某某科技有限公司,工程,电子信息,正高级,正高级工程师,重庆市工程技术高级职称评审委员会,渝职改办〔2024〕1号,2024-12-20\n\
             ProfessionalTitleCredential,李四,11010519491231002X,,工程,,中级,工程师,评委会,,2023/06/01\n"
        );
        let plan = plan_of(&csv).expect("readable");
        assert_eq!(
            plan.invalid_rows(),
            0,
            "{:?}",
            plan.errors().collect::<Vec<_>>()
        );
        let requests: Vec<_> = plan.valid_requests().collect();
        assert_eq!(requests.len(), 2);
        assert_eq!(requests[0].0, 2);
        assert_eq!(
            requests[0].1["credentialSubject"]["employer"]["name"],
            "重庆某某科技有限公司"
        );
        assert_eq!(
            requests[1].1["credentialSubject"]["conferredOn"],
            "2023-06-01"
        );
    }

    #[test]
    fn every_problem_is_listed_by_row_and_column() {
        let csv = format!(
            "{HEADER}\n职称,张三,110105194912310021,,工程,,正高级,正高级工程师,评委会,,2024-12-20\n\
             职称,王五,11010519491231002X,,,,特级,工程师,评委会,,someday\n\
             英才卡,赵六,11010519491231002X,,,,,,,,\n"
        );
        let plan = plan_of(&csv).expect("readable");
        let errors: Vec<(usize, &str)> =
            plan.errors().map(|e| (e.row, e.column.as_str())).collect();
        assert!(errors.contains(&(2, "身份证号")), "{errors:?}");
        assert!(errors.contains(&(3, "级别")), "{errors:?}");
        assert!(errors.contains(&(3, "取得日期")), "{errors:?}");
        assert!(errors.contains(&(4, "类型")), "{errors:?}");
        assert_eq!(plan.invalid_rows(), 3);
        assert!(
            plan.errors()
                .all(|e| !e.message.contains("110105194912310021"))
        );
    }

    #[test]
    fn missing_required_fields_point_at_their_column() {
        let csv = format!(
            "{HEADER}\n职称,张三,11010519491231002X,,,,正高级,正高级工程师,评委会,,2024-12-20\n"
        );
        let plan = plan_of(&csv).expect("readable");
        let errors: Vec<(usize, &str)> =
            plan.errors().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(errors, [(2, "系列")]);
    }

    #[test]
    fn unusable_files_are_refused_whole() {
        assert_eq!(
            plan(&[0xff, 0xfe, 0x00], &SchemaSet::new()),
            Err(BulkError::NotUtf8)
        );
        assert_eq!(
            plan_of("姓名,身份证号\n张三,1\n"),
            Err(BulkError::NoTypeColumn)
        );
        assert_eq!(plan_of(&format!("{HEADER}\n")), Err(BulkError::Empty));
        assert_eq!(
            plan_of("类型,姓名,血型\n职称,张三,A\n"),
            Err(BulkError::UnknownColumns(vec!["血型".into()]))
        );
        assert_eq!(
            plan_of("类型,姓名,Name\n职称,张三,张三\n"),
            Err(BulkError::DuplicateColumn("Name".into()))
        );
    }

    #[test]
    fn a_column_of_another_type_must_stay_empty() {
        let csv = "类型,姓名,身份证号,卡类别,申领依据,柔性引进,系列\n英才服务卡,张三,11010519491231002X,Ⅰ,金凤凰人才,是,工程\n";
        let plan = plan_of(csv).expect("readable");
        let errors: Vec<(usize, &str)> =
            plan.errors().map(|e| (e.row, e.column.as_str())).collect();
        assert_eq!(errors, [(2, "系列")]);
    }
}

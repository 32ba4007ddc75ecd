//! Properties of CSV bulk files (`talent_forms::bulk`), what the console import and
//! `registry-node import` read: any file is planned or refused without a panic, every valid
//! row is a request issuance reads and accepts, a problem never quotes an ID number, and the
//! row limit holds.

#[path = "../../core/tests/fixtures/mod.rs"]
mod fixtures;
#[path = "../../core/tests/support/mod.rs"]
mod support;

use proptest::prelude::*;
use proptest::sample::Index;
use support::{cases, flipped, schemas};
use talent_core::credential::IssueRequest;
use talent_core::schema::SchemaKind;
use talent_forms::bulk::{self, BulkError, MAX_ROWS};

const HEADER: &str =
    "类型,姓名,身份证号,工作单位,系列,专业,级别,职称名称,评审委员会,批准文号,取得日期";

/// An 18-character ID-number-like cell: 17 digits and a check character, right or wrong.
fn any_id_number() -> impl Strategy<Value = String> {
    "[0-9]{17}[0-9X]"
}

/// A cell: empty, plain text, text that needs quoting, or an ID-number-like value.
fn any_cell() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "[\\p{Han}A-Za-z0-9 /-]{1,12}",
        "[\"a,\n ]{1,6}".prop_map(|text| format!("\"{}\"", text.replace('"', "\"\""))),
        any_id_number(),
        prop::sample::select(vec![
            "职称",
            "金凤凰人才认定",
            "英才卡",
            "正高级",
            "2024-12-20"
        ])
        .prop_map(str::to_owned),
    ]
}

/// A file of the fixture header and rows of any cells, some with ID numbers in the ID column.
fn any_file() -> impl Strategy<Value = (String, Vec<String>)> {
    prop::collection::vec(
        (
            prop::collection::vec(any_cell(), 11),
            any_id_number(),
            any::<bool>(),
        ),
        1..6,
    )
    .prop_map(|rows| {
        let mut ids = Vec::new();
        let mut text = format!("{HEADER}\n");
        for (mut cells, id, put_id) in rows {
            if put_id {
                cells[2] = id.clone();
                ids.push(id);
            }
            text.push_str(&cells.join(","));
            text.push('\n');
        }
        (text, ids)
    })
}

#[test]
fn the_fixture_file_plans_two_requests_and_one_problem_row() {
    let plan = bulk::plan(fixtures::CSV.as_bytes(), schemas()).expect("readable");
    assert_eq!(plan.valid_requests().count(), 2);
    assert_eq!(plan.invalid_rows(), 1);
}

/// Checks what every plan must be: each valid row is a request the request schema,
/// `IssueRequest::from_json` and the bulk checks accept; no problem quotes `ids`.
fn check_plan(bytes: &[u8], ids: &[String]) -> Result<(), TestCaseError> {
    let Ok(plan) = bulk::plan(bytes, schemas()) else {
        return Ok(());
    };
    for (row, request) in plan.valid_requests() {
        prop_assert!(
            schemas()
                .validate(SchemaKind::IssueRequest, request)
                .is_ok(),
            "row {row}"
        );
        let issue = IssueRequest::from_json(request).expect("a planned request reads");
        prop_assert!(issue.check().is_ok(), "row {row}");
    }
    for error in plan.errors() {
        for id in ids {
            prop_assert!(!error.message.contains(id.as_str()), "{error:?}");
            prop_assert!(!error.column.contains(id.as_str()), "{error:?}");
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(cases(128))]

    /// Files of any cells under the real header.
    #[test]
    fn any_rows_are_planned_and_never_quote_an_id_number((text, ids) in any_file()) {
        check_plan(text.as_bytes(), &ids)?;
    }

    /// The fixture file with any byte changed.
    #[test]
    fn a_changed_byte_is_planned_or_refused(at in any::<Index>(), flip in 1u8..=255) {
        let changed = flipped(fixtures::CSV.as_bytes(), at, flip);
        check_plan(&changed, &["11010519491231002X".to_owned(), "110105194912310021".to_owned()])?;
    }

    /// Any bytes: planned or refused without a panic.
    #[test]
    fn any_bytes_are_planned_or_refused(
        bytes in prop::collection::vec(prop_oneof![Just(b','), Just(b'\n'), Just(b'"'), any::<u8>()], 0..400),
        with_header in any::<bool>(),
    ) {
        let file = if with_header {
            [format!("{HEADER}\n").into_bytes(), bytes].concat()
        } else {
            bytes
        };
        check_plan(&file, &[])?;
    }
}

/// More rows than [`MAX_ROWS`] are refused as a whole; blank lines are not rows.
#[test]
fn the_row_limit_holds() {
    let mut text = format!("{HEADER}\n");
    text.push_str(&"x\n\n".repeat(MAX_ROWS));
    let plan = bulk::plan(text.as_bytes(), schemas()).expect("at the limit");
    assert_eq!(plan.rows.len(), MAX_ROWS);
    text.push_str("x\n");
    assert_eq!(
        bulk::plan(text.as_bytes(), schemas()),
        Err(BulkError::TooManyRows)
    );
}

//! Issue 8, statistics (人才大数据): credential counts per region, type, 金凤凰 category, level
//! and month, for the own log and every verified mirror. Small counts are suppressed in JSON
//! and CSV, no personal data appears, the counts survive a restart, and a peer's
//! credentials are counted once they are mirrored.

use std::time::Duration;

use federation_tests::{Federation, Node, client, example_requests, wait_for};
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Personal data of the issued credentials: none of it may appear in any statistic.
const PERSONAL: [&str; 4] = ["李明华", "陈思远", "5001**********123X", "idNumberMasked"];

fn example(name: &str) -> Value {
    example_requests()
        .into_iter()
        .find(|(example, _)| example == name)
        .map(|(_, body)| body)
        .unwrap_or_else(|| panic!("docs/examples/{name}.json exists"))
}

/// The ProfessionalTitleCredential example (正高级) and the GoldenPhoenix one as 青年人才.
fn requests() -> (Value, Value) {
    let title = example("ProfessionalTitleCredential");
    assert_eq!(title["credentialSubject"]["level"], "正高级");
    let mut phoenix = example("GoldenPhoenixTalentCredential");
    phoenix["credentialSubject"]["category"] = json!("青年人才");
    (title, phoenix)
}

fn statistics(node: &Node) -> Value {
    let response = client()
        .get(node.at("/api/v1/statistics/credentials"))
        .send()
        .expect("statistics");
    assert_eq!(response.status(), StatusCode::OK);
    response.json().expect("JSON")
}

/// The `count` of the item of `list` whose `key` is `value` (`None` when not listed;
/// `Some(Value::Null)` when suppressed).
fn count_in(stats: &Value, list: &str, key: &str, value: &str) -> Option<Value> {
    stats[list]
        .as_array()
        .unwrap_or_else(|| panic!("{list} is a list: {stats}"))
        .iter()
        .find(|item| item[key] == value)
        .map(|item| item["count"].clone())
}

fn assert_no_personal_data(text: &str) {
    for personal in PERSONAL {
        assert!(!text.contains(personal), "{personal} appears in {text}");
    }
}

#[test]
fn credential_counts_suppress_small_groups_export_csv_and_survive_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("node starts");
    let empty = statistics(&node);
    assert_eq!(empty["total"], Value::Null, "0 is suppressed too: {empty}");
    assert_eq!(empty["rows"], json!([]), "{empty}");

    let (title, phoenix) = requests();
    for _ in 0..6 {
        node.issue(&title);
    }
    for _ in 0..2 {
        node.issue(&phoenix);
    }
    let month = chrono::Utc::now().format("%Y-%m").to_string();

    let stats = statistics(&node);
    assert_eq!(stats["threshold"], 5, "{stats}");
    assert_eq!(stats["total"], 8, "{stats}");
    assert!(
        stats["asOf"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{stats}"
    );
    assert_eq!(
        count_in(&stats, "byRegion", "region", "dev"),
        Some(json!(8))
    );
    assert_eq!(
        count_in(&stats, "byType", "type", "ProfessionalTitleCredential"),
        Some(json!(6))
    );
    assert_eq!(
        count_in(&stats, "byType", "type", "GoldenPhoenixTalentCredential"),
        Some(Value::Null),
        "2 is suppressed: {stats}"
    );
    assert_eq!(
        count_in(&stats, "byCategory", "category", "青年人才"),
        Some(Value::Null)
    );
    assert_eq!(
        count_in(&stats, "byLevel", "level", "正高级"),
        Some(json!(6))
    );
    assert_eq!(count_in(&stats, "byMonth", "month", &month), Some(json!(8)));
    let rows = stats["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{stats}");
    let title_row = rows
        .iter()
        .find(|row| row["type"] == "ProfessionalTitleCredential")
        .expect("title row");
    assert_eq!(
        title_row,
        &json!({"region": "dev", "type": "ProfessionalTitleCredential", "category": null,
                "level": "正高级", "month": month, "count": 6, "suppressed": false})
    );
    let phoenix_row = rows
        .iter()
        .find(|row| row["type"] == "GoldenPhoenixTalentCredential")
        .expect("phoenix row");
    assert_eq!(phoenix_row["count"], Value::Null, "{stats}");
    assert_eq!(phoenix_row["suppressed"], true, "{stats}");
    assert_eq!(phoenix_row["category"], "青年人才", "{stats}");
    assert_no_personal_data(&stats.to_string());

    // CSV: UTF-8 with a BOM, the bilingual header, "<5" for the suppressed row.
    let response = client()
        .get(node.at("/api/v1/statistics/credentials?format=csv"))
        .send()
        .expect("CSV");
    assert_eq!(response.status(), StatusCode::OK);
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    assert!(header("content-type").starts_with("text/csv"));
    assert!(header("content-disposition").starts_with("attachment"));
    let bytes = response.bytes().expect("body");
    assert!(
        bytes.starts_with("\u{feff}".as_bytes()),
        "starts with a BOM"
    );
    let csv = String::from_utf8(bytes.to_vec()).expect("UTF-8");
    let lines: Vec<&str> = csv.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some("地区 region,类型 type,类别 category,级别 level,月份 month,数量 count")
    );
    assert!(
        lines.contains(&format!("dev,ProfessionalTitleCredential,,正高级,{month},6").as_str()),
        "{csv}"
    );
    assert!(
        lines.contains(&format!("dev,GoldenPhoenixTalentCredential,青年人才,,{month},<5").as_str()),
        "{csv}"
    );
    assert_no_personal_data(&csv);

    let response = client()
        .get(node.at("/api/v1/statistics/credentials?format=xml"))
        .send()
        .expect("bad format");
    assert!(response.status().is_client_error());

    // The counts survive a restart (persisted with the sizes they cover), and new entries
    // after it are added to them.
    node.stop().expect("stops");
    let node = Node::start(&data).expect("node restarts");
    let after = statistics(&node);
    assert_eq!(after["total"], 8, "{after}");
    assert_eq!(after["rows"], stats["rows"]);
    node.issue(&phoenix);
    node.issue(&phoenix);
    node.issue(&phoenix);
    let more = statistics(&node);
    assert_eq!(more["total"], 11, "{more}");
    assert_eq!(
        count_in(&more, "byCategory", "category", "青年人才"),
        Some(json!(5)),
        "5 is shown: {more}"
    );
}

#[test]
fn a_peers_credentials_are_counted_once_mirrored() {
    let dir = tempfile::tempdir().expect("temp dir");
    let federation = Federation::prepare(dir.path()).expect("config");
    let cq_sc = federation.start("cq-sc").expect("cq-sc starts");
    let cd_hz = federation.start("cd-hz").expect("cd-hz starts");
    let (title, _) = requests();
    for _ in 0..6 {
        cq_sc.issue(&title);
    }
    for _ in 0..5 {
        cd_hz.issue(&title);
    }
    cq_sc
        .wait_mirrored("cd-hz", cd_hz.checkpoint_size(), Duration::from_secs(90))
        .expect("cq-sc mirrors cd-hz");
    // Mirroring is verified first, then counted on the next request.
    let stats = wait_for(
        Duration::from_secs(30),
        || {
            let stats = statistics(&cq_sc);
            (stats["total"] == 11).then_some(stats)
        },
        || statistics(&cq_sc).to_string(),
    )
    .expect("cd-hz's credentials are counted at cq-sc");
    assert_eq!(
        count_in(&stats, "byRegion", "region", "cq-sc"),
        Some(json!(6))
    );
    assert_eq!(
        count_in(&stats, "byRegion", "region", "cd-hz"),
        Some(json!(5))
    );
    let coverage = stats["coverage"].as_array().expect("coverage");
    assert!(
        coverage
            .iter()
            .any(|log| log["member"] == "cd-hz" && log["entries"] == cd_hz.checkpoint_size()),
        "{stats}"
    );
    assert_no_personal_data(&stats.to_string());

    // The console's pages show the same: the statistics page with both regions' bars and
    // no personal data, the federation page with cd-hz's mirror, its size and no alert.
    let page = |path: &str| {
        let response = reqwest::blocking::get(cq_sc.at(path)).expect("page");
        assert_eq!(response.status(), reqwest::StatusCode::OK, "{path}");
        response.text().expect("html")
    };
    let statistics_page = page("/statistics?lang=en");
    assert!(
        statistics_page.contains("data-total=\"11\""),
        "{statistics_page}"
    );
    assert!(statistics_page.contains("<svg"), "no chart");
    assert!(statistics_page.contains("重庆西部科学城") || statistics_page.contains("Science City"));
    assert_no_personal_data(&statistics_page);
    let federation_page = page("/federation");
    let row = "data-member=\"cd-hz\" data-state=\"";
    assert!(federation_page.contains(row), "{federation_page}");
    assert!(
        !federation_page.contains("id=\"alerts\""),
        "an alert without evidence"
    );
}

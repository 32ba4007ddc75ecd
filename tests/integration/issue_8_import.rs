//! Issue 8: bulk certification from the command line — `registry-node import FILE.csv`
//! against a real node. A file with a wrong row issues nothing and lists every problem by
//! row and column (exit 2); `--valid-rows` issues the others; a good file is issued whole,
//! and every issued credential verifies at the node.

use std::process::Command;

use federation_tests::{Node, binary, client};
use serde_json::{Value, json};

const HEADER: &str = "类型,姓名,身份证号,工作单位,系列,专业,级别,职称名称,评审委员会,批准文号,取得日期,类别,层级,领域,认定方式";

/// The node's log size.
fn log_size(node: &Node) -> u64 {
    let checkpoint = client()
        .get(node.at("/log/checkpoint"))
        .send()
        .and_then(|response| response.text())
        .expect("checkpoint");
    checkpoint
        .lines()
        .nth(1)
        .and_then(|line| line.parse().ok())
        .expect("checkpoint size line")
}

fn import(node: &Node, file: &std::path::Path, extra: &[&str]) -> std::process::Output {
    Command::new(binary("registry-node"))
        .arg("import")
        .arg(file)
        .args(["--node", &node.url, "--token", &node.admin_token, "--quiet"])
        .args(extra)
        .output()
        .expect("registry-node import runs")
}

#[test]
fn csv_rows_are_checked_first_then_issued_in_durable_batches() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let before = log_size(&node);

    // Row 3 has a wrong check digit and an unknown level; row 4 lacks the 金凤凰 fields.
    let mixed = dir.path().join("mixed.csv");
    std::fs::write(
        &mixed,
        format!(
            "\u{feff}{HEADER}\n\
             职称,张三,11010519491231002X,重庆某某科技有限公司,工程,电子信息,正高级,正高级工程师,重庆市工程技术高级职称评审委员会,渝职改〔2024〕1号,2024-12-20,,,,\n\
             职称,李四,110105194912310021,,工程,,特级,工程师,评委会,,2023-06-01,,,,\n\
             金凤凰人才认定,王五,11010519491231002X,,,,,,,,,青年人才,,,\n\
             金凤凰人才认定,赵六,11010519491231002X,重庆某某科技有限公司,,,,,,,,青年人才,塔基,人工智能,fast-track\n"
        ),
    )
    .expect("write csv");
    let refused = import(&node, &mixed, &[]);
    assert_eq!(refused.status.code(), Some(2), "{refused:?}");
    let problems = String::from_utf8_lossy(&refused.stderr);
    for expected in [
        "row 3, column 身份证号",
        "row 3, column 级别",
        "row 4, column 层级",
        "row 4, column 领域",
        "row 4, column 认定方式",
    ] {
        assert!(
            problems.contains(expected),
            "{expected} missing in:\n{problems}"
        );
    }
    assert!(
        !problems.contains("110105194912310021"),
        "a problem repeats the ID number:\n{problems}"
    );
    assert_eq!(log_size(&node), before, "a refused file issued something");

    // --valid-rows issues rows 2 and 5 only.
    let partial = import(&node, &mixed, &["--valid-rows"]);
    assert!(partial.status.success(), "{partial:?}");
    let stdout = String::from_utf8_lossy(&partial.stdout);
    let issued: Vec<(&str, &str)> = stdout
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(','))
        .collect();
    assert_eq!(
        issued.iter().map(|(row, _)| *row).collect::<Vec<_>>(),
        ["2", "5"],
        "{stdout}"
    );
    assert_eq!(log_size(&node), before + 2);

    // Every issued credential is in the log and verifies there.
    let admin = federation_tests::client_with_token(&node.admin_token);
    for (_, id) in &issued {
        let uuid = id.trim_start_matches("urn:uuid:");
        let credential: Value = admin
            .get(node.at(&format!("/api/v1/credentials/{uuid}")))
            .send()
            .and_then(|response| response.json())
            .expect("credential");
        assert_eq!(
            credential["credentialSubject"]["idNumberMasked"],
            "1101**********002X"
        );
        let verdict: Value = client()
            .post(node.at("/api/v1/verify"))
            .json(&json!({ "credential": credential }))
            .send()
            .and_then(|response| response.json())
            .expect("verdict");
        assert_eq!(verdict["verified"], true, "{verdict}");
    }

    // A larger good file goes through in several batches.
    let many = dir.path().join("many.csv");
    let mut text = format!("{HEADER}\n");
    for n in 0..23 {
        text.push_str(&format!(
            "ProfessionalTitleCredential,测试{n},11010519491231002X,,工程,,中级,工程师,评委会,,2024-01-{:02},,,,\n",
            n % 28 + 1
        ));
    }
    std::fs::write(&many, text).expect("write csv");
    let whole = import(&node, &many, &["--batch", "10"]);
    assert!(whole.status.success(), "{whole:?}");
    assert_eq!(String::from_utf8_lossy(&whole.stdout).lines().count(), 24);
    assert_eq!(log_size(&node), before + 25);

    // Unusable files and tokens are refused with a message, nothing issued.
    let unknown = dir.path().join("unknown.csv");
    std::fs::write(&unknown, "类型,姓名,血型\n职称,张三,A\n").expect("write csv");
    let output = import(&node, &unknown, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown columns: 血型"));
    let bad_token = Command::new(binary("registry-node"))
        .arg("import")
        .arg(&many)
        .args(["--node", &node.url, "--token", "trt_nope_nope", "--quiet"])
        .output()
        .expect("runs");
    assert_eq!(bad_token.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&bad_token.stderr).contains("token"),
        "{bad_token:?}"
    );
    assert_eq!(log_size(&node), before + 25);
}

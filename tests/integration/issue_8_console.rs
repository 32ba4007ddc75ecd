//! Issue 8: the node's server-rendered web console, driven by a real headless Chromium
//! against a real node. An operator logs in (after a refused token), issues a professional
//! title through the form (first with an ID number whose check digit is wrong), imports a CSV
//! with one bad row and issues the valid rows; then an employer, in a fresh browser context,
//! verifies the issued credential and a tampered copy on `/verify`, then uploads a screenshot
//! of the credential page as the photo of its QR code. User input must come back
//! escaped. Screenshots of each step are kept in `<target dir>/console-screenshots/`.
//!
//! Row numbers in the import's error table (`data-row`) follow the spreadsheet convention:
//! the header is row 1, so the second data row is row 3.
//!
//! `browser_harness_*` proves the browser fixture itself against a tiny page server, so the
//! harness is known to work whatever state the console is in.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use federation_tests::Node;
use federation_tests::browser::{Browser, WINDOW};
use reqwest::StatusCode;
use serde_json::Value;

/// `first17` completed with its GB 11643 check digit (ISO 7064 MOD 11-2).
fn id_number(first17: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .chars()
        .zip(WEIGHTS)
        .map(|(digit, weight)| digit.to_digit(10).expect("a digit") * weight)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

/// `id` with a wrong check digit.
fn wrong_check_digit(id: &str) -> String {
    let (body, check) = id.split_at(17);
    let wrong = if check == "0" { "1" } else { "0" };
    format!("{body}{wrong}")
}

/// The fields of the title form, by JSON path.
fn title_fields(name: &str, id: &str) -> Vec<(&'static str, String)> {
    vec![
        ("credentialSubject.name", name.to_owned()),
        ("credentialSubject.idNumber", id.to_owned()),
        (
            "credentialSubject.employer.name",
            "重庆某软件有限公司".to_owned(),
        ),
        ("credentialSubject.series", "工程".to_owned()),
        ("credentialSubject.specialty", "计算机软件".to_owned()),
        ("credentialSubject.titleName", "正高级工程师".to_owned()),
        (
            "credentialSubject.committee",
            "重庆市工程技术正高级职称评审委员会".to_owned(),
        ),
        (
            "credentialSubject.approvalNumber",
            "渝人社职〔2025〕128号".to_owned(),
        ),
        ("credentialSubject.conferredOn", "2025-12-30".to_owned()),
    ]
}

/// Opens the title form and fills every field; `level` goes into the level select.
fn fill_title_form(browser: &Browser, node: &Node, name: &str, id: &str) {
    browser
        .open(&node.at("/console/issue/ProfessionalTitleCredential"))
        .expect("issue page");
    browser.wait_for("form#issue-form").expect("issue form");
    for (field, value) in title_fields(name, id) {
        browser
            .fill(&format!("form#issue-form [name=\"{field}\"]"), &value)
            .expect("fill a field");
    }
    browser
        .select(
            "form#issue-form select[name=\"credentialSubject.level\"]",
            "正高级",
        )
        .expect("level");
}

/// What `/verify` says about `document` pasted into its form: (data-verified, the checks'
/// data-ok values).
fn verify_pasted(browser: &Browser, node: &Node, document: &Value) -> (String, Vec<String>) {
    browser.open(&node.at("/verify")).expect("verify page");
    browser
        .fill(
            "form#verify-form textarea[name=document]",
            &serde_json::to_string_pretty(document).expect("JSON"),
        )
        .expect("paste");
    browser.click("#verify-submit").expect("verify");
    verdict(browser)
}

fn verdict(browser: &Browser) -> (String, Vec<String>) {
    browser.wait_for("#verdict").expect("verdict");
    let verified = browser
        .attr("#verdict", "data-verified")
        .expect("attribute")
        .expect("#verdict has data-verified");
    let checks = browser
        .eval("Array.from(document.querySelectorAll('li.check'), li => li.dataset.ok)")
        .expect("checks");
    (
        verified,
        serde_json::from_value(checks).expect("data-ok strings"),
    )
}

#[test]
fn console_issues_imports_and_verifies_in_chromium() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let mut browser = Browser::launch("issue_8_console").expect("Chromium starts");

    // Login: a wrong token is refused, the admin token is accepted.
    browser.open(&node.at("/login")).expect("login page");
    browser
        .fill("form#login input[name=token]", "not-a-token")
        .expect("token");
    browser
        .click("form#login button[type=submit]")
        .expect("log in");
    browser
        .wait_for("#login-error")
        .expect("wrong token refused");
    browser.screenshot("login-refused").expect("screenshot");
    browser.open(&node.at("/login")).expect("login page");
    browser
        .fill("form#login input[name=token]", &node.admin_token)
        .expect("token");
    browser
        .click("form#login button[type=submit]")
        .expect("log in");
    let operator = browser.text("#operator").expect("logged in");
    assert!(operator.contains("tests"), "operator shown: {operator:?}");

    // Issuing through the form: a wrong check digit is pointed at, then fixed.
    let good_id = id_number("11010519491231002");
    assert_eq!(good_id, "11010519491231002X");
    fill_title_form(&browser, &node, "李明华", &wrong_check_digit(&good_id));
    browser.click("#issue-submit").expect("submit");
    browser.wait_for("#form-errors").expect("error summary");
    browser
        .wait_for(".field-error[data-field=\"credentialSubject.idNumber\"]")
        .expect("error beside the ID number");
    assert_eq!(browser.count("#credential-id").expect("count"), 0);
    browser.screenshot("issue-invalid-id").expect("screenshot");

    fill_title_form(&browser, &node, "李明华", &good_id);
    browser.click("#issue-submit").expect("submit");
    let id = browser.text("#credential-id").expect("issued");
    let id = id.trim().to_owned();
    assert!(id.starts_with("urn:uuid:"), "credential id {id:?}");
    assert_eq!(browser.count("#qr svg").expect("count"), 1, "QR code");
    let log_index = browser.text("#log-index").expect("log index");
    assert!(
        log_index.trim().chars().any(|c| c.is_ascii_digit()),
        "log index {log_index:?}"
    );
    // The screenshot doubles as the "photo of the QR code" an employer uploads below.
    let qr_photo = browser.screenshot("issued").expect("screenshot");
    // The download links work with the console session (cookies), not only with a token.
    let href = browser
        .attr("a#download-credential", "href")
        .expect("link")
        .expect("href");
    let (status, body) = browser.fetch(&href).expect("download");
    assert_eq!(status, 200, "{body}");
    let downloaded: Value = serde_json::from_str(&body).expect("credential JSON");
    assert_eq!(downloaded["id"], id.as_str());
    assert!(downloaded["proof"].is_object(), "signed: {downloaded}");
    let href = browser
        .attr("a#download-bundle", "href")
        .expect("link")
        .expect("href");
    let (status, body) = browser.fetch(&href).expect("download");
    assert_eq!(status, 200, "{body}");

    // User input comes back escaped: markup in a name is refused or shown as text, and
    // never becomes elements or runs.
    fill_title_form(
        &browser,
        &node,
        "<b>张三</b>",
        &id_number("50010319900307123"),
    );
    browser
        .fill(
            "form#issue-form [name=\"credentialSubject.employer.name\"]",
            "<img src=x onerror=\"window.__injected=1\">某公司",
        )
        .expect("employer");
    browser.click("#issue-submit").expect("submit");
    browser
        .wait_for("#credential-id, #form-errors")
        .expect("issued or refused");
    let injected = browser
        .eval(
            "Array.from(document.querySelectorAll('b')).some(b => b.textContent === '张三') \
             || document.querySelector('img[src=x]') !== null \
             || window.__injected !== undefined",
        )
        .expect("inspect");
    assert_eq!(injected, Value::Bool(false), "user input became markup");
    if browser.count("#credential-id").expect("count") == 1 {
        let page = browser.text("body").expect("page");
        assert!(page.contains("<b>张三</b>"), "name not shown literally");
    }
    browser.screenshot("markup-escaped").expect("screenshot");

    // CSV import: two valid rows, the second data row (row 3) has a wrong check digit.
    let committee = "重庆市工程技术高级职称评审委员会";
    let csv = format!(
        "类型,姓名,身份证号,工作单位,系列,专业,级别,职称名称,评审委员会,批准文号,取得日期\n\
         职称,王小红,{},重庆某软件有限公司,工程,计算机软件,副高级,高级工程师,{committee},渝人社职〔2025〕12号,2025-06-30\n\
         职称,赵强,{},成都某电子有限公司,工程,电子信息,中级,工程师,{committee},渝人社职〔2025〕13号,2025-06-30\n\
         ProfessionalTitleCredential,刘芳,{},重庆某研究院,工程,人工智能,副高级,高级工程师,{committee},渝人社职〔2025〕14号,2025-06-30\n",
        id_number("50010219881120345"),
        wrong_check_digit(&id_number("51010719850612234")),
        id_number("50010319900307123"),
    );
    let csv_path = dir.path().join("职称导入.csv");
    std::fs::write(&csv_path, csv).expect("write CSV");
    browser
        .open(&node.at("/console/import"))
        .expect("import page");
    browser
        .upload("form#import-form input[type=file][name=file]", &csv_path)
        .expect("choose CSV");
    browser.click("#import-submit").expect("upload");
    browser
        .wait_for("#import-summary")
        .expect("import job page");
    let summary = |name: &str| {
        browser
            .attr("#import-summary", name)
            .expect("attribute")
            .unwrap_or_default()
    };
    assert_eq!(summary("data-rows"), "3");
    assert_eq!(summary("data-errors"), "1");
    let error_rows = "table#import-errors tr[data-row]";
    assert_eq!(browser.count(error_rows).expect("count"), 1);
    assert_eq!(
        browser
            .attr(error_rows, "data-row")
            .expect("row")
            .as_deref(),
        Some("3")
    );
    let column = browser
        .attr(error_rows, "data-column")
        .expect("column")
        .unwrap_or_default();
    assert!(
        ["身份证号", "credentialSubject.idNumber", "idNumber"].contains(&column.as_str()),
        "error column {column:?}"
    );
    assert_eq!(browser.count("button#issue-all").expect("count"), 0);
    browser.screenshot("import-errors").expect("screenshot");
    browser
        .click("button#issue-valid")
        .expect("issue valid rows");
    browser.wait_for("#import-done").expect("import finished");
    assert_eq!(
        browser
            .attr("#import-done", "data-issued")
            .expect("attribute")
            .as_deref(),
        Some("2")
    );
    browser.screenshot("import-done").expect("screenshot");

    // An employer, not logged in: a fresh context has no console session.
    let response = node
        .client()
        .get(node.at(&format!("/api/v1/credentials/{id}")))
        .send()
        .expect("fetch credential");
    assert_eq!(response.status(), StatusCode::OK);
    let credential: Value = response.json().expect("credential JSON");
    browser.new_context().expect("fresh context");
    browser.open(&node.at("/console/import")).expect("console");
    assert_eq!(
        browser.count("form#import-form").expect("count"),
        0,
        "the console is open without logging in"
    );

    let (verified, checks) = verify_pasted(&browser, &node, &credential);
    assert_eq!(verified, "true", "checks: {checks:?}");
    assert!(
        !checks.is_empty() && checks.iter().all(|ok| ok == "true"),
        "{checks:?}"
    );
    browser.screenshot("verify-valid").expect("screenshot");

    let mut tampered = credential.clone();
    tampered["credentialSubject"]["name"] = Value::from("李四");
    let (verified, checks) = verify_pasted(&browser, &node, &tampered);
    assert_eq!(verified, "false", "checks: {checks:?}");
    assert!(checks.iter().any(|ok| ok == "false"), "{checks:?}");
    browser.screenshot("verify-tampered").expect("screenshot");

    // The QR code's target: the verdict of a credential the node holds.
    browser
        .open(&node.at(&format!("/verify?credential={id}")))
        .expect("QR target");
    let (verified, checks) = verdict(&browser);
    assert_eq!(verified, "true", "checks: {checks:?}");
    browser.screenshot("verify-qr-target").expect("screenshot");

    // A screenshot of the credential page, QR code and all, uploaded as the QR photo.
    browser.open(&node.at("/verify")).expect("verify page");
    browser
        .upload("form#verify-form input[name=qr]", &qr_photo)
        .expect("upload the screenshot");
    browser.click("#verify-submit").expect("verify");
    let (verified, checks) = verdict(&browser);
    assert_eq!(verified, "true", "checks: {checks:?}");
    let shown = browser.text("#verdict").expect("verdict text");
    assert!(
        shown.contains(&id),
        "the QR photo named another credential: {shown}"
    );
    browser.screenshot("verify-qr-photo").expect("screenshot");
}

/// A page server for proving the harness: `GET /form` is a form, `POST /submit` echoes the
/// request body (escaped), `GET /json` is a JSON document. One thread per connection, since
/// Chromium may open a connection it sends nothing on.
struct PageServer {
    url: String,
    stop: Arc<AtomicBool>,
}

const FORM_PAGE: &str = r#"<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>测试页</title></head>
<body>
<h1 id="greeting" data-lang="zh">你好，浏览器</h1>
<form id="f" method="post" action="/submit" enctype="multipart/form-data">
  <input name="name">
  <input type="date" name="day">
  <select name="level"><option value="中级">中级</option><option value="正高级">正高级</option></select>
  <textarea name="document"></textarea>
  <input type="file" name="file">
  <button type="submit" id="go">提交</button>
</form>
<ul><li class="check" data-ok="true">签名</li><li class="check" data-ok="false">状态</li></ul>
</body></html>"#;

impl PageServer {
    fn start() -> PageServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("non-blocking");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        std::thread::spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        std::thread::spawn(move || {
                            let _ = serve(stream);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        PageServer { url, stop }
    }
}

impl Drop for PageServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(stream: TcpStream) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(Duration::from_secs(5)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let (status, kind, page) = match (method, path) {
        ("GET", "/form") => ("200 OK", "text/html", FORM_PAGE.to_owned()),
        ("POST", "/submit") => (
            "200 OK",
            "text/html",
            format!(
                "<!doctype html><meta charset=utf-8><title>回显</title>\
                 <p id=method>{method}</p><pre id=body>{}</pre>",
                escape(&String::from_utf8_lossy(&body))
            ),
        ),
        ("GET", "/json") => (
            "200 OK",
            "application/json",
            r#"{"hello":"世界"}"#.to_owned(),
        ),
        _ => ("404 Not Found", "text/plain", "not found".to_owned()),
    };
    let mut stream = stream;
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}; charset=utf-8\r\nContent-Length: {}\r\n\
         Connection: close\r\n\r\n{page}",
        page.len()
    )?;
    stream.flush()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Width and height of a PNG file (from its IHDR chunk).
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).expect("screenshot file");
    assert!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 24,
        "{} is not a PNG",
        path.display()
    );
    let number = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
    (number(16), number(20))
}

#[test]
fn browser_harness_fills_uploads_clicks_and_screenshots() {
    let server = PageServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut browser = Browser::launch("issue_8_harness").expect("Chromium starts");

    browser.open(&format!("{}/form", server.url)).expect("open");
    assert_eq!(browser.status().expect("status"), Some(200));
    assert_eq!(
        browser.eval("[innerWidth, innerHeight]").expect("viewport"),
        serde_json::json!([WINDOW.0, WINDOW.1])
    );
    assert_eq!(browser.text("#greeting").expect("text"), "你好，浏览器");
    assert_eq!(
        browser
            .attr("#greeting", "data-lang")
            .expect("attr")
            .as_deref(),
        Some("zh")
    );
    assert_eq!(browser.attr("#greeting", "data-none").expect("attr"), None);
    assert_eq!(browser.count("li.check").expect("count"), 2);
    assert_eq!(
        browser.count("li.check[data-ok=\"false\"]").expect("count"),
        1
    );
    assert_eq!(browser.texts("li.check").expect("texts"), ["签名", "状态"]);

    browser
        .fill("input[name=name]", "<b>张三</b> \"引号\"")
        .expect("fill text");
    let refused = browser
        .fill("input[name=day]", "30/12/2025")
        .expect_err("a date input refuses another format");
    assert!(format!("{refused:#}").contains("30/12/2025"), "{refused:#}");
    browser.fill("input[name=day]", "2025-12-30").expect("date");
    browser
        .select("select[name=level]", "正高级")
        .expect("select");
    let refused = browser
        .select("select[name=level]", "员级")
        .expect_err("no such option");
    assert!(format!("{refused:#}").contains("中级"), "{refused:#}");
    browser
        .fill("textarea[name=document]", "{\n  \"id\": \"urn:uuid:1\"\n}")
        .expect("textarea");
    let upload = dir.path().join("harness-upload.csv");
    std::fs::write(&upload, "类型,姓名\n职称,李明华\n").expect("write");
    browser
        .upload("input[type=file][name=file]", &upload)
        .expect("upload");
    assert_eq!(
        browser
            .eval("document.querySelector('input[type=file]').files[0].name")
            .expect("file name"),
        "harness-upload.csv"
    );
    let shot = browser.screenshot("form").expect("screenshot");
    assert_eq!(png_size(&shot).0, WINDOW.0, "screenshot width");
    assert!(png_size(&shot).1 >= WINDOW.1, "screenshot height");

    browser.click("#go").expect("submit");
    assert!(browser.url().expect("url").ends_with("/submit"));
    assert_eq!(browser.text("#method").expect("method"), "POST");
    let echoed = browser.text("#body").expect("body");
    for expected in [
        "name=\"name\"",
        "<b>张三</b> \"引号\"",
        "2025-12-30",
        "正高级",
        "\"id\": \"urn:uuid:1\"",
        "filename=\"harness-upload.csv\"",
        "职称,李明华",
    ] {
        assert!(echoed.contains(expected), "{expected:?} not in {echoed}");
    }
    browser.screenshot("submitted").expect("screenshot");

    let (status, body) = browser
        .fetch(&format!("{}/json", server.url))
        .expect("fetch");
    assert_eq!((status, body.as_str()), (200, r#"{"hello":"世界"}"#));
    let (status, _) = browser.fetch("/missing").expect("fetch");
    assert_eq!(status, 404);

    // Waits are bounded and say what the page was.
    let started = Instant::now();
    let missing = browser
        .wait_for_within("#never", Duration::from_secs(1))
        .expect_err("no such element");
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(format!("{missing:#}").contains("/submit"), "{missing:#}");

    // A fresh context starts at a blank page and can load pages again.
    browser.new_context().expect("context");
    browser.open(&format!("{}/form", server.url)).expect("open");
    browser.wait_for("form#f").expect("form");
}

#[test]
fn browser_fixture_fails_clearly_without_chromium() {
    let error = Browser::launch_at("issue_8_missing", Path::new("/nonexistent/chromium"))
        .expect_err("no Chromium there");
    let message = format!("{error:#}");
    assert!(
        message.contains("/nonexistent/chromium") && message.contains("scripts/setup.sh"),
        "{message}"
    );
}

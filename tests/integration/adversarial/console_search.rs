//! Issue 19, item 2: the console's search was an oracle. Any logged-in role (a delegated
//! issuer too) listed every credential of the node, and `GET ?q=<full ID number>` confirmed
//! guessed ID numbers as fast as they could be sent. Now search results, credential pages
//! and downloads are scoped as the API scopes reading; a full ID number is only searched by
//! a posted form (a `GET` carrying one is refused); and searches by full ID number are
//! rate-limited per operator and written to an audit log (mode 0600) without the number.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;

use chrono::Utc;
use federation_tests::{Node, client_with_token};
use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::{Value, json};

use super::policy::{Enterprise, accredit, post};

/// A logged-in console session over plain HTTP: keeps its cookies, does not follow
/// redirects.
pub(super) struct ConsoleSession {
    client: Client,
    base: String,
    cookies: RefCell<BTreeMap<String, String>>,
}

impl ConsoleSession {
    /// Logs in at `node` with `token` (the login form and its CSRF token, as a browser).
    pub(super) fn login(node: &Node, token: &str) -> ConsoleSession {
        let session = ConsoleSession {
            client: Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(std::time::Duration::from_secs(30))
                .build()
                .expect("client"),
            base: node.url.clone(),
            cookies: RefCell::new(BTreeMap::new()),
        };
        let csrf = session.csrf("/login");
        let login = session.post("/login", &[("token", token), ("csrf", &csrf)]);
        assert_eq!(login.status(), StatusCode::SEE_OTHER, "login");
        assert!(session.cookies.borrow().contains_key("trc_session"));
        session
    }

    fn send(&self, request: RequestBuilder) -> Response {
        let cookie = self
            .cookies
            .borrow()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().expect("request");
        for set in response.headers().get_all("set-cookie") {
            let Some((pair, _)) = set.to_str().unwrap_or_default().split_once(';') else {
                continue;
            };
            if let Some((name, value)) = pair.split_once('=') {
                self.cookies
                    .borrow_mut()
                    .insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    /// `GET path`.
    pub(super) fn get(&self, path: &str) -> Response {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    /// `POST path` with a urlencoded form.
    pub(super) fn post(&self, path: &str, form: &[(&str, &str)]) -> Response {
        self.send(self.client.post(format!("{}{path}", self.base)).form(form))
    }

    /// The CSRF token of the first form on page `path`.
    pub(super) fn csrf(&self, path: &str) -> String {
        let html = self.get(path).text().expect("page");
        let marker = "name=\"csrf\" value=\"";
        let start = html.find(marker).expect("a form with a CSRF field") + marker.len();
        let end = html[start..].find('"').expect("closing quote") + start;
        html[start..end].to_owned()
    }

    /// Uploads `bytes` as the file of the form at `path` (multipart, with its CSRF token).
    pub(super) fn upload(&self, path: &str, file_name: &str, bytes: &[u8]) -> Response {
        let csrf = self.csrf("/console/credentials");
        let boundary = "----talent-registry-test-boundary";
        let mut body = Vec::new();
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: text/csv\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header(
                    "content-type",
                    format!("multipart/form-data; boundary={boundary}"),
                )
                .body(body),
        )
    }

    /// Posts the search form with `q`.
    fn search(&self, q: &str) -> (StatusCode, String, Option<String>) {
        let csrf = self.csrf("/console/credentials");
        let response = self.post("/console/credentials", &[("csrf", &csrf), ("q", q)]);
        let status = response.status();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        (status, response.text().expect("page"), retry_after)
    }
}

/// The credential ids listed in a search page's results.
fn listed(html: &str) -> Vec<String> {
    html.split("href=\"/console/credentials/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// An authority-issued title for the person with `id_number`; returns its UUID.
fn issue_for(node: &Node, id_number: &str) -> String {
    let (status, answer) = post(
        &client_with_token(&node.admin_token),
        &node.at("/api/v1/credentials"),
        &json!({
            "type": "ProfessionalTitleCredential",
            "credentialSubject": {
                "name": "李明华", "idNumber": id_number,
                "series": "工程", "level": "正高级", "titleName": "正高级工程师",
                "committee": "评委会", "conferredOn": "2024-12-20",
            },
        }),
    );
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["id"]
        .as_str()
        .expect("id")
        .trim_start_matches("urn:uuid:")
        .to_owned()
}

#[test]
fn console_search_is_scoped_posted_limited_and_audited() {
    const HOLDER: &str = "11010519491231002X";
    const OTHER: &str = "500103199003071239";
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start_with(
        &data,
        &[
            "--listen",
            "127.0.0.1:0",
            "--id-search-burst",
            "2",
            "--id-search-per-hour",
            "0",
        ],
    )
    .expect("node starts");
    let holders = [issue_for(&node, HOLDER), issue_for(&node, HOLDER)];
    let other = issue_for(&node, OTHER);

    // A delegated issuer sees its own credential and nothing of the authority's.
    let ends = Utc::now() + chrono::Duration::days(30);
    let enterprise = Enterprise::new(0x81, &node);
    accredit(&node, &enterprise.did, ends);
    let status = enterprise.reserved();
    let (code, submitted) = enterprise.submit(&enterprise.title(Utc::now(), Some(ends), &status));
    assert_eq!(code, StatusCode::CREATED, "{submitted}");
    let own = submitted["id"]
        .as_str()
        .expect("id")
        .trim_start_matches("urn:uuid:")
        .to_owned();
    let issuer_token = {
        // The enterprise's console login uses a token of its own.
        federation_tests::create_token(
            &data,
            "issuer",
            Some(&enterprise.did.to_string()),
            "企业控制台",
        )
        .expect("token")
    };
    let as_issuer = ConsoleSession::login(&node, &issuer_token);
    let page = as_issuer.get("/console/credentials").text().expect("page");
    assert_eq!(
        listed(&page),
        vec![own.clone()],
        "an issuer token's search lists only its own credentials"
    );
    for path in [
        format!("/console/credentials/{other}"),
        format!("/console/credentials/{other}/credential.json"),
        format!("/console/credentials/{other}/bundle.json"),
    ] {
        assert_eq!(
            as_issuer.get(&path).status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }

    // A full ID number in a URL is refused, not searched.
    let office = ConsoleSession::login(&node, &node.admin_token);
    let page = office.get("/console/credentials").text().expect("page");
    assert!(
        page.contains("method=\"post\" action=\"/console/credentials\""),
        "the search form is posted"
    );
    let refused = office.get(&format!("/console/credentials?q={HOLDER}"));
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let page = refused.text().expect("page");
    assert!(page.contains("id=\"search-refused\""), "says why");
    assert!(listed(&page).is_empty(), "nothing was searched: {page}");
    let inside = office.get(&format!("/console/credentials?q=%E6%9D%8E%20{HOLDER}"));
    assert_eq!(
        inside.status(),
        StatusCode::BAD_REQUEST,
        "an ID number inside q"
    );

    // Posted, it is searched, recorded and limited per operator.
    let (status, page, _) = office.search(HOLDER);
    assert_eq!(status, StatusCode::OK);
    let mut found = listed(&page);
    found.sort();
    let mut expected = holders.to_vec();
    expected.sort();
    assert_eq!(found, expected, "both credentials of the holder");
    let (status, page, _) = office.search(OTHER);
    assert_eq!(
        (status, listed(&page)),
        (StatusCode::OK, vec![other.clone()])
    );
    let (status, page, retry_after) = office.search(HOLDER);
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "the third search");
    assert!(page.contains("id=\"search-refused\"") && listed(&page).is_empty());
    assert!(retry_after.is_some(), "429 says when to retry");
    // Other searches are not limited, and other operators have their own allowance, which
    // finds nothing outside their scope.
    let (status, page, _) = office.search("李明华");
    assert_eq!((status, listed(&page).len()), (StatusCode::OK, 3));
    let (status, page, _) = as_issuer.search(HOLDER);
    assert_eq!(status, StatusCode::OK);
    assert!(listed(&page).is_empty(), "{page}");

    // The audit log: one line per search by ID number, never the number itself.
    let audit = data.join("audit/id-searches.jsonl");
    let mode = std::fs::metadata(&audit)
        .expect("the audit log exists")
        .permissions()
        .mode()
        & 0o777;
    assert_eq!(mode, 0o600);
    let text = std::fs::read_to_string(&audit).expect("audit log");
    assert!(
        !text.contains(HOLDER) && !text.contains(OTHER),
        "a full ID number in the audit log: {text}"
    );
    let records: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("JSON line"))
        .collect();
    let summary: Vec<(&str, &str, Option<u64>)> = records
        .iter()
        .map(|record| {
            (
                record["role"].as_str().unwrap_or_default(),
                record["outcome"].as_str().unwrap_or_default(),
                record["count"].as_u64(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("admin", "searched", Some(2)),
            ("admin", "searched", Some(1)),
            ("admin", "rate_limited", None),
            ("issuer", "searched", Some(0)),
        ]
    );
    assert_eq!(records[0]["idNumberHmac"], records[2]["idNumberHmac"]);
    assert_eq!(records[0]["idNumberMasked"], "1101**********002X");
}

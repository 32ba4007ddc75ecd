//! Issue 8: the console's protections over plain HTTP against a real node — forms without
//! the visitor's CSRF token are refused and change nothing, staff pages need a login, a
//! revoked token ends its session at once, pages carry a script-free Content-Security-Policy,
//! and the language switch works.

use std::process::Command;

use federation_tests::{Node, binary};
use std::cell::RefCell;
use std::collections::BTreeMap;

use reqwest::StatusCode;
use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::redirect::Policy;

/// A browser-like client: keeps the cookies it is given, does not follow redirects (to
/// see them).
struct Browser {
    client: Client,
    cookies: RefCell<BTreeMap<String, String>>,
}

impl Browser {
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

    fn get(&self, url: String) -> Response {
        self.send(self.client.get(url))
    }

    fn post(&self, url: String, form: &[(&str, &str)]) -> Response {
        self.send(self.client.post(url).form(form))
    }
}

fn browser() -> Browser {
    Browser {
        client: Client::builder()
            .redirect(Policy::none())
            .build()
            .expect("client"),
        cookies: RefCell::new(BTreeMap::new()),
    }
}

/// The CSRF token of the first form of a page.
fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("a form with a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("closing quote") + start;
    html[start..end].to_owned()
}

fn log_size(node: &Node) -> String {
    reqwest::blocking::get(node.at("/log/checkpoint"))
        .and_then(|response| response.text())
        .expect("checkpoint")
        .lines()
        .nth(1)
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn console_forms_need_their_csrf_token_and_staff_pages_a_live_session() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("node");
    let node = Node::start(&data).expect("node starts");
    let client = browser();

    // Pages: Chinese by default, English on request, no scripts allowed.
    let home = client.get(node.at("/"));
    let csp = home
        .headers()
        .get("content-security-policy")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(home.text().expect("html").contains("lang=\"zh-CN\""));
    let english = client.get(node.at("/verify?lang=en"));
    assert!(
        english
            .text()
            .expect("html")
            .contains("Verify a credential")
    );

    // Staff pages redirect to the login page.
    let issue = client.get(node.at("/console/issue"));
    assert_eq!(issue.status(), StatusCode::SEE_OTHER);
    assert!(
        issue.headers()["location"]
            .to_str()
            .unwrap_or_default()
            .starts_with("/login")
    );

    // A login without the form's token is refused; with it, it works.
    let login_page = client.get(node.at("/login")).text().expect("html");
    let csrf = csrf_of(&login_page);
    let forged = client.post(
        node.at("/login"),
        &[
            ("token", node.admin_token.as_str()),
            ("csrf", "forged-token-value"),
        ],
    );
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let login = client.post(
        node.at("/login"),
        &[
            ("token", node.admin_token.as_str()),
            ("csrf", csrf.as_str()),
            ("next", "//evil.example/"),
        ],
    );
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        login.headers()["location"],
        "/console/credentials",
        "an open redirect"
    );
    let cookie = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find(|value| value.starts_with("trc_session="))
        .expect("a session cookie")
        .to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );

    // Logged in: a form posted without the session's token issues nothing.
    let form = client
        .get(node.at("/console/issue/ProfessionalTitleCredential"))
        .text()
        .expect("html");
    let session_csrf = csrf_of(&form);
    let before = log_size(&node);
    let fields = [
        ("credentialSubject.name", "张三"),
        ("credentialSubject.idNumber", "11010519491231002X"),
        ("credentialSubject.series", "工程"),
        ("credentialSubject.level", "正高级"),
        ("credentialSubject.titleName", "正高级工程师"),
        ("credentialSubject.committee", "评委会"),
        ("credentialSubject.conferredOn", "2024-12-20"),
    ];
    let mut forged_form: Vec<(&str, &str)> = fields.to_vec();
    forged_form.push(("csrf", csrf.as_str()));
    let refused = client.post(
        node.at("/console/issue/ProfessionalTitleCredential"),
        &forged_form,
    );
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(log_size(&node), before, "a forged form issued a credential");
    let mut good_form: Vec<(&str, &str)> = fields.to_vec();
    good_form.push(("csrf", session_csrf.as_str()));
    let issued = client.post(
        node.at("/console/issue/ProfessionalTitleCredential"),
        &good_form,
    );
    assert_eq!(issued.status(), StatusCode::SEE_OTHER);
    assert_ne!(log_size(&node), before);

    // The accreditations page lists none on a node that has accredited no issuer.
    let accreditations = client.get(node.at("/console/accreditations"));
    assert_eq!(accreditations.status(), StatusCode::OK);
    assert!(
        accreditations
            .text()
            .expect("html")
            .contains("id=\"no-accreditations\"")
    );

    // Revoking the token ends the session at the next request.
    let token_id = node
        .admin_token
        .trim_start_matches("trt_")
        .split('_')
        .next()
        .expect("token id")
        .to_owned();
    let revoked = Command::new(binary("registry-node"))
        .args(["token", "revoke", &token_id, "--data"])
        .arg(&data)
        .output()
        .expect("token revoke runs");
    assert!(revoked.status.success(), "{revoked:?}");
    let after = client.get(node.at("/console/credentials"));
    assert_eq!(
        after.status(),
        StatusCode::SEE_OTHER,
        "the session outlived its token"
    );

    // Unknown job and credential ids are clear errors, not panics.
    let employer = browser();
    let verify = employer.get(node.at("/verify?credential=urn:uuid:not-a-uuid"));
    assert_eq!(verify.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(verify.text().expect("html").contains("id=\"verify-error\""));
}

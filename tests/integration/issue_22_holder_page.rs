//! Issue 22, item 6, in a real browser: an employer verifies on `/verify` saying who they are
//! and why; the talent opens `/holder` with the credential's access code and sees it.

use federation_tests::Node;
use federation_tests::browser::Browser;

#[test]
fn the_holder_page_shows_who_verified_on_the_employer_page() {
    let dir = tempfile::tempdir().expect("temp dir");
    let node = Node::start(&dir.path().join("node")).expect("node starts");
    let issued = super::issue_22_query_log::issue(&node, "GoldenPhoenixTalentCredential");
    let id = issued["id"].as_str().expect("id");
    let code = issued["holderAccessCode"].as_str().expect("code");

    let mut browser = Browser::launch("issue_22_holder").expect("Chromium starts");
    browser.open(&node.at("/verify")).expect("verify page");
    browser
        .fill(
            "form#verify-form textarea[name=document]",
            &serde_json::to_string_pretty(&issued["credential"]).expect("JSON"),
        )
        .expect("paste");
    browser
        .fill("#verifier", "两江新区某科技公司")
        .expect("verifier");
    browser.fill("#purpose", "岗位聘用前核验").expect("purpose");
    browser.click("#verify-submit").expect("verify");
    browser.wait_for("#verdict").expect("verdict");

    browser
        .new_context()
        .expect("a fresh browser context: the talent, not the employer");
    browser.open(&node.at("/holder")).expect("holder page");
    browser.fill("#credentialId", id).expect("id");
    browser
        .fill("#accessCode", "AAAAAAAAAAAAAAAAAAAAAAAAAA")
        .expect("code");
    browser.click("#holder-submit").expect("submit");
    browser
        .wait_for("#holder-error")
        .expect("a wrong code is refused");
    assert_eq!(browser.count("#queries").expect("count"), 0);

    browser.fill("#credentialId", id).expect("id");
    browser.fill("#accessCode", code).expect("code");
    browser.click("#holder-submit").expect("submit");
    browser.wait_for("#queries").expect("the query log");
    let verifiers = browser.texts("#queries td.verifier").expect("cells");
    let purposes = browser.texts("#queries td.purpose").expect("cells");
    assert_eq!(verifiers, ["两江新区某科技公司"]);
    assert_eq!(purposes, ["岗位聘用前核验"]);
    browser.screenshot("holder-query-log").expect("screenshot");
    // The code went in the form body: the page's URL never carries it.
    assert!(!browser.url().expect("url").contains(code));
}

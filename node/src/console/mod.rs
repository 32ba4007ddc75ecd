//! The web console: server-rendered pages for regional offices (log in with an operator
//! token; issue, search, change status, accredit, import CSV files) and for employers (no
//! login; verify a credential, a proof bundle or a QR code), plus the federation and
//! statistics pages. Chinese first, English with `?lang=en`.
//!
//! No JavaScript: every page is HTML from [`maud`] (which escapes every value it is given),
//! forms post back, a running import refreshes itself with `<meta http-equiv=refresh>`.
//! Every form carries a CSRF token checked against the visitor's cookie or session
//! (`session`); cookies are `HttpOnly; SameSite=Strict`, and pages are sent with a
//! Content-Security-Policy that allows no script at all.

pub mod charts;
mod credentials;
mod employer;
mod federation;
mod holder;
mod import;
mod issue;
pub mod qr;
mod session;
mod statistics;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Extension};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use self::session::{Sessions, Visitor};
use crate::state::AppState;

/// The largest upload a console form takes (CSV files, bundles, photos of QR codes).
const UPLOAD_LIMIT_BYTES: usize = 16 * 1024 * 1024;

/// What the console keeps beside the node's state: sessions and import jobs.
#[derive(Debug, Default)]
pub struct Console {
    sessions: Sessions,
    imports: import::Imports,
}

/// The console's routes (pages at `/`, `/login`, `/console/…`, `/verify`, `/federation`,
/// `/statistics`).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/assets/console.css", get(stylesheet))
        .merge(session::routes())
        .merge(issue::routes())
        .merge(credentials::routes())
        .merge(import::routes())
        .merge(employer::routes())
        .merge(holder::routes())
        .merge(federation::routes())
        .merge(statistics::routes())
        .layer(DefaultBodyLimit::max(UPLOAD_LIMIT_BYTES))
        .layer(Extension(Arc::new(Console::default())))
}

/// The display language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// 中文 (default).
    Zh,
    /// English.
    En,
}

impl Lang {
    /// The text in this language.
    pub fn pick<'a>(self, zh: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A table's head row: one column header per `(zh, en)` pair, in this language.
    pub fn table_head(self, columns: &[(&str, &str)]) -> Markup {
        html! {
            thead { tr {
                @for (zh, en) in columns {
                    th scope="col" { (self.pick(zh, en)) }
                }
            } }
        }
    }

    fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }
}

/// The console's stylesheet: plain CSS, responsive, readable in both languages.
const STYLESHEET: &str = include_str!("console.css");

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        STYLESHEET,
    )
        .into_response()
}

/// A whole page: the layout around `body`, with the visitor's cookies and the security
/// headers.
fn page(visitor: &Visitor, status: StatusCode, title: &str, body: Markup) -> Response {
    let lang = visitor.lang;
    let t = |zh, en| lang.pick(zh, en);
    let markup = html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (t("成渝人才认证联邦登记", "Chengdu–Chongqing talent registry")) }
                link rel="stylesheet" href="/assets/console.css";
                @if let Some(seconds) = visitor.refresh {
                    meta http-equiv="refresh" content=(seconds);
                }
            }
            body {
                a.skip href="#main" { (t("跳到正文", "Skip to content")) }
                header.top {
                    a.brand href="/" { (t("成渝人才认证", "CQ–CD Talent Registry")) }
                    nav aria-label=(t("主导航", "Main")) {
                        ul {
                            li { a href="/verify" { (t("核验", "Verify")) } }
                            @if visitor.operator.is_some() {
                                li { a href="/console/issue" { (t("签发", "Issue")) } }
                                li { a href="/console/credentials" { (t("查询", "Search")) } }
                                li { a href="/console/import" { (t("批量认定", "Bulk import")) } }
                                li { a href="/console/accreditations" { (t("授权管理", "Accreditations")) } }
                            }
                            li { a href="/holder" { (t("我的核验记录", "My query log")) } }
                            li { a href="/federation" { (t("联邦", "Federation")) } }
                            li { a href="/statistics" { (t("人才大数据", "Statistics")) } }
                        }
                    }
                    div.account {
                        @match &visitor.operator {
                            Some(operator) => {
                                span #operator { (operator.name) " · " (operator.role.as_str()) }
                                form method="post" action="/logout" {
                                    (visitor.csrf_field())
                                    button #logout type="submit" { (t("退出", "Log out")) }
                                }
                            }
                            None => { a #login-link href="/login" { (t("工作人员登录", "Staff login")) } }
                        }
                        a.lang href=(visitor.other_lang_link()) lang=(if lang == Lang::Zh { "en" } else { "zh-CN" }) {
                            (t("English", "中文"))
                        }
                    }
                }
                main #main { (body) }
                footer {
                    (t("本节点", "This node")) ": " (visitor.member)
                    " · " a href="/api/v1/member" { "API" }
                }
            }
        }
    };
    let mut response = (status, markup).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    visitor.set_cookies(headers);
    response
}

/// A page that only says what went wrong.
fn error_page(visitor: &Visitor, status: StatusCode, message: &str) -> Response {
    let title = visitor.lang.pick("出错了", "Something went wrong");
    page(
        visitor,
        status,
        title,
        html! {
            h1 { (title) }
            p.error role="alert" #page-error { (message) }
        },
    )
}

async fn home(visitor: Visitor) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    page(
        &visitor,
        StatusCode::OK,
        t("首页", "Home"),
        html! {
            h1 { (t("成渝人才认证联邦登记系统", "Chengdu–Chongqing federated talent registry")) }
            p { (t(
                "人才认定随时报到、随时认定；川渝职称、资格与人才计划互认。",
                "Talent certification at any time with immediate effect; Sichuan–Chongqing mutual recognition of titles, qualifications and talent programmes."
            )) }
            div.cards {
                a.card href="/verify" {
                    h2 { (t("用人单位核验", "Verify as an employer")) }
                    p { (t("上传或粘贴证书、证明包或二维码照片，查看核验结果与互认情况。", "Upload or paste a credential, a proof bundle or a photo of its QR code; see the verdict and its recognition.")) }
                }
                a.card href=(if visitor.operator.is_some() { "/console/issue" } else { "/login" }) {
                    h2 { (t("经办人员", "Office staff")) }
                    p { (t("签发、查询、变更状态、批量认定、授权管理。", "Issue, search, change status, bulk import, accreditations.")) }
                }
                a.card href="/federation" {
                    h2 { (t("联邦成员", "Federation")) }
                    p { (t("各成员的日志、同步延迟、见证人与异常告警。", "Each member's log, lag, witnesses and alerts.")) }
                }
                a.card href="/statistics" {
                    h2 { (t("人才大数据", "Statistics")) }
                    p { (t("按地区、类型、类别、级别、月份的汇总统计。", "Counts by region, type, category, level and month.")) }
                }
            }
        },
    )
}

/// One part of a submitted `multipart/form-data` form.
#[derive(Debug)]
struct FormPart {
    /// The field's name.
    name: String,
    /// The uploaded file's name, for a file field.
    file_name: Option<String>,
    /// The contents (bounded by the console's upload limit).
    bytes: axum::body::Bytes,
}

/// Every part of a multipart form, or why it could not be read.
async fn form_parts(mut multipart: axum::extract::Multipart) -> Result<Vec<FormPart>, String> {
    let unreadable = |error: axum::extract::multipart::MultipartError| {
        format!("the upload could not be read: {error}")
    };
    let mut parts = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let bytes = field.bytes().await.map_err(unreadable)?;
        parts.push(FormPart {
            name,
            file_name,
            bytes,
        });
    }
    Ok(parts)
}

/// Inline SVG markup produced by a trusted renderer (the QR code, the charts).
fn trusted_svg(svg: String) -> PreEscaped<String> {
    PreEscaped(svg)
}

//! Who is looking at a console page: the [`Visitor`] extractor (language, operator session,
//! CSRF token), and the login and logout forms.
//!
//! A login exchanges an operator token for a random session id (cookie `trc_session`,
//! `HttpOnly; SameSite=Strict`, 8 hours); the token itself stays in the node's memory and
//! is checked against the token file on every request, so revoking it ends the session at
//! once. Every form carries a CSRF token: the session's, or for visitors without one the
//! value of the `trc_csrf` cookie (double submit). Sessions do not survive a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Extension, Form, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use maud::{Markup, html};
use rand::RngCore;
use serde::Deserialize;

use super::{Console, Lang, page};
use crate::state::AppState;
use crate::tokens::Operator;

const SESSION_COOKIE: &str = "trc_session";
const CSRF_COOKIE: &str = "trc_csrf";
const LANG_COOKIE: &str = "trc_lang";
/// How long a session lasts without a new login.
const SESSION_LIFETIME: Duration = Duration::from_secs(8 * 3600);
/// Most sessions kept at once; the oldest go first.
const MAX_SESSIONS: usize = 10_000;

/// The login sessions of this node.
#[derive(Debug, Default)]
pub struct Sessions {
    sessions: Mutex<HashMap<String, Session>>,
}

#[derive(Debug, Clone)]
struct Session {
    /// The operator token, as an Authorization header value.
    authorization: String,
    csrf: String,
    expires: Instant,
}

impl Sessions {
    fn start(&self, authorization: String) -> (String, String) {
        let id = random_token();
        let csrf = random_token();
        let mut sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        sessions.retain(|_, session| session.expires > now);
        if sessions.len() >= MAX_SESSIONS
            && let Some(oldest) = sessions
                .iter()
                .min_by_key(|(_, session)| session.expires)
                .map(|(id, _)| id.clone())
        {
            sessions.remove(&oldest);
        }
        sessions.insert(
            id.clone(),
            Session {
                authorization,
                csrf: csrf.clone(),
                expires: now + SESSION_LIFETIME,
            },
        );
        (id, csrf)
    }

    fn get(&self, id: &str) -> Option<Session> {
        let sessions = self.sessions.lock().unwrap_or_else(PoisonError::into_inner);
        sessions
            .get(id)
            .filter(|session| session.expires > Instant::now())
            .cloned()
    }

    fn end(&self, id: &str) {
        self.sessions
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(id);
    }
}

/// 128 random bits, base64url.
fn random_token() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The visitor of a console page.
#[derive(Debug, Clone)]
pub struct Visitor {
    /// The display language.
    pub lang: Lang,
    /// The logged-in operator, if any.
    pub operator: Option<Operator>,
    /// This node's member id.
    pub member: String,
    /// The CSRF token forms must carry.
    csrf: String,
    /// The CSRF cookie must be set (a visitor without a session and without the cookie).
    new_csrf: bool,
    /// The language cookie must be set (`?lang=` chose one).
    new_lang: bool,
    /// The path and query of this page, for the language switch.
    path: String,
    /// Refresh the page after this many seconds.
    pub refresh: Option<u32>,
    /// Cookies to set beside the defaults (login and logout).
    extra_cookies: Vec<String>,
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

impl FromRequestParts<AppState> for Visitor {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Visitor, Response> {
        let console = parts
            .extensions
            .get::<Arc<Console>>()
            .cloned()
            .ok_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response())?;
        let query_lang = parts.uri.query().and_then(|query| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix("lang="))
                .map(str::to_owned)
        });
        let lang_code = query_lang
            .as_deref()
            .or_else(|| cookie(&parts.headers, LANG_COOKIE));
        let lang = if lang_code == Some("en") {
            Lang::En
        } else {
            Lang::Zh
        };
        let session =
            cookie(&parts.headers, SESSION_COOKIE).and_then(|id| console.sessions.get(id));
        let operator = session
            .as_ref()
            .and_then(|session| state.tokens.authenticate(Some(&session.authorization)).ok());
        let (csrf, new_csrf) = match (&session, cookie(&parts.headers, CSRF_COOKIE)) {
            (Some(session), _) if operator.is_some() => (session.csrf.clone(), false),
            (_, Some(value)) if value.len() >= 16 => (value.to_owned(), false),
            _ => (random_token(), true),
        };
        let path = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        Ok(Visitor {
            lang,
            operator,
            member: state.member.id.to_string(),
            csrf,
            new_csrf,
            new_lang: query_lang.is_some(),
            path,
            refresh: None,
            extra_cookies: Vec::new(),
        })
    }
}

impl Visitor {
    /// The hidden CSRF field every form carries.
    pub fn csrf_field(&self) -> Markup {
        html! { input type="hidden" name="csrf" value=(self.csrf); }
    }

    /// Whether a submitted CSRF token is this visitor's (constant time).
    pub fn csrf_ok(&self, submitted: Option<&str>) -> bool {
        let Some(submitted) = submitted else {
            return false;
        };
        let (a, b) = (submitted.as_bytes(), self.csrf.as_bytes());
        a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    /// This page in the other language.
    pub fn other_lang_link(&self) -> String {
        let other = if self.lang == Lang::Zh { "en" } else { "zh" };
        let (path, query) = self.path.split_once('?').unwrap_or((&self.path, ""));
        let mut pairs: Vec<&str> = query
            .split('&')
            .filter(|pair| !pair.is_empty() && !pair.starts_with("lang="))
            .collect();
        let lang = format!("lang={other}");
        pairs.push(&lang);
        format!("{path}?{}", pairs.join("&"))
    }

    /// Sets the cookies this visit needs on a response.
    pub fn set_cookies(&self, headers: &mut HeaderMap) {
        let mut cookies = self.extra_cookies.clone();
        if self.new_csrf {
            cookies.push(format!(
                "{CSRF_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict",
                self.csrf
            ));
        }
        if self.new_lang {
            let code = if self.lang == Lang::En { "en" } else { "zh" };
            cookies.push(format!(
                "{LANG_COOKIE}={code}; Path=/; SameSite=Lax; Max-Age=31536000"
            ));
        }
        for cookie in cookies {
            if let Ok(value) = HeaderValue::from_str(&cookie) {
                headers.append(header::SET_COOKIE, value);
            }
        }
    }

    /// What a form without this visitor's CSRF token gets: 403 and a page saying so.
    pub fn expired_form(&self) -> Response {
        super::error_page(self, StatusCode::FORBIDDEN, self.expired_message())
    }

    /// The message of an expired (or forged) form.
    pub fn expired_message(&self) -> &'static str {
        self.lang.pick(
            "表单已过期，请重试。",
            "The form expired; please try again.",
        )
    }
}

/// A logged-in visitor: a handler that takes `Staff` sends everyone else to the login page
/// (and back here after it).
#[derive(Debug, Clone)]
pub struct Staff {
    /// The visitor.
    pub visitor: Visitor,
    /// Who is logged in.
    pub operator: Operator,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Staff, Response> {
        let visitor = Visitor::from_request_parts(parts, state).await?;
        match visitor.operator.clone() {
            Some(operator) => Ok(Staff { visitor, operator }),
            None => {
                let next = urlencode(&visitor.path);
                let mut response = Redirect::to(&format!("/login?next={next}")).into_response();
                visitor.set_cookies(response.headers_mut());
                Err(response)
            }
        }
    }
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                (byte as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
}

#[derive(Debug, Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

/// Only local paths are followed after a login (no open redirect).
fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(next) if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') => {
            next
        }
        _ => "/console/credentials",
    }
}

fn login_form(visitor: &Visitor, next: &str, error: Option<&str>) -> Markup {
    let t = |zh, en| visitor.lang.pick(zh, en);
    html! {
        h1 { (t("工作人员登录", "Staff login")) }
        @if let Some(error) = error {
            p.error #login-error role="alert" { (error) }
        }
        form #login method="post" action="/login" {
            (visitor.csrf_field())
            input type="hidden" name="next" value=(next);
            label for="token" { (t("操作令牌", "Operator token")) }
            input #token type="password" name="token" autocomplete="current-password" required
                placeholder="trt_…" aria-describedby="token-help";
            p.help #token-help { (t(
                "由节点管理员用 registry-node token create 生成。",
                "Created by the node's administrator with registry-node token create."
            )) }
            button type="submit" { (t("登录", "Log in")) }
        }
    }
}

async fn login_page(visitor: Visitor, Query(query): Query<LoginQuery>) -> Response {
    let next = safe_next(query.next.as_deref()).to_owned();
    let title = visitor.lang.pick("登录", "Log in");
    page(
        &visitor,
        StatusCode::OK,
        title,
        login_form(&visitor, &next, None),
    )
}

#[derive(Debug, Deserialize)]
struct LoginForm {
    token: String,
    csrf: Option<String>,
    next: Option<String>,
}

async fn login(
    mut visitor: Visitor,
    Extension(console): Extension<Arc<Console>>,
    axum::extract::State(state): axum::extract::State<AppState>,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = safe_next(form.next.as_deref()).to_owned();
    let title = visitor.lang.pick("登录", "Log in");
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        let message = visitor.expired_message();
        return page(
            &visitor,
            StatusCode::FORBIDDEN,
            title,
            login_form(&visitor, &next, Some(message)),
        );
    }
    let authorization = format!("Bearer {}", form.token.trim());
    match state.tokens.authenticate(Some(&authorization)) {
        Ok(_) => {
            let (id, _) = console.sessions.start(authorization);
            visitor.extra_cookies.push(format!(
                "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
                SESSION_LIFETIME.as_secs()
            ));
            let mut response = Redirect::to(&next).into_response();
            visitor.set_cookies(response.headers_mut());
            response
        }
        Err(_) => {
            let message = visitor
                .lang
                .pick("令牌无效或已吊销。", "The token is invalid or revoked.");
            page(
                &visitor,
                StatusCode::UNAUTHORIZED,
                title,
                login_form(&visitor, &next, Some(message)),
            )
        }
    }
}

#[derive(Debug, Deserialize)]
struct LogoutForm {
    csrf: Option<String>,
}

async fn logout(
    mut visitor: Visitor,
    Extension(console): Extension<Arc<Console>>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return super::error_page(&visitor, StatusCode::FORBIDDEN, visitor.expired_message());
    }
    if let Some(id) = cookie(&headers, SESSION_COOKIE) {
        console.sessions.end(id);
    }
    visitor.extra_cookies.push(format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    ));
    let mut response = Redirect::to("/").into_response();
    visitor.set_cookies(response.headers_mut());
    response
}

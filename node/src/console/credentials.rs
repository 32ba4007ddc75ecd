//! Credentials of this member's log for office staff: search, one credential with its log
//! entry, inclusion proof, status and QR code, status changes, downloads, and the
//! accreditations of delegated issuers.
//!
//! Every operator sees what the API lets its token read
//! ([`crate::services::read_access`]): an issuer token only its own issuer's credentials,
//! in search results as on a credential's page and in downloads. The reads and the search
//! are [`crate::services::search`]'s; this module draws the pages.
//!
//! A full ID number never goes into a URL: the search form is posted, and a `GET` carrying
//! one is refused without searching. Searches by full ID number confirm who holds a
//! credential, so each is rate-limited per operator (429 beyond) and recorded in the audit
//! log before its answer is sent ([`search::search_by_full_id`]).
//!
//! Why one file: the search, a credential's page, its status change and its downloads are
//! one page family drawn from the same row and link helpers; each is a page of markup over a
//! service call. Splitting it by page is the next step when a page grows.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Form, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};
use talent_core::credential::CredentialType;
use talent_core::credential::CredentialView;
use talent_core::identifiers::CredentialId;
use talent_core::status::CredentialStatus;

use super::issue::type_label;
use super::session::{Staff, Visitor};
use super::{page, trusted_svg};
use crate::api::error::ApiError;
use crate::issuers::Issuers;
use crate::services::accreditations::{self, AccreditationStanding};
use crate::services::search::{self, Criteria, Found, IdSearch, IdSearchError, OwnCredential};
use crate::services::{HeldLogs, bundles};
use crate::state::AppState;
use crate::tokens::Operator;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/credentials", get(search).post(search_posted))
        .route("/console/credentials/{id}", get(detail))
        .route(
            "/console/credentials/{id}/credential.json",
            get(download_credential),
        )
        .route(
            "/console/credentials/{id}/bundle.json",
            get(download_bundle),
        )
        .route("/console/credentials/{id}/status", post(change_status))
        .route("/console/accreditations", get(accreditations))
}

#[derive(Debug, Clone, Default, Deserialize)]
struct SearchQuery {
    /// The form's CSRF token (posted searches).
    csrf: Option<String>,
    /// Name, masked or full ID number, or credential id.
    q: Option<String>,
    #[serde(rename = "type")]
    credential_type: Option<String>,
    /// 金凤凰 category or level.
    category: Option<String>,
    /// Issued on or after (YYYY-MM-DD).
    from: Option<String>,
    /// Issued on or before (YYYY-MM-DD).
    to: Option<String>,
}

impl SearchQuery {
    /// What the search service is asked.
    fn criteria(&self) -> Criteria {
        Criteria {
            text: self.q.clone(),
            credential_type: self.credential_type.clone(),
            class: self.category.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
        }
    }
}

fn text_of<'a>(value: &'a Value, pointer: &str) -> &'a str {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .unwrap_or_default()
}

/// `GET /console/credentials`: the search form, and a search by name, masked ID number,
/// credential id, type, category or date. A full ID number here is refused, not searched.
async fn search(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Query(query): Query<SearchQuery>,
) -> Response {
    if query.q.as_deref().is_some_and(search::holds_full_id) {
        let message = visitor.lang.pick(
            "身份证号不能放在网址中，未执行查询：请在下方表单中输入并提交。",
            "An ID number may not be put in a URL; nothing was searched. Enter it in the form below.",
        );
        let query = SearchQuery { q: None, ..query };
        return search_page(
            &visitor,
            StatusCode::BAD_REQUEST,
            &query,
            Some(message),
            None,
        );
    }
    answer_search(&visitor, &state, operator, query).await
}

/// `POST /console/credentials`: the search form as sent. A search by full ID number is
/// rate-limited per operator and written to the audit log before it is answered.
async fn search_posted(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Form(query): Form<SearchQuery>,
) -> Response {
    if !visitor.csrf_ok(query.csrf.as_deref()) {
        return visitor.expired_form();
    }
    let Some(full_id) = search::full_id_in(query.q.as_deref()) else {
        return answer_search(&visitor, &state, operator, query).await;
    };
    let t = |zh, en| visitor.lang.pick(zh, en);
    let (logs, issuers) = (state.held_logs(), Arc::clone(&state.issuers));
    let (limiter, audit) = (
        Arc::clone(&state.id_searches),
        Arc::clone(&state.id_search_audit),
    );
    let criteria = query.criteria();
    let searched = tokio::task::spawn_blocking(move || {
        search::search_by_full_id(
            &logs, &issuers, &limiter, &audit, &operator, &full_id, &criteria,
        )
    })
    .await;
    match searched {
        Ok(Ok(IdSearch::Answered(found))) => {
            search_page(&visitor, StatusCode::OK, &query, None, Some(found))
        }
        Ok(Ok(IdSearch::RateLimited(wait))) => rate_limited(&visitor, &query, wait),
        Ok(Err(IdSearchError::NotAudited(error))) => {
            tracing::error!(%error, "ID-number search not audited");
            super::error_page(
                &visitor,
                StatusCode::SERVICE_UNAVAILABLE,
                t(
                    "审计日志无法写入，按身份证号查询暂不可用。",
                    "The audit log cannot be written; searching by ID number is unavailable.",
                ),
            )
        }
        _ => super::error_page(
            &visitor,
            StatusCode::INTERNAL_SERVER_ERROR,
            t("查询失败。", "The search failed."),
        ),
    }
}

/// What an operator whose allowance of searches by ID number is spent gets: 429, saying
/// when to try again.
fn rate_limited(visitor: &Visitor, query: &SearchQuery, wait: std::time::Duration) -> Response {
    let minutes = wait.as_secs().div_ceil(60).max(1);
    let message = if wait == std::time::Duration::MAX {
        visitor
            .lang
            .pick(
                "按身份证号查询的次数已用完，请联系节点管理员。",
                "You have used every search by ID number allowed; ask the node's administrator.",
            )
            .to_owned()
    } else {
        match visitor.lang {
            super::Lang::Zh => {
                format!("按身份证号查询过于频繁，未执行查询。请 {minutes} 分钟后再试。")
            }
            super::Lang::En => format!(
                "Too many searches by ID number; nothing was searched. Try again in {minutes} min."
            ),
        }
    };
    let query = SearchQuery {
        q: None,
        ..query.clone()
    };
    let mut response = search_page(
        visitor,
        StatusCode::TOO_MANY_REQUESTS,
        &query,
        Some(&message),
        None,
    );
    let seconds = wait.as_secs().clamp(1, 24 * 3600);
    if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

async fn answer_search(
    visitor: &Visitor,
    state: &AppState,
    operator: Operator,
    query: SearchQuery,
) -> Response {
    let (logs, issuers) = (state.held_logs(), Arc::clone(&state.issuers));
    let criteria = query.criteria();
    let result =
        tokio::task::spawn_blocking(move || search::search(&logs, &issuers, &operator, &criteria))
            .await;
    match result {
        Ok(Ok(found)) => search_page(visitor, StatusCode::OK, &query, None, Some(found)),
        _ => super::error_page(
            visitor,
            StatusCode::INTERNAL_SERVER_ERROR,
            visitor.lang.pick("查询失败。", "The search failed."),
        ),
    }
}

/// The search page: the form (posted, so that an ID number stays out of the URL), an
/// optional notice, and the results when a search ran.
fn search_page(
    visitor: &Visitor,
    status: StatusCode,
    query: &SearchQuery,
    notice: Option<&str>,
    found: Option<Found>,
) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let searched = query.q.is_some() || query.credential_type.is_some() || query.category.is_some();
    let value = |v: &Option<String>| v.clone().unwrap_or_default();
    let body = html! {
        h1 { (t("查询证书", "Search credentials")) }
        @if let Some(notice) = notice {
            p.error #search-refused role="alert" { (notice) }
        }
        form #search-form method="post" action="/console/credentials" role="search" {
            (visitor.csrf_field())
            div.row {
                div.field {
                    label for="q" { (t("姓名、身份证号或证书编号", "Name, ID number or credential id")) }
                    input #q type="search" name="q" value=(value(&query.q)) autocomplete="off";
                }
                div.field {
                    label for="type" { (t("类型", "Type")) }
                    select #type name="type" {
                        option value="" { (t("全部", "All")) }
                        @for ty in CredentialType::ALL {
                            option value=(ty.as_str()) selected[query.credential_type.as_deref() == Some(ty.as_str())] {
                                (type_label(visitor.lang, ty))
                            }
                        }
                    }
                }
                div.field {
                    label for="category" { (t("类别/级别", "Category/level")) }
                    input #category type="text" name="category" value=(value(&query.category));
                }
                div.field {
                    label for="from" { (t("生效日期自", "Valid from, from")) }
                    input #from type="date" name="from" value=(value(&query.from));
                }
                div.field {
                    label for="to" { (t("至", "to")) }
                    input #to type="date" name="to" value=(value(&query.to));
                }
            }
            button type="submit" { (t("查询", "Search")) }
            p.help { (t(
                "按完整身份证号查询会记入审计日志，并限制每人查询次数。",
                "Searches by full ID number are written to the audit log and limited per operator."
            )) }
        }
        @if let Some(Found { hits, scanned }) = &found {
            p.help { (t("在本节点最近的", "Searched the newest ")) (scanned) (t(" 条日志记录中查询。", " log entries of this node.")) }
            @if hits.is_empty() {
                p #no-results { (if searched { t("没有找到。", "Nothing found.") } else { t("暂无证书。", "No credentials yet.") }) }
            } @else {
                table #results {
                    (visitor.lang.table_head(&[("姓名", "Name"), ("身份证号", "ID number"), ("类型", "Type"), ("类别/级别", "Category/level"), ("生效日期", "Valid from"), ("状态", "Status")]))
                    tbody {
                        @for hit in hits {
                            tr {
                                td { a href={ "/console/credentials/" (hit.id.trim_start_matches("urn:uuid:")) } { (hit.name) } }
                                td { (hit.masked) }
                                td { (hit.credential_type.map(|ty| type_label(visitor.lang, ty)).unwrap_or_default()) }
                                td { (hit.class) }
                                td { (hit.valid_from) }
                                td { (status_label(visitor, hit.status)) }
                            }
                        }
                    }
                }
            }
        }
    };
    page(visitor, status, t("查询", "Search"), body)
}

fn status_label(visitor: &Visitor, status: CredentialStatus) -> String {
    format!(
        "{} {}",
        status.code(),
        visitor.lang.pick(status.label_zh(), status.label_en())
    )
}

/// Own credential `id` (as the page's path gives it) if `operator` may read it.
fn load(
    logs: &HeldLogs,
    issuers: &Issuers,
    operator: &Operator,
    id: &str,
) -> Result<OwnCredential, ApiError> {
    let id = CredentialId::parse_lenient(id)
        .map_err(|_| ApiError::InvalidCredentialId(id.to_owned()))?;
    Ok(search::own_credential(logs, issuers, operator, id)?)
}

/// What the QR code on a credential leads to: this node's verification page for it, in
/// this member's log (an id alone could name another member's credential too).
fn verify_link(state: &AppState, id: CredentialId) -> String {
    format!(
        "{}/verify?credential={}&member={}",
        state.public_url,
        id,
        state.member.id.as_str()
    )
}

fn qr_svg(link: &str) -> Option<String> {
    let code =
        qrcode::QrCode::with_error_correction_level(link.as_bytes(), qrcode::EcLevel::M).ok()?;
    Some(
        code.render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .quiet_zone(true)
            .build(),
    )
}

#[derive(Debug, Default, Deserialize)]
struct DetailQuery {
    issued: Option<String>,
    changed: Option<String>,
}

async fn detail(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<DetailQuery>,
) -> Response {
    let (logs, issuers) = (state.held_logs(), Arc::clone(&state.issuers));
    let loaded = tokio::task::spawn_blocking(move || {
        let logged = load(&logs, &issuers, &operator, &id)?;
        // Under a witnessed checkpoint when one contains the entry, as bundles are.
        let checkpoint = logs.own_checkpoint_for(&logs.log.head(), logged.index);
        let proof = logs
            .log
            .inclusion_proof_at(logged.index, checkpoint.size)
            .map_err(|error| ApiError::Internal(error.into()))?;
        Ok::<_, ApiError>((logged, proof, checkpoint))
    })
    .await;
    let (logged, proof, checkpoint) = match loaded {
        Ok(Ok(found)) => found,
        Ok(Err(error)) => return api_error_page(&visitor, &error),
        Err(_) => {
            return super::error_page(
                &visitor,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            );
        }
    };
    page(
        &visitor,
        StatusCode::OK,
        &logged.id.to_string(),
        detail_markup(&visitor, &state, &logged, &proof, &checkpoint, &query),
    )
}

fn api_error_page(visitor: &Visitor, error: &ApiError) -> Response {
    let status = error.status();
    let message = if status.is_server_error() {
        visitor
            .lang
            .pick("内部错误。", "Internal error.")
            .to_owned()
    } else {
        error.to_string()
    };
    super::error_page(visitor, status, &message)
}

fn detail_markup(
    visitor: &Visitor,
    state: &AppState,
    logged: &OwnCredential,
    proof: &talent_tlog::merkle::InclusionProof,
    checkpoint: &crate::federation::witness::ProofCheckpoint,
    query: &DetailQuery,
) -> Markup {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let credential = &logged.credential;
    let view = CredentialView::of(credential);
    let ty = view.credential_type();
    let mut subject_fields: Vec<(&String, &Value)> =
        view.subject().as_object().into_iter().flatten().collect();
    subject_fields.sort_by_key(|(name, _)| talent_forms::form::display_order(name));
    let link = verify_link(state, logged.id);
    let uuid = logged.id.uuid();
    let pretty = serde_json::to_string_pretty(credential).unwrap_or_default();
    let proof_json = serde_json::to_string_pretty(&json!(proof)).unwrap_or_default();
    html! {
        @if query.issued.is_some() {
            p.notice #issued role="status" { (t("已签发并记入日志。", "Issued and logged.")) }
        }
        @if query.changed.is_some() {
            p.notice #status-changed role="status" { (t("状态已变更并记入日志。", "Status changed and logged.")) }
        }
        h1 { (ty.map(|ty| type_label(visitor.lang, ty)).unwrap_or_default()) }
        div.detail {
            section {
                dl {
                    dt { (t("证书编号", "Credential id")) }
                    dd #credential-id { (logged.id) }
                    dt { (t("状态", "Status")) }
                    dd #credential-status data-status=(logged.status.code()) { (status_label(visitor, logged.status)) }
                    dt { (t("签发人", "Issuer")) }
                    dd.mono { (text_of(credential, "/issuer")) }
                    dt { (t("生效", "Valid from")) }
                    dd { (text_of(credential, "/validFrom")) }
                    @if let Some(until) = credential.get("validUntil").and_then(Value::as_str) {
                        dt { (t("有效期至", "Valid until")) }
                        dd { (until) }
                    }
                    @for (name, value) in &subject_fields {
                        dt { (subject_label(ty, name, visitor)) }
                        dd { (display_value(value)) }
                    }
                    dt { (t("日志位置", "Log index")) }
                    dd #log-index { (logged.index) }
                    dt { (t("持证人查询码", "Holder access code")) }
                    dd.mono #holder-code title=(t("随证书交给持证人：凭它在 /holder 查看谁核验过此证书", "Hand it to the talent with the credential: it opens /holder, who verified this credential")) { (state.store.holder_code(logged.id)) }
                }
                p.actions {
                    a #download-credential href={ "/console/credentials/" (uuid) "/credential.json" } download { (t("下载证书 JSON", "Download credential JSON")) }
                    " "
                    a #download-bundle href={ "/console/credentials/" (uuid) "/bundle.json" } download { (t("下载离线证明包", "Download proof bundle")) }
                }
            }
            section #qr aria-label=(t("核验二维码", "Verification QR code")) {
                @if let Some(svg) = qr_svg(&link) { (trusted_svg(svg)) }
                p.help { (t("扫码核验：", "Scan to verify: ")) a href=(link) { (link) } }
            }
        }
        (status_form(visitor, logged))
        details {
            summary { (t("日志检查点与包含证明", "Checkpoint and inclusion proof")) }
            h2 { (t("检查点", "Checkpoint")) }
            @if state.federation.is_some() && !checkpoint.witnessed {
                p.notice #not-witnessed { (t("尚未获得法定数量见证人的联署。", "Not yet witnessed by a quorum.")) }
            }
            pre #checkpoint { (String::from_utf8_lossy(&checkpoint.note)) }
            h2 { (t("包含证明", "Inclusion proof")) }
            pre #inclusion-proof { (proof_json) }
        }
        details {
            summary { (t("已签名证书", "Signed credential")) }
            pre #credential-json { (pretty) }
        }
    }
}

fn subject_label(ty: Option<CredentialType>, name: &str, visitor: &Visitor) -> String {
    match ty {
        Some(ty) => {
            let (zh, en) = talent_forms::form::label(ty, name);
            visitor.lang.pick(zh, en).to_owned()
        }
        None => name.to_owned(),
    }
}

fn display_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("、"),
        Value::Object(object) if object.values().all(Value::is_string) => object
            .values()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" · "),
        Value::Bool(true) => "是 yes".into(),
        Value::Bool(false) => "否 no".into(),
        other => other.to_string(),
    }
}

fn status_form(visitor: &Visitor, logged: &OwnCredential) -> Markup {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let uuid = logged.id.uuid();
    let choices: Vec<CredentialStatus> = CredentialStatus::ALL
        .into_iter()
        .filter(|next| {
            *next != CredentialStatus::Expired && logged.status.check_transition(*next).is_ok()
        })
        .collect();
    html! {
        section #status-section {
            h2 { (t("变更状态", "Change status")) }
            @if choices.is_empty() {
                p { (t("该状态不能再变更。", "This status cannot change any more.")) }
            } @else {
                form #status-form method="post" action={ "/console/credentials/" (uuid) "/status" } {
                    (visitor.csrf_field())
                    div.row {
                        div.field {
                            label for="status" { (t("新状态", "New status")) }
                            select #status name="status" required {
                                @for status in &choices {
                                    option value=(status.code()) { (status_label(visitor, *status)) }
                                }
                            }
                        }
                        div.field {
                            label for="reason" { (t("原因", "Reason")) }
                            input #reason type="text" name="reason" required maxlength="500";
                        }
                        div.field {
                            label for="effective" { (t("生效日期（可选）", "Effective date (optional)")) }
                            input #effective type="date" name="effective";
                        }
                        div.field {
                            label for="successor" { (t("转入后的证书编号（06 办理转出）", "Successor credential (06 transferred out)")) }
                            input #successor type="text" name="successor" placeholder="urn:uuid:…";
                        }
                    }
                    button #status-submit type="submit" { (t("签名并记入日志", "Sign and log")) }
                }
            }
        }
    }
}

#[derive(Debug, Deserialize)]
struct StatusForm {
    csrf: Option<String>,
    status: String,
    reason: String,
    effective: Option<String>,
    successor: Option<String>,
}

async fn change_status(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<StatusForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return visitor.expired_form();
    }
    let Ok(credential_id) = CredentialId::parse_lenient(&id) else {
        return api_error_page(&visitor, &ApiError::InvalidCredentialId(id));
    };
    let mut body = json!({ "status": form.status.trim(), "reason": form.reason.trim() });
    if let Some(effective) = form
        .effective
        .as_deref()
        .map(str::trim)
        .filter(|e| !e.is_empty())
    {
        body["effective"] = Value::from(format!("{effective}T00:00:00+08:00"));
    }
    if let Some(successor) = form
        .successor
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        body["successor"] = Value::from(successor);
    }
    match state
        .issuance
        .change_status(&operator, credential_id, &body)
        .await
    {
        Ok(_) => Redirect::to(&format!(
            "/console/credentials/{}?changed=1",
            credential_id.uuid()
        ))
        .into_response(),
        Err(error) => api_error_page(&visitor, &ApiError::from(error)),
    }
}

/// A date as the offices read it: in China Standard Time (forms enter dates at midnight
/// +08:00).
fn china_date(time: chrono::DateTime<chrono::Utc>) -> String {
    match chrono::FixedOffset::east_opt(8 * 3600) {
        Some(china) => time.with_timezone(&china).format("%Y-%m-%d").to_string(),
        None => time.format("%Y-%m-%d").to_string(),
    }
}

fn json_download(bytes: Vec<u8>, name: &str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

async fn download_credential(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let (logs, issuers) = (state.held_logs(), Arc::clone(&state.issuers));
    match tokio::task::spawn_blocking(move || load(&logs, &issuers, &operator, &id)).await {
        Ok(Ok(logged)) => {
            let bytes = serde_json::to_vec_pretty(&logged.credential).unwrap_or_default();
            json_download(bytes, &format!("{}.json", logged.id.uuid()))
        }
        Ok(Err(error)) => api_error_page(&visitor, &error),
        Err(_) => super::error_page(
            &visitor,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        ),
    }
}

async fn download_bundle(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Response {
    let Ok(credential_id) = CredentialId::parse_lenient(&id) else {
        return api_error_page(&visitor, &ApiError::InvalidCredentialId(id));
    };
    match bundles::bundle_for(state.bundle_sources(), operator, credential_id, Vec::new()).await {
        Ok(bundle) => {
            let bytes = serde_json::to_vec_pretty(&bundle).unwrap_or_default();
            json_download(bytes, &format!("{}.bundle.json", credential_id.uuid()))
        }
        Err(error) => api_error_page(&visitor, &ApiError::from(error)),
    }
}

async fn accreditations(Staff { visitor, .. }: Staff, State(state): State<AppState>) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let (logs, issuers) = (state.held_logs(), Arc::clone(&state.issuers));
    let now = chrono::Utc::now();
    let standings = match tokio::task::spawn_blocking(move || {
        accreditations::own(&logs, &issuers, now)
    })
    .await
    {
        Ok(Ok(standings)) => standings,
        Ok(Err(error)) => return api_error_page(&visitor, &ApiError::from(error)),
        Err(_) => {
            return super::error_page(
                &visitor,
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            );
        }
    };
    let mut rows = Vec::new();
    for AccreditationStanding {
        accreditation,
        status,
        in_force,
    } in standings
    {
        let scope = &accreditation.scope;
        let mut parts: Vec<String> = vec![
            scope
                .types
                .iter()
                .map(|ty| type_label(visitor.lang, *ty))
                .collect::<Vec<_>>()
                .join("、"),
        ];
        for list in [&scope.levels, &scope.categories, &scope.districts]
            .into_iter()
            .flatten()
        {
            parts.push(list.join("、"));
        }
        let window = format!(
            "{} – {}",
            china_date(accreditation.valid_from),
            accreditation
                .valid_until
                .map(china_date)
                .unwrap_or_default()
        );
        let scope = parts.join(" · ");
        rows.push((accreditation, scope, window, status, in_force));
    }
    let body = html! {
        h1 { (t("授权管理", "Accreditations")) }
        p { a.button #new-accreditation href="/console/issue/IssuerAccreditationCredential" { (t("新增授权", "New accreditation")) } }
        @if rows.is_empty() {
            p #no-accreditations { (t("暂无授权。", "No accreditations yet.")) }
        } @else {
            table #accreditations {
                (visitor.lang.table_head(&[("被授权方", "Issuer"), ("授权范围", "Scope"), ("有效期", "Window"), ("状态", "Status")]))
                tbody {
                    @for (accreditation, scope, window, status, in_force) in &rows {
                        tr {
                            td {
                                a href={ "/console/credentials/" (accreditation.id.uuid()) } { (accreditation.name) }
                                br; span.mono.small { (accreditation.issuer) }
                            }
                            td { (scope) }
                            td { (window) }
                            td { (status_label(&visitor, *status)) " · " (if *in_force { t("生效中", "in force") } else { t("未生效", "not in force") }) }
                        }
                    }
                }
            }
        }
        p.help { (t("撤销授权：打开该授权证书，把状态变更为 03 撤销或 07 吊销；撤销不追溯既往。",
                    "To withdraw an accreditation, open it and change its status to 03 or 07; withdrawal is not retroactive.")) }
    };
    page(
        &visitor,
        StatusCode::OK,
        t("授权管理", "Accreditations"),
        body,
    )
}

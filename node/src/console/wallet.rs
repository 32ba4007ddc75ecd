//! Wallet pages: the employer's presentation request (no login) — purpose, the claims
//! needed, a region — shown as an `openid4vp://` QR code, and its result, read with the
//! result token the page keeps in a form field (never in a URL); and the office's credential
//! offer (staff) — an `openid-credential-offer://` QR code and the transaction code to tell
//! the talent. Both call the same `wallets` services as the API (docs/holders.md).

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use maud::{Markup, PreEscaped, html};
use serde::Deserialize;
use serde_json::Value;
use talent_core::identifiers::CredentialId;

use super::credentials::qr_svg;
use super::session::Visitor;
use super::{error_page, page};
use crate::state::AppState;
use crate::wallets::issuer::{self, IssuerContext};
use crate::wallets::verifier::{self, Ask, VerifierContext};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/wallet/request", get(request_page).post(create_request))
        .route("/wallet/result", post(show_result))
        .route("/wallet/offer", get(offer_page).post(create_offer))
}

#[derive(Debug, Deserialize)]
struct RequestForm {
    csrf: Option<String>,
    purpose: String,
    claims: String,
    #[serde(default)]
    region: String,
    #[serde(default)]
    verifier: String,
}

#[derive(Debug, Deserialize)]
struct ResultForm {
    csrf: Option<String>,
    token: String,
}

#[derive(Debug, Deserialize)]
struct OfferForm {
    csrf: Option<String>,
    #[serde(rename = "credentialId")]
    credential_id: String,
}

async fn request_page(visitor: Visitor) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let body = html! {
        h1 { (t("请求出示数字钱包中的证书", "Ask for a credential from a wallet")) }
        p { (t("人才用数字钱包扫码，只出示您勾选的信息；姓名和证件号不出示，除非您要求且对方同意。",
               "The talent scans with their wallet and discloses only what you ask for; no name or ID unless you ask and they agree.")) }
        form #wallet-request-form method="post" action="/wallet/request" {
            (visitor.csrf_field())
            div.field { label for="verifier" { (t("核验单位", "Who asks")) }
                input #verifier type="text" name="verifier" maxlength="100"; }
            div.field { label for="purpose" { (t("目的", "Purpose")) }
                input #purpose type="text" name="purpose" required maxlength="200" value=(t("入职核验", "onboarding check")); }
            div.field { label for="claims" { (t("需要的信息（逗号分隔）", "Claims needed (comma-separated)")) }
                input #claims type="text" name="claims" required value="category,tier"; }
            div.field { label for="region" { (t("互认地区（可选）", "Recognised in region (optional)")) }
                input #region type="text" name="region" value=(visitor.member); }
            button #wallet-request-submit type="submit" { (t("生成二维码", "Make the QR code")) }
        }
    };
    page(
        &visitor,
        StatusCode::OK,
        t("钱包出示请求", "Wallet request"),
        body,
    )
}

async fn create_request(
    visitor: Visitor,
    State(state): State<AppState>,
    Form(form): Form<RequestForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return visitor.expired_form();
    }
    let t = |zh, en| visitor.lang.pick(zh, en);
    let blank = |text: &str| (!text.trim().is_empty()).then(|| text.trim().to_owned());
    let ask = Ask {
        purpose: form.purpose.trim().to_owned(),
        claims: form
            .claims
            .split([',', '，', ' '])
            .filter(|c| !c.is_empty())
            .map(str::to_owned)
            .collect(),
        region: blank(&form.region),
        credential_type: None,
        verifier: blank(&form.verifier),
    };
    let context = VerifierContext {
        holders: &state.wallets,
        issuance: &state.issuance,
        batcher: &state.verifier,
        sources: state.verification_sources(),
        public_url: &state.public_url,
    };
    let made = match verifier::create_request(&context, ask) {
        Ok(made) => made,
        Err(error) => return error_page(&visitor, status_of(error.status()), &error.to_string()),
    };
    let body = html! {
        h1 { (t("请人才扫码出示", "Let the talent scan this")) }
        (qr(&made.uri))
        pre #request-uri { (made.uri) }
        p { (t("有效期 5 分钟。人才出示后点击下面的按钮查看结果。", "Open for 5 minutes. Once the talent has presented, show the result.")) }
        (result_form(&visitor, &made.result_token))
    };
    page(
        &visitor,
        StatusCode::CREATED,
        t("钱包出示请求", "Wallet request"),
        body,
    )
}

fn result_form(visitor: &Visitor, token: &str) -> Markup {
    html! {
        form #wallet-result-form method="post" action="/wallet/result" {
            (visitor.csrf_field())
            input type="hidden" name="token" value=(token);
            button #wallet-result-submit type="submit" { (visitor.lang.pick("查看结果", "Show the result")) }
        }
    }
}

async fn show_result(
    visitor: Visitor,
    State(state): State<AppState>,
    Form(form): Form<ResultForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return visitor.expired_form();
    }
    let t = |zh, en| visitor.lang.pick(zh, en);
    let result = match verifier::result(&state.wallets, &form.token) {
        Ok(result) => result,
        Err(error) => return error_page(&visitor, status_of(error.status()), &error.to_string()),
    };
    let text = |value: &Value| {
        value
            .as_str()
            .map(str::to_owned)
            .unwrap_or_else(|| value.to_string())
    };
    let body = html! {
        h1 { (t("出示结果", "Presentation result")) }
        @if result["status"] == "pending" {
            p #wallet-pending { (t("尚未出示。", "Not presented yet.")) }
            (result_form(&visitor, &form.token))
        } @else if let Some(error) = result.get("error") {
            p.error #wallet-refused role="alert" { (t("出示被拒绝：", "Refused: ")) (text(&error["message"])) }
        } @else {
            p #wallet-verdict .{ @if result["verified"] == true { "ok" } @else { "error" } } {
                @if result["verified"] == true { (t("证书有效，已核验。", "Valid: verified against the log.")) }
                @else { (t("证书未通过核验。", "The credential did not verify.")) }
            }
            table #disclosed {
                (visitor.lang.table_head(&[("出示的信息", "Disclosed"), ("值", "Value")]))
                tbody {
                    tr { td { (t("类型", "Type")) } td { (text(&result["credential"]["type"])) } }
                    tr { td { (t("签发地区", "Issuing region")) } td { (text(&result["credential"]["region"])) } }
                    @if let Some(claims) = result["disclosed"].as_object() {
                        @for (name, value) in claims {
                            tr { td { (name) } td { (text(value)) } }
                        }
                    }
                }
            }
            @if let Some(recognition) = result["recognition"].as_object() {
                p #wallet-recognition {
                    (text(&recognition["region"])) ": "
                    @if recognition["recognized"] == true { (t("予以互认", "recognised")) } @else { (t("不予互认", "not recognised")) }
                }
            }
        }
    };
    page(
        &visitor,
        StatusCode::OK,
        t("出示结果", "Presentation result"),
        body,
    )
}

async fn offer_page(visitor: Visitor) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    if visitor.operator.is_none() {
        return error_page(
            &visitor,
            StatusCode::UNAUTHORIZED,
            t("请先登录。", "Log in first."),
        );
    }
    let body = html! {
        h1 { (t("发放到人才的数字钱包", "Offer a credential to a wallet")) }
        form #wallet-offer-form method="post" action="/wallet/offer" {
            (visitor.csrf_field())
            div.field { label for="credentialId" { (t("证书编号", "Credential id")) }
                input #credentialId type="text" name="credentialId" required placeholder="urn:uuid:…"; }
            button #wallet-offer-submit type="submit" { (t("生成二维码", "Make the QR code")) }
        }
    };
    page(
        &visitor,
        StatusCode::OK,
        t("发放到钱包", "Offer to a wallet"),
        body,
    )
}

async fn create_offer(
    visitor: Visitor,
    State(state): State<AppState>,
    Form(form): Form<OfferForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return visitor.expired_form();
    }
    let t = |zh, en| visitor.lang.pick(zh, en);
    let Some(operator) = visitor.operator.clone() else {
        return error_page(
            &visitor,
            StatusCode::UNAUTHORIZED,
            t("请先登录。", "Log in first."),
        );
    };
    let Ok(id) = CredentialId::parse_lenient(form.credential_id.trim()) else {
        return error_page(
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            t("证书编号格式不正确。", "That is not a credential id."),
        );
    };
    if let Err(error) = state.issuance.check_may_issue(&operator) {
        return error_page(&visitor, StatusCode::FORBIDDEN, &error.to_string());
    }
    let logs = state.held_logs();
    let context = IssuerContext {
        holders: &state.wallets,
        issuance: &state.issuance,
        logs: &logs,
        issuers: &state.issuers,
        public_url: &state.public_url,
    };
    let offer = match issuer::create_offer(context, &operator, id) {
        Ok(offer) => offer,
        Err(error) => return error_page(&visitor, status_of(error.status()), &error.to_string()),
    };
    let body = html! {
        h1 { (t("请人才用数字钱包扫码", "Let the talent scan this with their wallet")) }
        (qr(&offer.uri))
        p { (t("取件码（单独告知人才，勿与二维码一起拍照）：", "Transaction code (tell the talent; do not photograph it with the QR code): "))
            strong #tx-code { (offer.tx_code) } }
        p { (t("有效期 10 分钟，只能使用一次。", "Open for 10 minutes, single use.")) }
    };
    page(
        &visitor,
        StatusCode::CREATED,
        t("发放到钱包", "Offer to a wallet"),
        body,
    )
}

fn qr(uri: &str) -> Markup {
    html! {
        div.qr #wallet-qr { @if let Some(svg) = qr_svg(uri) { (PreEscaped(svg)) } }
    }
}

fn status_of(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST)
}

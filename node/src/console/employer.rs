//! The employer's verification page (no login): upload or paste a credential or a proof
//! bundle, or a photo of its QR code, choose the region hiring, and see the verdict — each
//! check green or red, the recognition answer with its basis, and how fresh the status is.
//!
//! A bundle is verified by its credential against this node's logs and mirrors (which are
//! at least as fresh as the bundle); `talent-verify` checks bundles fully offline. A QR code
//! (`…/verify?credential=urn:uuid:…`) names a credential this node holds in its log or in a
//! mirror.

use axum::Router;
use axum::extract::{Multipart, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::Value;
use talent_core::identifiers::CredentialId;
use talent_core::proof_bundle::is_bundle;
use talent_core::recognition::Recognition;
use talent_core::verify::{CheckName, Verdict};

use super::session::Visitor;
use super::{Lang, page, qr};
use crate::api::error::ApiError;
use crate::services::query_log::{Channel, Inquiry};
use crate::services::verification::{self, Answer};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/verify", get(verify_page).post(verify_upload))
}

#[derive(Debug, Default, Deserialize)]
struct VerifyQuery {
    /// A credential id, from a QR code.
    credential: Option<String>,
    /// The member whose log holds it (links this node makes name it).
    member: Option<String>,
    #[serde(rename = "asRegion")]
    as_region: Option<String>,
}

/// What the employer presented.
#[derive(Debug, Default)]
struct Presented {
    csrf: Option<String>,
    document: Option<String>,
    file: Option<Vec<u8>>,
    qr: Option<Vec<u8>>,
    region: Option<String>,
    verifier: Option<String>,
    purpose: Option<String>,
}

async fn verify_page(
    visitor: Visitor,
    State(state): State<AppState>,
    Query(query): Query<VerifyQuery>,
) -> Response {
    let region = query.as_region.clone().filter(|region| !region.is_empty());
    let outcome = match query.credential.as_deref() {
        Some(id) => {
            let member = query.member.as_deref().filter(|member| !member.is_empty());
            let inquiry = Inquiry::new(None, None, Channel::Console)
                .unwrap_or_else(|_| unreachable!("an inquiry without fields is within its bounds"));
            Some(by_id(&state, &visitor, id, member, region.clone(), &inquiry).await)
        }
        None => None,
    };
    render(&visitor, &state, region.as_deref(), outcome)
}

async fn verify_upload(
    visitor: Visitor,
    State(state): State<AppState>,
    multipart: Multipart,
) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let presented = match read_form(multipart).await {
        Ok(presented) => presented,
        Err(message) => return render(&visitor, &state, None, Some(Err(message))),
    };
    if !visitor.csrf_ok(presented.csrf.as_deref()) {
        let message = visitor.expired_message().to_owned();
        return render(&visitor, &state, None, Some(Err(message)));
    }
    let region = presented.region.clone().filter(|region| !region.is_empty());
    let inquiry = match Inquiry::new(
        presented.verifier.as_deref(),
        presented.purpose.as_deref(),
        Channel::Console,
    ) {
        Ok(inquiry) => inquiry,
        Err(error) => return render(&visitor, &state, None, Some(Err(error.to_string()))),
    };
    let outcome = if let Some(image) = presented.qr {
        match qr::decode(image).await {
            Ok(text) => match id_in(&text) {
                Some((id, member)) => {
                    by_id(
                        &state,
                        &visitor,
                        &id,
                        member.as_deref(),
                        region.clone(),
                        &inquiry,
                    )
                    .await
                }
                None => match serde_json::from_str::<Value>(&text) {
                    Ok(document) => by_document(&state, document, region.clone(), &inquiry).await,
                    Err(_) => Err(t(
                        "二维码中没有证书编号。",
                        "The QR code holds no credential id.",
                    )
                    .to_owned()),
                },
            },
            Err(refused) => return qr_refusal(&visitor, &state, region.as_deref(), &refused),
        }
    } else {
        let text = match presented.file {
            Some(bytes) => String::from_utf8(bytes).map_err(|_| {
                t(
                    "文件不是 UTF-8 文本的 JSON。",
                    "The file is not JSON text (UTF-8).",
                )
                .to_owned()
            }),
            None => Ok(presented.document.unwrap_or_default()),
        };
        match text {
            Ok(text) if text.trim().is_empty() => Err(t(
                "请粘贴或上传证书、证明包或二维码照片。",
                "Paste or upload a credential, a proof bundle or a photo of its QR code.",
            )
            .to_owned()),
            Ok(text) => match serde_json::from_str::<Value>(&text) {
                Ok(document) => by_document(&state, document, region.clone(), &inquiry).await,
                Err(error) => match id_in(text.trim()) {
                    Some((id, member)) => {
                        by_id(
                            &state,
                            &visitor,
                            &id,
                            member.as_deref(),
                            region.clone(),
                            &inquiry,
                        )
                        .await
                    }
                    None => Err(format!(
                        "{} ({error})",
                        t("不是有效的 JSON。", "This is not valid JSON.")
                    )),
                },
            },
            Err(message) => Err(message),
        }
    };
    render(&visitor, &state, region.as_deref(), Some(outcome))
}

/// Reads the multipart form, each part bounded by the console's upload limit.
async fn read_form(multipart: Multipart) -> Result<Presented, String> {
    let mut presented = Presented::default();
    for part in super::form_parts(multipart).await? {
        let text = || String::from_utf8_lossy(&part.bytes).into_owned();
        match part.name.as_str() {
            "csrf" => presented.csrf = Some(text()),
            "document" => presented.document = Some(text()),
            "asRegion" => presented.region = Some(text()),
            "verifier" => presented.verifier = Some(text()),
            "purpose" => presented.purpose = Some(text()),
            "file" if !part.bytes.is_empty() => presented.file = Some(part.bytes.to_vec()),
            "qr" if !part.bytes.is_empty() => presented.qr = Some(part.bytes.to_vec()),
            _ => {}
        }
    }
    Ok(presented)
}

/// The page for an uploaded image whose QR code was not read: the form again, and why, with
/// the refusal's stable code. 413 for an image beyond the size limits, 503 (Retry-After)
/// while every decoding slot is taken, 422 otherwise.
fn qr_refusal(
    visitor: &Visitor,
    state: &AppState,
    region: Option<&str>,
    refused: &qr::QrError,
) -> Response {
    let (zh, en) = (refused.message_zh(), refused.to_string());
    let message = format!("{} [{}]", visitor.lang.pick(&zh, &en), refused.code());
    let mut response = render(visitor, state, region, Some(Err(message)));
    *response.status_mut() = match refused {
        qr::QrError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        qr::QrError::Busy => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    if matches!(refused, qr::QrError::Busy) {
        response.headers_mut().insert(
            axum::http::header::RETRY_AFTER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

/// A credential id in a QR text: a `…?credential=urn:uuid:…&member=…` link or the id
/// itself; with the member whose log holds it when the link names one.
fn id_in(text: &str) -> Option<(String, Option<String>)> {
    let text = text.trim();
    let parameter = |name: &str| {
        text.split_once('?')
            .map_or(text, |(_, query)| query)
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let candidate = parameter("credential").unwrap_or(text);
    let candidate = candidate.replace("%3A", ":").replace("%3a", ":");
    let id = CredentialId::parse_lenient(&candidate).ok()?;
    let member = parameter("member")
        .filter(|member| !member.is_empty())
        .map(str::to_owned);
    Some((id.to_string(), member))
}

/// The result shown: the verdict and recognition, or why nothing could be verified.
type Outcome = Result<Answer, String>;

async fn by_document(
    state: &AppState,
    document: Value,
    region: Option<String>,
    inquiry: &Inquiry,
) -> Outcome {
    let credential = if is_bundle(&document) {
        document.get("credential").cloned().unwrap_or_default()
    } else {
        document
    };
    if !credential.is_object() {
        return Err("the document is neither a credential nor a proof bundle".to_owned());
    }
    verification::answer(
        &state.verifier,
        state.verification_sources(),
        credential,
        false,
        region,
        inquiry,
    )
    .await
    // Shown as the API would say it.
    .map_err(|error| ApiError::from(error).to_string())
}

/// Verifies the credential `id` names in the log of `member` (this node's own or a verified
/// mirror), or in the one log that holds it when no member is named. An id that two logs
/// hold without a member named is answered with both, never either credential.
async fn by_id(
    state: &AppState,
    visitor: &Visitor,
    id: &str,
    member: Option<&str>,
    region: Option<String>,
    inquiry: &Inquiry,
) -> Outcome {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let Ok(id) = CredentialId::parse_lenient(id) else {
        return Err(format!("{id:?} is not a credential id"));
    };
    let logs = state.held_logs();
    let found = tokio::task::spawn_blocking(move || logs.entries_with_id(id))
        .await
        .map_err(|_| t("无法读取该证书。", "The credential could not be read.").to_owned())?
        .map_err(|_| t("无法读取该证书。", "The credential could not be read.").to_owned())?;
    let mut held: Vec<(String, Vec<u8>)> = found
        .into_iter()
        .filter(|(holder, _)| member.is_none_or(|member| member == holder))
        .collect();
    let bytes = match (held.len(), member) {
        (1, _) => held.remove(0).1,
        (0, Some(member)) => {
            return Err(format!(
                "{} {id} ({member})",
                t(
                    "该成员的日志中没有此证书：",
                    "No log of this member held here has credential"
                )
            ));
        }
        (0, None) => return Err(format!("this node holds no credential {id}")),
        _ => {
            let members: Vec<String> = held
                .iter()
                .map(|(holder, _)| format!("{holder} (/verify?credential={id}&member={holder})"))
                .collect();
            return Err(format!(
                "{} {id}: {}",
                t(
                    "多个成员的日志中有同一编号的证书，请指明成员：",
                    "More than one member's log holds a credential with id"
                ),
                members.join(", ")
            ));
        }
    };
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(credential) => by_document(state, credential, region, inquiry).await,
        Err(_) => Err("the logged entry is not JSON".to_owned()),
    }
}

fn check_name(lang: Lang, name: CheckName) -> &'static str {
    lang.pick(name.label_zh(), name.label_en())
}

fn render(
    visitor: &Visitor,
    state: &AppState,
    region: Option<&str>,
    outcome: Option<Outcome>,
) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let members: Vec<(String, String)> = match &state.federation {
        Some(federation) => federation
            .config
            .members()
            .iter()
            .map(|member| {
                (
                    member.id.to_string(),
                    visitor
                        .lang
                        .pick(&member.name_zh, &member.name_en)
                        .to_owned(),
                )
            })
            .collect(),
        None => vec![(state.member.id.to_string(), state.member.name_zh.clone())],
    };
    let status = match &outcome {
        Some(Err(_)) => StatusCode::UNPROCESSABLE_ENTITY,
        _ => StatusCode::OK,
    };
    let body = html! {
        h1 { (t("用人单位核验", "Verify a credential")) }
        @if let Some(outcome) = &outcome {
            @match outcome {
                Ok(answer) => (verdict_markup(visitor, &answer.verdict, answer.recognition.as_ref())),
                Err(message) => p.error #verify-error role="alert" { (message) },
            }
        }
        form #verify-form method="post" action="/verify" enctype="multipart/form-data" {
            (visitor.csrf_field())
            div.field {
                label for="document" { (t("粘贴证书或证明包（JSON）", "Paste a credential or proof bundle (JSON)")) }
                textarea.code #document name="document" rows="6" {}
            }
            div.row {
                div.field {
                    label for="file" { (t("或上传文件", "or upload the file")) }
                    input #file type="file" name="file" accept=".json,application/json";
                }
                div.field {
                    label for="qr" { (t("或上传二维码照片/截图", "or a photo or screenshot of its QR code")) }
                    input #qr type="file" name="qr" accept="image/png,image/jpeg";
                }
                div.field {
                    label for="asRegion" { (t("用人地区（互认）", "Region you hire in (recognition)")) }
                    select #asRegion name="asRegion" {
                        option value="" { (t("不查询互认", "No recognition question")) }
                        @for (id, name) in &members {
                            option value=(id) selected[Some(id.as_str()) == region] { (name) " (" (id) ")" }
                        }
                    }
                }
            }
            div.row {
                div.field {
                    label for="verifier" { (t("核验单位（记入持证人可见的查询记录）", "Who you are (shown to the holder in their query log)")) }
                    input #verifier type="text" name="verifier" maxlength="100";
                }
                div.field {
                    label for="purpose" { (t("核验目的", "Purpose of this check")) }
                    input #purpose type="text" name="purpose" maxlength="200";
                }
            }
            button #verify-submit type="submit" { (t("核验", "Verify")) }
        }
    };
    page(visitor, status, t("核验", "Verify"), body)
}

fn verdict_markup(
    visitor: &Visitor,
    verdict: &Verdict,
    recognition: Option<&Recognition>,
) -> Markup {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let summary = &verdict.credential;
    html! {
        section #verdict data-verified=(verdict.verified) .verdict.ok[verdict.verified] .bad[!verdict.verified] aria-live="polite" {
            h2 {
                @if verdict.verified { "✔ " (t("核验通过", "Verified")) } @else { "✘ " (t("核验未通过", "Not verified")) }
            }
            dl {
                @if let Some(name) = &summary.subject_name { dt { (t("姓名", "Name")) } dd { (name) } }
                @if let Some(ty) = summary.credential_type { dt { (t("类型", "Type")) } dd { (super::issue::type_label(visitor.lang, ty)) } }
                @if let Some(region) = &summary.region { dt { (t("签发地区", "Issuing region")) } dd { (region) } }
                @if let Some(id) = &summary.id { dt { (t("证书编号", "Credential id")) } dd.mono { (id) } }
            }
            ul.checks {
                @for check in &verdict.checks {
                    li.check data-check=(check.name.as_str()) data-ok=(check.ok) .ok[check.ok] .bad[!check.ok] {
                        span.mark aria-hidden="true" { (if check.ok { "✔" } else { "✘" }) }
                        " " strong { (check_name(visitor.lang, check.name)) }
                        span.visually-hidden { (if check.ok { t("通过", "passed") } else { t("未通过", "failed") }) }
                        ": " (check.detail)
                    }
                }
            }
            @if let Some(log) = &verdict.log {
                p #freshness {
                    (t("状态依据：", "Status as of: ")) (log.origin) " · " (t("日志大小 ", "tree size ")) (log.tree_size)
                    @if let Some(at) = &log.confirmed_at { " · " (t("确认于 ", "confirmed at ")) (at) }
                    @if let Some(age) = log.age_seconds { " · " (t("距今 ", "age ")) (age) (t(" 秒", " s")) }
                    " · " (t("见证人 ", "cosigners ")) (log.cosigners.join(", "))
                    @if log.quorum > 0 { " (" (t("法定数 ", "quorum ")) (log.quorum) ")" }
                }
            }
            p.help { (t("核验时间 ", "Checked at ")) (verdict.checked_at) }
        }
        @if let Some(recognition) = recognition {
            @let outcome = recognition.outcome.map_or(if recognition.recognised { "recognised" } else { "not-recognised" }, |o| o.as_str());
            section #recognition data-outcome=(outcome) data-recognized=(recognition.recognised) .verdict.ok[recognition.recognised] .bad[!recognition.recognised] {
                h2 { (t("互认：", "Recognition in ")) (recognition.region) " — " (outcome) }
                dl {
                    @if let Some(equivalent) = &recognition.equivalent {
                        dt { (t("等同于", "Equivalent")) }
                        dd { (equivalent) @if let Some(en) = &recognition.equivalent_en { " · " (en) } }
                    }
                    @if let Some(name) = &recognition.agreement_name { dt { (t("依据协议", "Agreement")) } dd { (name) } }
                    @if let Some(basis) = &recognition.basis {
                        dt { (t("依据文件", "Basis")) }
                        dd {
                            (basis.document) " (" (basis.date) ")"
                            @if let Some(url) = &basis.url { " " a href=(url) rel="noreferrer" { (url) } }
                        }
                    }
                    @if let Some(rule) = &recognition.rule { dt { (t("规则", "Rule")) } dd.mono { (rule) } }
                    @if !recognition.grants.is_empty() { dt { (t("授予", "Grants")) } dd { (recognition.grants.join("；")) } }
                    @if !recognition.conditions.is_empty() { dt { (t("条件", "Conditions")) } dd { (recognition.conditions.join("；")) } }
                    dt { (t("说明", "Reason")) } dd { (recognition.reason) }
                }
                @if recognition.illustrative { p.help { (t("示例性质的协议数据。", "Illustrative agreement data.")) } }
                p.help { (t("互认授予资格，聘用仍由用人单位决定。", "Recognition grants eligibility; appointment stays the employer's decision.")) }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A QR code drawn as a PNG, 4 pixels per module, the way a phone screenshot shows it.
    fn qr_png(text: &str) -> Vec<u8> {
        let code = qrcode::QrCode::new(text.as_bytes()).expect("encodes");
        let width = code.width();
        let colors = code.to_colors();
        let scale = 4;
        let quiet = 4;
        let side = ((width + 2 * quiet) * scale) as u32;
        let picture = image::GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = (x as usize / scale, y as usize / scale);
            let dark = mx >= quiet
                && my >= quiet
                && mx < width + quiet
                && my < width + quiet
                && colors[(my - quiet) * width + (mx - quiet)] == qrcode::Color::Dark;
            image::Luma([if dark { 0 } else { 255 }])
        });
        let mut png = Vec::new();
        picture
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        png
    }

    #[test]
    fn a_qr_code_photo_gives_the_credential_id() {
        let link =
            "http://127.0.0.1:8080/verify?credential=urn:uuid:01a2190c-8aa8-76c6-8eca-d6522d13639e";
        let text = qr::decode_blocking(&qr_png(link)).expect("decodes");
        assert_eq!(text, link);
        assert_eq!(
            id_in(&text),
            Some((
                "urn:uuid:01a2190c-8aa8-76c6-8eca-d6522d13639e".to_owned(),
                None
            ))
        );
    }

    #[test]
    fn a_link_names_the_member_whose_log_holds_the_credential() {
        let id = "urn:uuid:01a2190c-8aa8-76c6-8eca-d6522d13639e";
        assert_eq!(
            id_in(&format!(
                "http://127.0.0.1:8080/verify?credential={id}&member=cq-sc"
            )),
            Some((id.to_owned(), Some("cq-sc".to_owned())))
        );
        assert_eq!(
            id_in(&format!(
                "http://127.0.0.1:8080/verify?member=cd-hz&credential=urn%3Auuid%3A{}",
                &id[9..]
            )),
            Some((id.to_owned(), Some("cd-hz".to_owned())))
        );
        assert_eq!(id_in(id), Some((id.to_owned(), None)));
        assert_eq!(
            id_in(&format!("http://x/verify?credential={id}&member=")),
            Some((id.to_owned(), None))
        );
    }

    #[test]
    fn unreadable_images_are_errors_not_panics() {
        assert!(qr::decode_blocking(b"not an image").is_err());
        let blank = image::GrayImage::from_pixel(64, 64, image::Luma([255]));
        let mut png = Vec::new();
        blank
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        assert!(qr::decode_blocking(&png).is_err());
        assert_eq!(id_in("no id here"), None);
    }
}

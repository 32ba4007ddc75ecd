//! The holder's page (no login): a talent enters their credential id and the access code
//! the office handed over with it, and sees who verified the credential at this node, when,
//! why, and how — the query log ([`crate::services::query_log`]). The code travels in the
//! form body, never in the URL.

use axum::Router;
use axum::extract::{Form, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde::Deserialize;
use talent_core::identifiers::CredentialId;

use super::page;
use super::session::Visitor;
use crate::services::query_log::{self, Channel, QueryLogError, QueryRecord};
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/holder", get(holder_page).post(holder_lookup))
}

#[derive(Debug, Deserialize)]
struct LookupForm {
    csrf: Option<String>,
    #[serde(rename = "credentialId")]
    credential_id: String,
    #[serde(rename = "accessCode")]
    access_code: String,
}

async fn holder_page(visitor: Visitor) -> Response {
    render(&visitor, StatusCode::OK, None)
}

async fn holder_lookup(
    visitor: Visitor,
    State(state): State<AppState>,
    Form(form): Form<LookupForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return visitor.expired_form();
    }
    let t = |zh, en| visitor.lang.pick(zh, en);
    let Ok(id) = CredentialId::parse_lenient(form.credential_id.trim()) else {
        let message = t("证书编号格式不正确。", "That is not a credential id.").to_owned();
        return render(
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some(Err(message)),
        );
    };
    let store = std::sync::Arc::clone(&state.store);
    let code = form.access_code;
    let found = tokio::task::spawn_blocking(move || query_log::for_holder(&store, id, &code)).await;
    match found {
        Ok(Ok(records)) => render(&visitor, StatusCode::OK, Some(Ok((id, records)))),
        Ok(Err(QueryLogError::CodeMismatch)) => {
            let message = t(
                "查询码与证书不符（查询码由签发机构随证书提供）。",
                "The access code does not match this credential (the issuing office hands it over with the credential).",
            )
            .to_owned();
            render(&visitor, StatusCode::FORBIDDEN, Some(Err(message)))
        }
        _ => super::error_page(
            &visitor,
            StatusCode::INTERNAL_SERVER_ERROR,
            t("内部错误。", "Internal error."),
        ),
    }
}

type Lookup = Result<(CredentialId, Vec<QueryRecord>), String>;

fn render(visitor: &Visitor, status: StatusCode, lookup: Option<Lookup>) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let channel = |channel: Channel| match channel {
        Channel::Api => "API",
        Channel::VcApi => "VC-API",
        Channel::Console => t("核验页面", "verification page"),
    };
    let body = html! {
        h1 { (t("我的证书被谁核验过", "Who verified my credential")) }
        p { (t(
            "输入证书编号和签发机构提供的查询码，查看本节点记录的每一次核验：核验单位、目的、时间和结果。",
            "Enter your credential id and the access code the issuing office gave you to see every check of it this node recorded: who, why, when and the outcome."
        )) }
        @match &lookup {
            Some(Err(message)) => p.error #holder-error role="alert" { (message) },
            Some(Ok((id, records))) => {
                h2 #holder-credential { (id) }
                @if records.is_empty() {
                    p #no-queries { (t("尚无核验记录。", "No one has verified it here yet.")) }
                } @else {
                    table #queries {
                        (visitor.lang.table_head(&[("时间", "When"), ("核验单位", "Who"), ("目的", "Purpose"), ("方式", "How"), ("结果", "Outcome")]))
                        tbody {
                            @for record in records {
                                tr {
                                    td { (record.at) }
                                    td.verifier { (record.verifier.as_deref().unwrap_or(t("（未署名）", "(anonymous)"))) }
                                    td.purpose { (record.purpose.as_deref().unwrap_or(t("（未说明）", "(not stated)"))) }
                                    td { (channel(record.channel)) }
                                    td { (if record.verified { t("通过", "verified") } else { t("未通过", "not verified") }) }
                                }
                            }
                        }
                    }
                }
            }
            None => {}
        }
        form #holder-form method="post" action="/holder" {
            (visitor.csrf_field())
            div.row {
                div.field {
                    label for="credentialId" { (t("证书编号", "Credential id")) }
                    input #credentialId type="text" name="credentialId" required placeholder="urn:uuid:…";
                }
                div.field {
                    label for="accessCode" { (t("查询码", "Access code")) }
                    input #accessCode type="password" name="accessCode" required autocomplete="off";
                }
            }
            button #holder-submit type="submit" { (t("查看", "Show")) }
        }
    };
    page(visitor, status, t("核验记录", "Query log"), body)
}

//! The statistics page (人才大数据): credential counts of the whole federation as this node
//! holds it, by region, type, 金凤凰 category, level and month, and the cross-region
//! recognition flows — aggregate counts only, counts under five shown as "<5", charts drawn
//! on the server as SVG, CSV export from the API.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use talent_core::credential::CredentialType;
use talent_core::statistics::{Dimension, SUPPRESSED_LABEL, disclosed};

use super::charts::{bar_chart, month_chart};
use super::issue::type_label;
use super::page;
use super::session::Visitor;
use crate::services::statistics;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/statistics", get(statistics_page))
}

async fn statistics_page(visitor: Visitor, State(state): State<AppState>) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let title = t("人才大数据", "Talent statistics");
    let snapshot = match statistics::current(state.statistics.clone()).await {
        Ok(snapshot) => snapshot,
        Err(_) => {
            return super::error_page(
                &visitor,
                StatusCode::INTERNAL_SERVER_ERROR,
                t("统计暂不可用。", "Statistics are unavailable."),
            );
        }
    };
    let flows = statistics::recognition_flows(state.store.clone())
        .await
        .unwrap_or_default();
    let region_name = |id: &str| -> String {
        state
            .federation
            .as_ref()
            .and_then(|federation| federation.config.member(id))
            .map_or_else(
                || id.to_owned(),
                |member| {
                    visitor
                        .lang
                        .pick(&member.name_zh, &member.name_en)
                        .to_owned()
                },
            )
    };
    let counts = &snapshot.counts;
    let bars = |dimension: Dimension| -> Vec<(String, Option<u64>)> {
        counts
            .by(dimension)
            .into_iter()
            .map(|(value, count)| {
                let label = match dimension {
                    Dimension::Region => region_name(&value),
                    Dimension::Type => value
                        .parse::<CredentialType>()
                        .map_or(value.clone(), |ty| type_label(visitor.lang, ty)),
                    _ => value,
                };
                (label, disclosed(count))
            })
            .collect()
    };
    let shown =
        |count: Option<u64>| count.map_or_else(|| SUPPRESSED_LABEL.to_owned(), |c| c.to_string());
    let body = html! {
        h1 { (title) }
        p #statistics-summary data-total=(shown(disclosed(counts.total()))) {
            (t("已登记人才证书", "Talent credentials logged")) ": " strong { (shown(disclosed(counts.total()))) }
            " · " (t("统计时间 ", "as of ")) (snapshot.as_of.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        p.help { (t(
            "仅显示汇总数量，不含任何个人信息；少于 5 的数量显示为 <5。数据覆盖本节点日志及其已验证的各成员镜像。",
            "Aggregate counts only, never personal data; counts under 5 are shown as <5. Covers this node's log and the verified mirrors of the other members."
        )) }
        p {
            a.button #export-csv href="/api/v1/statistics/credentials?format=csv" download { (t("导出 CSV", "Export CSV")) }
            " " a href="/api/v1/statistics/credentials" { "JSON" }
            " " a href="/api/v1/statistics/recognition-flows" { (t("互认流向 JSON", "Recognition flows JSON")) }
        }
        div.charts {
            (bar_chart(t("按地区", "By region"), &bars(Dimension::Region)))
            (bar_chart(t("按证书类型", "By credential type"), &bars(Dimension::Type)))
            (bar_chart(t("按金凤凰人才类别", "By 金凤凰 category"), &bars(Dimension::Category)))
            (bar_chart(t("按级别", "By level"), &bars(Dimension::Level)))
            (month_chart(t("按月份（生效）", "By month (valid from)"), &bars(Dimension::Month)))
        }
        h2 { (t("跨地区互认流向", "Cross-region recognition flows")) }
        @if flows.is_empty() {
            p #no-flows { (t("暂无互认查询。", "No recognition questions yet.")) }
        } @else {
            table #recognition-flows {
                (visitor.lang.table_head(&[("证书地区", "From"), ("用人地区", "To"), ("类型", "Type"), ("结果", "Outcome"), ("次数", "Count")]))
                tbody {
                    @for ([from, to, credential_type, outcome], count) in &flows {
                        tr {
                            td { (region_name(from)) }
                            td { (region_name(to)) }
                            td { (credential_type.parse::<CredentialType>().map_or(credential_type.clone(), |ty| type_label(visitor.lang, ty))) }
                            td { (outcome) }
                            td { (shown(disclosed(*count))) }
                        }
                    }
                }
            }
        }
    };
    page(&visitor, StatusCode::OK, title, body)
}

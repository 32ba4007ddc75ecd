//! The federation page: this member's log and cosigners, and for each peer its latest
//! checkpoint, lag, cosigners, sync state and errors, and the equivocation evidence held
//! against it — the same facts as `GET /api/v1/federation/status`.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use maud::html;
use serde_json::Value;

use super::page;
use super::session::Visitor;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new().route("/federation", get(federation_page))
}

fn text(value: &Value) -> String {
    match value {
        Value::Null => "—".to_owned(),
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

fn list(value: &Value) -> String {
    value
        .as_array()
        .map(|items| items.iter().map(text).collect::<Vec<_>>().join(", "))
        .filter(|joined| !joined.is_empty())
        .unwrap_or_else(|| "—".to_owned())
}

async fn federation_page(visitor: Visitor, State(state): State<AppState>) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let title = t("联邦成员", "Federation");
    let Some(federation) = state.federation.clone() else {
        return page(
            &visitor,
            StatusCode::OK,
            title,
            html! {
                h1 { (title) }
                p #not-federated { (t("本节点是单独运行的开发节点，不属于联邦。", "This node is a development member running alone, not part of a federation.")) }
            },
        );
    };
    let log = state.log.clone();
    let status = match tokio::task::spawn_blocking(move || federation.status(&log)).await {
        Ok(Ok(status)) => status,
        _ => {
            return super::error_page(
                &visitor,
                StatusCode::INTERNAL_SERVER_ERROR,
                t(
                    "无法读取联邦状态。",
                    "The federation status could not be read.",
                ),
            );
        }
    };
    let peers = status["peers"].as_array().cloned().unwrap_or_default();
    let alerts: Vec<&Value> = peers
        .iter()
        .filter(|peer| peer["evidence"].as_array().is_some_and(|e| !e.is_empty()))
        .collect();
    let body = html! {
        h1 { (title) " · " (text(&status["federation"])) }
        @if !alerts.is_empty() {
            section #alerts.error role="alert" {
                h2 { (t("异常告警", "Equivocation alerts")) }
                @for peer in &alerts {
                    @if peer["state"] == "halted" {
                        h3 { (text(&peer["id"])) " — " (t("已停止同步", "sync halted")) }
                    } @else {
                        // Evidence that does not halt sync (a credential id held already).
                        h3 { (text(&peer["id"])) " — " (t("已记录证据，同步继续", "evidence kept, sync goes on")) }
                    }
                    @for evidence in peer["evidence"].as_array().into_iter().flatten() {
                        pre.evidence { (serde_json::to_string_pretty(evidence).unwrap_or_default()) }
                    }
                }
            }
        }
        section #own-log {
            h2 { (t("本成员日志", "This member's log")) }
            dl {
                dt { (t("成员", "Member")) } dd { (text(&status["member"])) }
                dt { (t("日志", "Log")) } dd.mono { (text(&status["log"]["origin"])) }
                dt { (t("大小", "Size")) } dd #own-size { (text(&status["log"]["size"])) }
                dt { (t("见证人", "Cosigners")) } dd { (list(&status["log"]["cosigners"])) }
                dt { (t("法定见证数", "Witness quorum")) } dd { (text(&status["witnessQuorum"])) }
            }
        }
        section {
            h2 { (t("各成员镜像", "Mirrors of the members")) }
            table #peers {
                (visitor.lang.table_head(&[("成员", "Member"), ("状态", "State"), ("已验证条目", "Verified entries"), ("延迟（秒）", "Lag (s)"), ("见证人", "Cosigners"), ("同步错误", "Sync error")]))
                tbody {
                    @for peer in &peers {
                        tr data-member=(text(&peer["id"])) data-state=(text(&peer["state"])) {
                            td {
                                strong { (visitor.lang.pick(peer["nameZh"].as_str().unwrap_or_default(), peer["nameEn"].as_str().unwrap_or_default())) }
                                br; span.mono.small { (text(&peer["id"])) " · " (text(&peer["endpoint"])) }
                            }
                            td { (text(&peer["state"])) }
                            td { (text(&peer["mirroredSize"])) }
                            td { (text(&peer["ageSeconds"])) }
                            td { (list(&peer["cosigners"])) }
                            td { (text(&peer["lastError"])) }
                        }
                    }
                }
            }
            details {
                summary { (t("最新检查点", "Latest checkpoints")) }
                @for peer in &peers {
                    h3 { (text(&peer["id"])) }
                    pre { (text(&peer["checkpoint"])) }
                }
            }
        }
    };
    page(&visitor, StatusCode::OK, title, body)
}

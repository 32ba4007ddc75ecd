//! Bulk certification in the console: upload a CSV file ([`talent_forms::bulk`]), see every
//! problem by row and column, then issue all rows (only when none is wrong) or the valid
//! rows, in durable batches, with a progress bar that refreshes itself.
//!
//! Jobs live in the node's memory, visible only to the operator token that uploaded them;
//! the newest [`MAX_JOBS`] are kept. What a job issued is in the log whatever happens to the
//! job: each batch is logged durably (all of it or none) before the next starts.
//!
//! Only operators who may have the node sign (admins, issuer tokens bound to the authority)
//! upload and start imports; auditors get 403. A running job re-checks its operator before
//! every batch (and issuance again at the write): a revoked token stops it there.

use std::sync::{Arc, Mutex, PoisonError};

use axum::Router;
use axum::extract::{Extension, Form, Multipart, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use maud::html;
use serde::Deserialize;
use serde_json::Value;
use talent_forms::bulk::{self, BulkPlan};

use super::session::{Staff, Visitor};
use super::{Console, page};
use crate::state::AppState;
use crate::tokens::Operator;

/// Import jobs kept at once.
const MAX_JOBS: usize = 64;

/// The import jobs of this node.
#[derive(Debug, Default)]
pub struct Imports {
    jobs: Mutex<Vec<(String, Arc<Mutex<Job>>)>>,
}

#[derive(Debug)]
struct Job {
    /// Token id of the operator who uploaded the file.
    owner: String,
    file_name: String,
    plan: BulkPlan,
    state: JobState,
}

#[derive(Debug, Clone)]
enum JobState {
    Checked,
    Running {
        done: usize,
        total: usize,
    },
    Done {
        issued: Vec<(usize, String)>,
        error: Option<String>,
    },
}

impl Imports {
    fn add(&self, job: Job) -> String {
        let mut bytes = [0u8; 12];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        let id: String = bytes.iter().map(|byte| format!("{byte:02x}")).collect();
        let mut jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        if jobs.len() >= MAX_JOBS {
            jobs.remove(0);
        }
        jobs.push((id.clone(), Arc::new(Mutex::new(job))));
        id
    }

    fn get(&self, id: &str, operator: &Operator) -> Option<Arc<Mutex<Job>>> {
        let jobs = self.jobs.lock().unwrap_or_else(PoisonError::into_inner);
        jobs.iter()
            .find(|(known, _)| known == id)
            .map(|(_, job)| Arc::clone(job))
            .filter(|job| {
                job.lock().unwrap_or_else(PoisonError::into_inner).owner == operator.token_id
            })
    }
}

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/import", get(upload_page).post(upload))
        .route("/console/import/{job}", get(job_page))
        .route("/console/import/{job}/issue", post(start))
}

fn upload_form(visitor: &Visitor, error: Option<&str>) -> maud::Markup {
    let t = |zh, en| visitor.lang.pick(zh, en);
    html! {
        h1 { (t("批量认定", "Bulk certification")) }
        @if let Some(error) = error {
            p.error #import-error role="alert" { (error) }
        }
        form #import-form method="post" action="/console/import" enctype="multipart/form-data" {
            (visitor.csrf_field())
            div.field {
                label for="file" { (t("CSV 文件（UTF-8）", "CSV file (UTF-8)")) }
                input #file type="file" name="file" accept=".csv,text/csv" required;
            }
            button #import-submit type="submit" { (t("上传并检查", "Upload and check")) }
        }
        h2 { (t("文件格式", "File format")) }
        p { (t(
            "第一行为表头。“类型”列填写证书类型（职称、金凤凰人才认定、职业技能等级、职业资格、英才服务卡），其余列为签发表单中的字段名称，例如：",
            "The first row holds the headers. The column 类型 names the credential type (职称, 金凤凰人才认定, 职业技能等级, 职业资格, 英才服务卡); the other headers are the field labels of the issue forms, e.g.:"
        )) }
        pre { "类型,姓名,身份证号,工作单位,系列,专业,级别,职称名称,评审委员会,批准文号,取得日期\n职称,张三,11010519491231002X,重庆某某科技有限公司,工程,电子信息,正高级,正高级工程师,重庆市工程技术高级职称评审委员会,渝职改〔2024〕1号,2024-12-20" }
        p.help { (t("行号按表格计算：表头为第 1 行。命令行：registry-node import FILE.csv --node URL --token TOKEN", "Rows are numbered as in a spreadsheet: the header is row 1. From the command line: registry-node import FILE.csv --node URL --token TOKEN")) }
    }
}

/// The 403 page for an operator who may not issue (no upload, no job); `None` for one who
/// may.
fn refused_import(visitor: &Visitor, state: &AppState, operator: &Operator) -> Option<Response> {
    let refused = state.issuance.check_may_issue(operator).is_err();
    refused.then(|| {
        let message = visitor.lang.pick(
            "此令牌不能签发证书，不能批量认定。",
            "This token may not issue credentials, so it may not import.",
        );
        super::error_page(visitor, StatusCode::FORBIDDEN, message)
    })
}

async fn upload_page(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
) -> Response {
    if let Some(refused) = refused_import(&visitor, &state, &operator) {
        return refused;
    }
    page(
        &visitor,
        StatusCode::OK,
        visitor.lang.pick("批量认定", "Bulk import"),
        upload_form(&visitor, None),
    )
}

async fn upload(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Extension(console): Extension<Arc<Console>>,
    multipart: Multipart,
) -> Response {
    if let Some(refused) = refused_import(&visitor, &state, &operator) {
        return refused;
    }
    let title = visitor.lang.pick("批量认定", "Bulk import");
    let parts = match super::form_parts(multipart).await {
        Ok(parts) => parts,
        Err(message) => {
            return page(
                &visitor,
                StatusCode::BAD_REQUEST,
                title,
                upload_form(&visitor, Some(&message)),
            );
        }
    };
    let mut csrf = None;
    let mut file = None;
    for part in parts {
        match part.name.as_str() {
            "csrf" => csrf = Some(String::from_utf8_lossy(&part.bytes).into_owned()),
            "file" => {
                let file_name = part.file_name.unwrap_or_else(|| "upload.csv".to_owned());
                file = Some((file_name, part.bytes));
            }
            _ => {}
        }
    }
    if !visitor.csrf_ok(csrf.as_deref()) {
        let message = visitor.expired_message();
        return page(
            &visitor,
            StatusCode::FORBIDDEN,
            title,
            upload_form(&visitor, Some(message)),
        );
    }
    let Some((file_name, bytes)) = file.filter(|(_, bytes)| !bytes.is_empty()) else {
        let message = visitor.lang.pick("请选择 CSV 文件。", "Choose a CSV file.");
        return page(
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            upload_form(&visitor, Some(message)),
        );
    };
    let schemas = Arc::clone(&state.schemas);
    let planned = tokio::task::spawn_blocking(move || bulk::plan(&bytes, &schemas)).await;
    match planned {
        Ok(Ok(plan)) => {
            let id = console.imports.add(Job {
                owner: operator.token_id.clone(),
                file_name,
                plan,
                state: JobState::Checked,
            });
            Redirect::to(&format!("/console/import/{id}")).into_response()
        }
        Ok(Err(error)) => page(
            &visitor,
            StatusCode::UNPROCESSABLE_ENTITY,
            title,
            upload_form(&visitor, Some(&error.to_string())),
        ),
        Err(_) => super::error_page(
            &visitor,
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error",
        ),
    }
}

fn not_found(visitor: &Visitor) -> Response {
    super::error_page(
        visitor,
        StatusCode::NOT_FOUND,
        visitor
            .lang
            .pick("没有这个导入任务。", "There is no such import job."),
    )
}

async fn job_page(
    Staff {
        mut visitor,
        operator,
    }: Staff,
    Extension(console): Extension<Arc<Console>>,
    Path(id): Path<String>,
) -> Response {
    let Some(job) = console.imports.get(&id, &operator) else {
        return not_found(&visitor);
    };
    let job = job.lock().unwrap_or_else(PoisonError::into_inner);
    let t = |zh, en| visitor.lang.pick(zh, en);
    if matches!(job.state, JobState::Running { .. }) {
        visitor.refresh = Some(1);
    }
    let rows = job.plan.rows.len();
    let invalid = job.plan.invalid_rows();
    let errors: Vec<_> = job.plan.errors().collect();
    let body = html! {
        h1 { (t("批量认定", "Bulk certification")) " · " (job.file_name) }
        p #import-summary data-rows=(rows) data-errors=(invalid) {
            (rows) (t(" 行，其中 ", " rows, ")) (invalid) (t(" 行有误。", " with problems."))
        }
        @if !errors.is_empty() {
            table #import-errors {
                caption { (t("问题（行号按表格计算，表头为第 1 行）", "Problems (spreadsheet rows: the header is row 1)")) }
                (visitor.lang.table_head(&[("行", "Row"), ("列", "Column"), ("问题", "Problem")]))
                tbody {
                    @for error in &errors {
                        tr data-row=(error.row) data-column=(error.column) {
                            td { (error.row) } td { (error.column) } td { (error.message) }
                        }
                    }
                }
            }
        }
        @match &job.state {
            JobState::Checked => {
                form method="post" action={ "/console/import/" (id) "/issue" } {
                    (visitor.csrf_field())
                    @if invalid == 0 {
                        button #issue-all type="submit" name="mode" value="all" { (t("全部签发", "Issue all rows")) " (" (rows) ")" }
                    } @else if invalid < rows {
                        button #issue-valid type="submit" name="mode" value="valid" {
                            (t("只签发无误的行", "Issue only the valid rows")) " (" (rows - invalid) ")"
                        }
                        p.help { (t("或更正文件后重新上传。", "Or correct the file and upload it again.")) }
                    } @else {
                        p { (t("没有可签发的行。", "No row can be issued.")) " " a href="/console/import" { (t("重新上传", "Upload again")) } }
                    }
                }
            }
            JobState::Running { done, total } => {
                label for="import-progress" { (t("正在签发", "Issuing")) " " (done) " / " (total) }
                progress #import-progress max=(total) value=(done) { (done) " / " (total) }
            }
            JobState::Done { issued, error } => {
                p #import-done data-issued=(issued.len()) role="status" {
                    (t("已签发并记入日志：", "Issued and logged: ")) (issued.len())
                }
                @if let Some(error) = error {
                    p.error #import-failed role="alert" { (t("已停止：", "Stopped: ")) (error) }
                }
                @if !issued.is_empty() {
                    table #import-issued {
                        (visitor.lang.table_head(&[("行", "Row"), ("证书编号", "Credential id")]))
                        tbody {
                            @for (row, credential) in issued {
                                tr { td { (row) } td { a href={ "/console/credentials/" (credential.trim_start_matches("urn:uuid:")) } { (credential) } } }
                            }
                        }
                    }
                }
            }
        }
    };
    drop(job);
    page(&visitor, StatusCode::OK, t("批量认定", "Bulk import"), body)
}

#[derive(Debug, Deserialize)]
struct StartForm {
    csrf: Option<String>,
    mode: Option<String>,
}

async fn start(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Extension(console): Extension<Arc<Console>>,
    Path(id): Path<String>,
    Form(form): Form<StartForm>,
) -> Response {
    if !visitor.csrf_ok(form.csrf.as_deref()) {
        return visitor.expired_form();
    }
    if let Some(refused) = refused_import(&visitor, &state, &operator) {
        return refused;
    }
    let Some(job) = console.imports.get(&id, &operator) else {
        return not_found(&visitor);
    };
    let requests: Vec<(usize, Value)> = {
        let mut locked = job.lock().unwrap_or_else(PoisonError::into_inner);
        if !matches!(locked.state, JobState::Checked) {
            return Redirect::to(&format!("/console/import/{id}")).into_response();
        }
        let all = form.mode.as_deref() != Some("valid");
        if all && locked.plan.invalid_rows() > 0 {
            return super::error_page(
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                visitor.lang.pick(
                    "文件有误，不能全部签发。",
                    "The file has problems: not every row can be issued.",
                ),
            );
        }
        let requests: Vec<(usize, Value)> = locked
            .plan
            .valid_requests()
            .map(|(row, request)| (row, request.clone()))
            .collect();
        locked.state = JobState::Running {
            done: 0,
            total: requests.len(),
        };
        requests
    };
    state
        .background
        .clone()
        .spawn(run(state, operator, job, requests));
    Redirect::to(&format!("/console/import/{id}")).into_response()
}

/// Issues the rows in durable batches, recording progress; stops at the first refused batch.
async fn run(
    state: AppState,
    operator: Operator,
    job: Arc<Mutex<Job>>,
    requests: Vec<(usize, Value)>,
) {
    let total = requests.len();
    let mut issued = Vec::with_capacity(total);
    let mut error = None;
    for chunk in requests.chunks(crate::issuance::IMPORT_BATCH) {
        let first_row = chunk.first().map_or(0, |(row, _)| *row);
        // The operator as its token stands now: revoked, or no longer allowed to issue,
        // stops the job before this batch.
        if let Err(refused) = state.issuance.check_may_issue(&operator) {
            error = Some(format!("rows from {first_row} were not issued: {refused}"));
            break;
        }
        let bodies: Vec<Value> = chunk.iter().map(|(_, request)| request.clone()).collect();
        match state.issuance.issue_batch(&operator, &bodies).await {
            Ok(done) => {
                issued.extend(
                    chunk
                        .iter()
                        .map(|(row, _)| *row)
                        .zip(done.iter().map(|item| item.id.to_string())),
                );
                job.lock().unwrap_or_else(PoisonError::into_inner).state = JobState::Running {
                    done: issued.len(),
                    total,
                };
            }
            Err(refused) => {
                error = Some(format!("rows from {first_row}: {refused}"));
                break;
            }
        }
    }
    match &error {
        Some(error) => tracing::warn!(
            issued = issued.len(),
            total,
            operator = %operator.token_id,
            error = %error,
            "import job stopped"
        ),
        None => tracing::info!(issued = issued.len(), "import job finished"),
    }
    job.lock().unwrap_or_else(PoisonError::into_inner).state = JobState::Done { issued, error };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_are_private_to_their_operator() {
        let imports = Imports::default();
        let plan = BulkPlan { rows: Vec::new() };
        let id = imports.add(Job {
            owner: "a".into(),
            file_name: "f.csv".into(),
            plan,
            state: JobState::Checked,
        });
        let operator = |token: &str| Operator {
            token_id: token.into(),
            name: "n".into(),
            role: crate::tokens::Role::Admin,
            issuer: None,
        };
        assert!(imports.get(&id, &operator("a")).is_some());
        assert!(imports.get(&id, &operator("b")).is_none());
        assert!(imports.get("nope", &operator("a")).is_none());
    }
}

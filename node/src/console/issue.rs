//! Issue forms: one per credential type, generated from its schema
//! ([`talent_forms::form::FormSpec`]); a refused request comes back as the same form with
//! the entered values and an error next to each field the schema or the node named.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use maud::{Markup, html};
use talent_core::credential::CredentialType;
use talent_forms::form::{FieldError, FieldKind, FormField, FormSpec, FormValues};

use super::session::{Staff, Visitor};
use super::{Lang, page};
use crate::issuance::IssueError;
use crate::state::AppState;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/console/issue", get(choose))
        .route("/console/issue/{type}", get(form_page).post(submit))
}

/// The name of a type in the visitor's language.
pub(super) fn type_label(lang: Lang, ty: CredentialType) -> String {
    match lang {
        Lang::Zh => ty.label_zh().to_owned(),
        Lang::En => ty.as_str().trim_end_matches("Credential").to_owned(),
    }
}

async fn choose(Staff { visitor, .. }: Staff) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    page(
        &visitor,
        StatusCode::OK,
        t("签发", "Issue"),
        html! {
            h1 { (t("签发证书", "Issue a credential")) }
            ul.types {
                @for ty in CredentialType::ALL {
                    li { a href={ "/console/issue/" (ty.as_str()) } { (type_label(visitor.lang, ty)) } }
                }
            }
        },
    )
}

fn parse_type(visitor: &Visitor, name: &str) -> Result<CredentialType, Box<Response>> {
    name.parse::<CredentialType>().map_err(|_| {
        Box::new(super::error_page(
            visitor,
            StatusCode::NOT_FOUND,
            visitor
                .lang
                .pick("没有这种证书类型。", "There is no such credential type."),
        ))
    })
}

async fn form_page(Staff { visitor, .. }: Staff, Path(name): Path<String>) -> Response {
    let ty = match parse_type(&visitor, &name) {
        Ok(ty) => ty,
        Err(response) => return *response,
    };
    let spec = FormSpec::for_type(ty);
    render(&visitor, StatusCode::OK, &spec, &FormValues::new(), &[])
}

fn render(
    visitor: &Visitor,
    status: StatusCode,
    spec: &FormSpec,
    values: &FormValues,
    errors: &[FieldError],
) -> Response {
    let t = |zh, en| visitor.lang.pick(zh, en);
    let title = format!(
        "{} · {}",
        t("签发", "Issue"),
        type_label(visitor.lang, spec.credential_type)
    );
    let body = html! {
        h1 { (title) }
        @if !errors.is_empty() {
            div #form-errors.error role="alert" {
                p { (t("请更正以下问题：", "Please correct the following:")) }
                ul {
                    @for error in errors {
                        li {
                            @if let Some(field) = spec.field(&error.path) {
                                a href={ "#" (field_id(&field.path)) } { (label(visitor.lang, field)) } ": "
                            }
                            (error.message)
                        }
                    }
                }
            }
        }
        form #issue-form method="post" action={ "/console/issue/" (spec.credential_type.as_str()) } novalidate {
            (visitor.csrf_field())
            @for field in &spec.fields {
                (field_markup(visitor.lang, field, values.get(&field.path).map(String::as_str), errors))
            }
            button #issue-submit type="submit" { (t("签发并记入日志", "Sign and log")) }
        }
    };
    page(visitor, status, &title, body)
}

fn field_id(path: &str) -> String {
    format!("f-{}", path.replace('.', "-"))
}

fn label(lang: Lang, field: &FormField) -> &str {
    lang.pick(&field.label_zh, &field.label_en)
}

/// One labelled input, with its error when it has one.
pub(super) fn field_markup(
    lang: Lang,
    field: &FormField,
    value: Option<&str>,
    errors: &[FieldError],
) -> Markup {
    let id = field_id(&field.path);
    let help_id = format!("{id}-help");
    let error_id = format!("{id}-error");
    let error = errors.iter().find(|error| error.path == field.path);
    let value = value.unwrap_or_default();
    let described = if error.is_some() {
        format!("{help_id} {error_id}")
    } else {
        help_id.clone()
    };
    let invalid = error.map(|_| "true");
    html! {
        div.field {
            label for=(id) {
                (label(lang, field))
                @if field.required { span.required aria-hidden="true" { " *" } }
            }
            @match &field.kind {
                FieldKind::Text => input #(id) type="text" name=(field.path) value=(value)
                    required[field.required] maxlength=[field.max_length] aria-describedby=(described) aria-invalid=[invalid];,
                FieldKind::Date => input #(id) type="date" name=(field.path) value=(value)
                    required[field.required] aria-describedby=(described) aria-invalid=[invalid];,
                FieldKind::DateTime => input #(id) type="date" name=(field.path) value=(value)
                    required[field.required] aria-describedby=(described) aria-invalid=[invalid];,
                FieldKind::Choice(choices) => select #(id) name=(field.path) required[field.required]
                    aria-describedby=(described) aria-invalid=[invalid] {
                    option value="" { "—" }
                    @for choice in choices {
                        option value=(choice) selected[choice == value] { (choice) }
                    }
                },
                FieldKind::Choices(choices) => fieldset #(id) aria-describedby=(described) {
                    @for choice in choices {
                        label.choice {
                            input type="checkbox" name=(field.path) value=(choice)
                                checked[value.split('\n').any(|chosen| chosen == choice)];
                            " " (choice)
                        }
                    }
                },
                FieldKind::Lines => textarea #(id) name=(field.path) rows="3"
                    aria-describedby=(described) aria-invalid=[invalid] { (value) },
                FieldKind::Bool => select #(id) name=(field.path) required[field.required]
                    aria-describedby=(described) aria-invalid=[invalid] {
                    option value="" { "—" }
                    option value="是" selected[value == "是"] { (lang.pick("是", "yes")) }
                    option value="否" selected[value == "否"] { (lang.pick("否", "no")) }
                },
                FieldKind::Json => textarea.code #(id) name=(field.path) rows="8"
                    aria-describedby=(described) aria-invalid=[invalid] { (value) },
            }
            @if let Some(help) = &field.help {
                p.help #(help_id) { (help) }
            } @else {
                p.help #(help_id) {}
            }
            @if let Some(error) = error {
                p.field-error #(error_id) data-field=(field.path) role="alert" { (error.message) }
            }
        }
    }
}

/// The submitted values of a form: repeated names (checkboxes) joined by newlines, the
/// CSRF token apart.
pub(super) fn collect(pairs: Vec<(String, String)>) -> (FormValues, Option<String>) {
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    let mut csrf = None;
    for (name, value) in pairs {
        if name == "csrf" {
            csrf = Some(value);
            continue;
        }
        values
            .entry(name)
            .and_modify(|joined| {
                joined.push('\n');
                joined.push_str(&value);
            })
            .or_insert(value);
    }
    (values, csrf)
}

/// The field errors of a refused issue request.
fn issue_errors(spec: &FormSpec, error: &IssueError) -> Vec<FieldError> {
    let field_errors = match error {
        IssueError::Schema(schema) => schema
            .violations
            .iter()
            .map(|violation| spec.violation_field(violation))
            .collect(),
        IssueError::Credential(credential) => {
            spec.credential_error(credential).into_iter().collect()
        }
        _ => Vec::new(),
    };
    if field_errors.is_empty() {
        vec![FieldError {
            path: String::new(),
            message: error.to_string(),
        }]
    } else {
        field_errors
    }
}

async fn submit(
    Staff { visitor, operator }: Staff,
    State(state): State<AppState>,
    Path(name): Path<String>,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Response {
    let ty = match parse_type(&visitor, &name) {
        Ok(ty) => ty,
        Err(response) => return *response,
    };
    let spec = FormSpec::for_type(ty);
    let (values, csrf) = collect(pairs);
    if !visitor.csrf_ok(csrf.as_deref()) {
        let error = FieldError {
            path: String::new(),
            message: visitor.expired_message().to_owned(),
        };
        return render(&visitor, StatusCode::FORBIDDEN, &spec, &values, &[error]);
    }
    let request = match spec.check(&values, &state.schemas) {
        Ok(request) => request,
        Err(errors) => {
            return render(
                &visitor,
                StatusCode::UNPROCESSABLE_ENTITY,
                &spec,
                &values,
                &errors,
            );
        }
    };
    match state.issuance.issue(&operator, &request).await {
        Ok(issued) => Redirect::to(&format!(
            "/console/credentials/{}?issued=1",
            issued.id.uuid()
        ))
        .into_response(),
        Err(error) => {
            let status = match &error {
                IssueError::Access(_) => StatusCode::FORBIDDEN,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            let errors = issue_errors(&spec, &error);
            render(&visitor, status, &spec, &values, &errors)
        }
    }
}

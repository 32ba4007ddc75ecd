//! Renders a verdict for people: Chinese and English labels, one line per check.

use std::fmt::Write;

use talent_core::verify::Verdict;

/// The human-readable report of a verdict.
pub fn render(verdict: &Verdict) -> String {
    let mut out = String::new();
    let credential = &verdict.credential;
    let field = |value: &Option<String>| value.clone().unwrap_or_else(|| "—".into());
    // Writing to a String cannot fail.
    let _ = writeln!(out, "凭证 Credential   {}", field(&credential.id));
    let type_line = match credential.credential_type {
        Some(t) => format!("{} {}", t.label_zh(), t.as_str()),
        None => "—".into(),
    };
    let _ = writeln!(out, "类型 Type         {type_line}");
    let _ = writeln!(out, "签发 Issuer       {}", field(&credential.issuer));
    let subject = match (&credential.subject_name, &credential.region) {
        (Some(name), Some(region)) => format!("{name} ({region})"),
        (Some(name), None) => name.clone(),
        _ => "—".into(),
    };
    let _ = writeln!(out, "持有人 Subject    {subject}");
    let _ = writeln!(out);
    for check in &verdict.checks {
        let mark = match (check.ok, check.skipped) {
            (true, _) => "✔ 通过 PASS",
            (false, true) => "– 未查 SKIP",
            (false, false) => "✘ 失败 FAIL",
        };
        let label = format!("{} {}", check.name.label_zh(), check.name.label_en());
        let _ = writeln!(out, "{mark}  {label:<22} {}", check.detail);
    }
    let _ = writeln!(out);
    if verdict.verified {
        let _ = writeln!(
            out,
            "结论 Result: 有效 VALID (checked at {})",
            verdict.checked_at
        );
    } else {
        let failed: Vec<String> = verdict
            .checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| format!("{} {}", check.name.label_zh(), check.name.label_en()))
            .collect();
        let _ = writeln!(
            out,
            "结论 Result: 无效 NOT VALID — failed: {} (checked at {})",
            failed.join(", "),
            verdict.checked_at
        );
    }
    out
}

/// One line per credential, for reports over many.
pub fn render_line(name: String, verdict: &Verdict) -> String {
    if verdict.verified {
        format!("✔ 有效 VALID      {name}")
    } else {
        let failed: Vec<&str> = verdict
            .checks
            .iter()
            .filter(|check| !check.ok)
            .map(|check| check.name.as_str())
            .collect();
        format!("✘ 无效 NOT VALID  {name} (failed: {})", failed.join(", "))
    }
}

//! What the members' logs say: the last lines of one, and the ERROR and WARN lines of each
//! at the end of a part.

use std::collections::BTreeMap;
use std::path::Path;

use super::federation::Federation;

/// The last `lines` lines of a node log, without colours, on one line.
pub(super) fn log_tail(path: &Path, lines: usize) -> String {
    let Ok(text) = std::fs::read_to_string(path) else {
        return format!("(no log at {})", path.display());
    };
    let all: Vec<String> = text.lines().map(strip_ansi).collect();
    let tail = &all[all.len().saturating_sub(lines)..];
    if tail.is_empty() {
        "(empty)".into()
    } else {
        tail.join(" | ")
    }
}

/// Removes ANSI colour sequences (`ESC [ … letter`).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for next in chars.by_ref() {
                if next.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Prints how many ERROR and WARN lines each member's log holds, with the first few.
pub(super) fn report_logs(federation: &Federation, members: &[&str]) {
    const SHOWN: usize = 3;
    for member in members {
        let path = federation.log_path(member);
        let Ok(text) = std::fs::read_to_string(&path) else {
            println!("{member}: no log at {}", path.display());
            continue;
        };
        let mut counts: BTreeMap<&str, u64> = BTreeMap::new();
        let mut shown: Vec<String> = Vec::new();
        for line in text.lines().map(strip_ansi) {
            // `<time> <LEVEL> <target>: …`, or the binary's own `registry-node: <error>`.
            let level = match line.split_whitespace().nth(1).unwrap_or_default() {
                "ERROR" => "ERROR",
                "WARN" => "WARN",
                _ if line.starts_with("registry-node:") => "ERROR",
                _ => continue,
            };
            *counts.entry(level).or_default() += 1;
            if shown.len() < SHOWN {
                shown.push(line.chars().take(300).collect());
            }
        }
        if counts.is_empty() {
            println!("{member}'s log: no ERROR or WARN line");
        } else {
            let summary: Vec<String> = counts
                .iter()
                .map(|(level, count)| format!("{count} {level}"))
                .collect();
            println!("{member}'s log: {} lines; first:", summary.join(", "));
            for line in shown {
                println!("    {line}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ansi_sequences_are_removed() {
        assert_eq!(
            strip_ansi("\u{1b}[2m2026\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m x"),
            "2026 ERROR x"
        );
    }
}

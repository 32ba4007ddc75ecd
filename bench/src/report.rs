//! Printing figures: the run's header (date, machine) and aligned text tables.

use std::fmt::Write;
use std::time::Duration;

use crate::procfs::Machine;

/// The header every benchmark prints first: what, when and on which machine.
pub fn header(benchmark: &str, machine: &Machine) -> String {
    format!(
        "talent-bench {benchmark} — {} — {} cores (nproc), {}",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine.cores,
        machine.cpu_model
    )
}

/// `1234567.8` → `1,234,568`.
pub fn thousands(value: f64) -> String {
    if !value.is_finite() {
        return "—".into();
    }
    let rounded = value.round().abs() as u64;
    let digits = rounded.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if value < -0.5 {
        out.push('-');
    }
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

/// `1 client`, `16 clients`.
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!(
        "{} {}",
        thousands(n as f64),
        if n == 1 { one } else { many }
    )
}

/// A duration in milliseconds with two decimals.
pub fn millis(duration: Duration) -> String {
    format!("{:.2}", duration.as_secs_f64() * 1e3)
}

/// A text table: a header row and rows, columns padded to their widest cell; the first
/// column is left-aligned, the others right-aligned.
#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column titles.
    pub fn new(titles: &[&str]) -> Table {
        Table {
            rows: vec![titles.iter().map(|title| (*title).to_owned()).collect()],
        }
    }

    /// Appends a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as text, with a rule under the titles.
    pub fn render(&self) -> String {
        let columns = self.rows.iter().map(Vec::len).max().unwrap_or(0);
        let widths: Vec<usize> = (0..columns)
            .map(|column| {
                self.rows
                    .iter()
                    .filter_map(|row| row.get(column))
                    .map(|cell| cell.chars().count())
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let mut out = String::new();
        for (index, row) in self.rows.iter().enumerate() {
            let mut line = String::new();
            for (column, width) in widths.iter().enumerate() {
                let cell = row.get(column).map(String::as_str).unwrap_or("");
                let pad = width - cell.chars().count();
                if column == 0 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str("  ");
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
            }
            // Writing to a String cannot fail.
            let _ = writeln!(out, "{}", line.trim_end());
            if index == 0 {
                let total = widths.iter().sum::<usize>() + 2 * widths.len().saturating_sub(1);
                let _ = writeln!(out, "{}", "-".repeat(total));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0.0), "0");
        assert_eq!(thousands(999.4), "999");
        assert_eq!(thousands(1234567.8), "1,234,568");
        assert_eq!(thousands(-12345.0), "-12,345");
    }

    #[test]
    fn table_aligns_columns() {
        let mut table = Table::new(&["what", "rate"]);
        table.row(vec!["a".into(), "1,000".into()]);
        table.row(vec!["longer name".into(), "5".into()]);
        assert_eq!(
            table.render(),
            "what          rate\n------------------\na            1,000\nlonger name      5\n"
        );
    }
}

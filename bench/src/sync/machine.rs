//! Readings of the machine and of a process from `/proc` and the file system, beside the
//! nodes' own CPU time (`crate::procfs`).

use std::path::Path;

/// CPU time the whole machine spent busy (all processes, `/proc/stat`: everything but idle
/// and iowait), in seconds; what else ran shows as the difference to the nodes' own time.
pub(super) fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(|field| field.parse().ok())
        .collect::<Option<_>>()?;
    // user nice system idle iowait irq softirq steal
    let [user, nice, system, _idle, _iowait, irq, softirq, steal] = ticks.as_slice() else {
        return None;
    };
    // USER_HZ, as in procfs.rs.
    Some((user + nice + system + irq + softirq + steal) as f64 / 100.0)
}

/// `running`, `sleeping`, `exited (zombie)` …: the state of process `pid` from `/proc`.
pub(super) fn procfs_state(pid: u32) -> String {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return "gone".into();
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("?");
    match state {
        "R" => "running".into(),
        "S" | "D" => "alive".into(),
        "Z" | "X" => "exited".into(),
        other => format!("in state {other}"),
    }
}

/// Bytes of the files under `dir` (at most 100,000 files, four levels deep).
pub(super) fn dir_bytes(dir: &Path) -> u64 {
    fn walk(dir: &Path, depth: u32, budget: &mut u32) -> u64 {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return 0;
        };
        let mut total = 0;
        for entry in entries.flatten() {
            if *budget == 0 {
                break;
            }
            *budget -= 1;
            let Ok(metadata) = entry.metadata() else {
                continue;
            };
            if metadata.is_dir() {
                if depth > 0 {
                    total += walk(&entry.path(), depth - 1, budget);
                }
            } else {
                total += metadata.len();
            }
        }
        total
    }
    walk(dir, 4, &mut 100_000)
}

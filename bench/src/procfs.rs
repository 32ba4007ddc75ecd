//! What `/proc` tells about the machine and about a process: CPU model, core count, memory
//! and CPU time. Linux only; every reader returns `None` where `/proc` is unavailable.

/// Clock ticks per second of the CPU times in `/proc/<pid>/stat` (`USER_HZ`). The kernel
/// reports these times in `USER_HZ`, which is 100 on every mainstream Linux architecture.
const USER_HZ: f64 = 100.0;

/// The machine a benchmark ran on.
#[derive(Debug, Clone)]
pub struct Machine {
    /// `model name` of the first CPU in `/proc/cpuinfo`.
    pub cpu_model: String,
    /// Cores this process may use (what `nproc` prints).
    pub cores: usize,
}

impl Machine {
    /// Reads the CPU model and the usable core count.
    pub fn current() -> Machine {
        let cpu_model = std::fs::read_to_string("/proc/cpuinfo")
            .ok()
            .and_then(|text| {
                text.lines()
                    .find(|line| line.starts_with("model name"))
                    .and_then(|line| line.split_once(':'))
                    .map(|(_, model)| model.trim().to_owned())
            })
            .unwrap_or_else(|| "unknown CPU".into());
        Machine {
            cpu_model,
            cores: available_cores(),
        }
    }
}

/// Cores this process may use; 1 when unknown.
pub fn available_cores() -> usize {
    std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1)
}

/// Resident memory of a process.
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    /// `VmRSS`: resident now, in KiB.
    pub rss_kib: u64,
    /// `VmHWM`: the most that was ever resident, in KiB.
    pub peak_kib: u64,
}

/// `VmRSS` and `VmHWM` of process `pid`.
pub fn memory(pid: u32) -> Option<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some(Memory {
        rss_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// User plus system CPU time of process `pid` (or `"self"`), in seconds.
pub fn cpu_seconds(pid: &str) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces; fields after the
    // last `)` start at field 3 (state), so utime (14) and stime (15) are at 11 and 12.
    let (_, rest) = stat.rsplit_once(')')?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) as f64 / USER_HZ)
}

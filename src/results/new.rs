//! Making a new results value: the envelope every run file starts from (version,
//! revision, machine, timestamps), so that no caller assembles it by hand.

use chrono::Utc;

use super::{Machine, RunResults, RunSettings, RunStatus, SCHEMA_VERSION};

impl RunResults {
    /// An empty, `running` results value for a run configured as `settings`, on
    /// this machine, from this build.
    pub fn new(settings: RunSettings) -> RunResults {
        let now = Utc::now();
        RunResults {
            schema_version: SCHEMA_VERSION,
            querylab_version: env!("CARGO_PKG_VERSION").to_string(),
            git_revision: git_revision(),
            started_at: now,
            updated_at: now,
            status: RunStatus::Running,
            machine: machine(),
            settings,
            datasets: Vec::new(),
            advice: None,
        }
    }
}

/// `git rev-parse HEAD` of the current directory, when it is a checkout.
pub fn git_revision() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
}

/// Cores, memory and OS of this machine.
pub fn machine() -> Machine {
    let memory_bytes = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map(|kb| kb * 1024)
        .unwrap_or(0);
    Machine {
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        memory_bytes,
        os: format!("{}-{}", std::env::consts::OS, std::env::consts::ARCH),
        hostname: std::fs::read_to_string("/etc/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty()),
    }
}

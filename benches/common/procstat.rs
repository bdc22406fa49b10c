//! CPU time from `/proc` for the benches that set the server's CPU against
//! querylab's (`load`, `workload`): a process's own, and that of its reaped
//! children, which for a postmaster means the backends whose connections closed.

/// CPU seconds (user + system) from `/proc/PID/stat` (`self` for this process): the
/// process's own, plus those of its reaped children when `children`.
pub fn cpu_seconds(pid: &str, children: bool) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime is field 14 overall.
    let rest = stat.rsplit_once(')')?.1;
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let ticks = f[11] + f[12] + if children { f[13] + f[14] } else { 0.0 };
    Some(ticks / 100.0) // USER_HZ is 100 on Linux
}

/// The postmaster of a server on this machine: the parent of `client`'s backend
/// (`None` when the backend is not in this machine's `/proc`).
pub async fn postmaster(client: &tokio_postgres::Client) -> Option<String> {
    let pid: i32 = client
        .query_one("SELECT pg_backend_pid()", &[])
        .await
        .ok()?
        .get(0);
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(
        stat.rsplit_once(')')?
            .1
            .split_whitespace()
            .nth(1)?
            .to_string(),
    )
}

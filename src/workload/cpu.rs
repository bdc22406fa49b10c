//! CPU time on both sides of a workload: querylab's own (`getrusage`), and the
//! server backends' (`/proc/PID/stat`) when the server runs on this machine.

use std::time::Duration;

use crate::provision::Server;

/// querylab's user + system CPU time so far (all its threads).
pub(super) fn own() -> Duration {
    usage(nix::sys::resource::UsageWho::RUSAGE_SELF)
}

/// User + system CPU time of this process's children that have been waited for:
/// pgbench's, in the workload bench, to set querylab's own against.
pub fn children() -> Duration {
    usage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
}

fn usage(who: nix::sys::resource::UsageWho) -> Duration {
    match nix::sys::resource::getrusage(who) {
        Ok(u) => {
            let tv = |t: nix::sys::time::TimeVal| {
                Duration::from_secs(t.tv_sec().max(0) as u64)
                    + Duration::from_micros(t.tv_usec().max(0) as u64)
            };
            tv(u.user_time()) + tv(u.system_time())
        }
        Err(_) => Duration::ZERO,
    }
}

/// Whether the backends of `server` can be seen in this machine's `/proc`: only a
/// `local` one's (a docker container's pids live in its own namespace and a `url`
/// server is elsewhere: their CPU is reported as unknown).
pub(super) fn visible(server: &Server) -> bool {
    server.backend() == "local"
}

/// Summed CPU time of the backends `pids` (see [`visible`]); `None` when one of
/// them cannot be read (it has exited).
pub(super) fn backends(pids: impl Iterator<Item = i32>) -> Option<Duration> {
    let tick = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .filter(|t| *t > 0)? as u64;
    let mut ticks = 0u64;
    for pid in pids {
        ticks += stat_ticks(pid)?;
    }
    Some(Duration::from_nanos(ticks * 1_000_000_000 / tick))
}

/// utime + stime of a process, in clock ticks (fields 14 and 15 of
/// `/proc/PID/stat`, counted after the parenthesised command name).
fn stat_ticks(pid: i32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // `rest` starts at field 3 (state): utime is field 14, stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    #[test]
    fn own_cpu_time_grows_with_work() {
        let a = super::own();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(super::own() > a);
    }

    #[test]
    fn this_process_has_readable_ticks() {
        assert!(super::stat_ticks(std::process::id() as i32).is_some());
    }
}

//! Driving the real `querylab` binary: exit codes, stdout, stderr and signals are
//! what a user and a CI job see.

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// A `querylab` command with a clean environment: no DATABASE_URL, PGPASSWORD or
/// QUERYLAB_* from the caller, and its own TMPDIR (so a test can see what a local
/// cluster leaves behind there).
pub fn querylab(tmpdir: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_querylab"));
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().to_string();
        if k.starts_with("QUERYLAB_")
            || k.starts_with("PG")
            || k == "DATABASE_URL"
            || k == "GITHUB_STEP_SUMMARY"
        {
            cmd.env_remove(k);
        }
    }
    cmd.env("TMPDIR", tmpdir).stdin(Stdio::null());
    cmd
}

/// A temp dir that an unprivileged server user can traverse (for TMPDIR).
pub fn shared_tempdir() -> tempfile::TempDir {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::Builder::new()
        .prefix("ql-test-")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    dir
}

/// A finished command's exit status and output.
#[derive(Debug)]
pub struct Output {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Lines of stderr starting with `Error:`.
    pub fn error_lines(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("Error:"))
            .collect()
    }
}

/// Runs to completion (bounded: a hung binary fails the test instead of hanging it).
pub fn run(cmd: &mut Command, limit: Duration) -> Output {
    let mut p = Running::spawn(cmd);
    p.wait(limit)
        .unwrap_or_else(|| panic!("querylab did not finish within {limit:?}"))
}

/// A running `querylab` in its own process group, with output going to files.
pub struct Running {
    child: Child,
    out: PathBuf,
    err: PathBuf,
    _dir: tempfile::TempDir,
}

impl Running {
    pub fn spawn(cmd: &mut Command) -> Running {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("stdout");
        let err = dir.path().join("stderr");
        let child = cmd
            .stdout(std::fs::File::create(&out).unwrap())
            .stderr(std::fs::File::create(&err).unwrap())
            .process_group(0)
            .spawn()
            .unwrap();
        Running {
            child,
            out,
            err,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Still running?
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Sends `signal` to the process only (as `kill`, a CI runner or systemd does).
    pub fn signal(&self, signal: Signal) {
        kill(Pid::from_raw(self.pid()), signal).unwrap();
    }

    /// Sends `signal` to the whole process group (as a terminal's Ctrl-C does):
    /// children that share the group, such as a local cluster, get it too.
    pub fn signal_group(&self, signal: Signal) {
        kill(Pid::from_raw(-self.pid()), signal).unwrap();
    }

    /// Stderr so far.
    pub fn stderr_so_far(&self) -> String {
        std::fs::read_to_string(&self.err).unwrap_or_default()
    }

    /// Waits up to `limit`; `None` if still running (it is then killed).
    pub fn wait(&mut self, limit: Duration) -> Option<Output> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return Some(Output {
                    status,
                    stdout: std::fs::read_to_string(&self.out).unwrap_or_default(),
                    stderr: std::fs::read_to_string(&self.err).unwrap_or_default(),
                });
            }
            if Instant::now() >= deadline {
                let _ = kill(Pid::from_raw(-self.pid()), Signal::SIGKILL);
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Time from now until the process exits (polled every 5 ms), up to `limit`.
    pub fn time_to_exit(&mut self, limit: Duration) -> Option<(Duration, Output)> {
        let t = Instant::now();
        let out = self.wait(limit)?;
        Some((t.elapsed(), out))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = kill(Pid::from_raw(-self.pid()), Signal::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// Polls `f` every 10 ms until it returns `Some`, up to `limit`.
pub async fn wait_for<T, F, Fut>(limit: Duration, what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The results.json at `path`, if it exists and parses.
pub fn results(path: &Path) -> Option<querylab::results::RunResults> {
    querylab::results::RunResults::read(path).ok()
}

/// Comparisons finished in a results file (all datasets).
pub fn finished_comparisons(r: &querylab::results::RunResults) -> Vec<String> {
    r.datasets
        .iter()
        .flat_map(|d| d.comparisons.iter().map(|c| c.id.clone()))
        .collect()
}

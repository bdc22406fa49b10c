//! Resource limits: a load that would not fit on the disk where the server keeps
//! its data is refused up front, with the estimate, the space free and what to do,
//! and leaves nothing behind. (Checked for the `local` backend, whose disk querylab
//! can see; see `src/load/space.rs`.)
use crate::common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::cli;

/// Exit 2, one error line naming the place, the estimate and the space free, and
/// nothing left in `tmp` (but `keep`).
fn assert_refused(out: &cli::Output, tmp: &Path, keep: &[&str]) {
    assert_eq!(out.code(), Some(2), "{}", out.stderr);
    let errors = out.error_lines();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    let e = errors[0];
    assert!(
        e.contains(&format!("not enough disk space in {}", tmp.display())),
        "{e}"
    );
    assert!(e.contains("needs about") && e.contains("is free"), "{e}");
    assert!(e.contains("smaller --rows") && e.contains("TMPDIR"), "{e}");
    let left: Vec<String> = std::fs::read_dir(tmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !keep.contains(&n.as_str()))
        .collect();
    assert!(left.is_empty(), "left behind: {left:?}");
    let procs = common::cluster::processes_mentioning(tmp);
    assert!(procs.is_empty(), "{procs:?}");
}

#[test]
fn a_load_bigger_than_any_disk_is_refused_up_front() {
    let tmp = cli::shared_tempdir();
    let t = tmp.path();
    // 10^12 rows: hundreds of terabytes.
    let out = cli::run(
        cli::querylab(t).args([
            "load",
            "--backend",
            "local",
            "--quiet",
            "--rows",
            "1000000000000",
        ]),
        Duration::from_secs(60),
    );
    assert_refused(&out, t, &[]);
    assert!(out.error_lines()[0].contains("--rows 1000000000000"));
    let out = cli::run(
        cli::querylab(t)
            .args([
                "run",
                "--backend",
                "local",
                "--quiet",
                "--rows",
                "1000000000000",
            ])
            .args(["--only", "pagination"])
            .arg("--out")
            .arg(t.join("out")),
        Duration::from_secs(60),
    );
    assert_refused(&out, t, &["out"]);
    assert!(
        out.error_lines()[0].contains("clone(s) of it while measuring"),
        "a run counts its clones"
    );
}

/// A small tmpfs, unmounted on drop; `None` where mounting is not allowed.
struct Tmpfs(tempfile::TempDir);

impl Tmpfs {
    fn mount(size: &str) -> Option<Tmpfs> {
        let dir = cli::shared_tempdir();
        let ok = Command::new("mount")
            .args([
                "-t",
                "tmpfs",
                "-o",
                &format!("size={size},mode=0755"),
                "tmpfs",
            ])
            .arg(dir.path())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        ok.then_some(Tmpfs(dir))
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0.path()).status();
    }
}

#[test]
fn a_load_is_refused_on_a_small_disk_and_accepted_when_it_fits() {
    let Some(fs) = Tmpfs::mount("160m") else {
        eprintln!("skipped: cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN)");
        return;
    };
    let t = fs.0.path();
    // About 600 MB of data does not fit in what initdb leaves of 160 MB …
    let out = cli::run(
        cli::querylab(t).args(["load", "--backend", "local", "--quiet", "--rows", "1000000"]),
        Duration::from_secs(60),
    );
    assert_refused(&out, t, &[]);
    let e = out.error_lines()[0];
    assert!(e.contains("MiB is free"), "{e}");
    // … and 20,000 rows (about 12 MB) do.
    let out = cli::run(
        cli::querylab(t).args(["load", "--backend", "local", "--quiet", "--rows", "20000"]),
        Duration::from_secs(120),
    );
    assert_eq!(out.code(), Some(0), "{}", out.stderr);
}

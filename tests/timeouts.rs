//! Timeouts: a variant whose statement never ends, an index set that never builds,
//! and variants slow enough to spend their comparison's budget cannot hang a run.
//! Each is cut off — statement_timeout per sample, the comparison's time budget
//! for setup statements and for variants not started — and recorded as such, and
//! the run goes on to the next comparison and finishes.
use crate::common;

use std::path::Path;
use std::time::Duration;

use common::cli;
use querylab::results::{RunStatus, VariantStatus};

#[test]
fn pathological_variants_are_cut_off_and_the_run_finishes() {
    let tmp = cli::shared_tempdir();
    let out_dir = tmp.path().join("out");
    let scenario = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/pathological.toml");
    // Every endless statement sleeps an hour: finishing at all proves the bounds.
    let out = cli::run(
        cli::querylab(tmp.path())
            .args(["run", "--backend", "local", "--quiet", "--warmup", "3"])
            .args(["--min-samples", "2", "--min-time", "0.5", "--max-time", "1"])
            .args(["--statement-timeout", "1", "--comparison-budget", "3"])
            .arg("--scenario")
            .arg(&scenario)
            .arg("--out")
            .arg(&out_dir),
        Duration::from_secs(300),
    );
    // 1: variants failed (the index set, the one not started); not 2: no error.
    assert_eq!(out.code(), Some(1), "{}", out.stderr);
    let r = cli::results(&out_dir.join("results.json")).expect("results.json");
    assert_eq!(r.status, RunStatus::Complete);
    let status = |c: &str, v: &str| {
        r.datasets[0]
            .comparisons
            .iter()
            .find(|x| x.id == c)
            .unwrap_or_else(|| panic!("{c} measured"))
            .variants
            .iter()
            .find(|x| x.name == v)
            .unwrap()
            .status
            .clone()
    };
    assert_eq!(status("slow.sample", "fast"), VariantStatus::Ok);
    assert!(
        matches!(
            status("slow.sample", "endless"),
            VariantStatus::TimedOut {
                timeout_ns: 1_000_000_000
            }
        ),
        "{:?}",
        status("slow.sample", "endless")
    );
    assert_eq!(status("slow.index_set", "plain"), VariantStatus::Ok);
    match status("slow.index_set", "stuck") {
        VariantStatus::Failed { message } => assert!(
            message.contains("pathological.toml:10:1: index set endless statement 1: cancelled: the comparison's time budget of 3 s ran out")
                && message.contains("--comparison-budget"),
            "{message}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(status("slow.budget", "a"), VariantStatus::Ok);
    match status("slow.budget", "c") {
        VariantStatus::Failed { message } => {
            assert!(message.contains("exceeded its time budget"), "{message}")
        }
        other => panic!("{other:?}"),
    }
    // The reasons are on stderr, one line each.
    assert!(
        out.stderr.contains("slow.index_set / stuck: FAILED:"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("slow.budget / c: FAILED:"),
        "{}",
        out.stderr
    );
}

//! `querylab check` end to end, as CI runs it: the committed baseline's comparisons
//! are measured now and compared. The baseline was recorded on another machine, so
//! this gate is the deterministic one (plans, blocks, rows, results), which is exact
//! across machines for the same data, seed and server version; timing is reported.

use std::path::Path;
use std::process::Command;

#[test]
fn committed_baseline_passes_the_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().unwrap();
    let verdicts = out.path().join("verdicts.json");
    let status = Command::new(env!("CARGO_BIN_EXE_querylab"))
        .current_dir(root)
        .args(["check", "--baseline", "fixtures/baselines/ci/results.json"])
        .args(["--backend", "local", "--quiet", "--ignore-timing"])
        .arg("--out")
        .arg(out.path().join("current"))
        .arg("--verdicts")
        .arg(&verdicts)
        .env_remove("GITHUB_STEP_SUMMARY")
        .status()
        .expect("querylab runs");
    assert_eq!(
        status.code(),
        Some(0),
        "check against the committed baseline failed"
    );
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&verdicts).unwrap()).unwrap();
    assert!(
        v.get("verdicts")
            .and_then(|x| x.as_array())
            .is_some_and(|a| a.len() >= 10)
    );
}

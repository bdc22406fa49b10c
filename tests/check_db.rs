//! `check` against real PostgreSQL: three planted regressions are each caught, and
//! ten unchanged re-runs in a row all pass, checked as `querylab check` checks them.
use crate::common;

use std::path::Path;

use querylab::catalog;
use querylab::check::{
    self, CheckOptions, Current, EXIT_OK, EXIT_REGRESSION, FindingKind, Remeasure,
};
use querylab::measure::{MeasureConfig, default_sampling};
use querylab::results::RunResults;
use querylab::run::{RunConfig, run};
use querylab::shutdown::Shutdown;

const SCENARIO: &str = include_str!("scenarios/regress.toml");

/// The tests here measure timings: run them one at a time, not side by side.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn measure() -> MeasureConfig {
    let mut sampling = default_sampling();
    sampling.warmup_runs = 2;
    sampling.min_samples = 20;
    sampling.min_time_ns = 200_000_000;
    sampling.max_time_ns = 1_000_000_000;
    MeasureConfig {
        sampling,
        // Writes are checked for running and being priced, not for their speed.
        write_cost_rows: 100,
        write_repetitions: 3,
        ..MeasureConfig::default()
    }
}

/// The scenario text (possibly edited), measured into `out` on a fresh server.
fn remeasure(text: &str, out: &Path) -> Remeasure {
    let scenario = catalog::parse(text, "regress.toml", None).expect("scenario parses");
    let config = RunConfig {
        provision: common::provision_config(),
        images: Vec::new(),
        rows: vec![20_000],
        seed: 7,
        only: None,
        out_dir: out.to_path_buf(),
        measure: measure(),
        quiet: true,
    };
    Remeasure { scenario, config }
}

/// Runs the scenario text (possibly edited) on a fresh server.
async fn run_text(text: &str, out: &Path) -> RunResults {
    let m = remeasure(text, out);
    run(&m.config, &m.scenario, &Shutdown::new())
        .await
        .expect("run")
}

fn kinds(report: &check::CheckReport, comparison: &str, variant: &str) -> Vec<FindingKind> {
    report
        .verdict(comparison, variant)
        .map(|v| v.findings.iter().map(|f| f.kind).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn planted_regressions_are_caught() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = run_text(SCENARIO, &dir.path().join("base")).await;
    let opts = CheckOptions::default();

    // 1. The index a variant needs is dropped: the plan changes.
    let dropped = SCENARIO.replace("index_set = \"pending\"\n", "");
    let current = run_text(&dropped, &dir.path().join("dropped")).await;
    check::compatibility(&baseline, &current).unwrap();
    let r = check::compare(&baseline, &current, &opts);
    assert_eq!(
        r.exit_code(),
        EXIT_REGRESSION,
        "{}",
        check::render_table(&r)
    );
    assert!(kinds(&r, "regress.pending", "first_page").contains(&FindingKind::PlanChanged));

    // 2. The query is rewritten to read more: same plan shape, more blocks.
    let wider = SCENARIO.replace(
        "WHERE run_id = $1 AND name = 'loss'",
        "WHERE run_id::text = $1 AND name = 'loss'",
    );
    let current = run_text(&wider, &dir.path().join("wider")).await;
    let r = check::compare(&baseline, &current, &opts);
    assert_eq!(
        r.exit_code(),
        EXIT_REGRESSION,
        "{}",
        check::render_table(&r)
    );
    let k = kinds(&r, "regress.metric", "avg_loss");
    assert!(
        k.contains(&FindingKind::BlocksUp) || k.contains(&FindingKind::PlanChanged),
        "{k:?}"
    );

    // 3. A planner setting changes.
    let setting = SCENARIO.replace(
        "params = [\"run_id\"]\n",
        "params = [\"run_id\"]\nsettings = { enable_indexscan = \"off\", enable_bitmapscan = \"off\" }\n",
    );
    let current = run_text(&setting, &dir.path().join("setting")).await;
    let r = check::compare(&baseline, &current, &opts);
    assert_eq!(
        r.exit_code(),
        EXIT_REGRESSION,
        "{}",
        check::render_table(&r)
    );
    assert!(kinds(&r, "regress.metric", "avg_loss").contains(&FindingKind::PlanChanged));
}

#[tokio::test]
async fn ten_unchanged_reruns_all_pass() {
    let _serial = SERIAL.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let baseline = run_text(SCENARIO, &dir.path().join("base")).await;
    for i in 0..10 {
        // As `querylab check --baseline` without `--current` does it: measure now,
        // and measure a timing-only slowdown once more before it can fail.
        let current = Current::Measure(Box::new(remeasure(
            SCENARIO,
            &dir.path().join(format!("rerun{i}")),
        )));
        let r = check::check(
            &baseline,
            current,
            &CheckOptions::default(),
            &Shutdown::new(),
        )
        .await
        .expect("check")
        .report;
        assert_eq!(
            r.exit_code(),
            EXIT_OK,
            "false alarm on unchanged re-run {i}:\n{}",
            check::render_table(&r)
        );
    }
}

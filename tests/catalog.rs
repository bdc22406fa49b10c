//! The built-in catalog against a real PostgreSQL at a small size: every comparison
//! runs, its expectations hold and its variants agree; a planted wrong variant is
//! caught; deterministic counters repeat exactly on a fresh load of the same data;
//! measurers sharing one server (as the benches do) never collide on clone names;
//! back-to-back sampling measures every variant as the default interleaved order does.
use crate::common;

use std::path::Path;

use querylab::catalog;
use querylab::load::{LoadOptions, load};
use querylab::measure::{MeasureConfig, Measurer, SamplingOrder, default_sampling, session};
use querylab::progress::Progress;
use querylab::results::{CheckStatus, RunResults, VariantStatus};
use querylab::run::{RunConfig, run};
use querylab::shutdown::Shutdown;

const ROWS: u64 = 20_000;

/// Few samples: these tests check behaviour, not speed.
fn quick() -> MeasureConfig {
    let mut sampling = default_sampling();
    sampling.warmup_runs = 1;
    sampling.min_samples = 3;
    sampling.min_time_ns = 0;
    sampling.max_time_ns = 300_000_000;
    MeasureConfig {
        sampling,
        // Writes are checked for running and being priced, not for their speed.
        write_cost_rows: 100,
        write_repetitions: 3,
        fresh_clone_max_samples: 2,
        // Workloads at one short level: this test is about every comparison running.
        workload: querylab::results::WorkloadSettings {
            clients: Some(vec![2]),
            duration_factor: 0.2,
            client_threads: None,
        },
        ..MeasureConfig::default()
    }
}

async fn run_scenario(scenario: &catalog::Scenario, only: Option<&str>, out: &Path) -> RunResults {
    let cfg = RunConfig {
        provision: common::provision_config(),
        images: Vec::new(),
        rows: vec![ROWS],
        seed: 42,
        only: only.map(str::to_string),
        out_dir: out.to_path_buf(),
        measure: quick(),
        quiet: true,
    };
    run(&cfg, scenario, &Shutdown::new())
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"))
}

#[tokio::test]
async fn every_builtin_comparison_runs_agrees_and_meets_its_expectations() {
    let scenario = catalog::builtin("seeds").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let results = run_scenario(&scenario, None, dir.path()).await;
    let ds = &results.datasets[0];
    assert_eq!(ds.comparisons.len(), scenario.comparisons.len());
    assert!(ds.comparisons.len() >= 17);
    let mut problems = Vec::new();
    for c in &ds.comparisons {
        if c.result_check.status == CheckStatus::Mismatch {
            problems.push(format!("{}: {:?}", c.id, c.result_check.details));
        }
        for v in &c.variants {
            if v.status != VariantStatus::Ok {
                problems.push(format!("{}/{}: {:?}", c.id, v.name, v.status));
            }
            // A workload variant has levels instead of samples and plans.
            if let Some(w) = &v.workload {
                assert!(!w.levels.is_empty(), "{}/{} measured", c.id, v.name);
                assert!(
                    w.levels
                        .iter()
                        .all(|l| l.verify.as_ref().is_none_or(|r| r.ok)),
                    "{}/{}: invariant broken",
                    c.id,
                    v.name
                );
                continue;
            }
            assert!(
                v.counters.is_some() && v.plan.is_some(),
                "{}/{} has plans",
                c.id,
                v.name
            );
            assert!(!v.samples_ns.is_empty() && v.stats.is_some());
        }
        // Plan and row expectations are deterministic and must hold; timing ones
        // (faster than, wins) are figures for the report, not assertions: a busy
        // machine can reverse a close pair without anything being wrong.
        for e in c.expectations.iter().filter(|e| !e.held) {
            let line = format!(
                "{}: {:?} {} ({:?})",
                c.id, e.variant, e.description, e.detail
            );
            if e.timing {
                eprintln!("timing expectation missed (not a failure): {line}");
            } else {
                problems.push(line);
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Index sets are costed: sizes and write throughput with and without them.
    assert!(
        ds.index_sets
            .iter()
            .any(|s| s.bytes > 0 && s.write_rows_per_second > 0.0)
    );
    // Writes are measured for every index set and layout with a write table that a
    // read-only variant runs on (once, at the last comparison reading on it): none is
    // left out, whichever comparison that is.
    let read_on = |layout: Option<&str>, set: &str| {
        scenario
            .comparisons
            .iter()
            .filter(|c| !querylab::workload::is_workload(c))
            .flat_map(|c| &c.variants)
            .any(|v| {
                v.mode == catalog::Mode::Read && v.layout.as_deref() == layout && v.index_set == set
            })
    };
    let mut costed = 0;
    for s in &ds.index_sets {
        if scenario.index_sets[&s.name].write_table.is_some() && read_on(None, &s.name) {
            assert!(s.writes.is_some(), "index set {} has writes", s.name);
            costed += 1;
        }
    }
    for l in &ds.layouts {
        if scenario.layouts[&l.name].write_table.is_some()
            && read_on(Some(&l.name), catalog::NO_INDEX)
        {
            assert!(l.writes.is_some(), "layout {} has writes", l.name);
            costed += 1;
        }
    }
    assert!(costed >= 20, "{costed} index sets and layouts costed");
    // The file on disk is the same, complete, results.
    let saved = RunResults::read(&dir.path().join("results.json")).unwrap();
    assert_eq!(saved.status, querylab::results::RunStatus::Complete);
    assert_eq!(saved.datasets[0].comparisons.len(), ds.comparisons.len());
}

#[tokio::test]
async fn back_to_back_sampling_measures_every_variant_as_interleaved_does() {
    let scenario = catalog::builtin("seeds").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = RunConfig {
        provision: common::provision_config(),
        images: Vec::new(),
        rows: vec![ROWS],
        seed: 42,
        only: Some("index.lower_name".into()),
        out_dir: dir.path().to_path_buf(),
        measure: {
            let mut m = quick();
            m.sampling.order = SamplingOrder::BackToBack;
            m
        },
        quiet: true,
    };
    let results = run(&cfg, &scenario, &Shutdown::new())
        .await
        .unwrap_or_else(|e| panic!("run failed: {e}"));
    let c = &results.datasets[0].comparisons[0];
    assert_eq!(c.id, "index.lower_name");
    assert_eq!(
        c.result_check.status,
        CheckStatus::Match,
        "{:?}",
        c.result_check
    );
    assert!(c.variants.len() >= 3);
    for v in &c.variants {
        assert_eq!(v.status, VariantStatus::Ok, "{}", v.name);
        let n = v.samples_ns.len() as u32;
        assert!(
            n >= quick().sampling.min_samples && n <= quick().sampling.max_samples,
            "{}: {n} samples",
            v.name
        );
        assert!(v.plan.is_some() && v.counters.is_some(), "{}", v.name);
    }
    assert!(
        c.expectations.iter().filter(|e| !e.timing).all(|e| e.held),
        "{:?}",
        c.expectations
    );
}

#[tokio::test]
async fn a_planted_wrong_variant_fails_the_result_check() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios/planted.toml");
    let scenario = catalog::load_file(&path).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let results = run_scenario(&scenario, None, dir.path()).await;
    let c = &results.datasets[0].comparisons[0];
    assert_eq!(c.result_check.status, CheckStatus::Mismatch);
    assert_eq!(
        c.result_check.details.len(),
        1,
        "{:?}",
        c.result_check.details
    );
    assert!(c.result_check.details[0].starts_with("wrong:"));
    assert_ne!(
        c.winner.as_deref(),
        Some("wrong"),
        "a variant with other rows cannot win"
    );
    assert!(
        c.expectations.iter().all(|e| e.held),
        "{:?}",
        c.expectations
    );
}

#[tokio::test]
async fn counters_repeat_exactly_on_a_fresh_load_of_the_same_data() {
    let scenario = catalog::builtin("seeds").unwrap();
    let only = Some("pagination,jobs.pending,query.metric_aggregate,nplus1,jobs.archive");
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // Two separate servers, two loads: nothing is shared but the seed.
    let first = run_scenario(&scenario, only, a.path()).await;
    let second = run_scenario(&scenario, only, b.path()).await;
    let (x, y) = (&first.datasets[0], &second.datasets[0]);
    assert!(x.comparisons.len() >= 5);
    for (cx, cy) in x.comparisons.iter().zip(&y.comparisons) {
        for (vx, vy) in cx.variants.iter().zip(&cy.variants) {
            let (kx, ky) = (vx.counters.as_ref().unwrap(), vy.counters.as_ref().unwrap());
            let at = format!("{}/{}", cx.id, vx.name);
            assert_eq!(
                kx.shared_blocks(),
                ky.shared_blocks(),
                "{at}: shared blocks"
            );
            assert_eq!(kx.rows, ky.rows, "{at}: rows");
            assert_eq!(kx.node_types, ky.node_types, "{at}: node types");
            assert_eq!(kx.indexes, ky.indexes, "{at}: indexes");
            assert_eq!(kx.joins, ky.joins, "{at}: joins");
            assert_eq!(vx.result, vy.result, "{at}: result digest");
        }
    }
}

/// `cargo bench` makes a measurer per benchmark on one loaded server while another
/// variant's clone is still open: clone names must not repeat across measurers.
#[tokio::test]
async fn measurers_sharing_a_server_never_reuse_a_clone_name() {
    let scenario = catalog::builtin("seeds").unwrap();
    let server = common::server().await;
    let opts = LoadOptions {
        rows: ROWS,
        seed: 42,
        quiet: true,
        clones: 2,
    };
    let shutdown = Shutdown::new();
    let loaded = load(&server, &scenario.load, &opts, &shutdown)
        .await
        .expect("load");
    let (config, progress) = (quick(), Progress::new(false));
    let pick = |id: &str| scenario.comparisons.iter().find(|c| c.id == id).unwrap();
    let (pending, archive) = (pick("jobs.pending.first_page"), pick("jobs.archive"));
    let measurer = || {
        Measurer::new(
            &server,
            &loaded.template,
            &scenario,
            &config,
            &shutdown,
            &progress,
        )
    };
    let mut first = measurer();
    let mut params = None;
    let open = session::open(&mut first, pending, &pending.variants[0], &mut params)
        .await
        .unwrap_or_else(|_| panic!("opening a session"));
    // Fresh-clone variants clone the template on every sample, under new names.
    let result = measurer().comparison(archive).await.expect("measuring");
    for v in &result.variants {
        assert_eq!(v.status, VariantStatus::Ok, "{}: {:?}", v.name, v.status);
    }
    session::close(&mut first, open).await.expect("closing");
    server.shutdown().await.expect("shutdown");
}

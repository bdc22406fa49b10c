//! A realistic `RunResults` built in code for the report tests: several servers
//! and sizes, comparisons with winners, a timeout, a failure, a result mismatch and
//! a failed expectation, with plans captured from a real PostgreSQL 15
//! (`fixtures/golden/plans/*.json`). Report code needs no database, so timings are
//! synthetic: a fixed-seed log-normal spread around a median that grows with the
//! table like the real query would.
#![allow(dead_code)]

mod comparisons;

pub use comparisons::comparisons;

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::results as build;
use chrono::{TimeZone, Utc};
use querylab::results::*;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

/// A captured plan by file stem.
pub fn plan(name: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/golden/plans")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `n` samples around `median_ns`, deterministic for a given `seed`.
pub fn samples(median_ns: f64, n: usize, seed: u64) -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let u1: f64 = rng.random::<f64>().max(1e-12);
            let u2: f64 = rng.random::<f64>();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            let outlier = if rng.random::<f64>() < 0.03 { 1.6 } else { 1.0 };
            (median_ns * (0.07 * z).exp() * outlier) as u64
        })
        .collect()
}

/// Summary statistics with an order-statistic interval for the median instead of
/// the bootstrap: the same shape of numbers, without 2,000 resamples per variant in
/// an unoptimised test build.
pub fn quick_stats(samples_ns: &[u64]) -> Option<Stats> {
    if samples_ns.is_empty() {
        return None;
    }
    let mut v: Vec<f64> = samples_ns.iter().map(|s| *s as f64).collect();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let p = |q: f64| querylab::stats::percentile_sorted(&v, q);
    let mean = v.iter().sum::<f64>() / n as f64;
    let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n.max(2) - 1) as f64;
    let half = 0.98 * (n as f64).sqrt();
    let lo = ((n as f64 / 2.0 - half).floor().max(0.0)) as usize;
    let hi = ((n as f64 / 2.0 + half).ceil() as usize).min(n - 1);
    Some(Stats {
        n,
        median_ns: p(50.0),
        mean_ns: mean,
        p95_ns: p(95.0),
        p99_ns: p(99.0),
        min_ns: v[0],
        max_ns: v[n - 1],
        stddev_ns: var.sqrt(),
        median_ci_low_ns: v[lo],
        median_ci_high_ns: v[hi],
    })
}

/// How a variant behaves in the fixture.
pub struct Spec {
    pub name: &'static str,
    pub sql: &'static str,
    pub index_set: &'static str,
    pub ddl: &'static [&'static str],
    pub plan: &'static str,
    /// Median at 1M rows, nanoseconds.
    pub median_1m: f64,
    /// Growth exponent against rows.
    pub growth: f64,
    pub status: VariantStatus,
    pub rows: u64,
    pub hash: &'static str,
    pub executions: u32,
}

fn spec(
    name: &'static str,
    sql: &'static str,
    index_set: &'static str,
    ddl: &'static [&'static str],
    plan: &'static str,
    median_1m: f64,
    growth: f64,
) -> Spec {
    Spec {
        name,
        sql,
        index_set,
        ddl,
        plan,
        median_1m,
        growth,
        status: VariantStatus::Ok,
        rows: 50,
        hash: "aa11",
        executions: 1,
    }
}

/// Builds one variant at `rows`.
pub fn variant(s: &Spec, rows: u64, seed: u64) -> VariantResult {
    let median = s.median_1m * (rows as f64 / 1e6).powf(s.growth);
    let samples_ns = match s.status {
        VariantStatus::Ok => samples(median, 80, seed),
        _ => vec![],
    };
    let plan_value = (s.status == VariantStatus::Ok).then(|| plan(s.plan));
    VariantResult {
        description: format!("{} using index set {}", s.name, s.index_set),
        sql: s.sql.into(),
        params: if s.sql.contains("$1") {
            vec!["2024-06-01 00:00:00+00".into()]
        } else {
            vec![]
        },
        executions_per_sample: s.executions,
        index_set: s.index_set.into(),
        index_ddl: s.ddl.iter().map(|d| d.to_string()).collect(),
        status: s.status.clone(),
        stats: quick_stats(&samples_ns),
        samples_ns,
        // Counters as the explain stage derives them, from the captured plan.
        counters: plan_value.as_ref().map(querylab::explain::counters),
        plan: plan_value,
        result: (s.status == VariantStatus::Ok).then(|| ResultDigest {
            rows: s.rows,
            hash: s.hash.into(),
            ordered: true,
        }),
        ..build::variant(s.name)
    }
}

/// A comparison from its variants; the first is the reference. Winner and speed-ups
/// are computed the way the measure stage does.
pub fn comparison(
    id: &str,
    title: &str,
    description: &str,
    specs: &[Spec],
    rows: u64,
    seed: u64,
    expectations: Vec<ExpectationOutcome>,
) -> ComparisonResult {
    let mut variants: Vec<VariantResult> = specs
        .iter()
        .enumerate()
        .map(|(i, s)| variant(s, rows, seed * 31 + i as u64))
        .collect();
    let reference = variants[0].clone();
    let ref_median = reference.stats.map(|s| s.median_ns);
    let ref_hash = reference.result.as_ref().map(|r| r.hash.clone());
    let mut details = Vec::new();
    for v in &mut variants {
        v.speedup = match (ref_median, v.stats) {
            (Some(r), Some(s)) => Some(r / s.median_ns),
            _ => None,
        };
        if let (Some(h), Some(mine)) = (&ref_hash, &v.result)
            && *h != mine.hash
        {
            details.push(format!(
                "{}: {} rows, hash {} differs from {}'s",
                v.name, mine.rows, mine.hash, reference.name
            ));
        }
    }
    let winner = variants
        .iter()
        .filter(|v| {
            v.status == VariantStatus::Ok
                && v.result
                    .as_ref()
                    .map(|r| Some(&r.hash) == ref_hash.as_ref())
                    .unwrap_or(false)
        })
        .filter_map(|v| v.stats.map(|s| (v.name.clone(), s.median_ns)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(n, _)| n);
    ComparisonResult {
        title: title.into(),
        description: description.into(),
        sources: vec!["002".into()],
        result_order: ResultOrder::Ordered,
        result_check: ResultCheck {
            status: if details.is_empty() {
                CheckStatus::Match
            } else {
                CheckStatus::Mismatch
            },
            details,
        },
        expectations,
        winner,
        seconds: 4.2,
        ..build::comparison(id, variants)
    }
}

pub fn expect(
    variant: Option<&str>,
    description: &str,
    held: bool,
    detail: Option<&str>,
) -> ExpectationOutcome {
    ExpectationOutcome {
        variant: variant.map(Into::into),
        description: description.into(),
        held,
        detail: detail.map(Into::into),
        timing: description.contains("faster") || description.ends_with("wins"),
    }
}

fn index_sets() -> Vec<IndexSetCost> {
    let set = |name: &str, ddl: &[&str], idx: &[(&str, u64)], rate: f64| IndexSetCost {
        name: name.into(),
        ddl: ddl.iter().map(|d| d.to_string()).collect(),
        indexes: idx
            .iter()
            .map(|(n, b)| IndexSize {
                name: n.to_string(),
                bytes: *b,
            })
            .collect(),
        bytes: idx.iter().map(|i| i.1).sum(),
        build_seconds: 0.8,
        write_table: Some("jobs.ml_jobs".into()),
        write_rows: 20_000,
        write_rows_per_second: rate,
        baseline_rows_per_second: 61_000.0,
        ..IndexSetCost::default()
    };
    vec![
        set("none", &[], &[], 61_000.0),
        set(
            "partial_pending",
            &[
                "CREATE INDEX idx_pending_created ON jobs.ml_jobs (created_at) WHERE status = 'pending'",
            ],
            &[("jobs.idx_pending_created", 245_760)],
            58_400.0,
        ),
        set(
            "status_created",
            &["CREATE INDEX idx_status_created ON jobs.ml_jobs (status, created_at)"],
            &[("jobs.idx_status_created", 30_146_560)],
            44_900.0,
        ),
        set(
            "created",
            &["CREATE INDEX idx_created ON jobs.ml_jobs (created_at)"],
            &[("jobs.idx_created", 22_487_040)],
            47_300.0,
        ),
    ]
}

/// A dataset on `server` at `rows`.
pub fn dataset(server: &str, version: &str, rows: u64, seed: u64) -> Dataset {
    let mut settings = BTreeMap::new();
    for (k, v) in [
        ("shared_buffers", "128MB"),
        ("work_mem", "4MB"),
        ("fsync", "on"),
        ("jit", "off"),
        ("random_page_cost", "4"),
        ("effective_cache_size", "4GB"),
    ] {
        settings.insert(k.to_string(), v.to_string());
    }
    let server = ServerInfo {
        backend: if server.contains("docker") {
            "docker".into()
        } else {
            "local".into()
        },
        version: version.into(),
        image: server
            .contains("docker")
            .then(|| format!("postgres:{version}")),
        settings,
        ..build::server(server)
    };
    Dataset {
        load: Some(LoadReport {
            backend: "local".into(),
            server_version: version.into(),
            database: format!("querylab_tpl_{rows}"),
            seconds: rows as f64 / 180_000.0,
            rows: rows + rows / 20,
            rows_per_second: 180_000.0,
            reused: false,
            tables: vec![
                TableLoad {
                    name: "jobs.ml_jobs".into(),
                    rows,
                    seconds: rows as f64 / 190_000.0,
                    bytes: rows * 110,
                },
                TableLoad {
                    name: "jobs.users".into(),
                    rows: rows / 20,
                    seconds: 0.05,
                    bytes: rows * 4,
                },
            ],
        }),
        index_sets: index_sets(),
        layouts: Vec::new(),
        ..build::dataset(server, rows, comparisons(rows, seed))
    }
}

/// A whole run: every (server, size) pair.
pub fn run(servers: &[(&str, &str)], rows: &[u64]) -> RunResults {
    let mut datasets = Vec::new();
    for (si, (label, version)) in servers.iter().enumerate() {
        for (ri, r) in rows.iter().enumerate() {
            datasets.push(dataset(label, version, *r, 100 * si as u64 + ri as u64));
        }
    }
    let base = build::run(datasets);
    RunResults {
        git_revision: Some("3f9c2e1a7b5d4c6e8f0a1b2c3d4e5f60718293a4".into()),
        started_at: Utc.with_ymd_and_hms(2025, 3, 14, 9, 26, 53).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2025, 3, 14, 9, 41, 10).unwrap(),
        machine: Machine {
            cores: 8,
            memory_bytes: 32 * 1024 * 1024 * 1024,
            os: "linux x86_64".into(),
            hostname: Some("ci-runner-7".into()),
        },
        settings: RunSettings {
            rows: rows.to_vec(),
            scenario: "jobs".into(),
            scenario_source: "builtin:jobs".into(),
            scenario_hash: "9b1d0c7e5a3f2b4d6c8e0f1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e"
                .into(),
            sampling: Sampling {
                min_samples: 30,
                min_time_ns: 2_000_000_000,
                max_time_ns: 30_000_000_000,
                ..base.settings.sampling.clone()
            },
            ..base.settings.clone()
        },
        ..base
    }
}

/// The usual fixture: one local server at three sizes.
pub fn scaling_run() -> RunResults {
    run(&[("pg15-local", "15.8")], &[10_000, 100_000, 1_000_000])
}

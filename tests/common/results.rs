//! Results built in code, for the tests that need no database (check, report): one
//! builder, so that every such test starts from the same complete, valid value and
//! states only what it is about. Each function gives a neutral default; a test
//! changes the fields it cares about with struct-update syntax
//! (`VariantResult { samples_ns, ..variant("v") }`).

use std::collections::BTreeMap;

use chrono::{TimeZone, Utc};
use querylab::measure::default_sampling;
use querylab::results::{
    CheckStatus, ComparisonResult, Dataset, Machine, Protocol, ResultCheck, ResultOrder,
    RunResults, RunSettings, RunStatus, SCHEMA_VERSION, ServerInfo, VariantResult,
};

/// A complete run of the built-in `seeds` scenario (seed 42, default sampling,
/// prepared statements) on a small CI machine, holding `datasets`; its sizes are
/// the datasets'.
pub fn run(datasets: Vec<Dataset>) -> RunResults {
    let mut rows: Vec<u64> = datasets.iter().map(|d| d.rows).collect();
    rows.sort_unstable();
    rows.dedup();
    RunResults {
        schema_version: SCHEMA_VERSION,
        querylab_version: "0.1.0".into(),
        git_revision: Some("0123456789abcdef".into()),
        started_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 4, 5).unwrap(),
        updated_at: Utc.with_ymd_and_hms(2025, 1, 2, 3, 5, 5).unwrap(),
        status: RunStatus::Complete,
        machine: Machine {
            cores: 2,
            memory_bytes: 1 << 33,
            os: "linux".into(),
            hostname: Some("ci".into()),
        },
        settings: RunSettings {
            seed: 42,
            rows,
            scenario: "seeds".into(),
            scenario_source: "builtin:seeds".into(),
            scenario_hash: "ab".repeat(32),
            only: None,
            protocol: Protocol::Prepared,
            sampling: default_sampling(),
            workload: Default::default(),
        },
        datasets,
        advice: None,
    }
}

/// A local PostgreSQL 15.8 labelled `label`, with `work_mem` recorded.
pub fn server(label: &str) -> ServerInfo {
    ServerInfo {
        backend: "local".into(),
        label: label.into(),
        version: "15.8".into(),
        version_num: 150008,
        image: None,
        settings: BTreeMap::from([("work_mem".into(), "4MB".into())]),
    }
}

/// The comparisons measured on `server` at `rows`, keyed as a run keys them; no
/// load report, no index-set costs.
pub fn dataset(server: ServerInfo, rows: u64, comparisons: Vec<ComparisonResult>) -> Dataset {
    Dataset {
        key: Dataset::key_for(&server.label, rows),
        server,
        rows,
        load: None,
        index_sets: vec![],
        layouts: Vec::new(),
        comparisons,
    }
}

/// Comparison `id` of `variants`, the first being the reference; rows compared as
/// a multiset and matching, no expectations, no winner.
pub fn comparison(id: &str, variants: Vec<VariantResult>) -> ComparisonResult {
    let reference = variants[0].name.clone();
    ComparisonResult {
        result_order: ResultOrder::Multiset,
        result_check: ResultCheck {
            status: CheckStatus::Match,
            details: vec![],
        },
        seconds: 1.0,
        ..ComparisonResult::new(id, &reference, variants)
    }
}

/// Variant `name`: one statement per sample on the `default` index set, prepared,
/// finished normally, and nothing measured yet (no samples, stats, counters, plan
/// or result).
pub fn variant(name: &str) -> VariantResult {
    VariantResult {
        sql: format!("SELECT /* {name} */ 1"),
        index_set: "default".into(),
        ..VariantResult::new(name)
    }
}

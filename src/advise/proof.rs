//! Proof: candidates built for real, each on its own clone, and measured like any
//! variant — through [`crate::measure::Measurer`], so latency with its interval,
//! blocks, plan, index size, write cost and the result check against the statement
//! as it is all come from the one measuring path `querylab run` uses.
//!
//! A proof round is an ordinary comparison: the statement's reference variant as
//! `as_is`, and one variant per candidate whose index set is the reference's plus
//! the candidate. It is stored with the run's comparisons in `results.json`.

use std::collections::BTreeMap;

use crate::catalog::{Comparison, IndexSet, Pos, Scenario, Variant};
use crate::error::Result;
use crate::measure::{MeasureConfig, Measurer};
use crate::progress::Progress;
use crate::provision::Server;
use crate::results::{ComparisonResult, IndexSetCost, VariantResult, VariantStatus};
use crate::shutdown::Shutdown;

/// Name of the variant that runs the statement as it is.
pub const AS_IS: &str = "as_is";

/// One index set to try on a statement: a name and its DDL.
#[derive(Debug, Clone)]
pub struct Trial {
    /// Variant (and index set) name.
    pub name: String,
    /// The DDL added to the reference's set.
    pub ddl: Vec<String>,
    /// Table whose write cost it is measured on.
    pub write_table: String,
}

/// A measured round: the comparison result and the index-set costs it measured.
pub struct Round {
    /// The comparison, as stored in results.json.
    pub result: ComparisonResult,
    /// Costs of the trials' index sets, by trial name.
    pub costs: BTreeMap<String, IndexSetCost>,
}

/// Where a round runs: the server, the loaded template and how to measure.
pub struct Bench<'a> {
    /// The server.
    pub server: &'a Server,
    /// The loaded template database.
    pub template: &'a str,
    /// Sampling and protocol.
    pub config: &'a MeasureConfig,
    /// Ctrl-C.
    pub shutdown: &'a Shutdown,
    /// Progress bars.
    pub progress: &'a Progress,
}

/// Measures `base`'s reference variant as `as_is` against one variant per trial,
/// under the comparison id `id`.
pub async fn round(
    bench: &Bench<'_>,
    scenario: &Scenario,
    base: &Comparison,
    id: &str,
    trials: &[Trial],
) -> Result<Round> {
    let reference = base
        .variants
        .iter()
        .find(|v| v.name == base.reference)
        .expect("a resolved comparison has its reference");
    let ref_set = scenario.index_sets[&reference.index_set].clone();
    let mut sc = scenario.clone();
    let mut variants = vec![plain(reference, AS_IS, &reference.index_set)];
    for t in trials {
        let set_name = format!("{id}/{}", t.name);
        let mut ddl = ref_set.ddl.clone();
        ddl.extend(t.ddl.iter().cloned());
        sc.index_sets.insert(
            set_name.clone(),
            IndexSet {
                name: set_name.clone(),
                description: format!("querylab advise: {}", t.name),
                ddl,
                write_table: Some(t.write_table.clone()),
                // The reference set's batch when it writes the same table.
                write_rows: ref_set
                    .write_rows
                    .clone()
                    .filter(|_| ref_set.write_table.as_ref() == Some(&t.write_table)),
                update: None,
                pos: Pos::default(),
            },
        );
        variants.push(plain(reference, &t.name, &set_name));
    }
    let c = Comparison {
        id: id.to_string(),
        title: format!("advise: {}", base.id),
        description: format!("Candidate indexes for the reference variant of {}", base.id),
        reference: AS_IS.into(),
        expect_winner: None,
        variants,
        ..base.clone()
    };
    sc.comparisons = vec![c.clone()];
    let mut m = Measurer::new(
        bench.server,
        bench.template,
        &sc,
        bench.config,
        bench.shutdown,
        bench.progress,
    );
    let result = m.comparison(&c).await?;
    let costs = m
        .index_set_costs()
        .into_iter()
        .filter_map(|cost| {
            let trial = cost.name.strip_prefix(&format!("{id}/"))?.to_string();
            Some((trial, cost))
        })
        .collect();
    Ok(Round { result, costs })
}

/// The reference variant under another name and index set, with the scenario's
/// expectations dropped (they are about the scenario's variants, not these).
fn plain(v: &Variant, name: &str, index_set: &str) -> Variant {
    Variant {
        name: name.into(),
        index_set: index_set.into(),
        plan_contains: Vec::new(),
        plan_lacks: Vec::new(),
        faster_than: Vec::new(),
        ..v.clone()
    }
}

/// What a variant of a round measured, in the advisor's terms.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Median.
    pub median_ns: Option<f64>,
    /// Bootstrap interval of the median.
    pub ci_ns: Option<(f64, f64)>,
    /// Speed-up against `as_is`.
    pub speedup: Option<f64>,
    /// Shared blocks.
    pub shared_blocks: Option<u64>,
    /// Plan head.
    pub plan_head: Option<String>,
    /// Indexes its plan used.
    pub indexes: Vec<String>,
    /// Same rows as `as_is` (None when either has no digest).
    pub same_rows: Option<bool>,
    /// Failure message.
    pub failure: Option<String>,
}

/// The measurements of variant `name` in `r`.
pub fn measured(r: &ComparisonResult, name: &str) -> Measured {
    let Some(v) = r.variant(name) else {
        return Measured::default();
    };
    let reference = r.variant(AS_IS);
    Measured {
        median_ns: v.stats.map(|s| s.median_ns),
        ci_ns: v.stats.map(|s| (s.median_ci_low_ns, s.median_ci_high_ns)),
        speedup: v.speedup,
        shared_blocks: v.counters.as_ref().map(|c| c.shared_blocks()),
        plan_head: v.counters.as_ref().map(|c| c.plan_head.clone()),
        indexes: v
            .counters
            .as_ref()
            .map(|c| c.indexes.clone())
            .unwrap_or_default(),
        same_rows: same_rows(reference, v),
        failure: match &v.status {
            VariantStatus::Failed { message } => Some(message.clone()),
            VariantStatus::TimedOut { timeout_ns } => Some(format!(
                "timed out after {}",
                crate::units::duration_ns(*timeout_ns as f64)
            )),
            VariantStatus::Ok => None,
        },
    }
}

/// Whether `v` returned the reference's rows (by digest).
fn same_rows(reference: Option<&VariantResult>, v: &VariantResult) -> Option<bool> {
    let (a, b) = (reference?.result.as_ref()?, v.result.as_ref()?);
    Some(a.rows == b.rows && a.hash == b.hash)
}

/// Bytes of the indexes named in `ddl` among the sizes a cost recorded.
pub fn bytes_of(cost: &IndexSetCost, ddl: &[String]) -> u64 {
    let names: Vec<&str> = ddl.iter().filter_map(|d| index_name(d)).collect();
    cost.indexes
        .iter()
        .filter(|i| names.contains(&i.name.rsplit('.').next().unwrap_or(&i.name)))
        .map(|i| i.bytes)
        .sum()
}

/// The name in `CREATE [UNIQUE] INDEX name ON …`.
pub fn index_name(ddl: &str) -> Option<&str> {
    let rest = ddl.split_once(" INDEX ")?.1;
    rest.split_whitespace().next()
}

//! `querylab advise`'s part of `results.json` (version 3): the candidates each
//! statement got, how each was screened and proven, the index set chosen for the
//! whole workload with its measured round, and the health findings on the
//! scenario's own index sets. The measurements behind it (samples, plans, result
//! checks) are ordinary comparisons in the same file's datasets, named by
//! `comparison` fields here.

use serde::{Deserialize, Serialize};

/// Everything `querylab advise` concluded.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Advice {
    /// Dataset (key) the advice was measured on.
    pub dataset: String,
    /// `--budget-mb` in bytes, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_bytes: Option<u64>,
    /// Indexes built for real per statement (`K`).
    pub built_per_statement: usize,
    /// How B-tree candidates were screened: `hypopg <version>`, or why screening was off.
    pub screening: String,
    /// One entry per workload statement.
    pub statements: Vec<AdvisedStatement>,
    /// The recommended index set.
    pub chosen: Vec<ChosenIndex>,
    /// The recommendation as a scenario `[index_sets.advised]` block.
    pub toml: String,
    /// The chosen set measured as a whole, per statement.
    pub whole_set: Vec<WholeSetResult>,
    /// Redundant and unused indexes in the scenario's own index sets.
    pub health: Vec<HealthFinding>,
    /// Why nothing was recommended, when nothing was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// Which rule proposed a candidate.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CandidateKind {
    /// Equality columns, then range (leftmost prefix).
    Btree,
    /// A join key.
    JoinKey,
    /// Sort order, so that the scan stops at the `LIMIT`.
    OrderLimit,
    /// Restricted to a rare constant (`WHERE status = 'pending'`).
    Partial,
    /// Key plus `INCLUDE` columns for an index-only scan.
    Include,
    /// On the statement's own expression (`lower(name)`).
    Expression,
    /// GIN `jsonb_path_ops` for `@>`.
    GinJsonbPathOps,
    /// GIN `gin_trgm_ops` for `LIKE '%x%'`.
    GinTrigram,
    /// GIN on a `to_tsvector` expression.
    GinTsvector,
    /// BRIN on a column in physical order.
    Brin,
    /// One index per `OR` branch.
    OrBranches,
}

/// One statement of the workload and what was tried for it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct AdvisedStatement {
    /// The comparison id it came from, or `file:line` of a `--sql` file.
    pub id: String,
    /// The SQL.
    pub sql: String,
    /// The comparison in this file's dataset holding the proof round
    /// (`as_is` and one variant per built candidate).
    pub comparison: Option<String>,
    /// Median as it is (no new index), from the proof round.
    pub as_is_median_ns: Option<f64>,
    /// Every candidate, built or not.
    pub candidates: Vec<CandidateResult>,
    /// Wall time the advisor spent on this statement (analysis, screening, proof).
    pub seconds: f64,
    /// What went wrong or why there is no candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// One candidate and what happened to it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CandidateResult {
    /// Variant name in the proof comparison (`cand1`…), when built.
    pub name: Option<String>,
    /// The rule.
    pub kind: CandidateKind,
    /// Table.
    pub table: String,
    /// Its `CREATE INDEX` statements.
    pub ddl: Vec<String>,
    /// Why it was proposed.
    pub reason: String,
    /// How it was screened: `hypopg`, `not screened: …` (GIN, BRIN, partial,
    /// expression, or no HypoPG).
    pub screened: String,
    /// Planner cost with the hypothetical index (HypoPG), and without.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hypothetical_cost: Option<f64>,
    /// Planner cost as it is, next to `hypothetical_cost`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub as_is_cost: Option<f64>,
    /// Built for real and measured.
    pub built: bool,
    /// Measured median, when built.
    pub median_ns: Option<f64>,
    /// Bootstrap interval of the median.
    pub median_ci_ns: Option<(f64, f64)>,
    /// As-is median / this median.
    pub speedup: Option<f64>,
    /// Shared blocks of one execution.
    pub shared_blocks: Option<u64>,
    /// Top of its plan.
    pub plan_head: Option<String>,
    /// Whether the plan used one of its indexes.
    pub used: bool,
    /// Returned the reference's rows (`None` when not compared).
    pub same_rows: Option<bool>,
    /// On-disk size of its indexes.
    pub bytes: Option<u64>,
    /// Insert throughput on its table with it, and without (rows/s).
    pub write_rows_per_second: Option<(f64, f64)>,
    /// The variant's failure, if it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

/// One index of the recommended set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChosenIndex {
    /// `CREATE INDEX` statement.
    pub ddl: String,
    /// Table.
    pub table: String,
    /// Statements (ids) it serves.
    pub serves: Vec<String>,
    /// Size on disk, as built in the proof round.
    pub bytes: u64,
}

/// One statement measured with the whole chosen set.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct WholeSetResult {
    /// Statement id.
    pub statement: String,
    /// The comparison holding the round (`as_is` against `advised`).
    pub comparison: String,
    /// Median as it is.
    pub as_is_median_ns: Option<f64>,
    /// Median with the chosen set.
    pub advised_median_ns: Option<f64>,
    /// `as_is / advised`.
    pub speedup: Option<f64>,
    /// Top of the plan with the set.
    pub plan_head: Option<String>,
    /// The set returned the statement's rows.
    pub same_rows: Option<bool>,
    /// Insert throughput on the set's write table with the set, and without.
    pub write_rows_per_second: Option<(f64, f64)>,
    /// Size of the whole set.
    pub bytes: u64,
}

/// What is wrong with an index of the scenario's own sets.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum HealthKind {
    /// Same table, keys, operator classes, predicate as another index.
    Duplicate,
    /// Its keys are a leading prefix of another index's keys.
    PrefixRedundant,
    /// Duplicates (or is a prefix of) the primary key's index.
    PrimaryKey,
    /// Executing the workload never scanned it (`idx_scan = 0`).
    Unused,
}

/// One health finding, with what the index costs.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HealthFinding {
    /// Index set it comes from.
    pub index_set: String,
    /// The index (schema-qualified).
    pub index: String,
    /// What is wrong.
    pub kind: HealthKind,
    /// The index that makes it redundant, for duplicates and prefixes.
    pub covered_by: Option<String>,
    /// Its size on disk.
    pub bytes: u64,
    /// Its table.
    pub table: String,
    /// Insert throughput on its table with the set as is, and with every flagged
    /// index of that table dropped (rows/s): what the findings cost writes.
    pub write_rows_per_second: Option<(f64, f64)>,
    /// `idx_scan` counted while the workload's statements ran once on the health
    /// clone, the planner's own probes taken out (0 for an unused index).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idx_scan: Option<u64>,
    /// Whether some statement's plan names the index (corroborates `idx_scan`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_plans: Option<bool>,
}

impl HealthFinding {
    /// Why an index is called unused: no execution of the workload scanned it, and
    /// whether a plan named it all the same (files before version 4 judged by plans).
    pub fn why_unused(&self) -> String {
        match (self.idx_scan, self.in_plans) {
            (Some(_), Some(true)) => "unused: idx_scan = 0 while the workload ran (a plan names it, no execution scanned it)".into(),
            (Some(_), _) => "unused: idx_scan = 0 while the workload ran".into(),
            (None, _) => "unused: no statement's plan used it".into(),
        }
    }
}

//! The scenario file format, as serde types (TOML).
//!
//! These types mirror the file one to one; [`super::resolve`] checks references
//! between them and turns them into the runtime [`super::Scenario`]. Names that
//! other parts refer to are [`Spanned`] so that a wrong reference is reported at its
//! line and column. Unknown keys are errors (`deny_unknown_fields`): a typo must not
//! silently change what is measured.

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::results::ResultOrder;

/// A whole scenario file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    /// Short name, used in results and baselines.
    pub name: String,
    /// What the scenario is about.
    #[serde(default)]
    pub description: String,
    /// The schema to create.
    pub schema: SchemaDef,
    /// Where the rows come from.
    #[serde(default)]
    pub data: DataDef,
    /// Index sets built into the loaded template (shared by every variant).
    #[serde(default)]
    pub template_index_sets: Vec<Spanned<String>>,
    /// Named index sets variants run with. `none` (no secondary index) always exists.
    #[serde(default)]
    pub index_sets: BTreeMap<String, Spanned<IndexSetDef>>,
    /// Named table designs (`[layouts.NAME]`) variants run on.
    #[serde(default)]
    pub layouts: BTreeMap<String, Spanned<LayoutDef>>,
    /// The comparisons, in order (`[[comparison]]`).
    #[serde(default, rename = "comparison")]
    pub comparisons: Vec<ComparisonDef>,
}

/// `[schema]`: the built-in seed schemas, or the user's SQL files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaDef {
    /// Use the built-in seed schemas (`schema/*.sql`).
    #[serde(default)]
    pub builtin: bool,
    /// SQL files, relative to the scenario file, applied in order.
    #[serde(default)]
    pub files: Vec<Spanned<String>>,
}

/// `[data]`: the built-in generators, or fixtures.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataDef {
    /// `builtin` to generate the seed tables' rows.
    #[serde(default)]
    pub generator: Option<Spanned<String>>,
    /// SQL or CSV fixtures, loaded in order.
    #[serde(default)]
    pub fixtures: Vec<Spanned<FixtureDef>>,
}

/// One fixture: `{ sql = "file.sql" }` or `{ csv = "file.csv", table = "s.t" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureDef {
    /// SQL file executed as is (may insert with generate_series, etc.).
    pub sql: Option<String>,
    /// CSV file with a header row, copied into `table`.
    pub csv: Option<String>,
    /// Target table for `csv`.
    pub table: Option<String>,
}

/// `[index_sets.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndexSetDef {
    /// What the set is for.
    #[serde(default)]
    pub description: String,
    /// DDL statements (CREATE INDEX, CREATE MATERIALIZED VIEW, …).
    #[serde(default)]
    pub sql: Vec<String>,
    /// A file of DDL instead of (or after) `sql`; relative to the scenario file, or
    /// `builtin:NAME` for `schema/index_sets/NAME.sql`.
    pub file: Option<String>,
    /// Table whose insert throughput shows the set's write cost (schema-qualified).
    pub write_table: Option<String>,
    /// SQL returning the batch of rows inserted into `write_table` (instead of copies
    /// of its own rows), for tables whose keys copies would collide on.
    pub write_rows: Option<String>,
    /// A change to existing rows whose cost the set is about (a status transition
    /// under an index on the status).
    pub update: Option<Spanned<UpdateDef>>,
}

/// `[layouts.NAME]`: a table design derived from the loaded data on a clone.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutDef {
    /// What the design is.
    #[serde(default)]
    pub description: String,
    /// Statements run once on a clone of the loaded template (CREATE TABLE … AS,
    /// ALTER TABLE …); none for the canonical design.
    #[serde(default)]
    pub statements: Vec<Spanned<String>>,
    /// Tables (schema-qualified) the design is about: their bytes are reported.
    #[serde(default)]
    pub tables: Vec<String>,
    /// Table whose writes are measured on the loaded data (schema-qualified).
    pub write_table: Option<String>,
    /// SQL returning the batch inserted into `write_table` (default: copies of its rows).
    pub write_rows: Option<String>,
    /// A change to existing rows whose cost the design is about (renaming what is
    /// copied, tagging one experiment).
    pub update: Option<Spanned<UpdateDef>>,
}

/// `[layouts.NAME.update]` / `[index_sets.NAME.update]`: a change measured like the
/// inserts, as one statement per batch row and as one statement for the whole batch.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateDef {
    /// What the change is, e.g. `start a pending job`.
    #[serde(default)]
    pub description: String,
    /// SQL returning the batch, one row per change; its columns are the parameters
    /// `$1`, `$2`, … of `single`.
    pub rows: String,
    /// The change of one batch row, a prepared statement run once per row.
    pub single: String,
    /// The whole batch's change in one statement, reading the batch from the temp
    /// table `querylab_batch` (the `rows` query's answer).
    pub multi: String,
}

/// `[[comparison]]`: variants of one question.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ComparisonDef {
    /// Stable id (`family.question[.detail]`), used by `--only`, baselines and benches.
    pub id: Spanned<String>,
    /// Human title.
    pub title: String,
    /// What it shows and why.
    #[serde(default)]
    pub description: String,
    /// Seed documents (e.g. `"002"`).
    #[serde(default)]
    pub sources: Vec<String>,
    /// The variant the others are compared with.
    pub reference: Spanned<String>,
    /// `ordered`, `multiset` or `none`.
    #[serde(default)]
    pub result: ResultOrder,
    /// Variant expected to have the lowest median.
    pub expect_winner: Option<Spanned<String>>,
    /// SQL returning one row; each column is a parameter named after it.
    pub params: Option<Spanned<String>>,
    /// Per-sample `statement_timeout` override, milliseconds.
    pub timeout_ms: Option<u64>,
    /// A concurrent workload every variant runs instead of single-client samples
    /// (`[comparison.workload]`, see [`super::workload`]).
    pub workload: Option<Spanned<super::workload::WorkloadDef>>,
    /// The variants (`[[comparison.variant]]`).
    #[serde(rename = "variant")]
    pub variants: Vec<VariantDef>,
}

/// How a variant touches the data.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Read-only: samples run back to back on one clone.
    #[default]
    Read,
    /// Writes, undone: each sample runs in a transaction that is rolled back.
    Rollback,
    /// Writes, kept: each sample runs on a fresh clone of the template.
    FreshClone,
}

/// What a variant's rows must be compared to the reference's.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ResultExpectation {
    /// Same rows as the reference.
    #[default]
    Same,
    /// Different rows (e.g. UNION's de-duplication): a match is the failure.
    Differs,
}

/// `[[comparison.variant]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VariantDef {
    /// Unique within the comparison.
    pub name: Spanned<String>,
    /// What it demonstrates.
    #[serde(default)]
    pub description: String,
    /// Index set it runs with (default `none`).
    pub index_set: Option<Spanned<String>>,
    /// Layout (table design) it runs on (default: the loaded schema as it is).
    pub layout: Option<Spanned<String>>,
    /// One statement. Exactly one of `sql` and `statements`.
    pub sql: Option<Spanned<String>>,
    /// Several statements run in order each sample (same parameters for each).
    pub statements: Option<Spanned<Vec<String>>>,
    /// Names of the comparison's params bound to `$1`, `$2`, … in order.
    #[serde(default)]
    pub params: Vec<Spanned<String>>,
    /// SQL returning N rows: the statement runs once per row with the row's columns
    /// bound to `$1…` (an N+1 pattern really issued N times).
    pub for_each: Option<Spanned<String>>,
    /// Repeat the statements until the last one affects no row (batched writes).
    #[serde(default)]
    pub repeat_until_zero: bool,
    /// `read`, `rollback` or `fresh_clone`.
    #[serde(default)]
    pub mode: Mode,
    /// For writing variants: SQL whose rows, after a sample, are the variant's result.
    pub verify: Option<Spanned<String>>,
    /// Session settings for this variant (`SET name = value`), e.g. planner switches.
    #[serde(default)]
    pub settings: BTreeMap<String, String>,
    /// Expectations about this variant.
    #[serde(default)]
    pub expect: ExpectDef,
    /// This variant's own workload fields, over the comparison's
    /// (`[comparison.variant.workload]`).
    pub workload: Option<Spanned<super::workload::WorkloadDef>>,
    /// A weighted mix of transactions instead of `sql`/`statements`
    /// (`[[comparison.variant.mix]]`, workloads only).
    #[serde(default)]
    pub mix: Vec<Spanned<super::workload::MixDef>>,
}

/// `[comparison.variant.expect]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectDef {
    /// Node types or index names the plan must contain.
    #[serde(default)]
    pub plan_contains: Vec<String>,
    /// Node types or index names the plan must not contain.
    #[serde(default)]
    pub plan_lacks: Vec<String>,
    /// `same` (default) or `differs` from the reference's rows.
    #[serde(default)]
    pub result: ResultExpectation,
    /// Variants this one must be faster than (median, with non-overlapping CIs not required).
    #[serde(default)]
    pub faster_than: Vec<Spanned<String>>,
}

//! `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` output as one typed plan tree, and what
//! is derived from it: the [`Counters`] CI gates on and the [`Finding`]s the report
//! flags. The report only renders this tree; nothing else walks the JSON.
//!
//! The counters are the deterministic side of a measurement: shared blocks, rows,
//! node types, indexes and joins do not depend on the clock, so CI can gate on them
//! strictly. They are taken in a pass with parallel workers and JIT off, because
//! parallel plans split buffers between workers in ways that vary run to run.
//!
//! Parsing is lenient (a missing field is absent, never an error) because a report
//! must render any results file, including ones from newer servers with fields we
//! do not know.

use serde_json::Value;

use crate::results::Counters;
use crate::units::{count, times};

/// A sequential scan that reads more rows than this is flagged: on a table this
/// size an index usually pays off, so the scan is worth a look.
pub const SEQ_SCAN_FLAG_ROWS: f64 = 10_000.0;

/// Actual rows off from the planner's estimate by more than this factor are flagged:
/// a misestimate this large is what makes the planner choose the wrong join or scan.
pub const MISESTIMATE_FACTOR: f64 = 10.0;

/// Below this many rows (on the larger side) a misestimate is noise, not news: the
/// planner clamps estimates to 1, so "1 estimated, 12 actual" is not worth a flag.
const MISESTIMATE_MIN_ROWS: f64 = 50.0;

/// One statement's plan.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanStatement {
    /// The top node.
    pub root: PlanNode,
    /// `Planning Time`, milliseconds.
    pub planning_ms: Option<f64>,
    /// `Execution Time`, milliseconds.
    pub execution_ms: Option<f64>,
}

/// One plan node.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanNode {
    /// The node's name, the one used everywhere (counters, plan heads, the report):
    /// `Node Type` as PostgreSQL's JSON names it, with the strategy of an aggregate
    /// folded in as its text EXPLAIN does (`HashAggregate`, `GroupAggregate`), so a
    /// strategy change is a plan change. Empty when the field is missing.
    pub node_type: String,
    /// `Join Type` (`Inner`, `Left`, `Semi`…).
    pub join_type: Option<String>,
    /// `Strategy` when it is not `Plain` and not already part of `node_type`
    /// (`Hashed` on a `SetOp`).
    pub strategy: Option<String>,
    /// `Scan Direction` is `Backward`.
    pub backward: bool,
    /// `Relation Name`.
    pub relation: Option<String>,
    /// `Alias`.
    pub alias: Option<String>,
    /// `Index Name`.
    pub index: Option<String>,
    /// `Actual Rows` (average per loop, as PostgreSQL reports it).
    pub actual_rows: Option<f64>,
    /// `Plan Rows` (the estimate, per loop).
    pub plan_rows: Option<f64>,
    /// `Actual Loops`.
    pub loops: Option<f64>,
    /// `Actual Total Time` per loop, milliseconds.
    pub total_ms: Option<f64>,
    /// `Shared Hit Blocks` (inclusive of children).
    pub shared_hit: Option<u64>,
    /// `Shared Read Blocks` (inclusive of children).
    pub shared_read: Option<u64>,
    /// `Shared Dirtied Blocks` (inclusive of children).
    pub shared_dirtied: Option<u64>,
    /// `WAL Records` (`EXPLAIN (ANALYZE, WAL)`; inclusive of children).
    pub wal_records: Option<u64>,
    /// `WAL Bytes`.
    pub wal_bytes: Option<u64>,
    /// `WAL FPI` (full-page images).
    pub wal_fpi: Option<u64>,
    /// `Rows Removed by Filter` (average per loop).
    pub rows_removed: f64,
    /// Conditions and keys worth reading (`Index Cond`, `Filter`, `Sort Key`…).
    pub details: Vec<(String, String)>,
    /// Child nodes.
    pub children: Vec<PlanNode>,
}

/// Something in a plan worth a reader's attention.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A sequential scan reading many rows.
    SeqScanLarge {
        /// Table scanned.
        relation: String,
        /// Rows read (returned plus filtered out, over all loops).
        rows_scanned: f64,
    },
    /// The planner's row estimate was far off.
    Misestimate {
        /// Label of the misestimated node.
        node: String,
        /// Actual rows per loop.
        actual: f64,
        /// Estimated rows per loop.
        estimated: f64,
    },
}

impl Finding {
    /// One line for tables and badges.
    pub fn describe(&self) -> String {
        match self {
            Finding::SeqScanLarge {
                relation,
                rows_scanned,
            } => format!(
                "Seq Scan on {relation} reads {} rows",
                count(*rows_scanned as u64)
            ),
            Finding::Misestimate {
                node,
                actual,
                estimated,
            } => format!(
                "{node}: {} rows, estimated {} ({} off)",
                count(*actual as u64),
                count(*estimated as u64),
                times(misestimate_factor(*actual, *estimated))
            ),
        }
    }
}

/// How far off an estimate is, as a factor ≥ 1 (both sides clamped to one row).
pub fn misestimate_factor(actual: f64, estimated: f64) -> f64 {
    let a = actual.max(1.0);
    let e = estimated.max(1.0);
    if a > e { a / e } else { e / a }
}

/// Parses an EXPLAIN output (the JSON array PostgreSQL returns, one element per
/// statement, or one such element); statements without a `Plan` are skipped.
pub fn parse(value: &Value) -> Vec<PlanStatement> {
    let items: Vec<&Value> = match value {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![value],
        _ => vec![],
    };
    items
        .into_iter()
        .filter_map(|item| {
            let plan = item.get("Plan")?;
            Some(PlanStatement {
                root: PlanNode::parse(plan),
                planning_ms: item.get("Planning Time").and_then(Value::as_f64),
                execution_ms: item.get("Execution Time").and_then(Value::as_f64),
            })
        })
        .collect()
}

/// Fields shown under a node when present, in this order.
const DETAIL_KEYS: [&str; 12] = [
    "Index Cond",
    "Recheck Cond",
    "Hash Cond",
    "Merge Cond",
    "Join Filter",
    "Filter",
    "Sort Key",
    "Sort Method",
    "Group Key",
    "Heap Fetches",
    "Workers Launched",
    "Subplan Name",
];

impl PlanNode {
    fn parse(v: &Value) -> PlanNode {
        let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
        let f = |k: &str| v.get(k).and_then(Value::as_f64);
        let raw = s("Node Type").unwrap_or_default();
        let strategy = s("Strategy").filter(|st| st != "Plain");
        let node_type = match (raw.as_str(), strategy.as_deref()) {
            ("Aggregate", Some("Hashed")) => "HashAggregate".to_string(),
            ("Aggregate", Some("Sorted")) => "GroupAggregate".to_string(),
            ("Aggregate", Some("Mixed")) => "MixedAggregate".to_string(),
            _ => raw.clone(),
        };
        let details = DETAIL_KEYS
            .iter()
            .filter_map(|k| {
                let text = match v.get(*k)? {
                    Value::String(t) => t.clone(),
                    Value::Array(items) => items
                        .iter()
                        .map(|i| {
                            i.as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| i.to_string())
                        })
                        .collect::<Vec<_>>()
                        .join(", "),
                    other => other.to_string(),
                };
                Some((k.to_string(), text))
            })
            .collect();
        PlanNode {
            strategy: strategy.filter(|_| node_type == raw),
            node_type,
            join_type: s("Join Type"),
            backward: s("Scan Direction").as_deref() == Some("Backward"),
            relation: s("Relation Name"),
            alias: s("Alias"),
            index: s("Index Name"),
            actual_rows: f("Actual Rows"),
            plan_rows: f("Plan Rows"),
            loops: f("Actual Loops"),
            total_ms: f("Actual Total Time"),
            shared_hit: blocks(v, "Shared Hit Blocks"),
            shared_read: blocks(v, "Shared Read Blocks"),
            shared_dirtied: blocks(v, "Shared Dirtied Blocks"),
            wal_records: blocks(v, "WAL Records"),
            wal_bytes: blocks(v, "WAL Bytes"),
            wal_fpi: blocks(v, "WAL FPI"),
            rows_removed: f("Rows Removed by Filter").unwrap_or(0.0),
            details,
            children: v
                .get("Plans")
                .and_then(Value::as_array)
                .map(|c| c.iter().map(PlanNode::parse).collect())
                .unwrap_or_default(),
        }
    }

    /// The node as a reader sees it: its name, with the join type when it is not an
    /// inner join, the strategy when the name does not carry it, and `Backward`:
    /// `Nested Loop (Left)`, `SetOp (Hashed)`, `Index Scan Backward`.
    pub fn label(&self) -> String {
        let mut s = if self.node_type.is_empty() {
            "?".to_string()
        } else {
            self.node_type.clone()
        };
        for extra in [
            self.join_type.as_deref().filter(|j| *j != "Inner"),
            self.strategy.as_deref(),
        ]
        .into_iter()
        .flatten()
        {
            s = format!("{s} ({extra})");
        }
        if self.backward {
            s.push_str(" Backward");
        }
        s
    }

    /// The join as the counters name it, `Nested Loop (Left)`, when this node joins.
    pub fn join(&self) -> Option<String> {
        self.join_type
            .as_ref()
            .map(|jt| format!("{} ({jt})", self.node_type))
    }

    /// `Relation Name`, followed by the alias when it differs: `ml_jobs j`.
    pub fn relation_label(&self) -> Option<String> {
        let r = self.relation.as_ref()?;
        Some(match &self.alias {
            Some(a) if a != r => format!("{r} {a}"),
            _ => r.clone(),
        })
    }

    /// What is worth flagging on this node alone (not its children). `under_limit`
    /// says a `Limit` above stops this node early: it then returns fewer rows than
    /// estimated by design (the estimate is for running to completion), which is
    /// not a misestimate.
    pub fn own_findings(&self, under_limit: bool) -> Vec<Finding> {
        let mut out = Vec::new();
        let loops = self.loops.unwrap_or(1.0);
        if self.node_type.contains("Seq Scan") {
            let scanned = (self.actual_rows.unwrap_or(0.0) + self.rows_removed) * loops;
            if scanned > SEQ_SCAN_FLAG_ROWS {
                out.push(Finding::SeqScanLarge {
                    relation: self.relation_label().unwrap_or_else(|| "?".into()),
                    rows_scanned: scanned,
                });
            }
        }
        if let (Some(actual), Some(est)) = (self.actual_rows, self.plan_rows) {
            // A node that never ran has no actual rows to compare.
            let cut_short = under_limit && actual < est;
            if loops > 0.0
                && !cut_short
                && actual.max(est) >= MISESTIMATE_MIN_ROWS
                && misestimate_factor(actual, est) > MISESTIMATE_FACTOR
            {
                out.push(Finding::Misestimate {
                    node: self.label(),
                    actual,
                    estimated: est,
                });
            }
        }
        out
    }

    /// Findings of this node and every descendant, in pre-order.
    pub fn findings(&self) -> Vec<Finding> {
        self.findings_in(false)
    }

    fn findings_in(&self, under_limit: bool) -> Vec<Finding> {
        let mut out = self.own_findings(under_limit);
        let below = under_limit || self.is_limit();
        for c in &self.children {
            out.extend(c.findings_in(below));
        }
        out
    }

    /// True for a `Limit` node: what runs below it may stop early.
    pub fn is_limit(&self) -> bool {
        self.node_type.starts_with("Limit")
    }

    /// This node and every descendant, in pre-order.
    pub fn walk(&self) -> Vec<&PlanNode> {
        let mut out = vec![self];
        for c in &self.children {
            out.extend(c.walk());
        }
        out
    }

    /// One line for the top of the plan: up to three nodes down the first-child
    /// chain, `Limit > Index Scan using idx on t`.
    pub fn head(&self) -> String {
        let mut parts = Vec::new();
        let mut node = Some(self);
        while let Some(n) = node.filter(|_| parts.len() < 3) {
            let mut s = n.node_type.clone();
            if let Some(i) = &n.index {
                s.push_str(&format!(" using {i}"));
            }
            if let Some(r) = &n.relation {
                s.push_str(&format!(" on {r}"));
            }
            parts.push(s);
            node = n.children.first();
        }
        parts.join(" > ")
    }
}

/// Every finding of a stored plan.
pub fn findings(value: &Value) -> Vec<Finding> {
    parse(value)
        .iter()
        .flat_map(|s| s.root.findings())
        .collect()
}

/// Counters of one EXPLAIN output. Planning buffers are left out: they depend on the
/// catalog cache.
pub fn counters(explain: &Value) -> Counters {
    let mut c = Counters::default();
    for st in parse(explain) {
        let root = &st.root;
        c.shared_hit += root.shared_hit.unwrap_or(0);
        c.shared_read += root.shared_read.unwrap_or(0);
        let rows = root.actual_rows.unwrap_or(0.0) as u64;
        c.rows += rows * (root.loops.unwrap_or(0.0) as u64).max(1);
        for n in root.walk() {
            if !n.node_type.is_empty() && !c.node_types.contains(&n.node_type) {
                c.node_types.push(n.node_type.clone());
            }
            if let Some(i) = &n.index {
                c.indexes.push(i.clone());
            }
            if let Some(j) = n.join().filter(|j| !c.joins.contains(j)) {
                c.joins.push(j);
            }
        }
        if c.plan_head.is_empty() {
            c.plan_head = root.head();
        }
    }
    c.indexes.sort();
    c.indexes.dedup();
    c
}

/// Adds `other` into `acc`: buffers and rows summed, names merged (first-seen order
/// for node types and joins, sorted for indexes). Used for variants that run several
/// statements or one statement N times per sample.
pub fn accumulate(acc: &mut Counters, other: &Counters) {
    acc.shared_hit += other.shared_hit;
    acc.shared_read += other.shared_read;
    acc.rows += other.rows;
    for n in &other.node_types {
        if !acc.node_types.contains(n) {
            acc.node_types.push(n.clone());
        }
    }
    for j in &other.joins {
        if !acc.joins.contains(j) {
            acc.joins.push(j.clone());
        }
    }
    acc.indexes.extend(other.indexes.iter().cloned());
    acc.indexes.sort();
    acc.indexes.dedup();
    if acc.plan_head.is_empty() {
        acc.plan_head = other.plan_head.clone();
    }
}

/// Whether `needle` names something in the plan: a node type, an index, or a
/// relation, compared case-insensitively.
pub fn plan_mentions(c: &Counters, relations: &[String], needle: &str) -> bool {
    let n = needle.to_ascii_lowercase();
    c.node_types
        .iter()
        .chain(c.indexes.iter())
        .chain(c.joins.iter())
        .chain(relations.iter())
        .any(|s| s.to_ascii_lowercase() == n)
}

/// Relations (tables, materialized views) scanned anywhere in the plan.
pub fn relations(explain: &Value) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for st in parse(explain) {
        for r in st
            .root
            .walk()
            .into_iter()
            .filter_map(|n| n.relation.as_ref())
        {
            if !out.contains(r) {
                out.push(r.clone());
            }
        }
    }
    out
}

/// A block counter, integer or (from some servers) float.
fn blocks(v: &Value, key: &str) -> Option<u64> {
    v.get(key)
        .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f as u64)))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::json;

    fn sample() -> Value {
        json!([{
            "Plan": {
                "Node Type": "Limit", "Actual Rows": 50, "Actual Loops": 1,
                "Shared Hit Blocks": 10, "Shared Read Blocks": 2,
                "Plans": [{
                    "Node Type": "Nested Loop", "Join Type": "Left", "Actual Rows": 50, "Actual Loops": 1,
                    "Plans": [
                        {"Node Type": "Index Scan", "Index Name": "b_idx", "Relation Name": "jobs", "Actual Rows": 50, "Actual Loops": 1},
                        {"Node Type": "Aggregate", "Strategy": "Hashed", "Actual Rows": 1, "Actual Loops": 50,
                         "Plans": [{"Node Type": "Index Only Scan", "Index Name": "a_idx", "Relation Name": "runs"}]}
                    ]
                }]
            },
            "Planning": {"Shared Hit Blocks": 99},
            "Execution Time": 1.0
        }])
    }

    #[test]
    fn counters_from_plan() {
        let c = counters(&sample());
        assert_eq!(c.shared_hit, 10);
        assert_eq!(c.shared_read, 2);
        assert_eq!(c.shared_blocks(), 12);
        assert_eq!(c.rows, 50);
        assert_eq!(
            c.node_types,
            vec![
                "Limit",
                "Nested Loop",
                "Index Scan",
                "HashAggregate",
                "Index Only Scan"
            ]
        );
        assert_eq!(c.indexes, vec!["a_idx", "b_idx"]);
        assert_eq!(c.joins, vec!["Nested Loop (Left)"]);
        assert_eq!(
            c.plan_head,
            "Limit > Nested Loop > Index Scan using b_idx on jobs"
        );
        assert_eq!(relations(&sample()), vec!["jobs", "runs"]);
        assert!(plan_mentions(&c, &[], "index only scan"));
        assert!(plan_mentions(&c, &[], "a_idx"));
        assert!(!plan_mentions(&c, &[], "Seq Scan"));
    }

    #[test]
    fn accumulate_sums_and_merges() {
        let one = counters(&sample());
        let mut acc = Counters::default();
        accumulate(&mut acc, &one);
        accumulate(&mut acc, &one);
        assert_eq!(acc.shared_blocks(), 24);
        assert_eq!(acc.rows, 100);
        assert_eq!(acc.node_types.len(), 5);
        assert_eq!(acc.indexes, vec!["a_idx", "b_idx"]);
    }

    /// A captured-shape plan with a large sequential scan, a misestimate and
    /// markup in names; the report's plan tests render it too.
    pub(crate) fn report_plan() -> Value {
        json!([{
            "Plan": {
                "Node Type": "Limit", "Actual Rows": 50.0, "Plan Rows": 50.0, "Actual Loops": 1,
                "Actual Total Time": 120.5, "Shared Hit Blocks": 9000, "Shared Read Blocks": 1200,
                "Plans": [{
                    "Node Type": "Seq Scan", "Relation Name": "ml_jobs", "Alias": "ml_jobs",
                    "Actual Rows": 5000.0, "Plan Rows": 120.0, "Actual Loops": 1,
                    "Rows Removed by Filter": 995000.0, "Filter": "(status = 'pending'::text)",
                    "Actual Total Time": 119.0, "Shared Hit Blocks": 9000, "Shared Read Blocks": 1200
                }, {
                    "Node Type": "Index Scan", "Relation Name": "<img src=x>", "Index Name": "idx_</b>",
                    "Actual Rows": 1.0, "Plan Rows": 1.0, "Actual Loops": 0
                }]
            },
            "Planning Time": 0.2, "Execution Time": 121.0
        }])
    }

    #[test]
    fn parses_nodes_and_flags_seq_scan_and_misestimate() {
        let st = parse(&report_plan());
        assert_eq!(st.len(), 1);
        let seq = &st[0].root.children[0];
        assert_eq!(seq.relation.as_deref(), Some("ml_jobs"));
        let f = seq.own_findings(false);
        assert!(f.iter().any(|f| matches!(f, Finding::SeqScanLarge { rows_scanned, .. } if *rows_scanned == 1_000_000.0)), "{f:?}");
        assert!(
            f.iter().any(|f| matches!(f, Finding::Misestimate { .. })),
            "{f:?}"
        );
        assert!(st[0].root.own_findings(false).is_empty());
        assert_eq!(findings(&report_plan()).len(), 2);
    }

    #[test]
    fn small_seq_scans_and_small_misestimates_are_not_flagged() {
        let small = json!([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t",
            "Actual Rows": 12.0, "Plan Rows": 1.0, "Actual Loops": 1, "Rows Removed by Filter": 300.0}}]);
        assert!(findings(&small).is_empty());
        let never_ran = json!([{"Plan": {"Node Type": "Index Scan", "Relation Name": "t",
            "Actual Rows": 0.0, "Plan Rows": 5000.0, "Actual Loops": 0}}]);
        assert!(findings(&never_ran).is_empty());
    }

    #[test]
    fn nodes_cut_short_by_a_limit_are_not_misestimates() {
        let keyset = json!([{"Plan": {"Node Type": "Limit", "Actual Rows": 50.0, "Plan Rows": 50.0, "Actual Loops": 1,
            "Plans": [{"Node Type": "Index Scan", "Relation Name": "t", "Index Name": "i",
                "Actual Rows": 50.0, "Plan Rows": 300000.0, "Actual Loops": 1}]}}]);
        assert!(findings(&keyset).is_empty());
        // Without the Limit the same numbers are a real misestimate.
        let bare = json!([{"Plan": {"Node Type": "Index Scan", "Relation Name": "t", "Index Name": "i",
            "Actual Rows": 50.0, "Plan Rows": 300000.0, "Actual Loops": 1}}]);
        assert_eq!(findings(&bare).len(), 1);
    }

    #[test]
    fn one_name_per_node_in_counters_labels_and_findings() {
        let agg = json!([{"Plan": {"Node Type": "Aggregate", "Strategy": "Hashed",
            "Actual Rows": 5000.0, "Plan Rows": 3.0, "Actual Loops": 1,
            "Plans": [{"Node Type": "SetOp", "Strategy": "Hashed", "Plans": [
                {"Node Type": "Nested Loop", "Join Type": "Left"},
                {"Node Type": "Index Scan", "Scan Direction": "Backward", "Index Name": "i"}]}]}}]);
        let c = counters(&agg);
        assert_eq!(
            c.node_types,
            ["HashAggregate", "SetOp", "Nested Loop", "Index Scan"]
        );
        assert_eq!(c.joins, ["Nested Loop (Left)"]);
        let root = &parse(&agg)[0].root;
        assert_eq!(root.label(), "HashAggregate");
        assert_eq!(root.children[0].label(), "SetOp (Hashed)");
        assert_eq!(root.children[0].children[0].label(), "Nested Loop (Left)");
        assert_eq!(root.children[0].children[1].label(), "Index Scan Backward");
        assert!(
            findings(&agg)[0]
                .describe()
                .starts_with("HashAggregate: 5,000 rows")
        );
    }
}

//! EXPLAIN plans as readable trees, with the nodes worth a look flagged.
//!
//! The input is the raw `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` output stored in
//! `VariantResult.plan`: an array with one `{"Plan": {...}, "Planning Time": …,
//! "Execution Time": …}` per statement. Parsing is lenient (a missing field is
//! shown as absent, never an error) because the report must render any results
//! file, including ones from newer servers with fields we do not know.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::html;
use super::format::{count, duration_ns, sig3};

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

/// One plan node and the fields the report shows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PlanNode {
    /// `Node Type`, with the join type or strategy when there is one.
    pub node_type: String,
    /// `Relation Name` (with `Alias` when it differs).
    pub relation: Option<String>,
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
        /// Node type of the misestimated node.
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
                super::format::times(misestimate_factor(*actual, *estimated))
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

/// Parses a stored plan; statements without a `Plan` are skipped.
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
                root: parse_node(plan),
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

fn parse_node(v: &Value) -> PlanNode {
    let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_string);
    let f = |k: &str| v.get(k).and_then(Value::as_f64);
    let mut node_type = s("Node Type").unwrap_or_else(|| "?".into());
    if let Some(j) = s("Join Type").filter(|j| j != "Inner") {
        node_type = format!("{node_type} ({j})");
    }
    if let Some(st) = s("Strategy").filter(|st| st != "Plain") {
        node_type = format!("{node_type} ({st})");
    }
    if s("Scan Direction").as_deref() == Some("Backward") {
        node_type = format!("{node_type} Backward");
    }
    let relation = s("Relation Name").map(|r| match s("Alias") {
        Some(a) if a != r => format!("{r} {a}"),
        _ => r,
    });
    let details = DETAIL_KEYS
        .iter()
        .filter_map(|k| {
            let val = v.get(*k)?;
            let text = match val {
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
        node_type,
        relation,
        index: s("Index Name"),
        actual_rows: f("Actual Rows"),
        plan_rows: f("Plan Rows"),
        loops: f("Actual Loops"),
        total_ms: f("Actual Total Time"),
        shared_hit: v.get("Shared Hit Blocks").and_then(Value::as_u64),
        shared_read: v.get("Shared Read Blocks").and_then(Value::as_u64),
        rows_removed: f("Rows Removed by Filter").unwrap_or(0.0),
        details,
        children: v
            .get("Plans")
            .and_then(Value::as_array)
            .map(|c| c.iter().map(parse_node).collect())
            .unwrap_or_default(),
    }
}

impl PlanNode {
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
                    relation: self.relation.clone().unwrap_or_else(|| "?".into()),
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
                    node: self.node_type.clone(),
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

    fn is_limit(&self) -> bool {
        self.node_type.starts_with("Limit")
    }
}

/// Every finding of a stored plan.
pub fn findings(value: &Value) -> Vec<Finding> {
    parse(value)
        .iter()
        .flat_map(|s| s.root.findings())
        .collect()
}

/// Renders a stored plan as nested lists; an unreadable plan renders its raw JSON.
pub fn render_html(value: &Value) -> String {
    let statements = parse(value);
    if statements.is_empty() {
        return format!(
            "<p class=\"muted\">Plan not in the expected format; raw output:</p><pre class=\"raw\">{}</pre>",
            html(&value.to_string())
        );
    }
    let mut out = String::new();
    for (i, st) in statements.iter().enumerate() {
        if statements.len() > 1 {
            let _ = write!(out, "<p class=\"plan-stmt\">Statement {}</p>", i + 1);
        }
        out.push_str("<ul class=\"plan\">");
        render_node(&st.root, false, &mut out);
        out.push_str("</ul>");
        let mut times = Vec::new();
        if let Some(p) = st.planning_ms {
            times.push(format!("planning {}", duration_ns(p * 1e6)));
        }
        if let Some(e) = st.execution_ms {
            times.push(format!("execution {}", duration_ns(e * 1e6)));
        }
        if !times.is_empty() {
            let _ = write!(out, "<p class=\"plan-times\">{}</p>", times.join(" · "));
        }
    }
    out
}

fn render_node(n: &PlanNode, under_limit: bool, out: &mut String) {
    let findings = n.own_findings(under_limit);
    let seq = findings
        .iter()
        .any(|f| matches!(f, Finding::SeqScanLarge { .. }));
    let mis = findings
        .iter()
        .any(|f| matches!(f, Finding::Misestimate { .. }));
    let mut class = String::from("node");
    if seq {
        class.push_str(" flag-seq");
    }
    if mis {
        class.push_str(" flag-mis");
    }
    let _ = write!(
        out,
        "<li><div class=\"{class}\"><span class=\"nt\">{}</span>",
        html(&n.node_type)
    );
    if let Some(idx) = &n.index {
        let _ = write!(out, " <span class=\"idx\">using {}</span>", html(idx));
    }
    if let Some(rel) = &n.relation {
        let _ = write!(out, " <span class=\"rel\">on {}</span>", html(rel));
    }
    out.push_str("<span class=\"metrics\">");
    if let Some(a) = n.actual_rows {
        let est = n
            .plan_rows
            .map(|e| format!(" <span class=\"est\">(est. {})</span>", count(e as u64)))
            .unwrap_or_default();
        let _ = write!(out, "<span>{} rows{est}</span>", count(a as u64));
    }
    if let Some(l) = n.loops.filter(|l| *l != 1.0) {
        let _ = write!(out, "<span>× {} loops</span>", sig3(l));
    }
    if let Some(t) = n.total_ms {
        let _ = write!(
            out,
            "<span>{}</span>",
            duration_ns(t * 1e6 * n.loops.unwrap_or(1.0).max(1.0))
        );
    }
    if n.shared_hit.is_some() || n.shared_read.is_some() {
        let _ = write!(
            out,
            "<span>buffers hit {} · read {}</span>",
            count(n.shared_hit.unwrap_or(0)),
            count(n.shared_read.unwrap_or(0))
        );
    }
    out.push_str("</span>");
    for f in &findings {
        let _ = write!(
            out,
            "<span class=\"badge warn\">⚠ {}</span>",
            html(&f.describe())
        );
    }
    if !n.details.is_empty() {
        out.push_str("<div class=\"details\">");
        for (k, v) in &n.details {
            let _ = write!(
                out,
                "<span><b>{}:</b> <code>{}</code></span>",
                html(k),
                html(v)
            );
        }
        out.push_str("</div>");
    }
    out.push_str("</div>");
    if !n.children.is_empty() {
        out.push_str("<ul>");
        for c in &n.children {
            render_node(c, under_limit || n.is_limit(), out);
        }
        out.push_str("</ul>");
    }
    out.push_str("</li>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan() -> Value {
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
        let st = parse(&plan());
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
        assert_eq!(findings(&plan()).len(), 2);
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
        assert!(!render_html(&keyset).contains("flag-mis"));
        // Without the Limit the same numbers are a real misestimate.
        let bare = json!([{"Plan": {"Node Type": "Index Scan", "Relation Name": "t", "Index Name": "i",
            "Actual Rows": 50.0, "Plan Rows": 300000.0, "Actual Loops": 1}}]);
        assert_eq!(findings(&bare).len(), 1);
    }

    #[test]
    fn html_tree_marks_flagged_nodes_and_escapes_names() {
        let h = render_html(&plan());
        assert!(h.contains("class=\"node flag-seq flag-mis\""), "{h}");
        assert!(h.contains("Seq Scan on ml_jobs reads 1,000,000 rows"));
        assert!(h.contains("41.7× off"), "{h}");
        assert!(h.contains("on &lt;img src=x&gt;"));
        assert!(!h.contains("<img"));
        assert!(h.contains("execution 121 ms"));
        assert_eq!(h.matches("<li>").count(), 3);
    }

    #[test]
    fn unreadable_plans_show_raw_json_escaped() {
        let h = render_html(&json!({"weird": "</pre><script>"}));
        assert!(h.contains("raw output"));
        assert!(!h.contains("<script>"));
    }
}

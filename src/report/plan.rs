//! EXPLAIN plans as readable trees, with the nodes worth a look flagged. The tree,
//! its node names and its findings come from [`crate::explain`]; this file only
//! renders them.

use std::fmt::Write as _;

use serde_json::Value;

use crate::escape::html;
use crate::explain::{self, Finding, PlanNode};
use crate::units::{count, duration_ns, sig3};

/// Renders a stored plan as nested lists; an unreadable plan renders its raw JSON.
pub fn render_html(value: &Value) -> String {
    let statements = explain::parse(value);
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
        html(&n.label())
    );
    if let Some(idx) = &n.index {
        let _ = write!(out, " <span class=\"idx\">using {}</span>", html(idx));
    }
    if let Some(rel) = n.relation_label() {
        let _ = write!(out, " <span class=\"rel\">on {}</span>", html(&rel));
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
    fn nodes_cut_short_by_a_limit_are_not_flagged() {
        let keyset = json!([{"Plan": {"Node Type": "Limit", "Actual Rows": 50.0, "Plan Rows": 50.0, "Actual Loops": 1,
            "Plans": [{"Node Type": "Index Scan", "Relation Name": "t", "Index Name": "i",
                "Actual Rows": 50.0, "Plan Rows": 300000.0, "Actual Loops": 1}]}}]);
        assert!(!render_html(&keyset).contains("flag-mis"));
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

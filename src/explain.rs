//! `EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)` output turned into [`Counters`].
//!
//! The counters are the deterministic side of a measurement: shared blocks, rows,
//! node types, indexes and joins do not depend on the clock, so CI can gate on them
//! strictly. They are taken in a pass with parallel workers and JIT off, because
//! parallel plans split buffers between workers in ways that vary run to run.

use serde_json::Value;

use crate::results::Counters;

/// Counters of one EXPLAIN output (the JSON array PostgreSQL returns, one element per
/// statement). Planning buffers are left out: they depend on the catalog cache.
pub fn counters(explain: &Value) -> Counters {
    let mut c = Counters::default();
    let Some(items) = explain.as_array() else {
        return c;
    };
    for item in items {
        let Some(plan) = item.get("Plan") else {
            continue;
        };
        c.shared_hit += num(plan, "Shared Hit Blocks");
        c.shared_read += num(plan, "Shared Read Blocks");
        c.rows += num(plan, "Actual Rows") * num(plan, "Actual Loops").max(1);
        walk(plan, &mut c);
        if c.plan_head.is_empty() {
            c.plan_head = head(plan);
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
    fn go(node: &Value, out: &mut Vec<String>) {
        if let Some(r) = node.get("Relation Name").and_then(Value::as_str) {
            let r = r.to_string();
            if !out.contains(&r) {
                out.push(r);
            }
        }
        for child in children(node) {
            go(child, out);
        }
    }
    let mut out = Vec::new();
    for item in explain.as_array().into_iter().flatten() {
        if let Some(p) = item.get("Plan") {
            go(p, &mut out);
        }
    }
    out
}

fn walk(node: &Value, c: &mut Counters) {
    let ty = node_type(node);
    if !ty.is_empty() && !c.node_types.contains(&ty) {
        c.node_types.push(ty.clone());
    }
    if let Some(i) = node.get("Index Name").and_then(Value::as_str) {
        c.indexes.push(i.to_string());
    }
    if let Some(jt) = node.get("Join Type").and_then(Value::as_str) {
        let j = format!("{ty} ({jt})");
        if !c.joins.contains(&j) {
            c.joins.push(j);
        }
    }
    for child in children(node) {
        walk(child, c);
    }
}

fn children(node: &Value) -> impl Iterator<Item = &Value> {
    node.get("Plans")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// The node type as PostgreSQL names it, with the strategy for aggregates
/// (`HashAggregate`, `GroupAggregate`) so a strategy change is a plan change.
fn node_type(node: &Value) -> String {
    let ty = node
        .get("Node Type")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match (ty, node.get("Strategy").and_then(Value::as_str)) {
        ("Aggregate", Some("Hashed")) => "HashAggregate".into(),
        ("Aggregate", Some("Sorted")) => "GroupAggregate".into(),
        ("Aggregate", Some("Mixed")) => "MixedAggregate".into(),
        _ => ty.to_string(),
    }
}

/// One line for the top of the plan: up to three nodes down the first-child chain.
fn head(plan: &Value) -> String {
    let mut parts = Vec::new();
    let mut node = Some(plan);
    while let Some(n) = node {
        if parts.len() == 3 {
            break;
        }
        let mut s = node_type(n);
        if let Some(i) = n.get("Index Name").and_then(Value::as_str) {
            s.push_str(&format!(" using {i}"));
        }
        if let Some(r) = n.get("Relation Name").and_then(Value::as_str) {
            s.push_str(&format!(" on {r}"));
        }
        parts.push(s);
        node = children(n).next();
    }
    parts.join(" > ")
}

fn num(v: &Value, key: &str) -> u64 {
    v.get(key)
        .and_then(|x| x.as_u64().or_else(|| x.as_f64().map(|f| f as u64)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
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
}

//! The advice as text: the `[index_sets.advised]` block ready to paste into a
//! scenario, and the lines `querylab advise` prints.

use std::fmt::Write as _;

use crate::results::advice::{Advice, ChosenIndex, HealthKind};
use crate::units::{bytes, duration_ns, times};

/// The chosen set as a scenario index set named `advised`: the extensions its
/// indexes need, then the indexes; `write_table` is the table holding most of it.
pub fn toml_block(chosen: &[ChosenIndex], extensions: &[String], statements: usize) -> String {
    let mut out = String::from("[index_sets.advised]\n");
    let description = format!(
        "querylab advise: {} index(es) for {} statement(s), each proven by a measured build",
        chosen.len(),
        statements
    );
    let _ = writeln!(out, "description = {}", toml_string(&description));
    out.push_str("sql = [\n");
    for e in extensions {
        let _ = writeln!(
            out,
            "  {},",
            toml_string(&format!("CREATE EXTENSION IF NOT EXISTS {e}"))
        );
    }
    for c in chosen {
        let _ = writeln!(out, "  {},", toml_string(&c.ddl));
    }
    out.push_str("]\n");
    let mut by_table: Vec<(String, u64)> = Vec::new();
    for c in chosen {
        match by_table.iter_mut().find(|(t, _)| *t == c.table) {
            Some(e) => e.1 += c.bytes,
            None => by_table.push((c.table.clone(), c.bytes)),
        }
    }
    if let Some((t, _)) = by_table.iter().max_by_key(|(_, b)| *b) {
        let _ = writeln!(out, "write_table = {}", toml_string(t));
    }
    out
}

fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// What `querylab advise` prints: per statement the as-is median, the candidates
/// built and their speed-ups, the chosen set with its whole-set round, the health
/// findings and the TOML block.
pub fn render(a: &Advice) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "screening: {}", a.screening);
    for s in &a.statements {
        let _ = writeln!(
            out,
            "\n{}  as is {}  ({} candidates, {} built, {:.1}s)",
            s.id,
            s.as_is_median_ns
                .map(duration_ns)
                .unwrap_or_else(|| "-".into()),
            s.candidates.len(),
            s.candidates.iter().filter(|c| c.built).count(),
            s.seconds
        );
        if let Some(n) = &s.note {
            let _ = writeln!(out, "  note: {n}");
        }
        for c in s.candidates.iter().filter(|c| c.built) {
            let _ = writeln!(
                out,
                "  {:<7} {}  {}  {}{}",
                c.name.as_deref().unwrap_or(""),
                c.median_ns.map(duration_ns).unwrap_or_else(|| "-".into()),
                c.speedup.map(times).unwrap_or_else(|| "-".into()),
                c.ddl.join("; "),
                match (&c.failure, c.same_rows, c.used) {
                    (Some(f), _, _) => format!("  FAILED: {f}"),
                    (None, Some(false), _) => "  OTHER ROWS".to_string(),
                    (None, _, false) => "  (plan does not use it)".to_string(),
                    _ => String::new(),
                }
            );
        }
    }
    out.push('\n');
    if a.chosen.is_empty() {
        let _ = writeln!(
            out,
            "no index recommended{}",
            a.note
                .as_ref()
                .map(|n| format!(": {n}"))
                .unwrap_or_default()
        );
    } else {
        let _ = writeln!(out, "advised set (whole-set round):");
        for w in &a.whole_set {
            let _ = writeln!(
                out,
                "  {:<48} {} -> {}  {}{}",
                w.statement,
                w.as_is_median_ns
                    .map(duration_ns)
                    .unwrap_or_else(|| "-".into()),
                w.advised_median_ns
                    .map(duration_ns)
                    .unwrap_or_else(|| "-".into()),
                w.speedup.map(times).unwrap_or_else(|| "-".into()),
                match w.write_rows_per_second {
                    Some((with, without)) if with > 0.0 => format!(
                        "  inserts {} slower, {}",
                        times(without / with),
                        bytes(w.bytes)
                    ),
                    _ => format!("  {}", bytes(w.bytes)),
                }
            );
        }
        if let Some(n) = &a.note {
            let _ = writeln!(out, "note: {n}");
        }
        let _ = writeln!(out, "\n{}", a.toml);
    }
    if !a.health.is_empty() {
        let _ = writeln!(out, "health of the scenario's index sets:");
        for h in &a.health {
            let what = match h.kind {
                HealthKind::Duplicate => "duplicates".to_string(),
                HealthKind::PrefixRedundant => "is a prefix of".to_string(),
                HealthKind::PrimaryKey => "repeats the primary key".to_string(),
                HealthKind::Unused => h.why_unused(),
            };
            let _ = writeln!(
                out,
                "  {}: {} {} {}{}  ({})",
                h.index_set,
                h.index,
                what,
                h.covered_by.as_deref().unwrap_or(""),
                match h.write_rows_per_second {
                    Some((with, without)) if with > 0.0 => format!(
                        "; dropping the flagged indexes of {} makes inserts {} faster",
                        h.table,
                        times(without / with)
                    ),
                    _ => String::new(),
                },
                bytes(h.bytes)
            );
        }
    }
    out
}

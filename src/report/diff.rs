//! Run against run: the change of every variant between a base run and a new run
//! (median ratio with its bootstrap interval, plan changes, buffer changes).

use std::fmt::Write as _;

use crate::results::{ComparisonResult, RunResults, VariantResult, VariantStatus};
use crate::stats::ratio_of_medians_ci;

use super::escape::html as esc;
use super::format::{change_words, count, duration_ns};
use super::html::{self, dataset_title, kv_table, short_rev, status_word};
use super::plot::change::{self as chart, Change};

/// Which way a median moved, judged by the 95% interval of the ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// The whole interval is above 1.
    Slower,
    /// The whole interval is below 1.
    Faster,
    /// The interval contains 1: no detectable change.
    Same,
    /// One side has no timings.
    NotComparable,
}

/// One variant in both runs.
#[derive(Debug, Clone)]
pub(super) struct VariantChange<'a> {
    pub name: String,
    pub base: Option<&'a VariantResult>,
    pub new: Option<&'a VariantResult>,
    /// new median / base median with its 95% interval.
    pub ratio: Option<(f64, f64, f64)>,
    pub direction: Direction,
    /// `(base plan head, new plan head)` when they differ.
    pub plan: Option<(String, String)>,
    /// `(base, new)` shared blocks.
    pub blocks: Option<(u64, u64)>,
}

/// One comparison in both runs.
#[derive(Debug, Clone)]
pub(super) struct ComparisonChange<'a> {
    pub dataset: String,
    pub id: String,
    pub title: String,
    pub variants: Vec<VariantChange<'a>>,
    /// Set when the comparison is missing from one run.
    pub only_in: Option<&'static str>,
}

fn timings(v: Option<&VariantResult>) -> Option<Vec<f64>> {
    let v = v.filter(|v| v.status == VariantStatus::Ok && !v.samples_ns.is_empty())?;
    Some(v.samples_ns.iter().map(|s| *s as f64).collect())
}

fn variant_change<'a>(
    name: &str,
    base: Option<&'a VariantResult>,
    new: Option<&'a VariantResult>,
) -> VariantChange<'a> {
    let ratio = match (timings(base), timings(new)) {
        (Some(a), Some(b)) => Some(ratio_of_medians_ci(&a, &b, 0.95)),
        _ => None,
    };
    let direction = match ratio {
        Some((_, lo, _)) if lo > 1.0 => Direction::Slower,
        Some((_, _, hi)) if hi < 1.0 => Direction::Faster,
        Some(_) => Direction::Same,
        None => Direction::NotComparable,
    };
    let counters = (
        base.and_then(|v| v.counters.as_ref()),
        new.and_then(|v| v.counters.as_ref()),
    );
    let plan = match counters {
        (Some(a), Some(b))
            if a.plan_head != b.plan_head
                || a.node_types != b.node_types
                || a.indexes != b.indexes =>
        {
            Some((a.plan_head.clone(), b.plan_head.clone()))
        }
        _ => None,
    };
    let blocks = match counters {
        (Some(a), Some(b)) => Some((a.shared_blocks(), b.shared_blocks())),
        _ => None,
    };
    VariantChange {
        name: name.to_string(),
        base,
        new,
        ratio,
        direction,
        plan,
        blocks,
    }
}

fn comparison_change<'a>(
    dataset: &str,
    base: Option<&'a ComparisonResult>,
    new: Option<&'a ComparisonResult>,
) -> Option<ComparisonChange<'a>> {
    let any = new.or(base)?;
    let mut names: Vec<&str> = Vec::new();
    for c in [new, base].into_iter().flatten() {
        for v in &c.variants {
            if !names.contains(&v.name.as_str()) {
                names.push(&v.name);
            }
        }
    }
    Some(ComparisonChange {
        dataset: dataset.to_string(),
        id: any.id.clone(),
        title: any.title.clone(),
        variants: names
            .into_iter()
            .map(|n| {
                variant_change(
                    n,
                    base.and_then(|c| c.variant(n)),
                    new.and_then(|c| c.variant(n)),
                )
            })
            .collect(),
        only_in: match (base, new) {
            (None, _) => Some("new"),
            (_, None) => Some("base"),
            _ => None,
        },
    })
}

/// Every comparison of `new` (then those only in `base`), matched by dataset key and id.
pub(super) fn changes<'a>(base: &'a RunResults, new: &'a RunResults) -> Vec<ComparisonChange<'a>> {
    let mut out = Vec::new();
    for d in &new.datasets {
        let title = dataset_title(d);
        let bd = base.datasets.iter().find(|b| b.key == d.key);
        for c in &d.comparisons {
            let bc = bd.and_then(|b| b.comparisons.iter().find(|x| x.id == c.id));
            out.extend(comparison_change(&title, bc, Some(c)));
        }
        if let Some(bd) = bd {
            for bc in &bd.comparisons {
                if !d.comparisons.iter().any(|c| c.id == bc.id) {
                    out.extend(comparison_change(&title, Some(bc), None));
                }
            }
        }
    }
    for bd in &base.datasets {
        if !new.datasets.iter().any(|d| d.key == bd.key) {
            for bc in &bd.comparisons {
                out.extend(comparison_change(&dataset_title(bd), Some(bc), None));
            }
        }
    }
    out
}

/// Change of a median in words with its direction mark: `▲ 1.5× slower`.
pub(super) fn change_text(v: &VariantChange<'_>) -> String {
    match (v.direction, v.ratio) {
        (Direction::Slower, Some((r, ..))) => format!("▲ {}", change_words(r)),
        (Direction::Faster, Some((r, ..))) => format!("▼ {}", change_words(r)),
        (Direction::Same, Some(_)) => "≈ no change".into(),
        _ => match (v.base, v.new) {
            (None, Some(_)) => "new variant".into(),
            (Some(_), None) => "removed".into(),
            _ => "not comparable".into(),
        },
    }
}

/// Median of a variant or, in a word or two, what happened instead (the full
/// message is in the run's own section).
pub(super) fn median_text(v: Option<&VariantResult>) -> String {
    match v {
        None => "–".into(),
        Some(v) => match (&v.status, v.stats) {
            (VariantStatus::Ok, Some(s)) => duration_ns(s.median_ns),
            (VariantStatus::TimedOut { timeout_ns }, _) => {
                format!("timed out ({})", duration_ns(*timeout_ns as f64))
            }
            (VariantStatus::Failed { .. }, _) => "failed".into(),
            (VariantStatus::Ok, None) => "no samples".into(),
        },
    }
}

pub(super) fn render(base: &RunResults, rest: &[RunResults]) -> String {
    let Some(last) = rest.last() else {
        return html::page("querylab report", &html::single(base, true));
    };
    let mut out = format!(
        "<main><header><h1>{}: run against run</h1>",
        esc(&last.settings.scenario)
    );
    let label = |r: &RunResults| {
        format!(
            "{}{}",
            r.started_at.format("%Y-%m-%d %H:%M UTC"),
            r.git_revision
                .as_deref()
                .map(|g| format!(" @ <code>{}</code>", esc(short_rev(g))))
                .unwrap_or_default()
        )
    };
    let _ = write!(out, "<p class=\"sub\">base: {}", label(base));
    for r in rest {
        let _ = write!(out, " · new: {}", label(r));
    }
    out.push_str("</p></header>");
    for r in std::iter::once(base).chain(rest) {
        html::status_banner(r, &mut out);
    }
    out.push_str("<nav class=\"toc\"><a href=\"#changes\">Changes</a><a href=\"#env-diff\">Environments</a><a href=\"#summary\">New run in detail</a></nav>");
    for (k, new) in rest.iter().enumerate() {
        render_pair(base, new, k, rest.len() > 1, &mut out);
    }
    env_diff(base, last, &mut out);
    out.push_str("<h2 class=\"dataset\">The new run in detail</h2></main>");
    out.push_str(&html::single(last, false));
    html::page(
        &format!("querylab · {} · run against run", last.settings.scenario),
        &out,
    )
}

fn render_pair(base: &RunResults, new: &RunResults, k: usize, numbered: bool, out: &mut String) {
    let changes = changes(base, new);
    let all: Vec<&VariantChange> = changes.iter().flat_map(|c| &c.variants).collect();
    let n = |d: Direction| all.iter().filter(|v| v.direction == d).count();
    let plans = all.iter().filter(|v| v.plan.is_some()).count();
    let title = if numbered {
        format!("Changes, run {} against base", k + 1)
    } else {
        "Changes".into()
    };
    let id = if k == 0 {
        "changes".to_string()
    } else {
        format!("changes-{k}")
    };
    let _ = write!(
        out,
        "<section id=\"{id}\"><h2>{title}</h2><p class=\"verdict{}\">{} slower · {} faster · {} unchanged · {} plan changes</p>",
        if n(Direction::Slower) > 0 {
            " none"
        } else {
            ""
        },
        n(Direction::Slower),
        n(Direction::Faster),
        n(Direction::Same),
        plans
    );
    out.push_str(
        "<table class=\"changes\"><thead><tr><th>Comparison</th><th>Variant</th><th class=\"num\">Base</th>\
         <th class=\"num\">New</th><th>Change</th><th class=\"num\">Buffers</th><th>Plan</th></tr></thead><tbody>",
    );
    for (i, c) in changes.iter().enumerate() {
        for (j, v) in c.variants.iter().enumerate() {
            let first = if j == 0 {
                format!(
                    "<td rowspan=\"{}\"><a href=\"#x{k}-{i}\">{}</a><div class=\"cid\">{}</div></td>",
                    c.variants.len(),
                    esc(&c.title),
                    esc(&c.dataset)
                )
            } else {
                String::new()
            };
            let class = match v.direction {
                Direction::Slower => "bad",
                Direction::Faster => "good",
                _ => "muted",
            };
            let blocks = v
                .blocks
                .map(|(a, b)| {
                    if a == b {
                        count(a)
                    } else {
                        format!("{} → {}", count(a), count(b))
                    }
                })
                .unwrap_or_else(|| "–".into());
            let plan = v
                .plan
                .as_ref()
                .map(|(a, b)| format!("<span class=\"badge warn\">changed</span> <code>{}</code> → <code>{}</code>", esc(a), esc(b)))
                .unwrap_or_else(|| {
                    let word = if v.blocks.is_some() { "same" } else { "–" };
                    format!("<span class=\"muted\">{word}</span>")
                });
            let _ = write!(
                out,
                "<tr>{first}<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{class}\">{}</td>\
                 <td class=\"num\">{blocks}</td><td>{plan}</td></tr>",
                esc(&v.name),
                esc(&median_text(v.base)),
                esc(&median_text(v.new)),
                esc(&change_text(v))
            );
        }
    }
    out.push_str("</tbody></table></section>");
    for (i, c) in changes.iter().enumerate() {
        let _ = write!(
            out,
            "<section class=\"comparison\" id=\"x{k}-{i}\"><h3>{} <span class=\"cid\">{} · {}</span></h3>",
            esc(&c.title),
            esc(&c.id),
            esc(&c.dataset)
        );
        if let Some(side) = c.only_in {
            let _ = write!(out, "<p class=\"alert warn\">Only in the {side} run.</p>");
        }
        let points: Vec<Change> = c
            .variants
            .iter()
            .map(|v| Change {
                name: v.name.clone(),
                ratio: v.ratio,
            })
            .collect();
        let _ = write!(
            out,
            "<figure>{}<figcaption>Dot: new median / base median; bar: its bootstrap 95% interval. \
             Red: significantly slower; green: significantly faster; grey: no detectable change.</figcaption></figure></section>",
            chart::draw(&c.title, &points)
        );
    }
}

fn env_diff(base: &RunResults, new: &RunResults, out: &mut String) {
    let server = |r: &RunResults| {
        let mut s: Vec<String> = r
            .datasets
            .iter()
            .map(|d| format!("{} {}", d.server.label, d.server.version))
            .collect();
        s.dedup();
        s.join(", ")
    };
    let machine = |r: &RunResults| {
        format!(
            "{} cores, {} {}",
            r.machine.cores,
            r.machine.os,
            r.machine.hostname.clone().unwrap_or_default()
        )
    };
    let fields: Vec<(&str, String, String)> = vec![
        (
            "querylab",
            base.querylab_version.clone(),
            new.querylab_version.clone(),
        ),
        (
            "git revision",
            base.git_revision.clone().unwrap_or_default(),
            new.git_revision.clone().unwrap_or_default(),
        ),
        (
            "scenario",
            base.settings.scenario_hash.clone(),
            new.settings.scenario_hash.clone(),
        ),
        (
            "seed",
            base.settings.seed.to_string(),
            new.settings.seed.to_string(),
        ),
        (
            "rows",
            format!("{:?}", base.settings.rows),
            format!("{:?}", new.settings.rows),
        ),
        (
            "status",
            status_word(&base.status),
            status_word(&new.status),
        ),
        ("servers", server(base), server(new)),
        ("machine", machine(base), machine(new)),
    ];
    let mut rows: Vec<(&str, String)> = Vec::new();
    for (k, a, b) in &fields {
        let class = if a == b { "" } else { " class=\"differs\"" };
        rows.push((
            k,
            format!(
                "<span{class}>{}</span> → <span{class}>{}</span>",
                esc(a),
                esc(b)
            ),
        ));
    }
    // Server settings that differ between the first datasets of each run.
    if let (Some(a), Some(b)) = (base.datasets.first(), new.datasets.first()) {
        for (k, va) in &a.server.settings {
            if let Some(vb) = b.server.settings.get(k).filter(|vb| *vb != va) {
                rows.push(("setting", format!("<code>{}</code>: <span class=\"differs\">{}</span> → <span class=\"differs\">{}</span>", esc(k), esc(va), esc(vb))));
            }
        }
    }
    out.push_str("<section id=\"env-diff\"><h2>Environments</h2>");
    kv_table("base → new", &rows, out);
    let _ = write!(
        out,
        "<p class=\"muted\">Base datasets: {}</p></section>",
        esc(&base
            .datasets
            .iter()
            .map(dataset_title)
            .collect::<Vec<_>>()
            .join(", "))
    );
}

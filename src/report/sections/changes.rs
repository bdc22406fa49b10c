//! Run against run: every variant of a new run beside the base run, judged by
//! `querylab check` itself ([`crate::check::compare`] with its default options), so
//! the page a reviewer reads and the gate CI applies can never disagree: the same
//! machine factor, run scatter, confidence shared over every variant, threshold and
//! time floor decide what is slower here and what fails there.
//!
//! The model ([`changes`]) is shared by the HTML (this file) and the Markdown.

use std::fmt::Write as _;

use crate::check::{self, CheckOptions, CheckReport, FindingKind, Outcome, Verdict};
use crate::escape::html as esc;
use crate::results::{ComparisonResult, Dataset, RunResults, VariantResult, VariantStatus};
use crate::units::{change_words, count, duration_ns};

use super::super::parts::{dataset_title, kv_table, status_word};
use super::super::plot::change::{self as chart, Change, Tone};

/// Which way a variant moved, as `check` judged it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::report) enum Direction {
    /// Slower beyond the threshold and significantly: a timing regression.
    Slower,
    /// Slower, but not significantly, under the time floor or not gated: a warning.
    PossiblySlower,
    /// Faster beyond the threshold and significantly.
    Faster,
    /// Timed in both runs, no change worth a word.
    Same,
    /// One side has no timings.
    NotComparable,
}

/// One variant in both runs, with check's verdict on it.
#[derive(Debug, Clone)]
pub(in crate::report) struct VariantChange<'a> {
    pub name: String,
    pub base: Option<&'a VariantResult>,
    pub new: Option<&'a VariantResult>,
    pub verdict: Option<Verdict>,
}

impl VariantChange<'_> {
    /// The direction check's findings give.
    pub fn direction(&self) -> Direction {
        let has = |k: FindingKind| self.verdict.as_ref().is_some_and(|v| v.has(k));
        if has(FindingKind::Slower) {
            Direction::Slower
        } else if has(FindingKind::PossiblySlower) {
            Direction::PossiblySlower
        } else if has(FindingKind::Faster) {
            Direction::Faster
        } else if self.verdict.as_ref().is_some_and(|v| v.timing.is_some()) {
            Direction::Same
        } else {
            Direction::NotComparable
        }
    }

    /// new / base median after the machine factor, with check's interval.
    pub fn ratio(&self) -> Option<(f64, f64, f64)> {
        let t = self.verdict.as_ref()?.timing?;
        Some((t.ratio, t.ci_low, t.ci_high))
    }

    /// `(base plan head, new plan head)` when check found the plan shape changed.
    pub fn plan(&self) -> Option<(&str, &str)> {
        let p = self.verdict.as_ref()?.plan.as_ref()?;
        Some((&p.baseline, &p.current))
    }

    /// `(base, new)` shared blocks, when both runs have counters.
    pub fn blocks(&self) -> Option<(u64, u64)> {
        let b = self.verdict.as_ref()?.blocks?;
        Some((b.baseline, b.current))
    }

    /// Change of the median in words with its direction mark: `▲ 1.5× slower`.
    pub fn change_text(&self) -> String {
        match (self.direction(), self.ratio()) {
            (Direction::Slower, Some((r, ..))) => format!("▲ {}", change_words(r)),
            (Direction::PossiblySlower, Some((r, ..))) => {
                format!("△ possibly {}", change_words(r))
            }
            (Direction::Faster, Some((r, ..))) => format!("▼ {}", change_words(r)),
            (Direction::Same, _) => "≈ no change".into(),
            _ => match (self.base, self.new) {
                (None, Some(_)) => "new variant".into(),
                (Some(_), None) => "removed".into(),
                _ => "not comparable".into(),
            },
        }
    }

    /// check's call in a word and the labels of its findings: `REGRESSION: plan
    /// changed, more blocks`.
    pub fn verdict_text(&self) -> String {
        match &self.verdict {
            Some(v) if v.findings.is_empty() => v.outcome.label().to_string(),
            Some(v) => format!("{}: {}", v.outcome.label(), v.why()),
            None => "–".into(),
        }
    }
}

/// One comparison in both runs.
#[derive(Debug, Clone)]
pub(in crate::report) struct ComparisonChange<'a> {
    pub dataset: String,
    pub id: String,
    pub title: String,
    pub variants: Vec<VariantChange<'a>>,
    /// Set when the comparison is missing from one run.
    pub only_in: Option<&'static str>,
}

/// Two runs compared: check's report, and every comparison of the new run (then
/// those only in the base) with each variant's verdict.
#[derive(Debug, Clone)]
pub(in crate::report) struct Changes<'a> {
    pub check: CheckReport,
    pub comparisons: Vec<ComparisonChange<'a>>,
}

impl Changes<'_> {
    /// Every variant of every comparison.
    pub fn variants(&self) -> impl Iterator<Item = (&ComparisonChange<'_>, &VariantChange<'_>)> {
        self.comparisons
            .iter()
            .flat_map(|c| c.variants.iter().map(move |v| (c, v)))
    }

    /// `1 slower · 2 faster · 40 unchanged · 1 plan change`, then check's summary.
    pub fn tally(&self) -> String {
        let n = |d: Direction| self.variants().filter(|(_, v)| v.direction() == d).count();
        let plans = self.variants().filter(|(_, v)| v.plan().is_some()).count();
        let mut parts = vec![
            format!("{} slower", n(Direction::Slower)),
            format!("{} faster", n(Direction::Faster)),
            format!("{} unchanged", n(Direction::Same)),
            format!(
                "{plans} plan {}",
                if plans == 1 { "change" } else { "changes" }
            ),
        ];
        let possibly = n(Direction::PossiblySlower);
        if possibly > 0 {
            parts.insert(2, format!("{possibly} possibly slower"));
        }
        format!(
            "{} — querylab check: {}, {}",
            parts.join(" · "),
            if self.check.regressions > 0 {
                "FAIL"
            } else {
                "PASS"
            },
            self.check.summary_line()
        )
    }
}

/// Compares `new` with `base` as `querylab check` does and pairs their comparisons
/// (datasets paired as check pairs them, comparisons by id, variants by name).
pub(in crate::report) fn changes<'a>(base: &'a RunResults, new: &'a RunResults) -> Changes<'a> {
    let report = check::compare(base, new, &CheckOptions::default());
    let mut out = Vec::new();
    for (bd, nd) in check::pair_datasets(base, new, &mut Vec::new()) {
        let Some(d) = nd.or(bd) else { continue };
        let in_base = |id: &str| bd.and_then(|b| b.comparisons.iter().find(|c| c.id == id));
        for c in nd.iter().flat_map(|n| &n.comparisons) {
            out.extend(comparison_change(&report, d, in_base(&c.id), Some(c)));
        }
        for c in bd.iter().flat_map(|b| &b.comparisons) {
            if nd.is_none_or(|n| n.comparisons.iter().all(|x| x.id != c.id)) {
                out.extend(comparison_change(&report, d, Some(c), None));
            }
        }
    }
    Changes {
        check: report,
        comparisons: out,
    }
}

/// One comparison of dataset `d` (the new run's, or the base's when the new run lacks it).
fn comparison_change<'a>(
    report: &CheckReport,
    d: &Dataset,
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
        dataset: dataset_title(d),
        id: any.id.clone(),
        title: any.title.clone(),
        variants: names
            .into_iter()
            .map(|n| VariantChange {
                name: n.to_string(),
                base: base.and_then(|c| c.variant(n)),
                new: new.and_then(|c| c.variant(n)),
                verdict: report.verdict_in(&d.key, &any.id, n).cloned(),
            })
            .collect(),
        only_in: match (base, new) {
            (None, _) => Some("new"),
            (_, None) => Some("base"),
            _ => None,
        },
    })
}

/// Median of a variant or, in a word or two, what happened instead (the full
/// message is in the run's own section).
pub(in crate::report) fn median_text(v: Option<&VariantResult>) -> String {
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

/// The changes of `new` against `base`: the table of every variant with check's
/// verdict, then one chart per comparison. `k` numbers the pair when several new
/// runs are compared with one base.
pub(in crate::report) fn render(
    base: &RunResults,
    new: &RunResults,
    k: usize,
    numbered: bool,
    out: &mut String,
) {
    let changes = changes(base, new);
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
        "<section id=\"{id}\"><h2>{title}</h2><p class=\"verdict{}\">{}</p>",
        if changes.check.regressions > 0 {
            " none"
        } else {
            ""
        },
        esc(&changes.tally())
    );
    out.push_str(
        "<table class=\"changes\"><thead><tr><th>Comparison</th><th>Variant</th><th class=\"num\">Base</th>\
         <th class=\"num\">New</th><th>Change</th><th class=\"num\">Buffers</th><th>Plan</th><th>Check</th></tr></thead><tbody>",
    );
    for (i, c) in changes.comparisons.iter().enumerate() {
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
            let class = match v.direction() {
                Direction::Slower => "bad",
                Direction::PossiblySlower => "warn",
                Direction::Faster => "good",
                _ => "muted",
            };
            let blocks = v
                .blocks()
                .map(|(a, b)| {
                    if a == b {
                        count(a)
                    } else {
                        format!("{} → {}", count(a), count(b))
                    }
                })
                .unwrap_or_else(|| "–".into());
            let plan = v
                .plan()
                .map(|(a, b)| format!("<span class=\"badge warn\">changed</span> <code>{}</code> → <code>{}</code>", esc(a), esc(b)))
                .unwrap_or_else(|| {
                    let word = if v.blocks().is_some() { "same" } else { "–" };
                    format!("<span class=\"muted\">{word}</span>")
                });
            let verdict_class = match v.verdict.as_ref().map(|x| x.outcome) {
                Some(Outcome::Regression) => "bad",
                Some(Outcome::Warning) => "warn",
                Some(Outcome::Improvement) => "good",
                _ => "muted",
            };
            let _ = write!(
                out,
                "<tr>{first}<td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"{class}\">{}</td>\
                 <td class=\"num\">{blocks}</td><td>{plan}</td><td class=\"{verdict_class}\">{}</td></tr>",
                esc(&v.name),
                esc(&median_text(v.base)),
                esc(&median_text(v.new)),
                esc(&v.change_text()),
                esc(&v.verdict_text())
            );
        }
    }
    out.push_str("</tbody></table>");
    if !changes.check.notes.is_empty() {
        out.push_str("<ul class=\"notes\">");
        for n in &changes.check.notes {
            let _ = write!(out, "<li class=\"muted\">{}</li>", esc(n));
        }
        out.push_str("</ul>");
    }
    out.push_str("</section>");
    for (i, c) in changes.comparisons.iter().enumerate() {
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
                ratio: v.ratio(),
                words: match v.direction() {
                    Direction::NotComparable => "not comparable".into(),
                    Direction::Same => "no change".into(),
                    _ => v.change_text(),
                },
                tone: match v.direction() {
                    Direction::Slower => Tone::Bad,
                    Direction::PossiblySlower => Tone::Warn,
                    Direction::Faster => Tone::Good,
                    _ => Tone::Neutral,
                },
            })
            .collect();
        let _ = write!(
            out,
            "<figure>{}<figcaption>Dot: new median / base median, after the machine factor; bar: the interval \
             <code>querylab check</code> judges by (bootstrap and run scatter, its confidence shared over every variant). \
             Red: slower (a regression for the check); amber: possibly slower (a warning); green: faster; \
             grey: no change worth a word.</figcaption></figure></section>",
            chart::draw(&c.title, &points)
        );
    }
}

/// The environments of both runs, differences highlighted.
pub(in crate::report) fn env_diff(base: &RunResults, new: &RunResults, out: &mut String) {
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

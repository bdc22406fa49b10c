//! Pairing two runs and judging every variant: deterministic gates first, then the
//! machine factor and run scatter per dataset, then timing with a confidence level
//! shared over every timed variant of the check.

use std::collections::BTreeMap;

use super::gates::{self, Draft};
use super::timing::{self, Noise, Scatter};
use super::verdict::Verdict;
use super::{CheckOptions, CheckReport, Drift, RunSummary};
use crate::results::{Dataset, RunResults, RunStatus};

/// Compares two runs variant by variant. Never fails: datasets, comparisons and
/// variants on one side only become "missing" (a regression) or "new" (not one).
/// Call [`super::compatibility`] first; `compare` assumes the runs are comparable.
pub fn compare(baseline: &RunResults, current: &RunResults, opts: &CheckOptions) -> CheckReport {
    let mut notes = run_notes(baseline, current);
    let selected = |id: &str| selected_by(current.settings.only.as_deref(), id);
    let mut datasets = Vec::new();
    for (b, c) in pair_datasets(baseline, current, &mut notes) {
        match (b, c) {
            (Some(b), Some(c)) => {
                let same = baseline.machine == current.machine
                    && b.server.version_num == c.server.version_num;
                server_notes(b, c, &mut notes);
                datasets.push(draft_dataset(b, c, same, opts, &selected));
            }
            (Some(b), None) => {
                let items = b
                    .comparisons
                    .iter()
                    .flat_map(|cmp| {
                        cmp.variants.iter().map(|var| {
                            Item::Done(gates::judge_missing(
                                &b.key,
                                &cmp.id,
                                &var.name,
                                selected(&cmp.id),
                            ))
                        })
                    })
                    .collect();
                datasets.push(DatasetDraft::plain(items));
            }
            (None, Some(c)) => {
                let items = c
                    .comparisons
                    .iter()
                    .flat_map(|cmp| {
                        cmp.variants
                            .iter()
                            .map(|var| Item::Done(gates::judge_new(&c.key, cmp, var)))
                    })
                    .collect();
                datasets.push(DatasetDraft::plain(items));
            }
            (None, None) => {}
        }
    }

    // The confidence level is for the whole check: share it over every variant whose
    // timing is compared, in every dataset.
    let compared = datasets
        .iter()
        .flat_map(|d| &d.items)
        .filter(|i| matches!(i, Item::Draft(d) if d.raw.is_some()))
        .count();
    let mut verdicts = Vec::new();
    let mut drift = Vec::new();
    for d in datasets {
        let noise = d
            .drift
            .as_ref()
            .map(|dr| Noise::new(dr.factor, d.scatter, dr.stable_variants, compared, opts));
        for item in d.items {
            match item {
                Item::Done(v) => verdicts.push(v),
                Item::Draft(mut draft) => {
                    if let (Some(raw), Some(noise)) = (&draft.raw, &noise) {
                        timing::judge(
                            &mut draft.verdict,
                            raw,
                            draft.stable,
                            noise,
                            d.not_gated.as_deref(),
                            opts,
                        );
                    }
                    draft.verdict.settle();
                    verdicts.push(draft.verdict);
                }
            }
        }
        if let Some(mut dr) = d.drift {
            dr.run_scatter = noise.map(|n| n.for_variant(None).0);
            drift.push(dr);
        }
    }
    let mut report = CheckReport {
        baseline: RunSummary::of(baseline),
        current: RunSummary::of(current),
        options: opts.clone(),
        verdicts,
        regressions: 0,
        warnings: 0,
        improvements: 0,
        new: 0,
        unchanged: 0,
        skipped: 0,
        drift,
        notes,
    };
    report.count();
    report
}

/// A verdict done, or waiting for the timing pass.
enum Item {
    Done(Verdict),
    Draft(Draft),
}

/// One dataset's verdicts in catalog order, before timing is judged.
struct DatasetDraft {
    items: Vec<Item>,
    /// Machine factor estimate (present when both runs have the dataset).
    drift: Option<Drift>,
    /// Run scatter of the stable variants.
    scatter: Option<Scatter>,
    /// Why timing may not fail the check here, if it may not.
    not_gated: Option<String>,
}

impl DatasetDraft {
    fn plain(items: Vec<Item>) -> Self {
        DatasetDraft {
            items,
            drift: None,
            scatter: None,
            not_gated: None,
        }
    }
}

/// Whether the current run's `--only` selected comparison `id`, by the catalog's rule.
/// A selection that does not parse selected nothing: that run could not have been made.
fn selected_by(only: Option<&str>, id: &str) -> bool {
    match only {
        None => true,
        Some(spec) => crate::catalog::Selection::parse(spec).is_ok_and(|s| s.selects(id)),
    }
}

/// Judges the deterministic side of one dataset present in both runs and estimates
/// its machine factor and run scatter from the stable variants.
fn draft_dataset(
    b: &Dataset,
    c: &Dataset,
    same_environment: bool,
    opts: &CheckOptions,
    selected: &dyn Fn(&str) -> bool,
) -> DatasetDraft {
    let mut items = Vec::new();
    for cc in &c.comparisons {
        let bc = b.comparisons.iter().find(|x| x.id == cc.id);
        for cv in &cc.variants {
            items.push(match bc.and_then(|bc| bc.variant(&cv.name)) {
                Some(bv) => Item::Draft(gates::judge_pair(&c.key, cc, bv, cv, opts)),
                None => Item::Done(gates::judge_new(&c.key, cc, cv)),
            });
        }
        for bv in bc.iter().flat_map(|bc| &bc.variants) {
            if cc.variant(&bv.name).is_none() {
                items.push(Item::Done(gates::judge_missing(
                    &c.key, &cc.id, &bv.name, true,
                )));
            }
        }
    }
    for bc in b
        .comparisons
        .iter()
        .filter(|bc| c.comparisons.iter().all(|x| x.id != bc.id))
    {
        for bv in &bc.variants {
            items.push(Item::Done(gates::judge_missing(
                &c.key,
                &bc.id,
                &bv.name,
                selected(&bc.id),
            )));
        }
    }

    items.extend(
        super::prices::drafts(b, c, opts)
            .into_iter()
            .map(Item::Draft),
    );
    let stable: Vec<f64> = items
        .iter()
        .filter_map(|i| match i {
            Item::Draft(d) if d.stable => d.raw.map(|r| r.point),
            _ => None,
        })
        .collect();
    let factor = if opts.normalize_drift {
        timing::drift(&stable, opts.min_drift_variants)
    } else {
        None
    };
    let scatter = Scatter::new(&stable, factor.unwrap_or(1.0), opts.min_drift_variants);
    let not_gated = (factor.is_none() && !same_environment).then(|| {
        format!(
            "the runs are from different machines or server versions and {} stable variants are too few to estimate the machine factor (at least {} are needed)",
            stable.len(),
            opts.min_drift_variants.max(timing::MIN_STABLE)
        )
    });
    DatasetDraft {
        items,
        drift: Some(Drift {
            dataset: c.key.clone(),
            factor,
            scatter: scatter.map(|s| s.sd()),
            run_scatter: None,
            stable_variants: stable.len(),
            same_environment,
        }),
        scatter,
        not_gated,
    }
}

/// Pairs datasets by key; a leftover baseline dataset and a leftover current dataset
/// of the same size are paired too (a baseline recorded with another backend or
/// image has another key), with a note. The report pairs runs the same way.
pub(crate) fn pair_datasets<'a>(
    b: &'a RunResults,
    c: &'a RunResults,
    notes: &mut Vec<String>,
) -> Vec<(Option<&'a Dataset>, Option<&'a Dataset>)> {
    let mut left: Vec<&Dataset> = b
        .datasets
        .iter()
        .filter(|bd| c.datasets.iter().all(|cd| cd.key != bd.key))
        .collect();
    let unmatched_cur = |rows: u64| {
        c.datasets
            .iter()
            .filter(|cd| cd.rows == rows && b.datasets.iter().all(|bd| bd.key != cd.key))
            .count()
    };
    let mut pairs = Vec::new();
    for cd in &c.datasets {
        if let Some(bd) = b.datasets.iter().find(|bd| bd.key == cd.key) {
            pairs.push((Some(bd), Some(cd)));
            continue;
        }
        let same_rows: Vec<usize> = (0..left.len())
            .filter(|&i| left[i].rows == cd.rows)
            .collect();
        if same_rows.len() == 1 && unmatched_cur(cd.rows) == 1 {
            let bd = left.remove(same_rows[0]);
            notes.push(format!(
                "baseline dataset `{}` compared with current dataset `{}` (same size, different server label)",
                bd.key, cd.key
            ));
            pairs.push((Some(bd), Some(cd)));
        } else {
            pairs.push((None, Some(cd)));
        }
    }
    pairs.extend(left.into_iter().map(|bd| (Some(bd), None)));
    pairs
}

/// Notes about the runs as a whole.
fn run_notes(b: &RunResults, c: &RunResults) -> Vec<String> {
    let mut notes = Vec::new();
    if b.settings.scenario_hash != c.settings.scenario_hash {
        notes.push(format!(
            "scenario `{}` changed since the baseline (hash {} → {}): edited variants are marked; if its schema or data changed, re-record the baseline",
            c.settings.scenario,
            b.settings.scenario_hash.get(..12).unwrap_or(&b.settings.scenario_hash),
            c.settings.scenario_hash.get(..12).unwrap_or(&c.settings.scenario_hash),
        ));
    }
    for (who, r) in [("baseline", b), ("current run", c)] {
        if let RunStatus::Partial { reason } = &r.status {
            notes.push(format!(
                "the {who} is partial ({reason}): what it lacks is reported as missing or new"
            ));
        }
    }
    if b.machine != c.machine {
        let m = |r: &RunResults| {
            format!(
                "{} ({} cores)",
                r.machine.hostname.as_deref().unwrap_or("unknown host"),
                r.machine.cores
            )
        };
        notes.push(format!(
            "different machines: baseline on {}, current on {}; timing is judged after removing the machine factor",
            m(b),
            m(c)
        ));
    }
    if b.settings.protocol != c.settings.protocol {
        notes.push(format!(
            "protocol {} (baseline) vs {} (current): timings are not like for like",
            b.settings.protocol, c.settings.protocol
        ));
    }
    notes
}

/// Notes about one dataset's servers: versions and settings that differ.
fn server_notes(b: &Dataset, c: &Dataset, notes: &mut Vec<String>) {
    if b.server.version != c.server.version {
        notes.push(format!(
            "{}: server {} (baseline) vs {} (current): plans and blocks may differ because of the server, not the change",
            c.key, b.server.version, c.server.version
        ));
    }
    let mut keys: BTreeMap<&str, (Option<&str>, Option<&str>)> = BTreeMap::new();
    for (k, v) in &b.server.settings {
        keys.entry(k).or_default().0 = Some(v);
    }
    for (k, v) in &c.server.settings {
        keys.entry(k).or_default().1 = Some(v);
    }
    let diffs: Vec<String> = keys
        .into_iter()
        .filter(|(_, (x, y))| x != y)
        .map(|(k, (x, y))| format!("{k} {} → {}", x.unwrap_or("unset"), y.unwrap_or("unset")))
        .collect();
    if !diffs.is_empty() {
        notes.push(format!(
            "{}: server settings differ: {}",
            c.key,
            diffs.join(", ")
        ));
    }
}

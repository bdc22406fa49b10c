//! `querylab advise`: index recommendations proven by building and measuring them.
//!
//! For each statement of the workload ([`workload`]): read what it asks of each
//! table ([`analyze`]), propose candidates ([`candidates`]), screen the B-trees
//! with HypoPG when the server has it ([`screen`], on a [`scratch`] clone), build
//! the best `K` for real, each on its own clone, and measure them against the
//! statement as it is ([`proof`], through the measuring path `querylab run` uses).
//! Then one index set for the whole workload within the budget ([`select`]),
//! measured once more as a whole, and health findings on the scenario's own index
//! sets ([`health`]). Everything goes to `results.json` (its `advice` part and the
//! proof rounds as comparisons), printed by [`output`].

pub mod analyze;
pub mod candidates;
pub mod health;
pub mod output;
pub mod proof;
pub mod scratch;
pub mod screen;
pub mod select;
pub mod workload;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use chrono::Utc;

use crate::catalog::{NO_INDEX, Scenario};
use crate::error::{Error, Result};
use crate::load::{LoadOptions, load};
use crate::measure::{MeasureConfig, default_sampling};
use crate::progress::Progress;
use crate::provision::ProvisionConfig;
use crate::results::advice::{Advice, AdvisedStatement, CandidateResult, WholeSetResult};
use crate::results::{Dataset, RunResults, RunStatus};
use crate::shutdown::Shutdown;
use proof::{Bench, Trial};
use scratch::Scratch;
use workload::Statement;

/// Candidates built for real per statement, by default.
pub const DEFAULT_TOP_K: usize = 3;

/// Everything `querylab advise` needs. Plain data; the binary fills it.
#[derive(Debug, Clone)]
pub struct AdviseConfig {
    /// Where PostgreSQL comes from.
    pub provision: ProvisionConfig,
    /// Size of the largest table.
    pub rows: u64,
    /// Generator seed.
    pub seed: u64,
    /// `--only`: which comparisons' reference variants make the workload.
    pub only: Option<String>,
    /// `--sql`: a file of statements to advise on instead.
    pub sql_file: Option<PathBuf>,
    /// Options of the advisor itself.
    pub options: AdviseOptions,
    /// Sampling of the proof rounds.
    pub measure: MeasureConfig,
    /// Where results.json goes.
    pub out_dir: PathBuf,
    /// No progress output.
    pub quiet: bool,
}

/// How the advisor works, independent of where the server comes from (the bench
/// runs it on a server of its own).
#[derive(Debug, Clone)]
pub struct AdviseOptions {
    /// `--budget-mb`: most disk the recommended set may take, in MiB.
    pub budget_mb: Option<f64>,
    /// Candidates built for real per statement.
    pub top_k: usize,
    /// Screen B-trees with HypoPG when the server has it (`--no-screening` off).
    pub screening: bool,
    /// Check the scenario's own index sets.
    pub health: bool,
}

impl Default for AdviseOptions {
    fn default() -> Self {
        AdviseOptions {
            budget_mb: None,
            top_k: DEFAULT_TOP_K,
            screening: true,
            health: true,
        }
    }
}

impl AdviseOptions {
    /// The budget in bytes; a budget of zero (or less) is refused.
    pub fn budget_bytes(&self) -> Result<Option<u64>> {
        match self.budget_mb {
            None => Ok(None),
            Some(mb) if !(mb.is_finite() && mb > 0.0) => Err(Error::Invalid(format!(
                "--budget-mb {mb}: no index fits in that; give a positive size in MiB (or leave it out for no limit)"
            ))),
            Some(mb) => Ok(Some((mb * 1024.0 * 1024.0) as u64)),
        }
    }
}

/// Sampling for proof rounds: quicker than `querylab run`'s (the advisor builds
/// several candidates per statement), still at least 10 samples and half a second.
pub fn default_measure() -> MeasureConfig {
    let mut sampling = default_sampling();
    sampling.min_time_ns = 500_000_000;
    sampling.max_time_ns = 2_000_000_000;
    MeasureConfig {
        sampling,
        ..MeasureConfig::default()
    }
}

/// Runs `querylab advise`: provision, load, advise, write `results.json` (also when
/// it fails part way, marked partial).
pub async fn advise(
    cfg: &AdviseConfig,
    scenario: &Scenario,
    shutdown: &Shutdown,
) -> Result<RunResults> {
    cfg.options.budget_bytes()?;
    let statements = workload::statements(scenario, cfg.only.as_deref(), cfg.sql_file.as_deref())?;
    std::fs::create_dir_all(&cfg.out_dir).map_err(|e| Error::io(&cfg.out_dir, e))?;
    let path = cfg.out_dir.join("results.json");
    let settings = crate::run::recorded_settings(
        scenario,
        cfg.seed,
        vec![cfg.rows],
        cfg.only.clone(),
        &cfg.measure,
    );
    let mut results = RunResults::new(settings);
    results.write(&path)?;
    // After each statement, the file holds what was measured so far (as `running`).
    let base = results.clone();
    let mut checkpoint = |d: &Dataset, a: &Advice| -> Result<()> {
        let mut r = base.clone();
        r.datasets = vec![d.clone()];
        r.advice = Some(a.clone());
        r.status = RunStatus::Running;
        r.updated_at = Utc::now();
        r.write(&path)
    };
    let progress = Progress::new(cfg.quiet);
    let outcome = crate::run::on_server(&cfg.provision, shutdown, async |server| {
        let opts = LoadOptions {
            rows: cfg.rows,
            seed: cfg.seed,
            quiet: cfg.quiet,
            clones: cfg.options.top_k as u32 + 3,
        };
        let loaded = load(server, &scenario.load, &opts, shutdown).await?;
        let info = server.info().clone();
        results.datasets.push(Dataset {
            key: Dataset::key_for(&info.label, cfg.rows),
            server: info,
            rows: cfg.rows,
            load: Some(loaded.report.clone()),
            index_sets: Vec::new(),
            layouts: Vec::new(),
            comparisons: Vec::new(),
        });
        let bench = Bench {
            server,
            template: &loaded.template,
            config: &cfg.measure,
            shutdown,
            progress: &progress,
        };
        let dataset = results.datasets.last_mut().expect("pushed");
        let advice = advise_on(
            &bench,
            scenario,
            &statements,
            &cfg.options,
            dataset,
            &mut checkpoint,
        )
        .await?;
        results.advice = Some(advice);
        Ok(())
    })
    .await;
    results.updated_at = Utc::now();
    results.status = match &outcome {
        Ok(()) => RunStatus::Complete,
        Err(e) => RunStatus::Partial {
            reason: e.to_string(),
        },
    };
    results.write(&path)?;
    outcome?;
    let advice = results.advice.as_ref().expect("set on success");
    if advice.chosen.is_empty()
        && let Some(n) = &advice.note
        && n.starts_with("--budget-mb")
    {
        return Err(Error::Invalid(n.clone()));
    }
    Ok(results)
}

/// Called with the dataset and the advice so far after each statement and each
/// whole-set round (`querylab advise` rewrites results.json there).
pub type Checkpoint<'a> = &'a mut dyn FnMut(&Dataset, &Advice) -> Result<()>;

/// Advises on `statements` with the server and template of `bench`, adding the
/// proof rounds and their index-set costs to `dataset`.
pub async fn advise_on(
    bench: &Bench<'_>,
    scenario: &Scenario,
    statements: &[Statement],
    opts: &AdviseOptions,
    dataset: &mut Dataset,
    checkpoint: Checkpoint<'_>,
) -> Result<Advice> {
    let budget = opts.budget_bytes()?;
    let mut scratches: BTreeMap<String, Scratch> = BTreeMap::new();
    let r = advise_inner(
        bench,
        scenario,
        statements,
        opts,
        dataset,
        budget,
        &mut scratches,
        checkpoint,
    )
    .await;
    for (_, s) in scratches {
        s.close(bench.server).await?;
    }
    r
}

#[allow(clippy::too_many_arguments)]
async fn advise_inner(
    bench: &Bench<'_>,
    scenario: &Scenario,
    statements: &[Statement],
    opts: &AdviseOptions,
    dataset: &mut Dataset,
    budget: Option<u64>,
    scratches: &mut BTreeMap<String, Scratch>,
    checkpoint: Checkpoint<'_>,
) -> Result<Advice> {
    let mut advice = Advice {
        dataset: dataset.key.clone(),
        budget_bytes: budget,
        built_per_statement: opts.top_k,
        ..Advice::default()
    };
    let mut extensions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut inlined: Vec<Option<String>> = Vec::new();
    // The statements with their parameters bound, for the whole-set round.
    let mut bound: Vec<Statement> = Vec::new();
    for s in statements {
        bench.shutdown.check()?;
        let started = Instant::now();
        let set_name = s.variant().index_set.clone();
        if !scratches.contains_key(&set_name) {
            let ddl = scenario.index_sets[&set_name].ddl.clone();
            let sc = Scratch::open(bench.server, bench.template, &ddl, opts.screening).await?;
            scratches.insert(set_name.clone(), sc);
        }
        let scratch = &scratches[&set_name];
        let screening = match (&scratch.hypopg, &scratch.screening_off) {
            (Some(v), _) => format!("hypopg {v}"),
            (None, why) => format!(
                "screening is off ({}); every candidate goes to a real build",
                why.as_deref().unwrap_or("no HypoPG")
            ),
        };
        // One line the first time, or when it changes (another reference index set).
        if screening != advice.screening {
            if scratch.hypopg.is_none() {
                bench.progress.println(&format!("querylab: {screening}"));
            }
            advice.screening = screening;
        }
        bound.push(workload::bind(scratch, s).await?);
        let s = bound.last().expect("pushed");
        let sql = workload::inlined(scratch, s).await;
        inlined.push(sql.clone());
        let mut tables = Vec::new();
        let mut accesses = Vec::new();
        let mut note = None;
        for text in &s.variant().statements {
            tables.extend(analyze::tables(text));
        }
        let columns = scratch.columns(&tables).await?;
        for text in &s.variant().statements {
            match analyze::accesses(text, &columns) {
                Ok(a) => accesses.extend(a),
                Err(analyze::Unparsed(e)) => {
                    note = Some(format!(
                        "the SQL parser could not read it ({e}); no candidate"
                    ))
                }
            }
        }
        let facts = scratch.facts(&columns).await?;
        let cands = candidates::candidates(&accesses, &facts);
        let screened = screen::screen(scratch, sql.as_deref(), cands).await;
        let picks = screen::pick(&screened, opts.top_k);
        let trials: Vec<Trial> = picks
            .iter()
            .enumerate()
            .map(|(n, &i)| {
                let c = &screened[i].candidate;
                let mut ddl: Vec<String> = c
                    .extensions
                    .iter()
                    .map(|e| format!("CREATE EXTENSION IF NOT EXISTS {e}"))
                    .collect();
                ddl.extend(c.ddl.iter().cloned());
                Trial {
                    name: format!("cand{}", n + 1),
                    ddl,
                    write_table: c.table.clone(),
                }
            })
            .collect();
        if screened.is_empty() && note.is_none() {
            note = Some("no candidate: nothing in the statement an index could serve".into());
        }
        let id = format!("advise.{}", s.id);
        let round = proof::round(bench, scenario, &s.base, &id, &trials).await?;
        let as_is = proof::measured(&round.result, proof::AS_IS);
        let mut results = Vec::new();
        for (i, sc) in screened.iter().enumerate() {
            let c = &sc.candidate;
            for d in &c.ddl {
                extensions.insert(d.clone(), c.extensions.clone());
            }
            let built = picks.iter().position(|&p| p == i);
            let name = built.map(|n| format!("cand{}", n + 1));
            let m = name
                .as_deref()
                .map(|n| proof::measured(&round.result, n))
                .unwrap_or_default();
            let cost = name.as_deref().and_then(|n| round.costs.get(n));
            let index_names: Vec<&str> =
                c.ddl.iter().filter_map(|d| proof::index_name(d)).collect();
            results.push(CandidateResult {
                kind: c.kind,
                table: c.table.clone(),
                ddl: c.ddl.clone(),
                reason: c.reason.clone(),
                screened: if sc.keep || built.is_some() {
                    sc.how.clone()
                } else {
                    format!("{}; cut", sc.how)
                },
                hypothetical_cost: sc.cost,
                as_is_cost: sc.as_is_cost,
                built: built.is_some(),
                median_ns: m.median_ns,
                median_ci_ns: m.ci_ns,
                speedup: m.speedup,
                shared_blocks: m.shared_blocks,
                plan_head: m.plan_head,
                used: m.indexes.iter().any(|u| index_names.contains(&u.as_str())),
                same_rows: m.same_rows,
                bytes: cost.map(|c| proof::bytes_of(c, &trials_ddl(&trials, name.as_deref()))),
                write_rows_per_second: cost
                    .filter(|c| c.write_table.is_some())
                    .map(|c| (c.write_rows_per_second, c.baseline_rows_per_second)),
                failure: m.failure,
                name,
            });
        }
        if let Some(f) = &as_is.failure {
            note = Some(format!("the statement as it is failed: {f}"));
        }
        dataset.index_sets.extend(round.costs.into_values());
        dataset.comparisons.push(round.result);
        advice.statements.push(AdvisedStatement {
            id: s.id.clone(),
            sql: s.variant().statements.join(";\n"),
            comparison: Some(id),
            as_is_median_ns: as_is.median_ns,
            candidates: results,
            seconds: started.elapsed().as_secs_f64(),
            note,
        });
        checkpoint(dataset, &advice)?;
    }
    let sel = select::select(&advice.statements, budget);
    if !sel.over_budget.is_empty() {
        advice.note = Some(format!(
            "--budget-mb {}: no proven index for {} fits; the smallest takes {}; raise the budget",
            opts.budget_mb.unwrap_or(0.0),
            sel.over_budget.join(", "),
            crate::units::bytes(sel.smallest_over.unwrap_or(0))
        ));
    } else if sel.chosen.is_empty() {
        advice.note = Some("no candidate was proven faster with the same rows".into());
    }
    advice.chosen = sel.chosen;
    let mut ext: Vec<String> = advice
        .chosen
        .iter()
        .flat_map(|c| extensions.get(&c.ddl).cloned().unwrap_or_default())
        .collect();
    ext.sort();
    ext.dedup();
    advice.toml = output::toml_block(&advice.chosen, &ext, statements.len());
    if !advice.chosen.is_empty() {
        let mut ddl: Vec<String> = ext
            .iter()
            .map(|e| format!("CREATE EXTENSION IF NOT EXISTS {e}"))
            .collect();
        ddl.extend(advice.chosen.iter().map(|c| c.ddl.clone()));
        let write_table = advice
            .toml
            .lines()
            .find_map(|l| l.strip_prefix("write_table = "))
            .map(|t| t.trim_matches('"').to_string())
            .unwrap_or_else(|| advice.chosen[0].table.clone());
        let trial = Trial {
            name: "advised".into(),
            ddl: ddl.clone(),
            write_table,
        };
        for s in &bound {
            bench.shutdown.check()?;
            let id = format!("advise.whole.{}", s.id);
            let round =
                proof::round(bench, scenario, &s.base, &id, std::slice::from_ref(&trial)).await?;
            let as_is = proof::measured(&round.result, proof::AS_IS);
            let m = proof::measured(&round.result, "advised");
            let cost = round.costs.get("advised");
            advice.whole_set.push(WholeSetResult {
                statement: s.id.clone(),
                comparison: id,
                as_is_median_ns: as_is.median_ns,
                advised_median_ns: m.median_ns,
                speedup: m.speedup,
                plan_head: m.plan_head,
                same_rows: m.same_rows,
                write_rows_per_second: cost
                    .filter(|c| c.write_table.is_some())
                    .map(|c| (c.write_rows_per_second, c.baseline_rows_per_second)),
                bytes: cost.map(|c| proof::bytes_of(c, &ddl)).unwrap_or(0),
            });
            dataset.index_sets.extend(round.costs.into_values());
            dataset.comparisons.push(round.result);
            checkpoint(dataset, &advice)?;
        }
    }
    if opts.health {
        let mut sets: Vec<String> = Vec::new();
        for s in &bound {
            for v in &s.base.variants {
                if v.index_set != NO_INDEX && !sets.contains(&v.index_set) {
                    sets.push(v.index_set.clone());
                }
            }
        }
        let used_sql: Vec<String> = inlined.into_iter().flatten().collect();
        for name in sets {
            bench.shutdown.check()?;
            let set = &scenario.index_sets[&name];
            advice.health.extend(
                health::check_set(
                    bench.server,
                    bench.template,
                    set,
                    &used_sql,
                    bench.config.write_cost_rows,
                )
                .await?,
            );
        }
    }
    Ok(advice)
}

/// The DDL of trial `name`.
fn trials_ddl(trials: &[Trial], name: Option<&str>) -> Vec<String> {
    trials
        .iter()
        .find(|t| Some(t.name.as_str()) == name)
        .map(|t| t.ddl.clone())
        .unwrap_or_default()
}

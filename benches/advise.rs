//! The bar of `querylab advise` (issue 14): for each built-in comparison whose seed
//! advice is an index (a variant other than the reference runs with an index set),
//! run the advisor on the reference variant alone, then measure the catalog's
//! variants and the reference with the advised set in one interleaved round, and
//! compare the advised median with the best variant of the catalog. Prints one row per comparison: both
//! medians, the ratio, the indexes chosen and the advisor's wall time.
//!
//! `QUERYLAB_BACKEND=local QUERYLAB_ROWS=1000000 cargo bench --bench advise`
//! (`QUERYLAB_ONLY` narrows the comparisons; results go to `$QUERYLAB_OUT/advise.json`).

use std::time::Instant;

use querylab::advise::proof::Bench;
use querylab::advise::workload::{Source, Statement};
use querylab::advise::{AdviseOptions, advise_on, default_measure};
use querylab::catalog::{self, Comparison, IndexSet, NO_INDEX, Pos, Variant};
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, load};
use querylab::measure::Measurer;
use querylab::progress::Progress;
use querylab::provision::provision;
use querylab::results::advice::Advice;
use querylab::results::{Dataset, RunResults, RunStatus};
use querylab::run::recorded_settings;
use querylab::shutdown::Shutdown;
use querylab::units::{duration_ns, times};

/// Within this factor of the catalog's best, the advice meets the bar.
const BAR: f64 = 1.25;

fn main() {
    let env = EnvConfig::from_env(1_000_000).unwrap_or_else(|e| exit(&e.to_string()));
    let scenario =
        catalog::from_arg(env.scenario.as_deref()).unwrap_or_else(|e| exit(&e.to_string()));
    let selected: Vec<_> = scenario
        .select(env.only.as_deref())
        .unwrap_or_else(|e| exit(&e.to_string()))
        .into_iter()
        .filter(|c| {
            let reference = c.variants.iter().find(|v| v.name == c.reference);
            c.variants.iter().any(|v| {
                v.name != c.reference
                    && v.index_set != NO_INDEX
                    && Some(&v.index_set) != reference.map(|r| &r.index_set)
            })
        })
        .cloned()
        .collect();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| exit(&format!("runtime: {e}")));
    let outcome = rt.block_on(async {
        let shutdown = Shutdown::on_signals();
        let progress = Progress::new(true);
        let server = provision(&env.provision).await?;
        let r = async {
            let loaded = load(
                &server,
                &scenario.load,
                &LoadOptions {
                    rows: env.rows,
                    seed: env.seed,
                    quiet: true,
                    clones: 8,
                },
                &shutdown,
            )
            .await?;
            let measure = default_measure();
            let mut results = RunResults::new(recorded_settings(
                &scenario,
                env.seed,
                vec![env.rows],
                env.only.clone(),
                &measure,
            ));
            let info = server.info().clone();
            let mut dataset = Dataset {
                key: Dataset::key_for(&info.label, env.rows),
                server: info,
                rows: env.rows,
                load: Some(loaded.report.clone()),
                index_sets: Vec::new(),
                layouts: Vec::new(),
                comparisons: Vec::new(),
            };
            let bench = Bench {
                server: &server,
                template: &loaded.template,
                config: &measure,
                shutdown: &shutdown,
                progress: &progress,
            };
            let opts = AdviseOptions {
                health: false,
                ..AdviseOptions::default()
            };
            println!(
                "{} rows, {} comparisons whose seed advice is an index; bar: advised median within {BAR}x of the catalog's best\n",
                env.rows,
                selected.len()
            );
            println!(
                "{:<48} {:>10} {:<28} {:>10} {:>7} {:>4} {:>7}  indexes chosen",
                "comparison", "best", "(catalog variant)", "advised", "ratio", "bar", "wall s"
            );
            let mut met = 0;
            for c in &selected {
                let statement = Statement {
                    id: c.id.clone(),
                    origin: c.id.clone(),
                    base: c.clone(),
                    source: Source::Comparison,
                };
                let t = Instant::now();
                let advice =
                    advise_on(
                    &bench,
                    &scenario,
                    std::slice::from_ref(&statement),
                    &opts,
                    &mut dataset,
                    &mut |_, _| Ok(()),
                )
                .await?;
                let wall = t.elapsed().as_secs_f64();
                // The catalog's variants and the advised set in one round, sampled
                // interleaved, so that both medians see the same machine.
                let (round, ddl) = with_advised(c, &advice);
                let mut sc = scenario.clone();
                if let Some(set) = ddl {
                    sc.index_sets.insert(set.name.clone(), set);
                }
                let mut m = Measurer::new(&server, &loaded.template, &sc, &measure, &shutdown, &progress);
                let measured = m.comparison(&round).await?;
                let median = |name: &str| measured.variant(name).and_then(|v| v.stats.map(|s| s.median_ns));
                let best = measured
                    .variants
                    .iter()
                    .filter(|v| v.name != ADVISED)
                    .filter_map(|v| v.stats.map(|s| (s.median_ns, v.name.clone())))
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                let advised = if advice.chosen.is_empty() {
                    median(&c.reference)
                } else {
                    median(ADVISED)
                };
                let ratio = match (advised, &best) {
                    (Some(a), Some((b, _))) => Some(a / b),
                    _ => None,
                };
                dataset.comparisons.push(measured);
                let ok = ratio.is_some_and(|r| r <= BAR);
                met += usize::from(ok);
                let chosen: Vec<String> = advice
                    .chosen
                    .iter()
                    .map(|i| i.ddl.split_once(" ON ").map(|x| x.1).unwrap_or(&i.ddl).to_string())
                    .collect();
                println!(
                    "{:<48} {:>10} {:<28} {:>10} {:>7} {:>4} {:>7.1}  {}",
                    c.id,
                    best.as_ref().map(|b| duration_ns(b.0)).unwrap_or_else(|| "-".into()),
                    format!("({})", best.as_ref().map(|b| b.1.as_str()).unwrap_or("-")),
                    advised.map(duration_ns).unwrap_or_else(|| "-".into()),
                    ratio.map(times).unwrap_or_else(|| "-".into()),
                    if ok { "yes" } else { "no" },
                    wall,
                    if chosen.is_empty() {
                        advice.note.clone().unwrap_or_else(|| "none".into())
                    } else {
                        chosen.join("; ")
                    }
                );
                results.advice = Some(advice);
            }
            println!(
                "\n{met} of {} comparisons within {BAR}x of the catalog's best",
                selected.len()
            );
            results.datasets.push(dataset);
            results.status = RunStatus::Complete;
            std::fs::create_dir_all(&env.out).map_err(|e| querylab::Error::io(&env.out, e))?;
            results.write(&env.out.join("advise.json"))?;
            Ok::<(), querylab::Error>(())
        }
        .await;
        server.shutdown().await?;
        r
    });
    if let Err(e) = outcome {
        exit(&e.to_string());
    }
}

/// Name of the variant that runs the reference with the advised set.
const ADVISED: &str = "advised";

/// `c` with one more variant: its reference on the advised set (none when nothing
/// was chosen), and that set as an index set.
fn with_advised(c: &Comparison, advice: &Advice) -> (Comparison, Option<IndexSet>) {
    let mut out = c.clone();
    out.id = format!("bar.{}", c.id);
    out.expect_winner = None;
    if advice.chosen.is_empty() {
        return (out, None);
    }
    let reference = c
        .variants
        .iter()
        .find(|v| v.name == c.reference)
        .expect("the reference exists");
    let mut ddl: Vec<String> = Vec::new();
    if advice
        .toml
        .contains("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    {
        ddl.push("CREATE EXTENSION IF NOT EXISTS pg_trgm".into());
    }
    ddl.extend(advice.chosen.iter().map(|i| i.ddl.clone()));
    let set = IndexSet {
        name: format!("bar.{}.advised", c.id),
        description: "querylab advise's set".into(),
        ddl,
        write_table: None,
        write_rows: None,
        update: None,
        pos: Pos::default(),
    };
    out.variants.push(Variant {
        name: ADVISED.into(),
        index_set: set.name.clone(),
        plan_contains: Vec::new(),
        plan_lacks: Vec::new(),
        faster_than: Vec::new(),
        ..reference.clone()
    });
    (out, Some(set))
}

fn exit(msg: &str) -> ! {
    eprintln!("bench advise: {msg}");
    std::process::exit(2);
}

//! The bar of `querylab advise` (issue 14): for each built-in comparison whose seed
//! advice is an index (a variant other than the reference runs with an index set),
//! run the advisor on the reference variant alone and compare the median with the
//! advised set (its whole-set round) against the best variant of the catalog,
//! measured on the same server and data. Prints one row per comparison: both
//! medians, the ratio, the indexes chosen and the advisor's wall time.
//!
//! `QUERYLAB_BACKEND=local QUERYLAB_ROWS=1000000 cargo bench --bench advise`
//! (`QUERYLAB_ONLY` narrows the comparisons; results go to `$QUERYLAB_OUT/advise.json`).

use std::time::Instant;

use querylab::advise::proof::Bench;
use querylab::advise::workload::Statement;
use querylab::advise::{AdviseOptions, advise_on, default_measure};
use querylab::catalog::{self, NO_INDEX};
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, load};
use querylab::measure::Measurer;
use querylab::progress::Progress;
use querylab::provision::provision;
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
                let mut m = Measurer::new(&server, &loaded.template, &scenario, &measure, &shutdown, &progress);
                let catalog_run = m.comparison(c).await?;
                let best = catalog_run
                    .variants
                    .iter()
                    .filter_map(|v| v.stats.map(|s| (s.median_ns, v.name.clone())))
                    .min_by(|a, b| a.0.total_cmp(&b.0));
                dataset.comparisons.push(catalog_run);
                let statement = Statement {
                    id: c.id.clone(),
                    origin: c.id.clone(),
                    base: c.clone(),
                };
                let t = Instant::now();
                let advice =
                    advise_on(&bench, &scenario, std::slice::from_ref(&statement), &opts, &mut dataset).await?;
                let wall = t.elapsed().as_secs_f64();
                let advised = advice
                    .whole_set
                    .first()
                    .and_then(|w| w.advised_median_ns)
                    .or_else(|| advice.statements.first().and_then(|s| s.as_is_median_ns));
                let ratio = match (advised, &best) {
                    (Some(a), Some((b, _))) => Some(a / b),
                    _ => None,
                };
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

fn exit(msg: &str) -> ! {
    eprintln!("bench advise: {msg}");
    std::process::exit(2);
}

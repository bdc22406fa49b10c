//! `cargo bench`: one criterion group per comparison of the catalog, one benchmark per
//! variant — the same scenario, clones, index sets and statements as `querylab run`.
//!
//! Provisioning and loading happen once per process, lazily (so `--list` and a filter
//! that matches nothing start no server), and outside every timed closure. Each
//! variant runs on its own clone with its index set; criterion times only the
//! statements (`iter_custom`). After each group, the plans, deterministic counters and
//! result cross-check are written to `$QUERYLAB_OUT/<comparison>.json` (default
//! `reports/bench/`), and every group's results to `$QUERYLAB_OUT/results.json`, which
//! `querylab report` renders.
//!
//! Configuration: environment variables (see `querylab::env`), e.g.
//! `QUERYLAB_ROWS=1000000 cargo bench -- pagination`.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use criterion::{BenchmarkId, Criterion, SamplingMode};
use querylab::catalog::{self, Comparison, Mode, Scenario};
use querylab::env::EnvConfig;
use querylab::load::{LoadOptions, Loaded, load};
use querylab::measure::{MeasureConfig, Measurer, Memory, blank_result, evaluate, session};
use querylab::progress::Progress;
use querylab::provision::{Server, provision};
use querylab::results::{Dataset, RunResults, RunStatus, VariantResult, VariantStatus};
use querylab::run::recorded_settings;
use querylab::shutdown::Shutdown;

/// Default size for benches: keeps a full `cargo bench` well under 10 minutes on 2 cores.
const BENCH_ROWS: u64 = 100_000;

/// Criterion samples per benchmark (criterion's own default, 100, would take five
/// times longer for little gain on millisecond queries).
const SAMPLE_SIZE: usize = 20;

/// The loaded database, shared by every group; torn down at exit or on a signal.
struct State {
    server: Server,
    loaded: Loaded,
}

/// Everything a group needs, and the one place that provisions and tears down.
struct Bench {
    rt: tokio::runtime::Runtime,
    env: EnvConfig,
    scenario: Scenario,
    state: Mutex<Option<Arc<State>>>,
    shutdown: Shutdown,
    config: MeasureConfig,
    progress: Progress,
    /// Criterion's samples per benchmark (`--sample-size` or [`SAMPLE_SIZE`]).
    sample_size: usize,
    /// What the measurers remember between calls (layout templates built once).
    memory: Mutex<Memory>,
}

fn main() {
    let env = EnvConfig::from_env(BENCH_ROWS).unwrap_or_else(|e| early_exit(&e.to_string()));
    let scenario =
        catalog::from_arg(env.scenario.as_deref()).unwrap_or_else(|e| early_exit(&e.to_string()));
    let comparisons: Vec<Comparison> = scenario
        .select(env.only.as_deref())
        .unwrap_or_else(|e| early_exit(&e.to_string()))
        .into_iter()
        // Workloads are many clients at once, not one statement criterion can time:
        // `querylab run` and `cargo bench --bench workload` measure them.
        .filter(|c| !querylab::workload::is_workload(c))
        .cloned()
        .collect();
    let rt = querylab::runtime::build().unwrap_or_else(|e| early_exit(&format!("runtime: {e}")));
    let shutdown = rt.block_on(async { Shutdown::on_signals() });
    let mut bench = Bench {
        rt,
        env,
        scenario,
        state: Mutex::new(None),
        shutdown,
        config: MeasureConfig {
            write_cost_rows: 0,
            ..MeasureConfig::default()
        },
        progress: Progress::new(true),
        sample_size: SAMPLE_SIZE,
        memory: Mutex::new(Memory::default()),
    };
    let mut criterion = Criterion::default()
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_secs(1))
        .sample_size(SAMPLE_SIZE)
        // Criterion's default 100,000 bootstrap resamples make its analysis and
        // plots (plotters: KDEs over every resample) cost seconds per benchmark,
        // longer than the measurement; 10,000 give the same intervals to a few
        // tenths of a percent.
        .nresamples(10_000)
        .configure_from_args();
    bench.sample_size = sample_size_arg().unwrap_or(SAMPLE_SIZE);
    std::fs::create_dir_all(&bench.env.out).ok();
    let mut results = RunResults::new(recorded_settings(
        &bench.scenario,
        bench.env.seed,
        vec![bench.env.rows],
        bench.env.only.clone(),
        &bench.config,
    ));
    for c in &comparisons {
        bench.comparison(&mut criterion, c, &mut results);
    }
    criterion.final_summary();
    let builds = bench.memory.lock().map(|m| m.layout_builds()).unwrap_or(0);
    if !bench.scenario.layouts.is_empty() {
        eprintln!("querylab bench: {builds} layout builds (each layout once)");
    }
    bench.teardown();
}

/// `--sample-size N` as criterion reads it (criterion keeps its settings private).
fn sample_size_arg() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let value = args.iter().enumerate().find_map(|(i, a)| match a.as_str() {
        "--sample-size" => args.get(i + 1).map(String::as_str),
        _ => a.strip_prefix("--sample-size="),
    });
    value.and_then(|v| v.parse().ok())
}

/// Exit before anything was provisioned.
fn early_exit(msg: &str) -> ! {
    eprintln!("Error: {msg}");
    std::process::exit(2)
}

impl Bench {
    /// The loaded database, provisioned and loaded on first use.
    fn state(&self) -> Arc<State> {
        let mut guard = self.state.lock().expect("state lock");
        if let Some(s) = guard.as_ref() {
            return s.clone();
        }
        let loaded = self.rt.block_on(async {
            let server = provision(&self.env.provision).await?;
            let opts = LoadOptions {
                rows: self.env.rows,
                seed: self.env.seed,
                quiet: true,
                // Criterion measures one variant at a time, on one clone (plus the
                // per-sample clone of a fresh_clone variant).
                clones: 2,
            };
            match load(&server, &self.scenario.load, &opts, &self.shutdown).await {
                Ok(loaded) => Ok(State { server, loaded }),
                Err(e) => {
                    server.shutdown().await.ok();
                    Err(e)
                }
            }
        });
        let state = match loaded {
            Ok(s) => Arc::new(s),
            Err(e) => {
                drop(guard);
                self.die(&e.to_string())
            }
        };
        eprintln!(
            "querylab bench: {} rows loaded on {} ({}) in {:.1}s",
            state.loaded.report.rows,
            state.server.info().label,
            state.server.info().version,
            state.loaded.report.seconds
        );
        *guard = Some(state.clone());
        state
    }

    /// Tears down the server (if any) — every exit path goes through here.
    fn teardown(&self) {
        let state = self.state.lock().map(|mut g| g.take()).unwrap_or(None);
        if let Some(state) = state.and_then(|s| Arc::try_unwrap(s).ok()) {
            self.rt.block_on(state.server.shutdown()).ok();
        }
    }

    /// Prints the error, tears down, exits (130 after an interrupt, else 2).
    fn die(&self, msg: &str) -> ! {
        eprintln!("Error: {msg}");
        self.teardown();
        std::process::exit(if self.shutdown.is_triggered() { 130 } else { 2 })
    }

    /// Records a variant's stop: a status for this variant, or the end of the process.
    fn stopped(&self, m: &Measurer<'_>, c: &Comparison, stop: session::Stop) -> VariantStatus {
        match session::status_of(m, c, stop) {
            Ok(status) => status,
            Err(e) => self.die(&e.to_string()),
        }
    }

    fn comparison(&self, criterion: &mut Criterion, c: &Comparison, results: &mut RunResults) {
        let mut group = criterion.benchmark_group(&c.id);
        let mut sample_size = self.sample_size;
        if c.variants.iter().any(|v| v.mode == Mode::FreshClone) {
            // Every iteration clones the database: few, flat samples.
            sample_size = 10;
            group
                .sampling_mode(SamplingMode::Flat)
                .sample_size(sample_size);
        }
        let mut params = None;
        let mut measured: Vec<VariantResult> = Vec::new();
        let mut touched = false;
        for v in &c.variants {
            // Opened on first call: criterion never calls a filtered-out benchmark.
            let mut session: Option<session::Session> = None;
            let mut samples: Vec<u64> = Vec::new();
            let mut failure: Option<VariantStatus> = None;
            group.bench_function(BenchmarkId::from_parameter(&v.name), |b| {
                touched = true;
                let state = self.state();
                let mut m = self.measurer(&state);
                if session.is_none() && failure.is_none() {
                    match self.rt.block_on(session::open(&mut m, c, v, &mut params)) {
                        Ok(s) => session = Some(s),
                        Err(stop) => failure = Some(self.stopped(&m, c, stop)),
                    }
                }
                let Some(s) = session.as_ref().filter(|_| failure.is_none()) else {
                    // A failed variant still has to give criterion a measurement.
                    b.iter_custom(|_| Duration::from_nanos(1));
                    self.keep(m);
                    return;
                };
                b.iter_custom(|iters| {
                    let mut total = 0u64;
                    for _ in 0..iters {
                        match self.rt.block_on(session::sample(&mut m, s)) {
                            Ok(ns) => total += ns,
                            Err(stop) => {
                                failure.get_or_insert(self.stopped(&m, c, stop));
                                break;
                            }
                        }
                    }
                    samples.push(total / iters.max(1));
                    Duration::from_nanos(total.max(1))
                });
                self.keep(m);
            });
            let mut out = blank_result(&self.scenario, v, &self.config);
            // Criterion calls the routine during warm-up too, then once per sample:
            // the measured samples are the last `sample_size` calls.
            let warmup = samples.len().saturating_sub(sample_size);
            out.samples_ns = samples.split_off(warmup);
            if let Some(s) = session.take() {
                // Digest and plans outside criterion's timing, then drop the clone.
                let state = self.state();
                let mut m = self.measurer(&state);
                out.params = s.params.clone();
                out.executions_per_sample = s.executions_per_sample();
                let explained = self.rt.block_on(async {
                    let r = session::result(&mut m, &s).await?;
                    let p = session::plans(&mut m, &s).await?;
                    session::write_costs(&mut m, &s).await?;
                    Ok::<_, session::Stop>((r, p))
                });
                match explained {
                    Ok((r, (plan, counters))) => {
                        out.result = Some(r);
                        out.plan = Some(plan);
                        out.counters = Some(counters);
                    }
                    Err(stop) => failure = failure.or(Some(self.stopped(&m, c, stop))),
                }
                if let Err(e) = self.rt.block_on(session::close(&mut m, s)) {
                    self.die(&e.to_string());
                }
                self.keep(m);
            }
            if let Some(f) = failure {
                out.status = f;
            }
            out.stats = querylab::stats::summarize(&out.samples_ns);
            measured.push(out);
        }
        group.finish();
        if touched {
            self.write(c, measured, results);
        }
    }

    fn measurer<'a>(&'a self, state: &'a State) -> Measurer<'a> {
        let mem = std::mem::take(&mut *self.memory.lock().expect("memory lock"));
        Measurer::new(
            &state.server,
            &state.loaded.template,
            &self.scenario,
            &self.config,
            &self.shutdown,
            &self.progress,
        )
        .remember(mem)
    }

    /// Hands what `m` learnt (layout templates built, costs) to the next measurer.
    fn keep(&self, m: Measurer<'_>) {
        *self.memory.lock().expect("memory lock") = m.forget();
    }

    /// Writes the comparison's plans, counters and checks next to criterion's output.
    fn write(&self, c: &Comparison, measured: Vec<VariantResult>, results: &mut RunResults) {
        let cr = evaluate(c, measured);
        for line in &cr.result_check.details {
            eprintln!("querylab bench: {}: {line}", c.id);
        }
        for e in cr.expectations.iter().filter(|e| !e.held) {
            eprintln!(
                "querylab bench: {}: expectation not met: {} {}",
                c.id,
                e.variant.as_deref().unwrap_or(""),
                e.description
            );
        }
        let path = self.env.out.join(format!("{}.json", c.id));
        if let Ok(text) = serde_json::to_string_pretty(&cr) {
            std::fs::write(&path, text).ok();
        }
        if results.datasets.is_empty() {
            let state = self.state();
            let info = state.server.info().clone();
            results.datasets.push(Dataset {
                key: Dataset::key_for(&info.label, self.env.rows),
                server: info,
                rows: self.env.rows,
                load: Some(state.loaded.report.clone()),
                index_sets: Vec::new(),
                layouts: Vec::new(),
                comparisons: Vec::new(),
            });
        }
        results.datasets[0].layouts = self
            .memory
            .lock()
            .map(|m| m.layout_costs())
            .unwrap_or_default();
        results.datasets[0].comparisons.push(cr);
        results.updated_at = Utc::now();
        results.status = RunStatus::Complete;
        if let Err(e) = results.write(&self.env.out.join("results.json")) {
            eprintln!("querylab bench: {e}");
        }
    }
}

//! The `querylab` binary: parses arguments into the library's config structs and
//! calls the library. Errors print as one line `Error: …` and exit 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use querylab::catalog;
use querylab::check::CheckOptions;
use querylab::load::{LoadOptions, load};
use querylab::measure::{MeasureConfig, Protocol, SamplingOrder, default_sampling};
use querylab::provision::{BackendKind, ProvisionConfig, ServerSettings, provision};
use querylab::run::{DEFAULT_ROWS, DEFAULT_SEED, RunConfig};
use querylab::shutdown::Shutdown;
use querylab::{Error, Result};

#[derive(Parser)]
#[command(
    name = "querylab",
    version,
    about = "Measured answers to: which schema, index and query shape is fastest on PostgreSQL for my data?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Provision PostgreSQL, create the schemas and bulk-load deterministic rows.
    Load(LoadArgs),
    /// Load, run every comparison, write results.json and print a table.
    Run(RunArgs),
    /// List the comparisons of a scenario.
    List(ListArgs),
    /// Render results.json files as HTML and Markdown (two files: run against run).
    Report(ReportArgs),
    /// Compare against a baseline: exit 0 no regression, 1 regression, 2 error.
    Check(CheckArgs),
}

#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    Auto,
    Docker,
    Local,
    Url,
}

#[derive(Args, Clone)]
struct ServerArgs {
    /// Where PostgreSQL comes from.
    #[arg(long, value_enum, default_value = "auto")]
    backend: Backend,
    /// Existing server (url backend); querylab only creates and drops its own querylab_* databases there.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// Image for the docker backend (repeat to compare server versions in one run).
    #[arg(long, env = "QUERYLAB_PG_IMAGE")]
    pg_image: Vec<String>,
    /// Keep the server / databases after exit.
    #[arg(long)]
    keep: bool,
    /// Override a server setting, e.g. --set work_mem=64MB (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    settings: Vec<String>,
    /// No progress bars or informational lines.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Args)]
struct LoadArgs {
    /// Rows of the largest table (the others scale from it).
    #[arg(long, default_value_t = DEFAULT_ROWS)]
    rows: u64,
    /// Generator seed: same seed and size give identical rows.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Scenario file (or builtin:NAME) whose schema and data to load.
    #[arg(long)]
    scenario: Option<String>,
    /// Print one JSON object on stdout.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct RunArgs {
    /// Rows of the largest table; several (comma-separated) measure scaling.
    #[arg(long, value_delimiter = ',', default_value = "1000000")]
    rows: Vec<u64>,
    /// Generator seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Only comparisons whose id matches this glob (a bare word matches ids containing it).
    #[arg(long)]
    only: Option<String>,
    /// Scenario file, or builtin:NAME (default: the built-in seeds scenario).
    #[arg(long)]
    scenario: Option<String>,
    /// Output directory (default reports/<timestamp>, with reports/latest pointing at it).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print results.json on stdout instead of the table.
    #[arg(long)]
    json: bool,
    /// Wire protocol for timed statements.
    #[arg(long, value_enum, default_value = "prepared")]
    protocol: ProtocolArg,
    /// Order of samples: `interleaved` (one sample of each variant per round) or
    /// `back-to-back` (all samples of a variant, then the next, as pgbench does).
    #[arg(long, default_value = "interleaved")]
    sampling_order: SamplingOrder,
    /// Minimum timed samples per variant.
    #[arg(long, default_value_t = default_sampling().min_samples)]
    min_samples: u32,
    /// Minimum sampling time per variant, seconds.
    #[arg(long, default_value_t = default_sampling().min_time_ns as f64 / 1e9)]
    min_time: f64,
    /// Maximum sampling time per variant, seconds (caps slow variants).
    #[arg(long, default_value_t = default_sampling().max_time_ns as f64 / 1e9)]
    max_time: f64,
    /// Warm-up executions before sampling.
    #[arg(long, default_value_t = default_sampling().warmup_runs)]
    warmup: u32,
    /// statement_timeout per sample, seconds.
    #[arg(long, default_value_t = default_sampling().statement_timeout_ns as f64 / 1e9)]
    statement_timeout: f64,
    /// Time budget per comparison, seconds: bounds its setup statements, and variants
    /// not started when it is spent are recorded as failed.
    #[arg(long, default_value_t = MeasureConfig::default().comparison_budget.as_secs_f64())]
    comparison_budget: f64,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Clone, Copy, ValueEnum)]
enum ProtocolArg {
    Prepared,
    Simple,
}

#[derive(Clone, Copy, ValueEnum)]
enum CheckFormat {
    Table,
    Markdown,
    Json,
    Bmf,
}

#[derive(Args)]
struct CheckArgs {
    /// Baseline results.json (e.g. fixtures/baselines/ci/results.json).
    #[arg(long)]
    baseline: PathBuf,
    /// Current results.json; without it the baseline's scenario, seed and sizes run now.
    #[arg(long)]
    current: Option<PathBuf>,
    /// What to print on stdout.
    #[arg(long, value_enum, default_value = "table")]
    format: CheckFormat,
    /// Also write the JSON verdicts to this file.
    #[arg(long)]
    verdicts: Option<PathBuf>,
    /// Append the Markdown summary to this file (GitHub's job summary).
    #[arg(long, env = "GITHUB_STEP_SUMMARY", hide_env_values = true)]
    step_summary: Option<PathBuf>,
    /// Where the current run's results go when it runs now (default reports/check-<timestamp>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Smallest median slowdown that can fail, as a fraction.
    #[arg(long, default_value_t = CheckOptions::default().time_threshold)]
    time_threshold: f64,
    /// Confidence of the timing intervals, for the check as a whole.
    #[arg(long, default_value_t = CheckOptions::default().confidence)]
    confidence: f64,
    /// Fewest samples per side for timing to be gated.
    #[arg(long, default_value_t = CheckOptions::default().min_samples)]
    min_samples: usize,
    /// Allowed relative change of shared blocks.
    #[arg(long, default_value_t = CheckOptions::default().buffers_tolerance)]
    buffers_tolerance: f64,
    /// Allowed absolute change of shared blocks.
    #[arg(long, default_value_t = CheckOptions::default().buffers_floor)]
    buffers_floor: u64,
    /// Allowed relative change of rows returned.
    #[arg(long, default_value_t = CheckOptions::default().rows_tolerance)]
    rows_tolerance: f64,
    /// Report timings but judge only the deterministic signals.
    #[arg(long)]
    ignore_timing: bool,
    /// Report plan changes without failing on them.
    #[arg(long)]
    allow_plan_change: bool,
    /// Least between-run scatter assumed (log-scale standard deviation).
    #[arg(long, default_value_t = CheckOptions::default().run_scatter_floor)]
    run_scatter_floor: f64,
    /// Smallest slowdown per execution, in microseconds, that can fail the check.
    #[arg(long, default_value_t = CheckOptions::default().time_floor_ns / 1000.0)]
    time_floor_us: f64,
    /// Minimum timed samples per variant when running now.
    #[arg(long, default_value_t = 30)]
    run_min_samples: u32,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct ReportArgs {
    /// results.json files; with two, the second is compared against the first.
    #[arg(required = true)]
    results: Vec<PathBuf>,
    /// Output directory for index.html and summary.md.
    #[arg(long, default_value = "reports/report")]
    out: PathBuf,
}

#[derive(Args)]
struct ListArgs {
    /// Scenario file, or builtin:NAME.
    #[arg(long)]
    scenario: Option<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("Error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let result = rt.block_on(async {
        let shutdown = Shutdown::on_signals();
        match cli.command {
            Command::Load(a) => cmd_load(a, &shutdown).await,
            Command::Run(a) => cmd_run(a, &shutdown).await,
            Command::List(a) => cmd_list(a),
            Command::Report(a) => cmd_report(a),
            Command::Check(a) => cmd_check(a, &shutdown).await,
        }
    });
    // Guards (servers, containers, clones) are dropped inside block_on; shutting the
    // runtime down here only ends leftover connection tasks.
    rt.shutdown_timeout(std::time::Duration::from_secs(2));
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("Error: {e}");
            ExitCode::from(2)
        }
    }
}

fn provision_config(s: &ServerArgs) -> Result<ProvisionConfig> {
    let mut settings = ServerSettings::default();
    settings.apply_overrides(&s.settings)?;
    let backend = match s.backend {
        Backend::Auto => BackendKind::Auto,
        Backend::Docker => BackendKind::Docker,
        Backend::Local => BackendKind::Local,
        Backend::Url => BackendKind::Url,
    };
    if s.pg_image.len() > 1 && !matches!(s.backend, Backend::Docker) {
        return Err(Error::Invalid(
            "--pg-image given more than once compares server versions: use it with --backend docker".into(),
        ));
    }
    Ok(ProvisionConfig {
        backend,
        database_url: s.database_url.clone(),
        pg_image: s.pg_image.first().cloned(),
        keep: s.keep,
        settings,
        quiet: s.quiet,
    })
}

async fn cmd_load(a: LoadArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    if a.rows == 0 {
        return Err(Error::Invalid("--rows must be at least 1".into()));
    }
    if a.server.pg_image.len() > 1 {
        return Err(Error::Invalid(
            "querylab load takes one --pg-image; to compare several, give them to querylab run"
                .into(),
        ));
    }
    let scenario = catalog::from_arg(a.scenario.as_deref())?;
    let pc = provision_config(&a.server)?;
    let server = tokio::select! {
        s = provision(&pc) => s?,
        _ = shutdown.cancelled() => return Err(Error::Interrupted),
    };
    let opts = LoadOptions {
        rows: a.rows,
        seed: a.seed,
        quiet: a.server.quiet,
        clones: 0,
    };
    let loaded = load(&server, &scenario.load, &opts, shutdown).await;
    let loaded = match loaded {
        Ok(l) => l,
        Err(e) => {
            let e = if shutdown.is_triggered() {
                Error::Interrupted
            } else {
                e.or_server_lost(&server.info().label)
            };
            server
                .shutdown_with(querylab::run::cleanup(shutdown))
                .await
                .ok();
            return Err(e);
        }
    };
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&loaded.report).expect("load report serializes")
        );
    } else {
        let r = &loaded.report;
        println!(
            "loaded {} rows in {:.1}s ({:.0} rows/s) into {} on {} ({})",
            r.rows, r.seconds, r.rows_per_second, r.database, r.backend, r.server_version
        );
        for t in &r.tables {
            println!(
                "  {:<36} {:>10} rows {:>7.2}s {:>9.1} MiB",
                t.name,
                t.rows,
                t.seconds,
                t.bytes as f64 / 1048576.0
            );
        }
    }
    if a.server.keep {
        server.forget_database(&loaded.template);
    }
    server.shutdown().await?;
    Ok(ExitCode::SUCCESS)
}

fn default_out_dir() -> PathBuf {
    PathBuf::from("reports").join(chrono::Local::now().format("%Y%m%d-%H%M%S").to_string())
}

/// Points reports/latest at `dir` (best effort: a symlink where supported).
fn link_latest(dir: &std::path::Path) {
    let Some(parent) = dir.parent() else { return };
    let latest = parent.join("latest");
    let _ = std::fs::remove_file(&latest);
    #[cfg(unix)]
    if let Some(name) = dir.file_name() {
        let _ = std::os::unix::fs::symlink(name, &latest);
    }
}

fn secs(s: f64, flag: &str) -> Result<u64> {
    if !(s.is_finite() && s >= 0.0) {
        return Err(Error::Invalid(format!(
            "--{flag} {s}: expected a non-negative number of seconds"
        )));
    }
    Ok((s * 1e9) as u64)
}

async fn cmd_run(a: RunArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    if a.rows.contains(&0) {
        return Err(Error::Invalid("--rows values must be at least 1".into()));
    }
    let scenario = catalog::from_arg(a.scenario.as_deref())?;
    let mut rows = a.rows.clone();
    rows.sort_unstable();
    rows.dedup();
    let default_out = a.out.is_none();
    let out_dir = a.out.clone().unwrap_or_else(default_out_dir);
    let mut sampling = default_sampling();
    sampling.min_samples = a.min_samples.max(1);
    sampling.warmup_runs = a.warmup;
    sampling.min_time_ns = secs(a.min_time, "min-time")?;
    sampling.max_time_ns = secs(a.max_time, "max-time")?;
    sampling.statement_timeout_ns = secs(a.statement_timeout, "statement-timeout")?.max(1_000_000);
    let cfg = RunConfig {
        provision: provision_config(&a.server)?,
        images: if a.server.pg_image.len() > 1 {
            a.server.pg_image.clone()
        } else {
            Vec::new()
        },
        rows,
        seed: a.seed,
        only: a.only.clone(),
        out_dir: out_dir.clone(),
        measure: MeasureConfig {
            sampling,
            protocol: match a.protocol {
                ProtocolArg::Prepared => Protocol::Prepared,
                ProtocolArg::Simple => Protocol::Simple,
            },
            comparison_budget: std::time::Duration::from_nanos(
                secs(a.comparison_budget, "comparison-budget")?.max(1_000_000_000),
            ),
            order: a.sampling_order,
            ..MeasureConfig::default()
        },
        quiet: a.server.quiet,
    };
    // Validate the images and the selection before provisioning anything.
    querylab::run::check_images(&cfg.images)?;
    scenario.select(cfg.only.as_deref())?;
    if default_out {
        std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(&out_dir, e))?;
        link_latest(&out_dir);
    }
    let outcome = querylab::run::run(&cfg, &scenario, shutdown).await;
    let results_path = out_dir.join("results.json");
    let results = match outcome {
        Ok(r) => r,
        Err(e) => {
            // Whatever was measured is kept, and rendered.
            if let Ok(partial) = querylab::results::RunResults::read(&results_path) {
                let measured: usize = partial.datasets.iter().map(|d| d.comparisons.len()).sum();
                let report = querylab::report::write_reports(&[partial], &out_dir);
                eprintln!(
                    "querylab: partial results ({measured} comparisons measured) kept in {}{}",
                    results_path.display(),
                    report
                        .map(|f| format!(" (report: {})", f.html.display()))
                        .unwrap_or_default()
                );
            }
            return Err(e);
        }
    };
    let files = querylab::report::write_reports(std::slice::from_ref(&results), &out_dir)?;
    if a.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&results).expect("results serialize")
        );
    } else {
        print!("{}", querylab::table::render(&results));
        println!("results: {}", results_path.display());
        println!("report:  {}", files.html.display());
    }
    let broken = results
        .datasets
        .iter()
        .flat_map(|d| &d.comparisons)
        .any(|c| {
            c.result_check.status == querylab::results::CheckStatus::Mismatch
                || c.variants
                    .iter()
                    .any(|v| matches!(v.status, querylab::results::VariantStatus::Failed { .. }))
        });
    Ok(if broken {
        for line in querylab::table::problems(&results) {
            eprintln!("querylab: {line}");
        }
        eprintln!(
            "querylab: some variants failed or returned different rows than their reference (see above and the table)"
        );
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn cmd_check(a: CheckArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    use querylab::check;
    use querylab::results::RunResults;
    let opts = CheckOptions {
        time_threshold: a.time_threshold,
        confidence: a.confidence,
        min_samples: a.min_samples,
        buffers_tolerance: a.buffers_tolerance,
        buffers_floor: a.buffers_floor,
        rows_tolerance: a.rows_tolerance,
        ignore_timing: a.ignore_timing,
        allow_plan_change: a.allow_plan_change,
        run_scatter_floor: a.run_scatter_floor,
        time_floor_ns: a.time_floor_us * 1000.0,
        ..CheckOptions::default()
    };
    opts.validate()?;
    let baseline = RunResults::read(&a.baseline)?;
    // Without --current: the baseline's scenario, seed, sizes and selection, now.
    let current = match &a.current {
        Some(path) => check::Current::Results(Box::new(RunResults::read(path)?)),
        None => {
            let out_dir = a.out.clone().unwrap_or_else(|| {
                PathBuf::from("reports").join(format!(
                    "check-{}",
                    chrono::Local::now().format("%Y%m%d-%H%M%S")
                ))
            });
            check::Current::Measure(Box::new(check::Remeasure::from_baseline(
                &baseline,
                provision_config(&a.server)?,
                out_dir,
                a.run_min_samples,
                a.server.quiet,
            )?))
        }
    };
    let check::Checked { report, current } =
        check::check(&baseline, current, &opts, shutdown).await?;
    match a.format {
        CheckFormat::Table => print!("{}", check::render_table(&report)),
        CheckFormat::Markdown => print!("{}", check::render_markdown(&report)),
        CheckFormat::Json => println!("{}", check::render_json(&report)),
        CheckFormat::Bmf => println!("{}", check::render_bmf(&current, &report)),
    }
    if let Some(path) = &a.verdicts {
        std::fs::write(path, check::render_json(&report)).map_err(|e| Error::io(path, e))?;
    }
    if let Some(path) = &a.step_summary {
        check::append_step_summary(path, &check::render_markdown(&report))?;
    }
    Ok(ExitCode::from(report.exit_code() as u8))
}

fn cmd_report(a: ReportArgs) -> Result<ExitCode> {
    if a.results.len() > 2 {
        return Err(Error::Invalid(
            "querylab report takes one results.json, or two to compare (base, new)".into(),
        ));
    }
    let runs = a
        .results
        .iter()
        .map(|p| querylab::results::RunResults::read(p))
        .collect::<Result<Vec<_>>>()?;
    let files = querylab::report::write_reports(&runs, &a.out)?;
    println!("report: {}", files.html.display());
    println!("summary: {}", files.markdown.display());
    Ok(ExitCode::SUCCESS)
}

fn cmd_list(a: ListArgs) -> Result<ExitCode> {
    let scenario = catalog::from_arg(a.scenario.as_deref())?;
    println!("scenario {} ({})", scenario.name, scenario.source);
    for c in &scenario.comparisons {
        let variants: Vec<&str> = c.variants.iter().map(|v| v.name.as_str()).collect();
        println!("{:<48} {}  [{}]", c.id, c.title, variants.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}

//! The `querylab` binary: parses arguments into the library's config structs and
//! calls the library. Errors print as one line `Error: …` and exit 2.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand, ValueEnum};
use querylab::check::{self, CheckOptions};
use querylab::measure::{MeasureConfig, Protocol, SamplingOrder, default_sampling};
use querylab::provision::{BackendKind, ProvisionConfig, ServerSettings};
use querylab::results::RunResults;
use querylab::run::{self, DEFAULT_ROWS, DEFAULT_SEED, LoadConfig, RunConfig};
use querylab::shutdown::Shutdown;
use querylab::{Error, Result, catalog};

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
    /// Recommend indexes for the workload, each proven by building and measuring it.
    Advise(AdviseArgs),
}

#[derive(Args, Clone)]
struct ServerArgs {
    /// Where PostgreSQL comes from: auto, docker, local or url.
    #[arg(long, default_value = "auto")]
    backend: BackendKind,
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
    /// Wire protocol for timed statements: prepared or simple.
    #[arg(long, default_value = "prepared")]
    protocol: Protocol,
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
    /// Client counts for every workload comparison, replacing the scenario's (`1,8`).
    #[arg(long, value_delimiter = ',')]
    clients: Option<Vec<u32>>,
    /// Multiply every workload's duration and warm-up (e.g. 10 for 30-second levels).
    #[arg(long, default_value_t = 1.0)]
    duration_factor: f64,
    /// Threads a workload's clients run on, like pgbench's -j (default: one per
    /// core, at most one per client).
    #[arg(long)]
    client_threads: Option<u32>,
    #[command(flatten)]
    server: ServerArgs,
}

#[derive(Args)]
struct AdviseArgs {
    /// Rows of the largest table.
    #[arg(long, default_value_t = DEFAULT_ROWS)]
    rows: u64,
    /// Generator seed.
    #[arg(long, default_value_t = DEFAULT_SEED)]
    seed: u64,
    /// Advise on these comparisons' reference variants (globs, as for run).
    #[arg(long)]
    only: Option<String>,
    /// Scenario file, or builtin:NAME (default: the built-in seeds scenario).
    #[arg(long)]
    scenario: Option<String>,
    /// Advise on the statements of this SQL file instead (on the scenario's data).
    /// A statement using $1…$n takes them from a line `-- params: SELECT …` right
    /// before it: the query's first row's columns bind $1…$n in order.
    #[arg(long)]
    sql: Option<PathBuf>,
    /// Most disk the recommended index set may take, MiB.
    #[arg(long)]
    budget_mb: Option<f64>,
    /// Candidates built and measured per statement.
    #[arg(long, default_value_t = querylab::advise::DEFAULT_TOP_K)]
    top_k: usize,
    /// Do not screen with HypoPG even when the server has it.
    #[arg(long)]
    no_screening: bool,
    /// Output directory (default reports/advise-<timestamp>).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print results.json on stdout instead of the advice.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    server: ServerArgs,
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
    /// Allowed relative change in a layout's or index set's table bytes.
    #[arg(long, default_value_t = CheckOptions::default().bytes_tolerance)]
    bytes_tolerance: f64,
    /// Allowed relative change in the WAL records and bytes of a measured write.
    #[arg(long, default_value_t = CheckOptions::default().wal_tolerance)]
    wal_tolerance: f64,
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
    let rt = match querylab::runtime::build() {
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
            Command::Advise(a) => cmd_advise(a, &shutdown).await,
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

async fn cmd_load(a: LoadArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    let scenario = catalog::from_arg(a.scenario.as_deref())?;
    let report = run::load_only(&a.config()?, &scenario, shutdown).await?;
    if a.json {
        println!("{}", to_json(&report));
    } else {
        print!("{}", run::render_load(&report));
    }
    Ok(ExitCode::SUCCESS)
}

async fn cmd_run(a: RunArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    let scenario = catalog::from_arg(a.scenario.as_deref())?;
    let cfg = a.config()?;
    let done = run::run_and_report(&cfg, &scenario, a.out.is_none(), shutdown).await?;
    if a.json {
        println!("{}", to_json(&done.results));
    } else {
        print!("{}", querylab::report::terminal::render(&done.results));
        println!("results: {}", done.results_path.display());
        println!("report:  {}", done.files.html.display());
    }
    if !done.results.has_failures() {
        return Ok(ExitCode::SUCCESS);
    }
    for line in querylab::report::terminal::problems(&done.results) {
        eprintln!("querylab: {line}");
    }
    eprintln!(
        "querylab: some variants failed or returned different rows than their reference (see above and the table)"
    );
    Ok(ExitCode::from(1))
}

async fn cmd_check(a: CheckArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    let opts = a.options();
    opts.validate()?;
    let baseline = RunResults::read(&a.baseline)?;
    let current = a.current(&baseline)?;
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

async fn cmd_advise(a: AdviseArgs, shutdown: &Shutdown) -> Result<ExitCode> {
    let scenario = catalog::from_arg(a.scenario.as_deref())?;
    let cfg = a.config()?;
    let results = querylab::advise::advise(&cfg, &scenario, shutdown).await?;
    let files = querylab::report::write_reports(std::slice::from_ref(&results), &cfg.out_dir)?;
    if a.json {
        println!("{}", to_json(&results));
    } else if let Some(advice) = &results.advice {
        print!("{}", querylab::advise::output::render(advice));
        println!("results: {}", cfg.out_dir.join("results.json").display());
        println!("report:  {}", files.html.display());
    }
    Ok(ExitCode::SUCCESS)
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
        .map(|p| RunResults::read(p))
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

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).expect("plain data serializes")
}

// Flags → the library's config structs: mapping and flag checks only.

impl ServerArgs {
    /// The provisioning config, with the first `--pg-image` (`run` measures
    /// every one; see [`RunArgs::config`]).
    fn provision(&self) -> Result<ProvisionConfig> {
        if self.pg_image.len() > 1 && self.backend != BackendKind::Docker {
            return Err(Error::Invalid(
                "--pg-image given more than once compares server versions: use it with --backend docker".into(),
            ));
        }
        let mut settings = ServerSettings::default();
        settings.apply_overrides(&self.settings)?;
        Ok(ProvisionConfig {
            backend: self.backend,
            database_url: self.database_url.clone(),
            pg_image: self.pg_image.first().cloned(),
            keep: self.keep,
            settings,
            quiet: self.quiet,
        })
    }
}

impl LoadArgs {
    fn config(&self) -> Result<LoadConfig> {
        if self.server.pg_image.len() > 1 {
            return Err(Error::Invalid(
                "querylab load takes one --pg-image; to compare several, give them to querylab run"
                    .into(),
            ));
        }
        Ok(LoadConfig {
            provision: self.server.provision()?,
            rows: self.rows,
            seed: self.seed,
            quiet: self.server.quiet,
        })
    }
}

impl RunArgs {
    fn config(&self) -> Result<RunConfig> {
        if self.rows.contains(&0) {
            return Err(Error::Invalid("--rows values must be at least 1".into()));
        }
        let mut rows = self.rows.clone();
        rows.sort_unstable();
        rows.dedup();
        let mut sampling = default_sampling();
        sampling.min_samples = self.min_samples.max(1);
        sampling.warmup_runs = self.warmup;
        sampling.order = self.sampling_order;
        sampling.min_time_ns = secs(self.min_time, "min-time")?;
        sampling.max_time_ns = secs(self.max_time, "max-time")?;
        sampling.statement_timeout_ns =
            secs(self.statement_timeout, "statement-timeout")?.max(1_000_000);
        let budget = secs(self.comparison_budget, "comparison-budget")?.max(1_000_000_000);
        let workload = querylab::results::WorkloadSettings {
            clients: self.clients.clone(),
            duration_factor: self.duration_factor,
            client_threads: self.client_threads,
        };
        querylab::workload::check_settings(&workload)?;
        Ok(RunConfig {
            provision: self.server.provision()?,
            images: if self.server.pg_image.len() > 1 {
                self.server.pg_image.clone()
            } else {
                Vec::new()
            },
            rows,
            seed: self.seed,
            only: self.only.clone(),
            out_dir: self
                .out
                .clone()
                .unwrap_or_else(|| run::output::timestamped_dir("")),
            measure: MeasureConfig {
                sampling,
                protocol: self.protocol,
                comparison_budget: std::time::Duration::from_nanos(budget),
                workload,
                ..MeasureConfig::default()
            },
            quiet: self.server.quiet,
        })
    }
}

impl AdviseArgs {
    fn config(&self) -> Result<querylab::advise::AdviseConfig> {
        if self.rows == 0 {
            return Err(Error::Invalid("--rows must be at least 1".into()));
        }
        if self.top_k == 0 {
            return Err(Error::Invalid(
                "--top-k 0 builds nothing; give at least 1".into(),
            ));
        }
        let options = querylab::advise::AdviseOptions {
            budget_mb: self.budget_mb,
            top_k: self.top_k,
            screening: !self.no_screening,
            health: true,
        };
        options.budget_bytes()?;
        Ok(querylab::advise::AdviseConfig {
            provision: self.server.provision()?,
            rows: self.rows,
            seed: self.seed,
            only: self.only.clone(),
            sql_file: self.sql.clone(),
            options,
            measure: querylab::advise::default_measure(),
            out_dir: self
                .out
                .clone()
                .unwrap_or_else(|| run::output::timestamped_dir("advise-")),
            quiet: self.server.quiet,
        })
    }
}

impl CheckArgs {
    fn options(&self) -> CheckOptions {
        CheckOptions {
            time_threshold: self.time_threshold,
            confidence: self.confidence,
            min_samples: self.min_samples,
            buffers_tolerance: self.buffers_tolerance,
            buffers_floor: self.buffers_floor,
            bytes_tolerance: self.bytes_tolerance,
            wal_tolerance: self.wal_tolerance,
            rows_tolerance: self.rows_tolerance,
            ignore_timing: self.ignore_timing,
            allow_plan_change: self.allow_plan_change,
            run_scatter_floor: self.run_scatter_floor,
            time_floor_ns: self.time_floor_us * 1000.0,
            ..CheckOptions::default()
        }
    }

    /// `--current`, or without it the baseline's scenario, seed, sizes and
    /// selection, measured now.
    fn current(&self, baseline: &RunResults) -> Result<check::Current> {
        if let Some(path) = &self.current {
            return Ok(check::Current::Results(Box::new(RunResults::read(path)?)));
        }
        let out_dir = self
            .out
            .clone()
            .unwrap_or_else(|| run::output::timestamped_dir("check-"));
        Ok(check::Current::Measure(Box::new(
            check::Remeasure::from_baseline(
                baseline,
                self.server.provision()?,
                out_dir,
                self.run_min_samples,
                self.server.quiet,
            )?,
        )))
    }
}

/// Seconds from a flag as nanoseconds.
fn secs(s: f64, flag: &str) -> Result<u64> {
    if !(s.is_finite() && s >= 0.0) {
        return Err(Error::Invalid(format!(
            "--{flag} {s}: expected a non-negative number of seconds"
        )));
    }
    Ok((s * 1e9) as u64)
}

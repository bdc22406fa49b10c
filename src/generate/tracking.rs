//! Seed 000: `tracking.experiments` → `runs` → `metrics`.
//!
//! - experiments: names like `ResNet50-imagenet-1k-lr0.01-0042` (model Zipf, so
//!   `BERT`/`GPT`/`Transformer` names are a small fraction; mixed case, so
//!   `lower(name)` matters; 2% end in `-test`), owners Zipf (`alice` first), status
//!   created 10% / running 20% / completed 50% / failed 20%, created over 2024 (not
//!   in its last week) in id order. `parent_id` makes a forest: 70% roots; the others
//!   point to an earlier experiment, half to a recent one (chains up to ~8 deep),
//!   half to one of the "hub" experiments (every 97th), which gather tens of
//!   descendants each.
//! - runs: 70% of runs go to a uniform experiment, 30% Zipf (a few experiments are
//!   big sweeps); completed 85% / failed 10% / running 5% (running ones started in
//!   the last three days, `ended_at` NULL); started after the experiment was created,
//!   ended after started.
//! - metrics: 100 per run, `loss`, `accuracy`, `val_loss`, `val_accuracy` at steps
//!   0, 100, … 2400; loss falls and accuracy rises along a per-run curve, with noise;
//!   timestamps spread over the run.

use std::ops::Range;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::binary::RowWriter;
use super::catalog::{self, LEARNING_RATES};
use super::common::{DAY, Draw, END, Key, LAST, MINUTE, SECOND, START, between};
use super::{Context, METRICS_PER_RUN, TableGen};

/// Metric names, `METRICS_PER_RUN / STEPS` of them.
const METRIC_NAMES: [&str; 4] = ["loss", "accuracy", "val_loss", "val_accuracy"];
/// Every `HUB`-th experiment gathers children from the ones after it.
const HUB: u64 = 97;
/// Steps logged per metric and run.
const STEPS: u64 = METRICS_PER_RUN / METRIC_NAMES.len() as u64;

pub(super) fn tables(ctx: &Arc<Context>) -> Vec<Arc<dyn TableGen>> {
    let ids = Ids::new(ctx);
    vec![
        Arc::new(Experiments {
            ctx: ctx.clone(),
            ids,
        }),
        Arc::new(Runs {
            ctx: ctx.clone(),
            ids,
        }),
        Arc::new(Metrics {
            ctx: ctx.clone(),
            ids,
        }),
    ]
}

/// Keys of the entity draws, and the parent attributes children recompute.
#[derive(Debug, Clone, Copy)]
struct Ids {
    experiments: Key,
    parents: Key,
    runs: Key,
    metrics: Key,
    curves: Key,
    n_experiments: u64,
}

/// A run as its children see it.
struct Run {
    experiment: u64,
    status: &'static str,
    started: i64,
    ended: Option<i64>,
    /// Time between two logged steps.
    gap: i64,
}

impl Ids {
    fn new(ctx: &Context) -> Ids {
        Ids {
            experiments: Key::new(ctx.seed, "tracking.experiments"),
            parents: Key::new(ctx.seed, "tracking.experiments#parents"),
            runs: Key::new(ctx.seed, "tracking.runs"),
            metrics: Key::new(ctx.seed, "tracking.metrics"),
            curves: Key::new(ctx.seed, "tracking.metrics#curves"),
            n_experiments: ctx.sizes.tracking_experiments,
        }
    }

    /// Experiments are created in id order, each in its own slot of the year.
    fn experiment_created(&self, i: u64) -> i64 {
        let slot = (END - 7 * DAY - START) / self.n_experiments.max(1) as i64;
        START + i as i64 * slot + self.experiments.entity(i).below(slot as u64) as i64
    }

    /// The index of experiment `i`'s parent (an earlier, so older, experiment).
    fn experiment_parent(&self, i: u64) -> Option<u64> {
        let mut d = self.parents.entity(i);
        if i == 0 || d.chance(0.7) {
            return None;
        }
        if d.chance(0.5) {
            return Some(i - 1 - d.below(i.min(50)));
        }
        let hub = (i - 1) / HUB * HUB;
        Some(hub.saturating_sub(HUB * d.below(3)))
    }

    fn run(&self, i: u64) -> Run {
        let mut d = self.runs.entity(i);
        let experiment = if d.chance(0.7) {
            d.below(self.n_experiments)
        } else {
            d.zipf(self.n_experiments)
        };
        let created = self.experiment_created(experiment);
        let gap = (d.range(1.0, 30.0) * MINUTE as f64) as i64;
        let status = ["completed", "failed", "running"][d.weighted(&[85, 10, 5])];
        if status == "running" {
            let started = between(&mut d, (END - 3 * DAY).max(created), END);
            return Run {
                experiment,
                status,
                started,
                ended: None,
                gap,
            };
        }
        let mut duration = gap * STEPS as i64 + between(&mut d, 0, 10 * MINUTE);
        if status == "failed" {
            duration = (duration as f64 * d.range(0.1, 0.9)) as i64;
        }
        let started = between(&mut d, created, END - duration);
        let ended = (started + duration).min(LAST).max(started);
        Run {
            experiment,
            status,
            started,
            ended: Some(ended),
            gap: (ended - started) / STEPS as i64,
        }
    }
}

struct Experiments {
    ctx: Arc<Context>,
    ids: Ids,
}

impl TableGen for Experiments {
    fn name(&self) -> &'static str {
        "tracking.experiments"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "name",
            "owner",
            "description",
            "status",
            "created_at",
            "parent_id",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.tracking_experiments
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let pools = &self.ctx.pools;
        for i in rows {
            let model = catalog::model(rng);
            let dataset = catalog::dataset(rng, model);
            let lr = LEARNING_RATES[rng.zipf(LEARNING_RATES.len() as u64) as usize];
            let test = if rng.chance(0.02) { "-test" } else { "" };
            w.row(7);
            w.uuid(self.ids.experiments.uuid(i));
            w.text_fmt(format_args!(
                "{}-{dataset}-lr{lr}-{i:04}{test}",
                model.display
            ));
            w.text(pools.user(rng));
            if rng.chance(0.8) {
                w.text(pools.sentence(rng));
            } else {
                w.null();
            }
            w.text(["created", "running", "completed", "failed"][rng.weighted(&[10, 20, 50, 20])]);
            w.timestamp(self.ids.experiment_created(i));
            match self.ids.experiment_parent(i) {
                Some(p) => w.uuid(self.ids.experiments.uuid(p)),
                None => w.null(),
            }
        }
    }
}

struct Runs {
    ctx: Arc<Context>,
    ids: Ids,
}

impl TableGen for Runs {
    fn name(&self) -> &'static str {
        "tracking.runs"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "experiment_id",
            "started_at",
            "ended_at",
            "status",
            "seed",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.tracking_runs
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        for i in rows {
            let run = self.ids.run(i);
            w.row(6);
            w.uuid(self.ids.runs.uuid(i));
            w.uuid(self.ids.experiments.uuid(run.experiment));
            w.timestamp(run.started);
            w.opt_timestamp(run.ended);
            w.text(run.status);
            if rng.chance(0.9) {
                w.i32(rng.below(100_000) as i32);
            } else {
                w.null();
            }
        }
    }
}

struct Metrics {
    ctx: Arc<Context>,
    ids: Ids,
}

/// A run's learning curve: loss falls from `loss0` toward `floor`, accuracy rises
/// from `acc0` toward `acc_max`, both at rate `k` per step; validation is worse by
/// `overfit`.
struct Curve {
    run: Run,
    loss0: f64,
    floor: f64,
    k: f64,
    acc0: f64,
    acc_max: f64,
    noise: f64,
    overfit: f64,
}

impl TableGen for Metrics {
    fn name(&self) -> &'static str {
        "tracking.metrics"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["id", "run_id", "name", "step", "value", "timestamp"]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.tracking_metrics
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let mut current: Option<(u64, Curve)> = None;
        for i in rows {
            let r = i / METRICS_PER_RUN;
            if current.as_ref().is_none_or(|(cr, _)| *cr != r) {
                current = Some((r, self.curve(r)));
            }
            let Some((_, c)) = &current else { continue };
            let k = i % METRICS_PER_RUN;
            let name = (k / STEPS) as usize;
            let s = k % STEPS;
            let decay = (-c.k * s as f64).exp();
            let loss = c.floor + (c.loss0 - c.floor) * decay;
            let acc = c.acc_max - (c.acc_max - c.acc0) * decay;
            let noise = c.noise * rng.normal();
            let value = match name {
                0 => (loss + noise).max(0.001),
                1 => (acc + noise).clamp(0.0, 1.0),
                2 => (loss * c.overfit + 1.5 * noise).max(0.001),
                _ => (acc / c.overfit + 1.5 * noise).clamp(0.0, 1.0),
            };
            w.row(6);
            w.uuid(self.ids.metrics.uuid(i));
            w.uuid(self.ids.runs.uuid(r));
            w.text(METRIC_NAMES[name]);
            w.i32((s * 100) as i32);
            w.f64(value);
            w.timestamp(
                (c.run.started + s as i64 * c.run.gap + rng.below(SECOND as u64) as i64).min(LAST),
            );
        }
    }
}

impl Metrics {
    fn curve(&self, r: u64) -> Curve {
        let mut d = self.ids.curves.entity(r);
        Curve {
            run: self.ids.run(r),
            loss0: d.range(1.5, 4.0),
            floor: d.range(0.05, 0.5),
            k: d.range(0.05, 0.3),
            acc0: d.range(0.05, 0.3),
            acc_max: d.range(0.6, 0.99),
            noise: d.range(0.005, 0.03),
            overfit: d.range(1.02, 1.25),
        }
    }
}

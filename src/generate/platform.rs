//! Seed 003, the experiment side: `platform.experiments`, `tags`,
//! `experiment_tags`, `training_runs`.
//!
//! - experiments: like `resnet50-imagenet-1k-run17`, model type from the model,
//!   status completed 60% / pending 15% / running 10% / failed 10% / cancelled 5%,
//!   15% in an HPO campaign, creators Zipf, JSONB hyperparameters.
//! - tags: a fixed vocabulary (`computer-vision`, `nlp`, `production`, …) then
//!   numbered buzzwords; `usage_count` is the exact number of experiment_tags rows.
//! - experiment_tags: 0–8 distinct tags per experiment (3 on average; how many is
//!   a function of the experiment id alone, so sizes do not depend on the seed),
//!   Zipf by tag id.
//! - training_runs: epochs 1–20 of every experiment along a learning curve.

use std::ops::Range;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::binary::RowWriter;
use super::catalog;
use super::common::mix64;
use super::common::{DAY, Draw, END, Entity, Key, LAST, START, between};
use super::{Context, EPOCHS_PER_EXPERIMENT, TableGen};

pub(super) fn tables(ctx: &Arc<Context>) -> Vec<Arc<dyn TableGen>> {
    let ids = Ids::new(ctx);
    let usage = tag_usage(
        &ids,
        ctx.sizes.platform_experiments,
        ctx.sizes.platform_tags,
    );
    let mut starts = Vec::with_capacity(ctx.sizes.platform_experiments as usize + 1);
    let mut next = 0;
    for e in 0..ctx.sizes.platform_experiments {
        starts.push(next);
        next += tag_count(e);
    }
    starts.push(next);
    vec![
        Arc::new(Experiments {
            ctx: ctx.clone(),
            ids,
        }),
        Arc::new(Tags {
            ctx: ctx.clone(),
            ids,
            usage,
        }),
        Arc::new(ExperimentTags {
            ctx: ctx.clone(),
            ids,
            starts,
        }),
        Arc::new(TrainingRuns {
            ctx: ctx.clone(),
            ids,
        }),
    ]
}

/// The first tags, most used first; later ones are numbered buzzwords.
const TAG_NAMES: &[&str] = &[
    "computer-vision",
    "nlp",
    "pytorch",
    "production",
    "baseline",
    "tensorflow",
    "classification",
    "experimental",
    "transformer",
    "fine-tuning",
    "gpu",
    "hpo",
    "regression",
    "bert",
    "detection",
    "llm",
    "tabular",
    "reproducibility",
    "benchmark",
    "distributed",
    "cnn",
    "audio",
    "time-series",
    "research",
    "deprecated",
    "quantization",
    "pruning",
    "distillation",
    "data-augmentation",
    "segmentation",
    "recommendation",
    "anomaly-detection",
    "reinforcement-learning",
    "gan",
    "self-supervised",
    "multimodal",
    "edge",
    "onnx",
    "jax",
    "xgboost",
];

#[derive(Debug, Clone, Copy)]
struct Ids {
    experiments: Key,
    tag_picks: Key,
    curves: Key,
    n_campaigns: u64,
    n_tags: u64,
}

impl Ids {
    fn new(ctx: &Context) -> Ids {
        Ids {
            experiments: Key::new(ctx.seed, "platform.experiments"),
            tag_picks: Key::new(ctx.seed, "platform.experiment_tags"),
            curves: Key::new(ctx.seed, "platform.training_runs"),
            n_campaigns: ctx.sizes.platform_hpo_campaigns,
            n_tags: ctx.sizes.platform_tags,
        }
    }

    fn experiment_created(&self, e: u64) -> i64 {
        between(&mut self.experiments.entity(e), START, END - 10 * DAY)
    }

    /// The distinct tag indexes of experiment `e`, Zipf by tag; the first
    /// [`tag_count`] of the array are used.
    fn tags_of(&self, e: u64) -> [u64; MAX_TAGS] {
        let mut d = self.tag_picks.entity(e);
        let mut picked = [u64::MAX; MAX_TAGS];
        for k in 0..tag_count(e) as usize {
            let mut t = d.zipf(self.n_tags);
            while picked[..k].contains(&t) {
                t = d.below(self.n_tags);
            }
            picked[k] = t;
        }
        picked
    }
}

/// Most tags an experiment has.
const MAX_TAGS: usize = 8;

/// How many tags experiment `e` has: 0–8, mostly 2–4. A function of `e` alone (not
/// the seed) so that [`super::Sizes`] can count the rows without a seed.
pub(super) fn tag_count(e: u64) -> u64 {
    const WEIGHTS: [u64; MAX_TAGS + 1] = [8, 15, 20, 20, 14, 10, 6, 4, 3];
    let mut x = mix64(e ^ 0x7a65_7461_6773) % 100;
    for (k, w) in WEIGHTS.iter().enumerate() {
        if x < *w {
            return k as u64;
        }
        x -= w;
    }
    0
}

/// How many experiment_tags rows name each tag.
fn tag_usage(ids: &Ids, experiments: u64, tags: u64) -> Vec<i32> {
    let mut usage = vec![0i32; tags as usize];
    for e in 0..experiments {
        for &t in &ids.tags_of(e)[..tag_count(e) as usize] {
            usage[t as usize] += 1;
        }
    }
    usage
}

struct Experiments {
    ctx: Arc<Context>,
    ids: Ids,
}

impl TableGen for Experiments {
    fn name(&self) -> &'static str {
        "platform.experiments"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "name",
            "description",
            "model_type",
            "status",
            "hyperparameters",
            "hpo_campaign_id",
            "created_by",
            "created_at",
            "updated_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_experiments
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let pools = &self.ctx.pools;
        for e in rows {
            let model = catalog::model(rng);
            let created = self.ids.experiment_created(e);
            w.row(10);
            w.i32(e as i32 + 1);
            w.text_fmt(format_args!(
                "{}-{}-run{}",
                model.name,
                catalog::dataset(rng, model),
                e + 1
            ));
            if rng.chance(0.7) {
                w.text(pools.sentence(rng));
            } else {
                w.null();
            }
            w.text(model.model_type);
            w.text(
                ["completed", "pending", "running", "failed", "cancelled"]
                    [rng.weighted(&[60, 15, 10, 10, 5])],
            );
            w.jsonb(|buf| super::registry::parameters(buf, rng, model));
            if rng.chance(0.15) {
                w.i32(rng.zipf(self.ids.n_campaigns) as i32 + 1);
            } else {
                w.null();
            }
            w.i32(pools.user_id(rng));
            w.timestamp(created);
            w.timestamp(between(rng, created, END));
        }
    }
}

struct Tags {
    ctx: Arc<Context>,
    ids: Ids,
    usage: Vec<i32>,
}

impl TableGen for Tags {
    fn name(&self) -> &'static str {
        "platform.tags"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["id", "name", "slug", "usage_count", "created_at"]
    }
    fn row_count(&self) -> u64 {
        self.ids.n_tags
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let words = &self.ctx.pools.words;
        for t in rows {
            w.row(5);
            w.i32(t as i32 + 1);
            match TAG_NAMES.get(t as usize) {
                Some(slug) => {
                    w.text(&slug.replace('-', " "));
                    w.text(slug);
                }
                None => {
                    let word = &words[t as usize % words.len()];
                    w.text_fmt(format_args!("{word} {t}"));
                    w.text_fmt(format_args!("{word}-{t}"));
                }
            }
            w.i32(self.usage[t as usize]);
            w.timestamp(between(rng, START - 365 * DAY, START));
        }
    }
}

struct ExperimentTags {
    ctx: Arc<Context>,
    ids: Ids,
    /// Index of each experiment's first row (and the total at the end).
    starts: Vec<u64>,
}

impl TableGen for ExperimentTags {
    fn name(&self) -> &'static str {
        "platform.experiment_tags"
    }
    fn columns(&self) -> &'static [&'static str] {
        &["experiment_id", "tag_id", "created_at"]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_experiment_tags
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        // The experiment holding the chunk's first row, then onward.
        let mut e = self.starts.partition_point(|&s| s <= rows.start) as u64 - 1;
        let mut tags = self.ids.tags_of(e);
        for i in rows {
            while i >= self.starts[e as usize + 1] {
                e += 1;
                tags = self.ids.tags_of(e);
            }
            let tag = tags[(i - self.starts[e as usize]) as usize];
            w.row(3);
            w.i32(e as i32 + 1);
            w.i32(tag as i32 + 1);
            w.timestamp(self.ids.experiment_created(e) + between(rng, 0, DAY));
        }
    }
}

struct TrainingRuns {
    ctx: Arc<Context>,
    ids: Ids,
}

impl TableGen for TrainingRuns {
    fn name(&self) -> &'static str {
        "platform.training_runs"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "experiment_id",
            "epoch",
            "train_loss",
            "val_loss",
            "accuracy",
            "learning_rate",
            "duration_seconds",
            "created_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_training_runs
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        for i in rows {
            let e = i / EPOCHS_PER_EXPERIMENT;
            let epoch = i % EPOCHS_PER_EXPERIMENT + 1;
            // The curve is the experiment's: the same for all its epochs.
            let mut d: Entity = self.ids.curves.entity(e);
            let (loss0, floor, k) = (d.range(1.0, 3.0), d.range(0.05, 0.4), d.range(0.1, 0.4));
            let (acc_max, lr0) = (d.range(0.6, 0.98), d.range(1e-4, 1e-2));
            let epoch_time = d.range(60.0, 3600.0);
            let decay = (-k * epoch as f64).exp();
            let loss = (floor + (loss0 - floor) * decay + 0.02 * rng.normal()).max(0.001);
            let progress = epoch as f64 / EPOCHS_PER_EXPERIMENT as f64;
            w.row(9);
            w.i32(i as i32 + 1);
            w.i32(e as i32 + 1);
            w.i32(epoch as i32);
            w.f64(loss);
            w.f64(loss * d.range(1.02, 1.3));
            w.f64((acc_max * (1.0 - decay) + 0.01 * rng.normal()).clamp(0.0, 1.0));
            w.f64(lr0 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()));
            let seconds = epoch_time * rng.range(0.9, 1.1);
            w.f64(seconds);
            let created =
                self.ids.experiment_created(e) + (epoch_time * epoch as f64) as i64 * 1_000_000;
            w.timestamp(created.min(LAST));
        }
    }
}

//! Seed 001: `registry.training_runs`, every row inside every CHECK.
//!
//! Rows come in experiments of 50: one experiment name (`exp-bert-base-sweep-v12`),
//! one model, framework, dataset and compute target, one run per day on 50
//! consecutive days. The experiment name is unique, so the one-run-per-day rule
//! (model, experiment, dataset, UTC day) holds by construction. Status: succeeded
//! 70%, failed 10%, cancelled 5%, timeout 3%, running 6%, queued 6%; queued runs have
//! no start, only finished ones a completion, and created ≤ started ≤ completed, all
//! within 2024. Scores (4 decimals, in [0, 1]) exist for succeeded runs of
//! classifiers; forecasters report only a loss. JSONB parameters depend on the
//! model family and leave keys out at random, so `parameters ? 'key'` is selective.

use std::ops::Range;
use std::sync::Arc;

use bytes::BytesMut;
use rand_chacha::ChaCha8Rng;

use super::binary::{JsonObject, RowWriter};
use super::catalog::{self, COMPUTE_TARGETS, Family, LEARNING_RATES, Model, OPTIMIZERS};
use super::common::{DAY, Draw, HOUR, Key, LAST, MINUTE, START, units};
use super::{Context, REGISTRY_RUNS_PER_EXPERIMENT, TableGen};

pub(super) fn tables(ctx: &Arc<Context>) -> Vec<Arc<dyn TableGen>> {
    vec![Arc::new(TrainingRuns {
        ctx: ctx.clone(),
        runs: Key::new(ctx.seed, "registry.training_runs"),
        experiments: Key::new(ctx.seed, "registry.training_runs#experiments"),
    })]
}

/// Days in 2024.
const DAYS: u64 = 366;

const STATUSES: [&str; 6] = [
    "succeeded",
    "failed",
    "cancelled",
    "timeout",
    "running",
    "queued",
];
const STATUS_WEIGHTS: [u32; 6] = [70, 10, 5, 3, 6, 6];
const EXPERIMENT_KINDS: &[&str] = &[
    "baseline", "sweep", "finetune", "ablation", "distill", "hpo", "retrain",
];
const CPU_TARGETS: &[&str] = &["aws-batch-cpu", "on-premise-cpu"];
const FAILURES: &[&str] = &[
    "Training failed: OOM error. Need to reduce batch size.",
    "Training diverged. Loss became NaN; investigating data preprocessing.",
    "Node preempted; checkpoint restore failed.",
    "TPU out of memory. Reduce batch size.",
    "Data loader crashed: corrupt shard in the training set.",
    "CUDA error: device-side assert triggered.",
];

struct TrainingRuns {
    ctx: Arc<Context>,
    runs: Key,
    experiments: Key,
}

/// What the 50 runs of one experiment share.
struct Experiment {
    model: &'static Model,
    dataset: &'static str,
    target: &'static str,
    kind: &'static str,
    first_day: u64,
    gpus: u32,
}

impl TrainingRuns {
    fn experiment(&self, g: u64) -> Experiment {
        let mut d = self.experiments.entity(g);
        let model = catalog::model(&mut d);
        let cpu_only = matches!(model.framework, "sklearn" | "xgboost");
        let target = if cpu_only {
            d.pick(CPU_TARGETS)
        } else {
            COMPUTE_TARGETS[d.zipf(COMPUTE_TARGETS.len() as u64) as usize]
        };
        Experiment {
            model,
            dataset: catalog::dataset(&mut d, model),
            target,
            kind: EXPERIMENT_KINDS[d.zipf(EXPERIMENT_KINDS.len() as u64) as usize],
            first_day: d.below(DAYS),
            gpus: if cpu_only {
                0
            } else {
                [1, 1, 2, 4, 8][d.below(5) as usize]
            },
        }
    }
}

impl TableGen for TrainingRuns {
    fn name(&self) -> &'static str {
        "registry.training_runs"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "run_id",
            "model_name",
            "framework",
            "experiment_name",
            "status",
            "accuracy",
            "loss",
            "precision_score",
            "recall_score",
            "f1_score",
            "dataset",
            "compute_target",
            "gpu_hours",
            "cpu_hours",
            "parameters",
            "created_at",
            "started_at",
            "completed_at",
            "notes",
            "created_by",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.registry_training_runs
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let pools = &self.ctx.pools;
        let mut current: Option<(u64, Experiment)> = None;
        for i in rows {
            let g = i / REGISTRY_RUNS_PER_EXPERIMENT;
            if current.as_ref().is_none_or(|(cg, _)| *cg != g) {
                current = Some((g, self.experiment(g)));
            }
            let Some((_, e)) = &current else { continue };
            let day = (e.first_day + i % REGISTRY_RUNS_PER_EXPERIMENT) % DAYS;
            let created = START + day as i64 * DAY + rng.below(DAY as u64) as i64;
            let status = STATUSES[rng.weighted(&STATUS_WEIGHTS)];
            let started = (status != "queued")
                .then(|| (created + (rng.range(0.5, 30.0) * MINUTE as f64) as i64).min(LAST));
            let hours = rng.lognormal(4.0, 1.0).min(14.0 * 24.0);
            let completed = match (status, started) {
                ("queued" | "running", _) | (_, None) => None,
                (_, Some(s)) => Some((s + (hours * HOUR as f64) as i64).min(LAST)),
            };
            // Hours actually consumed: up to completion, or so far for running runs.
            let used = match (started, completed) {
                (Some(s), Some(c)) => (c - s) as f64 / HOUR as f64,
                (Some(_), None) => hours * rng.unit(),
                _ => 0.0,
            };
            let (gpu, cpu) = if e.gpus == 0 {
                (0.0, used * rng.range(4.0, 32.0))
            } else {
                (used * f64::from(e.gpus), used * rng.range(0.05, 0.2))
            };

            w.row(20);
            w.uuid(self.runs.uuid(i));
            w.text_fmt(format_args!("{}-{}", e.model.name, e.dataset));
            w.text(e.model.framework);
            w.text_fmt(format_args!("exp-{}-{}-v{}", e.model.name, e.kind, g + 1));
            w.text(status);
            write_scores(w, rng, e.model.family, status == "succeeded");
            w.text(e.dataset);
            w.text(e.target);
            w.numeric(units(gpu, 2).min(99_999_999), 2);
            w.numeric(units(cpu, 2).min(99_999_999), 2);
            w.jsonb(|buf| parameters(buf, rng, e.model));
            w.timestamp(created);
            w.opt_timestamp(started);
            w.opt_timestamp(completed);
            match status {
                "failed" => w.text(rng.pick(FAILURES)),
                "cancelled" => w.text("Cancelled by user. Will retry with corrected data."),
                "timeout" => w.text_fmt(format_args!(
                    "Exceeded {}-hour time budget. Consider resuming from checkpoint.",
                    [12, 24, 48][rng.below(3) as usize]
                )),
                "succeeded" if rng.chance(0.4) => w.text(pools.phrase(rng)),
                _ => w.null(),
            }
            w.text(pools.user(rng));
        }
    }
}

/// accuracy, loss, precision, recall, f1 — NULL unless the run succeeded, and only
/// the loss for models that do not classify.
fn write_scores(w: &mut RowWriter<'_>, rng: &mut ChaCha8Rng, family: Family, succeeded: bool) {
    if !succeeded {
        for _ in 0..5 {
            w.null();
        }
        return;
    }
    let loss = rng.lognormal(0.3, 0.8).clamp(0.001, 999.0);
    if family == Family::Forecast {
        w.null();
        w.numeric(units(loss, 5), 5);
        w.null();
        w.null();
        w.null();
        return;
    }
    let score = |v: f64| units(v.clamp(0.0, 1.0), 4);
    let accuracy = rng.range(0.6, 0.99);
    let precision = (accuracy + 0.03 * rng.normal()).clamp(0.0, 1.0);
    let recall = (accuracy + 0.03 * rng.normal()).clamp(0.0, 1.0);
    let f1 = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    w.numeric(score(accuracy), 4);
    w.numeric(units(loss, 5), 5);
    w.numeric(score(precision), 4);
    w.numeric(score(recall), 4);
    w.numeric(score(f1), 4);
}

/// The hyperparameters of one run as a JSON object, by model family.
pub(super) fn parameters(buf: &mut BytesMut, rng: &mut impl Draw, model: &Model) {
    let mut obj = JsonObject::new(buf);
    let lr = LEARNING_RATES[rng.zipf(LEARNING_RATES.len() as u64) as usize];
    match model.family {
        Family::Tabular => {
            obj.raw("learning_rate", lr);
            obj.num("max_depth", 3 + rng.below(10));
            obj.num("n_estimators", 100 * (1 + rng.below(10)));
            if rng.chance(0.6) {
                obj.str(
                    "objective",
                    rng.pick(&["binary:logistic", "multi:softmax", "reg:squarederror"]),
                );
            }
            if rng.chance(0.3) {
                obj.raw("subsample", rng.pick(&["0.8", "0.9", "1.0"]));
            }
        }
        Family::Forecast => {
            obj.str(
                "seasonality_mode",
                rng.pick(&["additive", "multiplicative"]),
            );
            if rng.chance(0.5) {
                obj.str(
                    "optimizer",
                    OPTIMIZERS[rng.zipf(OPTIMIZERS.len() as u64) as usize],
                );
                obj.num("batch_size", [16, 32, 64][rng.below(3) as usize]);
                obj.raw("learning_rate", lr);
            }
            obj.num("sequence_length", [24, 48, 168, 336][rng.below(4) as usize]);
            obj.num("forecast_horizon", [1, 7, 24][rng.below(3) as usize]);
            if rng.chance(0.5) {
                obj.raw("dropout", rng.pick(&["0.1", "0.2", "0.3"]));
            }
            if rng.chance(0.4) {
                obj.raw(
                    "layers",
                    rng.pick(&["[128, 64, 32]", "[64, 32]", "[256, 128]"]),
                );
            }
        }
        Family::Llm => {
            obj.str("model", model.name);
            obj.num("lora_r", [8, 16, 32, 64][rng.below(4) as usize]);
            obj.num("lora_alpha", [16, 32, 64][rng.below(3) as usize]);
            obj.num("batch_size", [1, 2, 4, 8][rng.below(4) as usize]);
            obj.num("gradient_accumulation", [4, 8, 16][rng.below(3) as usize]);
            obj.raw("learning_rate", lr);
        }
        Family::Vision | Family::Nlp | Family::Audio => {
            obj.raw("learning_rate", lr);
            obj.num(
                "batch_size",
                [8, 16, 32, 64, 128, 256][rng.zipf(6) as usize],
            );
            obj.str(
                "optimizer",
                OPTIMIZERS[rng.zipf(OPTIMIZERS.len() as u64) as usize],
            );
            obj.num("epochs", [10, 20, 30, 50, 100][rng.below(5) as usize]);
            match model.family {
                Family::Vision => {
                    obj.num("img_size", [224, 256, 384, 512, 640][rng.below(5) as usize]);
                    if rng.chance(0.7) {
                        obj.bool("augmentation", rng.chance(0.8));
                    }
                }
                Family::Nlp => {
                    obj.num("max_length", [128, 256, 384, 512][rng.below(4) as usize]);
                    if rng.chance(0.5) {
                        obj.num("warmup_steps", 100 * rng.below(20));
                    }
                }
                _ => {
                    obj.num(
                        "sample_rate",
                        [16_000, 22_050, 44_100][rng.below(3) as usize],
                    );
                    obj.num("n_mels", [64, 80, 128][rng.below(3) as usize]);
                }
            }
            if rng.chance(0.3) {
                obj.raw("weight_decay", rng.pick(&["0.01", "0.001", "0.0001"]));
            }
            if rng.chance(0.2) {
                obj.bool("mixed_precision", true);
            }
        }
    }
    obj.end();
}

//! Seed 003, the search side: `platform.hpo_campaigns` and `nas_trials`.
//!
//! - hpo_campaigns: status completed 60% / running 15% / pending 10% / failed 10% /
//!   cancelled 5%; a JSONB search space; creators Zipf.
//! - nas_trials: 40 per campaign, numbered 1–40; a pending campaign's trials are
//!   pending, a running one's are done up to a cut-off, then one running, then
//!   pending; others completed 85% / failed 5% / pruned 10%.

use std::ops::Range;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::binary::{JsonObject, RowWriter};
use super::catalog;
use super::common::{DAY, Draw, END, HOUR, Key, LAST, MINUTE, START, between};
use super::{Context, TRIALS_PER_CAMPAIGN, TableGen};

pub(super) fn tables(ctx: &Arc<Context>) -> Vec<Arc<dyn TableGen>> {
    let ids = Ids {
        campaigns: Key::new(ctx.seed, "platform.hpo_campaigns"),
    };
    vec![
        Arc::new(Campaigns {
            ctx: ctx.clone(),
            ids,
        }),
        Arc::new(Trials {
            ctx: ctx.clone(),
            ids,
        }),
    ]
}

const CAMPAIGN_STATUSES: [&str; 5] = ["completed", "running", "pending", "failed", "cancelled"];
const OBJECTIVES: &[&str] = &["accuracy", "f1", "val_loss", "auc", "latency_ms"];

#[derive(Debug, Clone, Copy)]
struct Ids {
    campaigns: Key,
}

/// A campaign as its trials and experiments see it.
struct Campaign {
    status: &'static str,
    created: i64,
    /// Trials finished so far (for a running campaign).
    done: u64,
}

impl Ids {
    fn campaign(&self, c: u64) -> Campaign {
        let mut d = self.campaigns.entity(c);
        let status = CAMPAIGN_STATUSES[d.weighted(&[60, 15, 10, 10, 5])];
        let created = if status == "running" || status == "pending" {
            between(&mut d, END - 20 * DAY, END - DAY)
        } else {
            between(&mut d, START, END - 30 * DAY)
        };
        Campaign {
            status,
            created,
            done: d.below(TRIALS_PER_CAMPAIGN),
        }
    }
}

struct Campaigns {
    ctx: Arc<Context>,
    ids: Ids,
}

impl TableGen for Campaigns {
    fn name(&self) -> &'static str {
        "platform.hpo_campaigns"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "name",
            "status",
            "objective_metric",
            "search_space",
            "max_trials",
            "best_score",
            "created_by",
            "created_at",
            "completed_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_hpo_campaigns
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        for c in rows {
            let camp = self.ids.campaign(c);
            let model = catalog::model(rng);
            let objective = OBJECTIVES[rng.zipf(OBJECTIVES.len() as u64) as usize];
            let finished = matches!(camp.status, "completed" | "failed" | "cancelled");
            w.row(10);
            w.i32(c as i32 + 1);
            w.text_fmt(format_args!("hpo-{}-{objective}-{}", model.name, c + 1));
            w.text(camp.status);
            w.text(objective);
            w.jsonb(|buf| {
                let mut o = JsonObject::new(buf);
                o.raw(
                    "learning_rate",
                    r#"{"min": 1e-05, "max": 0.1, "log": true}"#,
                );
                o.raw(
                    "batch_size",
                    rng.pick(&["[16, 32, 64]", "[32, 64, 128, 256]"]),
                );
                if rng.chance(0.6) {
                    o.raw("dropout", r#"{"min": 0.0, "max": 0.5}"#);
                }
                if rng.chance(0.5) {
                    o.raw("optimizer", r#"["adam", "adamw", "sgd"]"#);
                }
                o.str("sampler", rng.pick(&["tpe", "random", "grid", "bayesian"]));
                o.end();
            });
            w.i32([40, 50, 100, 200][rng.below(4) as usize]);
            if camp.status == "completed" {
                w.f64(rng.range(0.7, 0.99));
            } else {
                w.null();
            }
            w.i32(self.ctx.pools.user_id(rng));
            w.timestamp(camp.created);
            w.opt_timestamp(
                finished.then(|| (camp.created + between(rng, DAY, 20 * DAY)).min(LAST)),
            );
        }
    }
}

struct Trials {
    ctx: Arc<Context>,
    ids: Ids,
}

impl TableGen for Trials {
    fn name(&self) -> &'static str {
        "platform.nas_trials"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "campaign_id",
            "trial_number",
            "status",
            "architecture",
            "accuracy",
            "latency_ms",
            "params_count",
            "created_at",
            "completed_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_nas_trials
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        for i in rows {
            let c = i / TRIALS_PER_CAMPAIGN;
            let t = i % TRIALS_PER_CAMPAIGN;
            let camp = self.ids.campaign(c);
            let status = match camp.status {
                "pending" => "pending",
                "running" if t < camp.done => "completed",
                "running" if t == camp.done => "running",
                "running" => "pending",
                _ => ["completed", "failed", "pruned"][rng.weighted(&[85, 5, 10])],
            };
            let created = (camp.created + t as i64 * 2 * HOUR + between(rng, 0, HOUR)).min(LAST);
            let layers = 4 + rng.below(29);
            let hidden = [128, 256, 384, 512, 768, 1024][rng.below(6) as usize];
            w.row(10);
            w.i32(i as i32 + 1);
            w.i32(c as i32 + 1);
            w.i32(t as i32 + 1);
            w.text(status);
            w.jsonb(|buf| {
                let mut o = JsonObject::new(buf);
                o.num("num_layers", layers);
                o.num("hidden_dim", hidden);
                o.str("activation", rng.pick(&["relu", "gelu", "swish", "mish"]));
                o.raw(
                    "ops",
                    rng.pick(&[
                        r#"["conv3x3", "conv5x5", "maxpool"]"#,
                        r#"["sep_conv3x3", "dil_conv5x5", "skip"]"#,
                        r#"["attention", "mlp", "layernorm"]"#,
                    ]),
                );
                if rng.chance(0.4) {
                    o.num("kernel_size", [3, 5, 7][rng.below(3) as usize]);
                }
                o.end();
            });
            let finished = matches!(status, "completed" | "pruned" | "failed");
            if matches!(status, "completed" | "pruned") {
                w.f64(rng.range(0.4, 0.97));
                w.f64(rng.lognormal(12.0, 0.6));
            } else {
                w.null();
                w.null();
            }
            w.i64((layers * hidden * hidden * 4) as i64);
            w.timestamp(created);
            w.opt_timestamp(
                finished.then(|| (created + between(rng, 5 * MINUTE, 2 * HOUR)).min(LAST)),
            );
        }
    }
}

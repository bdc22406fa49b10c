//! Seed 003, the operations side: `platform.webhook_configurations`,
//! `webhook_logs`, `api_keys`, `datasets`.
//!
//! - webhook_configurations: owners Zipf, 85% active, 1–4 subscribed event types.
//! - webhook_logs: a few busy webhooks get most deliveries (Zipf); each log carries
//!   its webhook's owner and one of its event types; status success 85% / failed 8% /
//!   retrying 4% / pending 3% with matching response codes and attempts; delivered
//!   after the event unless pending.
//! - api_keys: owners Zipf, `ql_` prefixes, unique 64-hex hashes, 80% active, some
//!   expiring, most used since creation.
//! - datasets: versions of the catalog's datasets with plausible sizes and formats.

use std::ops::Range;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::binary::{JsonObject, RowWriter, json_str};
use super::catalog;
use super::common::{DAY, Draw, END, Key, LAST, MINUTE, SECOND, START, between, mix64};
use super::{Context, TableGen};

pub(super) fn tables(ctx: &Arc<Context>) -> Vec<Arc<dyn TableGen>> {
    let hooks = Hooks {
        key: Key::new(ctx.seed, "platform.webhook_configurations"),
        users: ctx.pools.users.len() as u64,
    };
    vec![
        Arc::new(WebhookConfigurations {
            ctx: ctx.clone(),
            hooks,
        }),
        Arc::new(WebhookLogs {
            ctx: ctx.clone(),
            hooks,
        }),
        Arc::new(ApiKeys {
            ctx: ctx.clone(),
            key: Key::new(ctx.seed, "platform.api_keys"),
        }),
        Arc::new(Datasets { ctx: ctx.clone() }),
    ]
}

const EVENTS: &[&str] = &[
    "experiment.completed",
    "experiment.failed",
    "experiment.created",
    "training.epoch_completed",
    "model.deployed",
    "hpo.trial_completed",
    "dataset.uploaded",
];
const HOOK_HOSTS: &[&str] = &[
    "hooks.slack.com/services",
    "discord.com/api/webhooks",
    "api.pagerduty.com/integration",
    "ci.example.com/hooks",
    "ml-dashboard.internal.example.com/events",
];

/// Webhook attributes their logs need.
#[derive(Debug, Clone, Copy)]
struct Hooks {
    key: Key,
    users: u64,
}

struct Hook {
    user_id: i32,
    created: i64,
    /// Bit k set: subscribed to `EVENTS[k]`.
    events: u32,
}

impl Hooks {
    fn get(&self, c: u64) -> Hook {
        let mut d = self.key.entity(c);
        let user_id = d.zipf(self.users) as i32 + 1;
        let created = between(&mut d, START - 180 * DAY, END - 30 * DAY);
        let mut events = 1 << d.zipf(EVENTS.len() as u64);
        for _ in 0..d.below(4) {
            events |= 1 << d.below(EVENTS.len() as u64);
        }
        Hook {
            user_id,
            created,
            events,
        }
    }
}

struct WebhookConfigurations {
    ctx: Arc<Context>,
    hooks: Hooks,
}

impl TableGen for WebhookConfigurations {
    fn name(&self) -> &'static str {
        "platform.webhook_configurations"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "user_id",
            "url",
            "events",
            "secret",
            "is_active",
            "created_at",
            "updated_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_webhook_configurations
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        for c in rows {
            let hook = self.hooks.get(c);
            w.row(8);
            w.i32(c as i32 + 1);
            w.i32(hook.user_id);
            w.text_fmt(format_args!(
                "https://{}/{:016x}",
                HOOK_HOSTS[rng.zipf(HOOK_HOSTS.len() as u64) as usize],
                rng.next()
            ));
            w.jsonb(|buf| {
                buf.extend_from_slice(b"[");
                let mut first = true;
                for (k, event) in EVENTS.iter().enumerate() {
                    if hook.events & (1 << k) != 0 {
                        if !first {
                            buf.extend_from_slice(b", ");
                        }
                        first = false;
                        json_str(buf, event);
                    }
                }
                buf.extend_from_slice(b"]");
            });
            w.text_fmt(format_args!("{:016x}{:016x}", rng.next(), rng.next()));
            w.bool(rng.chance(0.85));
            w.timestamp(hook.created);
            w.timestamp(between(rng, hook.created, END));
        }
    }
}

struct WebhookLogs {
    ctx: Arc<Context>,
    hooks: Hooks,
}

impl TableGen for WebhookLogs {
    fn name(&self) -> &'static str {
        "platform.webhook_logs"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "webhook_config_id",
            "user_id",
            "event_type",
            "status",
            "response_code",
            "attempt",
            "payload",
            "error_message",
            "created_at",
            "delivered_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_webhook_logs
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let n_hooks = self.ctx.sizes.platform_webhook_configurations;
        for i in rows {
            let c = rng.zipf(n_hooks);
            let hook = self.hooks.get(c);
            let subscribed: Vec<usize> = (0..EVENTS.len())
                .filter(|k| hook.events & (1 << k) != 0)
                .collect();
            let event = EVENTS[rng.pick(&subscribed)];
            let status = ["success", "failed", "retrying", "pending"][rng.weighted(&[85, 8, 4, 3])];
            let created = between(rng, hook.created, END);
            w.row(11);
            w.i32(i as i32 + 1);
            w.i32(c as i32 + 1);
            w.i32(hook.user_id);
            w.text(event);
            w.text(status);
            let (code, attempt, error) = match status {
                "success" => (
                    Some(rng.pick(&[200, 200, 200, 201, 202, 204])),
                    1 + rng.zipf(3),
                    None,
                ),
                "failed" => {
                    let code = rng.pick(&[400, 401, 404, 410, 500, 502, 503, 504]);
                    (Some(code), 5, Some(code))
                }
                "retrying" => (
                    Some(rng.pick(&[429, 500, 502, 503])),
                    1 + rng.below(4),
                    None,
                ),
                _ => (None, 1, None),
            };
            match code {
                Some(code) => w.i32(code),
                None => w.null(),
            }
            w.i32(attempt as i32);
            w.jsonb(|buf| {
                let mut o = JsonObject::new(buf);
                o.str("event", event);
                o.num(
                    "experiment_id",
                    1 + rng.below(self.ctx.sizes.platform_experiments),
                );
                o.num("sequence", i + 1);
                if rng.chance(0.5) {
                    o.raw("metrics", r#"{"accuracy": 0.91, "loss": 0.27}"#);
                }
                o.end();
            });
            match error {
                Some(code) => w.text_fmt(format_args!("HTTP {code} after {attempt} attempts")),
                None => w.null(),
            }
            w.timestamp(created);
            match status {
                "pending" => w.null(),
                _ => w.timestamp(
                    (created + between(rng, 50_000, 30 * SECOND)).min(LAST.max(created)),
                ),
            }
        }
    }
}

struct ApiKeys {
    ctx: Arc<Context>,
    key: Key,
}

impl TableGen for ApiKeys {
    fn name(&self) -> &'static str {
        "platform.api_keys"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "user_id",
            "name",
            "prefix",
            "key_hash",
            "scopes",
            "is_active",
            "created_at",
            "last_used_at",
            "expires_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_api_keys
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        for k in rows {
            let created = between(rng, START - 365 * DAY, END - DAY);
            // The hash embeds the UUID of k, which is unique per k.
            let id = self.key.uuid(k);
            w.row(10);
            w.i32(k as i32 + 1);
            w.i32(self.ctx.pools.user_id(rng));
            w.text(rng.pick(&[
                "ci-pipeline",
                "notebook",
                "prod-inference",
                "airflow",
                "local-dev",
                "grafana",
            ]));
            w.text_fmt(format_args!("ql_{:08x}", mix64(id as u64 ^ 0x5151) as u32));
            w.text_fmt(format_args!(
                "{id:032x}{:016x}{:016x}",
                mix64(id as u64),
                mix64((id >> 64) as u64)
            ));
            w.jsonb(|buf| {
                buf.extend_from_slice(
                    rng.pick(&[
                        r#"["read"]"#,
                        r#"["read", "write"]"#,
                        r#"["read", "write", "admin"]"#,
                        r#"["experiments:read", "metrics:write"]"#,
                    ])
                    .as_bytes(),
                );
            });
            w.bool(rng.chance(0.8));
            w.timestamp(created);
            if rng.chance(0.85) {
                w.timestamp(between(rng, created, END));
            } else {
                w.null();
            }
            if rng.chance(0.4) {
                w.timestamp(created + between(rng, 30 * DAY, 365 * DAY));
            } else {
                w.null();
            }
        }
    }
}

struct Datasets {
    ctx: Arc<Context>,
}

impl TableGen for Datasets {
    fn name(&self) -> &'static str {
        "platform.datasets"
    }
    fn columns(&self) -> &'static [&'static str] {
        &[
            "id",
            "name",
            "description",
            "source_uri",
            "format",
            "size_bytes",
            "num_rows",
            "created_by",
            "created_at",
        ]
    }
    fn row_count(&self) -> u64 {
        self.ctx.sizes.platform_datasets
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let pools = &self.ctx.pools;
        for k in rows {
            let model = catalog::model(rng);
            let base = catalog::dataset(rng, model);
            let format = match model.family {
                catalog::Family::Vision => "images",
                catalog::Family::Audio => "audio",
                catalog::Family::Tabular | catalog::Family::Forecast => {
                    rng.pick(&["csv", "parquet"])
                }
                _ => rng.pick(&["jsonl", "tfrecord", "parquet"]),
            };
            let size = rng.lognormal(2e9, 2.0) as i64;
            w.row(9);
            w.i32(k as i32 + 1);
            w.text_fmt(format_args!("{base}-v{}", k + 1));
            if rng.chance(0.6) {
                w.text(pools.sentence(rng));
            } else {
                w.null();
            }
            w.text_fmt(format_args!("s3://ml-datasets/{base}/v{}/", k + 1));
            w.text(format);
            w.i64(size);
            if matches!(format, "images" | "audio") {
                w.null();
            } else {
                w.i64(size / (100 + rng.below(2000)) as i64);
            }
            w.i32(pools.user_id(rng));
            w.timestamp(between(rng, START - 365 * DAY, END - MINUTE));
        }
    }
}

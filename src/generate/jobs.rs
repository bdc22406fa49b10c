//! Seed 002: `jobs.ml_jobs` and `jobs.ml_jobs_archive`.
//!
//! - ml_jobs: N jobs created over 2024 in id order (created_at strictly increases
//!   with id, as in an append-only queue), ids after the archive's; status pending
//!   3%, running 4%, completed 85%, failed 8% at every age, so there are pending
//!   jobs to find and completed jobs older than 30 days to archive. Finished jobs
//!   have `completed_at` seconds to an hour after creation; completed ones a score
//!   and a label.
//! - ml_jobs_archive: N/10 completed (90%) or failed jobs of 2023, ids 1…N/10,
//!   archived 30–60 days after creation. Their ids and UUIDs differ from ml_jobs',
//!   so `INSERT INTO ml_jobs_archive SELECT * FROM ml_jobs …` does not collide.

use std::ops::Range;
use std::sync::Arc;

use rand_chacha::ChaCha8Rng;

use super::binary::RowWriter;
use super::common::{DAY, Draw, END, Key, LAST, SECOND, START};
use super::{Context, TableGen};

pub(super) fn tables(ctx: &Arc<Context>) -> Vec<Arc<dyn TableGen>> {
    vec![
        Arc::new(Jobs {
            ctx: ctx.clone(),
            archive: false,
            key: Key::new(ctx.seed, "jobs.ml_jobs"),
        }),
        Arc::new(Jobs {
            ctx: ctx.clone(),
            archive: true,
            key: Key::new(ctx.seed, "jobs.ml_jobs_archive"),
        }),
    ]
}

const TASKS: &[&str] = &[
    "Classify sentiment",
    "Detect toxicity",
    "Summarize",
    "Extract entities",
    "Translate to French",
    "Answer the question",
    "Categorize support ticket",
];
const LABELS: &[&str] = &[
    "positive",
    "negative",
    "neutral",
    "non_toxic",
    "toxic",
    "billing",
    "technical",
    "spam",
    "ham",
];
const COLUMNS: &[&str] = &[
    "id",
    "job_uuid",
    "input_text",
    "status",
    "result_score",
    "result_label",
    "created_at",
    "completed_at",
];
const ARCHIVE_COLUMNS: &[&str] = &[
    "id",
    "job_uuid",
    "input_text",
    "status",
    "result_score",
    "result_label",
    "created_at",
    "completed_at",
    "archived_at",
];

struct Jobs {
    ctx: Arc<Context>,
    archive: bool,
    key: Key,
}

impl TableGen for Jobs {
    fn name(&self) -> &'static str {
        if self.archive {
            "jobs.ml_jobs_archive"
        } else {
            "jobs.ml_jobs"
        }
    }
    fn columns(&self) -> &'static [&'static str] {
        if self.archive {
            ARCHIVE_COLUMNS
        } else {
            COLUMNS
        }
    }
    fn row_count(&self) -> u64 {
        if self.archive {
            self.ctx.sizes.jobs_ml_jobs_archive
        } else {
            self.ctx.sizes.jobs_ml_jobs
        }
    }
    fn write_rows(&self, rows: Range<u64>, rng: &mut ChaCha8Rng, w: &mut RowWriter<'_>) {
        let pools = &self.ctx.pools;
        let n = self.row_count().max(1);
        // The archive holds the year before the live table.
        let (from, to, first_id) = if self.archive {
            (START - 365 * DAY, START, 1)
        } else {
            (START, END, self.ctx.sizes.jobs_ml_jobs_archive + 1)
        };
        let slot = (to - from) / n as i64;
        for i in rows {
            let created = from + i as i64 * slot + rng.below(slot.max(1) as u64) as i64;
            let status = if self.archive {
                ["completed", "failed"][rng.weighted(&[90, 10])]
            } else {
                ["pending", "running", "completed", "failed"][rng.weighted(&[3, 4, 85, 8])]
            };
            w.row(if self.archive { 9 } else { 8 });
            w.i32((first_id + i) as i32);
            w.uuid_text(self.key.uuid(i));
            let task = TASKS[rng.zipf(TASKS.len() as u64) as usize];
            w.text_parts(&[task, ": ", pools.phrase(rng)]);
            w.text(status);
            let completed = matches!(status, "completed" | "failed").then(|| {
                let seconds = rng.lognormal(30.0, 1.5).min(3600.0);
                (created + (seconds * SECOND as f64) as i64).min(LAST.max(created))
            });
            if status == "completed" {
                w.f64(1.0 - rng.unit().powi(3) * 0.5);
                w.text(LABELS[rng.zipf(LABELS.len() as u64) as usize]);
            } else {
                w.null();
                w.null();
            }
            w.timestamp(created);
            w.opt_timestamp(completed);
            if self.archive {
                let base = completed.unwrap_or(created);
                w.timestamp(base + 30 * DAY + rng.below(30 * DAY as u64) as i64);
            }
        }
    }
}

//! The fixture's comparisons: the scenarios of seed 002 (queue poll, deep
//! pagination, counts, N+1, correlated predicates) with plausible outcomes.

use querylab::results::{ComparisonResult, VariantStatus};

use super::{Spec, comparison, expect, spec};

const PENDING_SQL: &str = "SELECT id, created_at\nFROM jobs.ml_jobs\nWHERE status = 'pending'\nORDER BY created_at\nLIMIT 50";

/// The comparisons of one dataset at `rows`.
pub fn comparisons(rows: u64, seed: u64) -> Vec<ComparisonResult> {
    let timeout = VariantStatus::TimedOut {
        timeout_ns: 30_000_000_000,
    };
    vec![
        comparison(
            "jobs.pending.partial_index",
            "Pending jobs, oldest first",
            "The queue poll of seed 002: a partial index on the 1% of pending rows against a composite index and none.",
            &[
                spec(
                    "no_index",
                    PENDING_SQL,
                    "none",
                    &[],
                    "pending_seq",
                    62e6,
                    1.0,
                ),
                spec(
                    "partial_index",
                    PENDING_SQL,
                    "partial_pending",
                    &[
                        "CREATE INDEX idx_pending_created ON jobs.ml_jobs (created_at) WHERE status = 'pending'",
                    ],
                    "pending_partial",
                    160e3,
                    0.02,
                ),
                spec(
                    "composite_index",
                    PENDING_SQL,
                    "status_created",
                    &["CREATE INDEX idx_status_created ON jobs.ml_jobs (status, created_at)"],
                    "pending_composite",
                    190e3,
                    0.03,
                ),
            ],
            rows,
            seed,
            vec![
                expect(
                    Some("partial_index"),
                    "plan uses idx_pending_created",
                    true,
                    None,
                ),
                expect(
                    None,
                    "winner is partial_index or composite_index",
                    true,
                    None,
                ),
            ],
        ),
        comparison(
            "pagination.offset_vs_keyset.deep",
            "Deep pagination: OFFSET vs keyset",
            "Page 5,000 of a listing: OFFSET reads and discards every earlier row; keyset seeks to the last row seen.",
            &[
                spec(
                    "offset",
                    "SELECT id, created_at FROM jobs.ml_jobs\nORDER BY created_at DESC\nLIMIT 50 OFFSET 250000",
                    "created",
                    &["CREATE INDEX idx_created ON jobs.ml_jobs (created_at)"],
                    "offset_idx",
                    210e6,
                    1.0,
                ),
                spec(
                    "keyset",
                    "SELECT id, created_at FROM jobs.ml_jobs\nWHERE created_at < $1\nORDER BY created_at DESC\nLIMIT 50",
                    "created",
                    &["CREATE INDEX idx_created ON jobs.ml_jobs (created_at)"],
                    "keyset_idx",
                    58e3,
                    0.0,
                ),
            ],
            rows,
            seed + 1,
            vec![
                expect(Some("keyset"), "shared blocks < 100", true, None),
                expect(
                    Some("offset"),
                    "slower than keyset by 10× or more",
                    true,
                    None,
                ),
            ],
        ),
        comparison(
            "jobs.count_by_status",
            "Count jobs by status",
            "GROUP BY over the whole table against an estimate from pg_class statistics.",
            &[
                spec(
                    "group_by",
                    "SELECT status, count(*) FROM jobs.ml_jobs GROUP BY status",
                    "none",
                    &[],
                    "count_status",
                    180e6,
                    1.0,
                ),
                Spec {
                    hash: "bb22",
                    rows: 3,
                    ..spec(
                        "estimate_from_stats",
                        "SELECT status, reltuples * frac FROM jobs.status_estimates",
                        "none",
                        &[],
                        "keyset_idx",
                        40e3,
                        0.0,
                    )
                },
            ],
            rows,
            seed + 2,
            vec![expect(
                Some("estimate_from_stats"),
                "returns the same rows as group_by",
                false,
                Some("3 rows with different counts"),
            )],
        ),
        comparison(
            "jobs.user_jobs.n_plus_one",
            "A user's recent jobs: N+1 against one query",
            "An ORM loop issuing one query per job against one indexed query; the LATERAL form has no supporting index here.",
            &[
                Spec {
                    executions: 50,
                    ..spec(
                        "n_plus_one",
                        "SELECT * FROM jobs.ml_jobs WHERE id = $1",
                        "none",
                        &[],
                        "pending_partial",
                        2.4e6,
                        0.05,
                    )
                },
                spec(
                    "one_query",
                    "SELECT * FROM jobs.ml_jobs WHERE user_id = $1 ORDER BY created_at DESC LIMIT 50",
                    "none",
                    &[],
                    "pending_composite",
                    310e3,
                    0.05,
                ),
                Spec {
                    status: timeout,
                    ..spec(
                        "lateral_no_index",
                        "SELECT j.* FROM users u, LATERAL (SELECT * FROM jobs.ml_jobs WHERE user_id = u.id) j",
                        "none",
                        &[],
                        "offset_seq",
                        0.0,
                        0.0,
                    )
                },
            ],
            rows,
            seed + 3,
            vec![expect(
                None,
                "one_query is at least 5× faster than n_plus_one",
                true,
                None,
            )],
        ),
        comparison(
            "jobs.stale_statistics",
            "Correlated predicates",
            "status = 'completed' AND finished_at IS NULL never matches, but the planner multiplies the selectivities.",
            &[
                spec(
                    "two_predicates",
                    "SELECT count(*) FROM jobs.ml_jobs\nWHERE status = 'completed' AND finished_at IS NULL",
                    "none",
                    &[],
                    "misestimate",
                    70e6,
                    1.0,
                ),
                Spec {
                    status: VariantStatus::Failed {
                        message: "ERROR: statistics object \"jobs_dep\" does not exist".into(),
                    },
                    ..spec(
                        "extended_stats",
                        "SELECT count(*) FROM jobs.ml_jobs WHERE (status, finished_at) = ('completed', NULL)",
                        "none",
                        &[],
                        "misestimate",
                        0.0,
                        0.0,
                    )
                },
            ],
            rows,
            seed + 4,
            vec![],
        ),
    ]
}

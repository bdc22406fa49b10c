-- Seed 001 (Exercise 01: SQL Fundamentals & CRUD): the ML training registry.
-- training_runs with every CHECK constraint of the seed, JSONB parameters and the
-- one-run-per-day rule. Its secondary indexes are in index_sets/seed_001_documented.sql.
CREATE SCHEMA IF NOT EXISTS registry;

CREATE TABLE registry.training_runs (
    run_id UUID PRIMARY KEY DEFAULT gen_random_uuid(),

    model_name TEXT NOT NULL,
    framework TEXT NOT NULL,
    experiment_name TEXT NOT NULL,

    status TEXT NOT NULL DEFAULT 'queued',

    accuracy NUMERIC(5,4),
    loss NUMERIC(8,5),
    precision_score NUMERIC(5,4),
    recall_score NUMERIC(5,4),
    f1_score NUMERIC(5,4),

    dataset TEXT NOT NULL,
    compute_target TEXT NOT NULL,
    gpu_hours NUMERIC(8,2) DEFAULT 0,
    cpu_hours NUMERIC(8,2) DEFAULT 0,

    parameters JSONB DEFAULT '{}'::jsonb,

    created_at TIMESTAMP WITH TIME ZONE DEFAULT NOW(),
    started_at TIMESTAMP WITH TIME ZONE,
    completed_at TIMESTAMP WITH TIME ZONE,

    notes TEXT,
    created_by TEXT DEFAULT CURRENT_USER,

    CONSTRAINT valid_framework CHECK (
        framework IN ('pytorch', 'tensorflow', 'sklearn', 'xgboost', 'jax', 'mxnet')
    ),
    CONSTRAINT valid_status CHECK (
        status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'timeout')
    ),
    CONSTRAINT valid_accuracy CHECK (
        accuracy IS NULL OR (accuracy >= 0 AND accuracy <= 1)
    ),
    CONSTRAINT valid_precision CHECK (
        precision_score IS NULL OR (precision_score >= 0 AND precision_score <= 1)
    ),
    CONSTRAINT valid_recall CHECK (
        recall_score IS NULL OR (recall_score >= 0 AND recall_score <= 1)
    ),
    CONSTRAINT valid_f1 CHECK (
        f1_score IS NULL OR (f1_score >= 0 AND f1_score <= 1)
    ),
    CONSTRAINT valid_gpu_hours CHECK (gpu_hours >= 0),
    CONSTRAINT valid_cpu_hours CHECK (cpu_hours >= 0),
    CONSTRAINT completed_timestamp CHECK (
        (status IN ('succeeded', 'failed', 'cancelled', 'timeout') AND completed_at IS NOT NULL)
        OR
        (status IN ('queued', 'running') AND completed_at IS NULL)
    ),
    CONSTRAINT started_timestamp CHECK (
        (status IN ('running', 'succeeded', 'failed', 'cancelled', 'timeout') AND started_at IS NOT NULL)
        OR
        (status = 'queued' AND started_at IS NULL)
    ),
    CONSTRAINT time_order CHECK (
        (started_at IS NULL OR started_at >= created_at) AND
        (completed_at IS NULL OR completed_at >= created_at)
    )
);

-- The seed's "CONSTRAINT unique_daily_run UNIQUE (model_name, experiment_name,
-- dataset, DATE(created_at))" is not valid PostgreSQL: a UNIQUE constraint takes
-- columns only, and DATE(timestamptz) depends on the TimeZone setting, so it cannot
-- be indexed. The same rule as a unique expression index, with the day taken in UTC:
CREATE UNIQUE INDEX unique_daily_run ON registry.training_runs (
    model_name, experiment_name, dataset, ((created_at AT TIME ZONE 'UTC')::date)
);

COMMENT ON TABLE registry.training_runs IS 'Tracks all ML model training jobs across the platform';
COMMENT ON COLUMN registry.training_runs.run_id IS 'Unique identifier for each training run';
COMMENT ON COLUMN registry.training_runs.parameters IS 'JSONB field storing hyperparameters and configuration';
COMMENT ON COLUMN registry.training_runs.gpu_hours IS 'Total GPU compute hours consumed';

-- Seed 000 (Day 1 - Database Schema Design): experiment tracking.
-- experiments (1) ──< (N) runs (1) ──< (N) metrics
-- Tables as the seed defines them, plus experiments.parent_id, which the seed's
-- recursive CTE ("Find all related experiments … if you had a parent_id") walks.
-- Its secondary indexes are in index_sets/seed_000_documented.sql.
CREATE SCHEMA IF NOT EXISTS tracking;

CREATE TABLE tracking.experiments (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name            VARCHAR(100) NOT NULL,
    owner           VARCHAR(50) NOT NULL,
    description     TEXT,
    status          VARCHAR(20) DEFAULT 'created',
    created_at      TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    parent_id       UUID REFERENCES tracking.experiments(id) ON DELETE SET NULL,

    CONSTRAINT valid_status CHECK (status IN ('created', 'running', 'completed', 'failed'))
);

CREATE TABLE tracking.runs (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    experiment_id   UUID NOT NULL REFERENCES tracking.experiments(id) ON DELETE CASCADE,
    started_at      TIMESTAMP DEFAULT CURRENT_TIMESTAMP,
    ended_at        TIMESTAMP,
    status          VARCHAR(20) DEFAULT 'running',
    seed            INTEGER,

    CONSTRAINT valid_run_status CHECK (status IN ('running', 'completed', 'failed'))
);

CREATE TABLE tracking.metrics (
    id              UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    run_id          UUID NOT NULL REFERENCES tracking.runs(id) ON DELETE CASCADE,
    name            VARCHAR(50) NOT NULL,
    step            INTEGER NOT NULL,
    value           DOUBLE PRECISION NOT NULL,
    timestamp       TIMESTAMP DEFAULT CURRENT_TIMESTAMP
);

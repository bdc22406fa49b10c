-- Seed 002 (Practice 08: Database Optimization): the ML jobs table and its archive,
-- as the SQLAlchemy models of the solution create them (Integer primary key →
-- SERIAL, String(n) → VARCHAR(n), Float → DOUBLE PRECISION, DateTime → TIMESTAMP).
-- The model's indexes (index=True columns and __table_args__) are in
-- index_sets/seed_002_documented.sql; `unique=True` on job_uuid is a rule, so it
-- stays here.
CREATE SCHEMA IF NOT EXISTS jobs;

CREATE TABLE jobs.ml_jobs (
    id            SERIAL PRIMARY KEY,
    job_uuid      VARCHAR(36) UNIQUE,
    input_text    TEXT,
    status        VARCHAR(20) DEFAULT 'pending',
    result_score  DOUBLE PRECISION,
    result_label  VARCHAR(50),
    created_at    TIMESTAMP DEFAULT (now() AT TIME ZONE 'utc'),
    completed_at  TIMESTAMP
);

CREATE TABLE jobs.ml_jobs_archive (
    id            SERIAL PRIMARY KEY,
    job_uuid      VARCHAR(36),
    input_text    TEXT,
    status        VARCHAR(20),
    result_score  DOUBLE PRECISION,
    result_label  VARCHAR(50),
    created_at    TIMESTAMP,
    completed_at  TIMESTAMP,
    archived_at   TIMESTAMP DEFAULT (now() AT TIME ZONE 'utc')
);

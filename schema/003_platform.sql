-- Seed 003 (Database Indexes for Query Optimization): the ML platform behind the
-- index list. The seed gives only indexes and the columns they name; the other
-- columns are inferred from its queries ("load 500 experiments with tags", "tag
-- autocomplete", "webhook lookup by user", HPO campaigns and NAS trials) and kept
-- plain. Users live in another service: user ids are plain integers, not keys.
-- The documented indexes are in index_sets/seed_003_documented.sql.
CREATE SCHEMA IF NOT EXISTS platform;

CREATE TABLE platform.hpo_campaigns (
    id               SERIAL PRIMARY KEY,
    name             VARCHAR(200) NOT NULL,
    status           VARCHAR(20) NOT NULL DEFAULT 'pending',
    objective_metric VARCHAR(50) NOT NULL DEFAULT 'accuracy',
    search_space     JSONB NOT NULL DEFAULT '{}'::jsonb,
    max_trials       INTEGER NOT NULL,
    best_score       DOUBLE PRECISION,
    created_by       INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL DEFAULT now(),
    completed_at     TIMESTAMP,

    CONSTRAINT hpo_campaigns_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT hpo_campaigns_max_trials CHECK (max_trials > 0),
    CONSTRAINT hpo_campaigns_time_order CHECK (completed_at IS NULL OR completed_at >= created_at)
);

CREATE TABLE platform.experiments (
    id               SERIAL PRIMARY KEY,
    name             VARCHAR(200) NOT NULL,
    description      TEXT,
    model_type       VARCHAR(50) NOT NULL,
    status           VARCHAR(20) NOT NULL DEFAULT 'pending',
    hyperparameters  JSONB NOT NULL DEFAULT '{}'::jsonb,
    hpo_campaign_id  INTEGER REFERENCES platform.hpo_campaigns(id) ON DELETE SET NULL,
    created_by       INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL DEFAULT now(),
    updated_at       TIMESTAMP NOT NULL DEFAULT now(),

    CONSTRAINT experiments_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'cancelled')),
    CONSTRAINT experiments_time_order CHECK (updated_at >= created_at)
);

CREATE TABLE platform.tags (
    id           SERIAL PRIMARY KEY,
    name         VARCHAR(50) NOT NULL UNIQUE,
    slug         VARCHAR(50) NOT NULL UNIQUE,
    usage_count  INTEGER NOT NULL DEFAULT 0,
    created_at   TIMESTAMP NOT NULL DEFAULT now(),

    CONSTRAINT tags_usage_count CHECK (usage_count >= 0)
);

CREATE TABLE platform.experiment_tags (
    experiment_id  INTEGER NOT NULL REFERENCES platform.experiments(id) ON DELETE CASCADE,
    tag_id         INTEGER NOT NULL REFERENCES platform.tags(id) ON DELETE CASCADE,
    created_at     TIMESTAMP NOT NULL DEFAULT now(),

    PRIMARY KEY (experiment_id, tag_id)
);

-- One row per epoch of an experiment's training.
CREATE TABLE platform.training_runs (
    id                SERIAL PRIMARY KEY,
    experiment_id     INTEGER NOT NULL REFERENCES platform.experiments(id) ON DELETE CASCADE,
    epoch             INTEGER NOT NULL,
    train_loss        DOUBLE PRECISION NOT NULL,
    val_loss          DOUBLE PRECISION,
    accuracy          DOUBLE PRECISION,
    learning_rate     DOUBLE PRECISION NOT NULL,
    duration_seconds  DOUBLE PRECISION NOT NULL,
    created_at        TIMESTAMP NOT NULL DEFAULT now(),

    CONSTRAINT training_runs_epoch UNIQUE (experiment_id, epoch),
    CONSTRAINT training_runs_epoch_positive CHECK (epoch >= 1),
    CONSTRAINT training_runs_accuracy CHECK (accuracy IS NULL OR (accuracy >= 0 AND accuracy <= 1)),
    CONSTRAINT training_runs_duration CHECK (duration_seconds >= 0)
);

CREATE TABLE platform.webhook_configurations (
    id          SERIAL PRIMARY KEY,
    user_id     INTEGER NOT NULL,
    url         TEXT NOT NULL,
    events      JSONB NOT NULL DEFAULT '[]'::jsonb,
    secret      VARCHAR(64) NOT NULL,
    is_active   BOOLEAN NOT NULL DEFAULT true,
    created_at  TIMESTAMP NOT NULL DEFAULT now(),
    updated_at  TIMESTAMP NOT NULL DEFAULT now(),

    CONSTRAINT webhook_configurations_url CHECK (url LIKE 'https://%'),
    CONSTRAINT webhook_configurations_time_order CHECK (updated_at >= created_at)
);

CREATE TABLE platform.webhook_logs (
    id                 SERIAL PRIMARY KEY,
    webhook_config_id  INTEGER NOT NULL REFERENCES platform.webhook_configurations(id) ON DELETE CASCADE,
    user_id            INTEGER NOT NULL,
    event_type         VARCHAR(50) NOT NULL,
    status             VARCHAR(20) NOT NULL,
    response_code      INTEGER,
    attempt            INTEGER NOT NULL DEFAULT 1,
    payload            JSONB,
    error_message      TEXT,
    created_at         TIMESTAMP NOT NULL DEFAULT now(),
    delivered_at       TIMESTAMP,

    CONSTRAINT webhook_logs_status CHECK (status IN ('pending', 'success', 'failed', 'retrying')),
    CONSTRAINT webhook_logs_attempt CHECK (attempt >= 1),
    CONSTRAINT webhook_logs_time_order CHECK (delivered_at IS NULL OR delivered_at >= created_at)
);

CREATE TABLE platform.api_keys (
    id            SERIAL PRIMARY KEY,
    user_id       INTEGER NOT NULL,
    name          VARCHAR(100) NOT NULL,
    prefix        VARCHAR(12) NOT NULL,
    key_hash      VARCHAR(64) NOT NULL UNIQUE,
    scopes        JSONB NOT NULL DEFAULT '[]'::jsonb,
    is_active     BOOLEAN NOT NULL DEFAULT true,
    created_at    TIMESTAMP NOT NULL DEFAULT now(),
    last_used_at  TIMESTAMP,
    expires_at    TIMESTAMP,

    CONSTRAINT api_keys_expiry CHECK (expires_at IS NULL OR expires_at > created_at),
    CONSTRAINT api_keys_last_used CHECK (last_used_at IS NULL OR last_used_at >= created_at)
);

-- Neural architecture search trials, run inside an HPO campaign.
CREATE TABLE platform.nas_trials (
    id            SERIAL PRIMARY KEY,
    campaign_id   INTEGER NOT NULL REFERENCES platform.hpo_campaigns(id) ON DELETE CASCADE,
    trial_number  INTEGER NOT NULL,
    status        VARCHAR(20) NOT NULL DEFAULT 'pending',
    architecture  JSONB NOT NULL,
    accuracy      DOUBLE PRECISION,
    latency_ms    DOUBLE PRECISION,
    params_count  BIGINT,
    created_at    TIMESTAMP NOT NULL DEFAULT now(),
    completed_at  TIMESTAMP,

    CONSTRAINT nas_trials_number UNIQUE (campaign_id, trial_number),
    CONSTRAINT nas_trials_number_positive CHECK (trial_number >= 1),
    CONSTRAINT nas_trials_status CHECK (status IN ('pending', 'running', 'completed', 'failed', 'pruned')),
    CONSTRAINT nas_trials_accuracy CHECK (accuracy IS NULL OR (accuracy >= 0 AND accuracy <= 1)),
    CONSTRAINT nas_trials_time_order CHECK (completed_at IS NULL OR completed_at >= created_at)
);

CREATE TABLE platform.datasets (
    id           SERIAL PRIMARY KEY,
    name         VARCHAR(200) NOT NULL,
    description  TEXT,
    source_uri   TEXT NOT NULL,
    format       VARCHAR(20) NOT NULL,
    size_bytes   BIGINT NOT NULL,
    num_rows     BIGINT,
    created_by   INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL DEFAULT now(),

    CONSTRAINT datasets_format CHECK (format IN ('csv', 'parquet', 'jsonl', 'tfrecord', 'images', 'audio')),
    CONSTRAINT datasets_size CHECK (size_bytes >= 0),
    CONSTRAINT datasets_num_rows CHECK (num_rows IS NULL OR num_rows >= 0)
);

-- Seed 003: every index its "Critical Indexes" list creates, as written — including
-- the ones that duplicate a key (idx_experiments_pkey, idx_experiment_tags_unique,
-- idx_experiment_tags_covering, idx_tags_name, idx_tags_slug) or each other
-- (idx_training_runs_experiment, idx_training_runs_exp_epoch): what such
-- duplicates cost is one of the things worth measuring.
CREATE INDEX idx_experiments_pkey ON platform.experiments(id);
CREATE INDEX idx_experiments_status_created ON platform.experiments(status, created_at DESC);
CREATE INDEX idx_experiments_model_type ON platform.experiments(model_type);
CREATE INDEX idx_experiments_user_id ON platform.experiments(created_by);
CREATE INDEX idx_experiments_hpo_campaign ON platform.experiments(hpo_campaign_id) WHERE hpo_campaign_id IS NOT NULL;
CREATE INDEX idx_experiments_completed ON platform.experiments(created_at DESC) WHERE status = 'completed';

CREATE INDEX idx_experiment_tags_exp_id ON platform.experiment_tags(experiment_id);
CREATE INDEX idx_experiment_tags_tag_id ON platform.experiment_tags(tag_id);
CREATE INDEX idx_experiment_tags_covering ON platform.experiment_tags(experiment_id, tag_id);
CREATE UNIQUE INDEX idx_experiment_tags_unique ON platform.experiment_tags(experiment_id, tag_id);

CREATE UNIQUE INDEX idx_tags_name ON platform.tags(name);
CREATE UNIQUE INDEX idx_tags_slug ON platform.tags(slug);
CREATE INDEX idx_tags_usage_count ON platform.tags(usage_count DESC);

CREATE INDEX idx_training_runs_experiment ON platform.training_runs(experiment_id, epoch);
CREATE INDEX idx_training_runs_exp_epoch ON platform.training_runs(experiment_id, epoch ASC);

CREATE INDEX idx_webhooks_user_active ON platform.webhook_configurations(user_id, is_active);
CREATE INDEX idx_webhooks_created ON platform.webhook_configurations(created_at DESC);

CREATE INDEX idx_webhook_logs_config ON platform.webhook_logs(webhook_config_id, created_at DESC);
CREATE INDEX idx_webhook_logs_user ON platform.webhook_logs(user_id, created_at DESC);
CREATE INDEX idx_webhook_logs_event ON platform.webhook_logs(event_type);
CREATE INDEX idx_webhook_logs_status ON platform.webhook_logs(status);

CREATE INDEX idx_api_keys_user ON platform.api_keys(user_id, created_at DESC);
CREATE INDEX idx_api_keys_active ON platform.api_keys(user_id, is_active);
CREATE INDEX idx_api_keys_prefix ON platform.api_keys(prefix);

CREATE INDEX idx_hpo_campaigns_created ON platform.hpo_campaigns(created_at DESC);
CREATE INDEX idx_hpo_campaigns_status ON platform.hpo_campaigns(status);

CREATE INDEX idx_nas_trials_campaign ON platform.nas_trials(campaign_id, trial_number ASC);
CREATE INDEX idx_nas_trials_campaign_status ON platform.nas_trials(campaign_id, status);

CREATE INDEX idx_datasets_created ON platform.datasets(created_at DESC);
CREATE INDEX idx_datasets_user ON platform.datasets(created_by);

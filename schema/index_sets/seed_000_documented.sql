-- Seed 000: the indexes its "Table Definitions" create, one per query pattern.
CREATE INDEX idx_experiments_owner ON tracking.experiments(owner);
CREATE INDEX idx_experiments_status ON tracking.experiments(status);
CREATE INDEX idx_runs_experiment_id ON tracking.runs(experiment_id);
CREATE INDEX idx_runs_status_started ON tracking.runs(status, started_at);
CREATE INDEX idx_metrics_run_name ON tracking.metrics(run_id, name);
CREATE INDEX idx_metrics_run_step ON tracking.metrics(run_id, step);

-- Seed 001: the indexes created with training_runs ("Create indexes for common queries").
CREATE INDEX idx_training_runs_status ON registry.training_runs(status);
CREATE INDEX idx_training_runs_created_at ON registry.training_runs(created_at DESC);
CREATE INDEX idx_training_runs_model_name ON registry.training_runs(model_name);
CREATE INDEX idx_training_runs_framework ON registry.training_runs(framework);
CREATE INDEX idx_training_runs_compute_target ON registry.training_runs(compute_target);
CREATE INDEX idx_training_runs_parameters ON registry.training_runs USING GIN (parameters);
CREATE INDEX idx_training_runs_active ON registry.training_runs(status, created_at DESC)
    WHERE status IN ('queued', 'running');

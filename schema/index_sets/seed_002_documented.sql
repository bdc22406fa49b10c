-- Seed 002: the indexes the solution's SQLAlchemy models create. `index=True` on a
-- column makes ix_<table>_<column>; __table_args__ adds the composite, partial and
-- descending ones. (`index=True` on the primary key makes ix_ml_jobs_id, an exact
-- duplicate of ml_jobs_pkey: kept, because the seed creates it.)
CREATE INDEX ix_ml_jobs_id ON jobs.ml_jobs(id);
CREATE INDEX ix_ml_jobs_status ON jobs.ml_jobs(status);
CREATE INDEX ix_ml_jobs_created_at ON jobs.ml_jobs(created_at);
CREATE INDEX idx_status_created_at ON jobs.ml_jobs(status, created_at);
CREATE INDEX idx_pending_jobs ON jobs.ml_jobs(created_at) WHERE status = 'pending';
CREATE INDEX idx_created_at_desc ON jobs.ml_jobs(created_at DESC);
CREATE INDEX ix_ml_jobs_archive_job_uuid ON jobs.ml_jobs_archive(job_uuid);

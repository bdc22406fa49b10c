-- Small tables for the workload tests (tests/workload.rs): a job queue with a claims
-- log, a counter table without a key (the planted racy upsert), two accounts.
CREATE SCHEMA wl;
CREATE TABLE wl.jobs (
    id         serial PRIMARY KEY,
    status     text NOT NULL DEFAULT 'pending',
    created_at timestamp NOT NULL
);
CREATE INDEX jobs_pending ON wl.jobs (created_at) WHERE status = 'pending';
CREATE TABLE wl.claims (job_id integer NOT NULL);
CREATE TABLE wl.counters (key integer NOT NULL, hits bigint NOT NULL);
CREATE TABLE wl.accounts (id integer PRIMARY KEY, balance bigint NOT NULL);
INSERT INTO wl.accounts VALUES (1, 1000), (2, 1000);

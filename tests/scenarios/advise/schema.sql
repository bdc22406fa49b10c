-- A small table for `querylab advise`'s tests: one predicate each for an
-- expression index, a GIN index and a partial index.
CREATE SCHEMA shop;
CREATE TABLE shop.users (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    status text NOT NULL,
    created_at timestamp NOT NULL,
    attrs jsonb NOT NULL
);

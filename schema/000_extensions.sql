-- Extensions the seed schemas and the comparisons built on them need.
-- pg_trgm: trigram GIN/GiST indexes for LIKE '%…%' searches compared against
-- full-text search (seed 000, "Common Query Optimizations").
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Full-text search over chunks, and where each file stands in the ingestion pipeline.
--
-- rag_chunks.tsv holds domain.Terms of the chunk's symbol (weight A), path (B) and content (D).
-- The application builds it (chunkSearchFields in search.go) instead of to_tsvector: the text
-- search parser splits identifiers at '_' and reads digits, URLs and file names its own way,
-- so the index would not hold the terms domain.Terms makes of a query. symbol_names holds the
-- names the symbol declares (" server.handle handle "), so a typed identifier's definition
-- ranks first. Rows that exist before this migration get both from Go migration 3
-- (backfillSearchFields in migrate.go); the next SQL migration is therefore 00004.

-- +goose Up
ALTER TABLE rag_chunks
	ADD COLUMN symbol_names text NOT NULL DEFAULT '',
	ADD COLUMN tsv tsvector NOT NULL DEFAULT '';
CREATE INDEX rag_chunks_tsv_idx ON rag_chunks USING gin (tsv);

-- One row per file the pipeline has heard of. version 0 is a delete: the row of a deleted file
-- stays (pending, or failed) until the delete job is done, then goes.
CREATE TABLE index_state (
	workspace_id text NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
	path         text COLLATE "C" NOT NULL,
	version      bigint NOT NULL CHECK (version >= 0),
	state        text NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
	reason       text NOT NULL DEFAULT '',
	attempts     integer NOT NULL DEFAULT 0,
	updated_at   timestamptz NOT NULL,
	PRIMARY KEY (workspace_id, path)
);
-- IndexStatus counts by state and lists the newest failures.
CREATE INDEX index_state_workspace_id_state_idx ON index_state (workspace_id, state, updated_at);

-- +goose Down
DROP TABLE index_state;
DROP INDEX rag_chunks_tsv_idx;
ALTER TABLE rag_chunks DROP COLUMN tsv, DROP COLUMN symbol_names;

-- Full-text search over chunks, and where each file stands in the ingestion pipeline.
--
-- rag_chunks is rebuilt with an INTEGER PRIMARY KEY (seq): the FTS5 index refers to rows by
-- rowid, and only an INTEGER PRIMARY KEY keeps a rowid stable across VACUUM. The chunk gains
-- its full-text fields, computed by the application with domain.Terms (search.go):
-- symbol_terms, path_terms and content_terms are space-separated terms, and symbol_names the
-- names the symbol declares (" server.handle handle "), so a typed identifier's definition
-- ranks first. rag_chunks_fts indexes the three term columns as an external-content FTS5
-- table kept in step by triggers, so every insert and delete of a chunk (ReplaceChunks,
-- DeleteChunks, DeleteFile, the cascade of DeleteWorkspace) updates it in the same
-- transaction. Its tokenizer splits at spaces only, so each term stays one token. Rows that
-- exist before this migration get their fields from Go migration 3 (backfillSearchFields in
-- backfill.go); the next SQL migration is therefore 00004.

-- +goose Up
CREATE TABLE rag_chunks_new (
    seq           INTEGER PRIMARY KEY,
    id            TEXT NOT NULL UNIQUE,
    workspace_id  TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path          TEXT NOT NULL,
    file_version  INTEGER NOT NULL,
    start_line    INTEGER NOT NULL,
    end_line      INTEGER NOT NULL,
    language      TEXT NOT NULL,
    symbol        TEXT NOT NULL,
    content       TEXT NOT NULL,
    content_hash  TEXT NOT NULL,
    embedding     BLOB NOT NULL, -- little-endian float32s, as given (not normalised)
    symbol_names  TEXT NOT NULL DEFAULT '',
    symbol_terms  TEXT NOT NULL DEFAULT '',
    path_terms    TEXT NOT NULL DEFAULT '',
    content_terms TEXT NOT NULL DEFAULT ''
) STRICT;
INSERT INTO rag_chunks_new (id, workspace_id, path, file_version, start_line, end_line, language, symbol, content,
    content_hash, embedding)
SELECT id, workspace_id, path, file_version, start_line, end_line, language, symbol, content, content_hash, embedding
FROM rag_chunks ORDER BY rowid;
DROP TABLE rag_chunks;
ALTER TABLE rag_chunks_new RENAME TO rag_chunks;
CREATE INDEX rag_chunks_workspace_id_path ON rag_chunks (workspace_id, path);

CREATE VIRTUAL TABLE rag_chunks_fts USING fts5 (
    symbol_terms, path_terms, content_terms,
    content = 'rag_chunks', content_rowid = 'seq',
    tokenize = "ascii tokenchars '_'"
);
-- +goose StatementBegin
CREATE TRIGGER rag_chunks_fts_insert AFTER INSERT ON rag_chunks BEGIN
    INSERT INTO rag_chunks_fts (rowid, symbol_terms, path_terms, content_terms)
    VALUES (new.seq, new.symbol_terms, new.path_terms, new.content_terms);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rag_chunks_fts_delete AFTER DELETE ON rag_chunks BEGIN
    INSERT INTO rag_chunks_fts (rag_chunks_fts, rowid, symbol_terms, path_terms, content_terms)
    VALUES ('delete', old.seq, old.symbol_terms, old.path_terms, old.content_terms);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER rag_chunks_fts_update AFTER UPDATE ON rag_chunks BEGIN
    INSERT INTO rag_chunks_fts (rag_chunks_fts, rowid, symbol_terms, path_terms, content_terms)
    VALUES ('delete', old.seq, old.symbol_terms, old.path_terms, old.content_terms);
    INSERT INTO rag_chunks_fts (rowid, symbol_terms, path_terms, content_terms)
    VALUES (new.seq, new.symbol_terms, new.path_terms, new.content_terms);
END;
-- +goose StatementEnd
-- Index the copied rows (their term columns are still empty) so the triggers' deletes match.
INSERT INTO rag_chunks_fts (rag_chunks_fts) VALUES ('rebuild');

-- One row per file the pipeline has heard of. version 0 is a delete: the row of a deleted file
-- stays (pending, or failed) until the delete job is done, then goes.
CREATE TABLE index_state (
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    version      INTEGER NOT NULL CHECK (version >= 0),
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed', 'skipped')),
    reason       TEXT NOT NULL DEFAULT '',
    attempts     INTEGER NOT NULL DEFAULT 0,
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (workspace_id, path)
) STRICT;
-- IndexStatus counts by state and lists the newest failures.
CREATE INDEX index_state_workspace_id_state ON index_state (workspace_id, state, updated_at);

-- +goose Down
DROP TABLE index_state;
DROP TABLE rag_chunks_fts;
CREATE TABLE rag_chunks_old (
    id           TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    path         TEXT NOT NULL,
    file_version INTEGER NOT NULL,
    start_line   INTEGER NOT NULL,
    end_line     INTEGER NOT NULL,
    language     TEXT NOT NULL,
    symbol       TEXT NOT NULL,
    content      TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    embedding    BLOB NOT NULL
) STRICT;
INSERT INTO rag_chunks_old SELECT id, workspace_id, path, file_version, start_line, end_line, language, symbol, content,
    content_hash, embedding FROM rag_chunks;
DROP TABLE rag_chunks;
ALTER TABLE rag_chunks_old RENAME TO rag_chunks;
CREATE INDEX rag_chunks_workspace_id_path ON rag_chunks (workspace_id, path);

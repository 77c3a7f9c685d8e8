-- +goose Up
-- Full-text search moved into the process (textIndex, built on Open from the term columns,
-- as the vector index is from the embeddings): FTS5's bm25() costs several microseconds per
-- matching row here, which made a natural-language query over 100,000 chunks take hundreds of
-- milliseconds. The FTS5 table and its triggers go, so writes no longer maintain them. The
-- term columns stay: they are what the index is built from.
DROP TRIGGER rag_chunks_fts_insert;
DROP TRIGGER rag_chunks_fts_delete;
DROP TRIGGER rag_chunks_fts_update;
DROP TABLE rag_chunks_fts;

-- +goose Down
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
INSERT INTO rag_chunks_fts (rag_chunks_fts) VALUES ('rebuild');

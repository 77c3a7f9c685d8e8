-- The HNSW index with pgvector's default build parameters (m = 16, ef_construction = 64)
-- found only 0.71-0.73 of the true ten nearest chunks at ef_search 40, and 0.90-0.92 even at
-- ef_search 400, for the local embedder's vectors of 100,000 chunks of Go source
-- (BenchmarkSearchLatency, docs/benchmarks.md): hashed features make a hard, high-dimensional
-- graph. With m = 32 and ef_construction = 200 the same queries reach 0.95 at ef_search 100-128
-- in about 10 ms. The price is a slower build (about 4x) and larger index.

-- +goose Up
DROP INDEX rag_chunks_embedding_idx;
CREATE INDEX rag_chunks_embedding_idx ON rag_chunks USING hnsw (embedding vector_cosine_ops)
    WITH (m = 32, ef_construction = 200);

-- +goose Down
DROP INDEX rag_chunks_embedding_idx;
CREATE INDEX rag_chunks_embedding_idx ON rag_chunks USING hnsw (embedding vector_cosine_ops);

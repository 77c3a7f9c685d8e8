package postgres

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"

	"github.com/jackc/pgx/v5"
	"github.com/pgvector/pgvector-go"

	"github.com/vibecode/vibecode/shared/domain"
)

// ReplaceChunks replaces every chunk of the file in one transaction, so a search sees either
// the old chunks or the new ones, never a mix or none. The chunks are stored under
// workspaceID and path whatever their own fields say, with their full-text fields
// (chunkSearchFields) computed here.
func (s *Store) ReplaceChunks(ctx context.Context, workspaceID, path string, chunks []*domain.Chunk) error {
	for _, c := range chunks {
		if len(c.Embedding) != domain.EmbeddingDims {
			return domain.Errorf(domain.EINVALID, "chunk embedding has %d dimensions, want %d", len(c.Embedding), domain.EmbeddingDims)
		}
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM rag_chunks WHERE workspace_id = $1 AND path = $2`, workspaceID, path); err != nil {
			return wrapErr(err, "replace chunks", "chunk")
		}
		if len(chunks) == 0 {
			return nil
		}
		// COPY is one round trip for the whole file, however many chunks it has.
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"rag_chunks"},
			[]string{"id", "workspace_id", "path", "file_version", "start_line", "end_line", "language", "symbol", "content", "content_hash",
				"embedding", "symbol_names", "tsv"},
			pgx.CopyFromSlice(len(chunks), func(i int) ([]any, error) {
				c := chunks[i]
				names, tsv := chunkSearchFields(c.Symbol, path, c.Content)
				return []any{c.ID, workspaceID, path, c.FileVersion, c.StartLine, c.EndLine, c.Language, c.Symbol, c.Content, c.ContentHash,
					pgvector.NewVector(c.Embedding), names, tsv}, nil
			}))
		return wrapErr(err, "replace chunks", "chunk")
	})
}

// DeleteChunks removes every chunk of the file; none is not an error.
func (s *Store) DeleteChunks(ctx context.Context, workspaceID, path string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM rag_chunks WHERE workspace_id = $1 AND path = $2`, workspaceID, path)
	return wrapErr(err, "delete chunks", "chunk")
}

// minEfSearch is the smallest candidate list an HNSW search keeps (hnsw.ef_search). With
// migration 6's index, over 100,000 chunks of the local embedder's vectors
// (BenchmarkSearchLatency), recall@10 against exact search was 0.92-0.94 at 128, 0.946-0.967
// at 200 and 0.97 at 400 across builds of the index (HNSW builds differ); 256 is for 0.95.
// pgvector's default of 40 found 0.87-0.89.
const minEfSearch = 256

// maxEfSearch is pgvector's upper bound for hnsw.ef_search.
const maxEfSearch = 1000

// maxScanTuples bounds an iterative index scan (pgvector's default is 20,000): how many index
// tuples it visits looking for rows that pass the filters before it gives up and returns what
// it has. 100,000 tuples take tens of milliseconds and cover a filter that keeps one chunk in
// ten thousand of the index when the limit is 10.
const maxScanTuples = 100_000

// scanMemMultiplier lets an iterative scan use twice work_mem (pgvector's default is once), so
// the tuple bound, not memory, is what ends a long scan.
const scanMemMultiplier = 2

// SearchChunks returns up to q.Limit of the workspace's chunks nearest to q.Vector by cosine
// similarity (1 - cosine distance), best first, keeping only chunks whose path matches
// q.PathGlob and whose language is q.Language when those are set. The HNSW index is shared by
// all workspaces and filtering happens after the index scan, so the scan is iterative
// (pgvector 0.8): it keeps going until q.Limit rows pass the filters (or maxScanTuples were
// visited) instead of returning the few that happened to be among the first ef_search
// candidates. relaxed_order may return rows slightly out of order, so they are sorted again
// here. Returned chunks carry no embedding.
func (s *Store) SearchChunks(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	if len(q.Vector) != domain.EmbeddingDims {
		return nil, domain.Errorf(domain.EINVALID, "query vector has %d dimensions, want %d", len(q.Vector), domain.EmbeddingDims)
	}
	if q.Limit <= 0 {
		return []domain.ScoredChunk{}, nil
	}
	efSearch := min(max(minEfSearch, 2*q.Limit), maxEfSearch)
	args := []any{pgvector.NewVector(q.Vector), q.WorkspaceID, q.Limit}
	filters := chunkFilters(q, &args)
	var hits []domain.ScoredChunk
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// set_config(..., true) is SET LOCAL that takes parameters: it ends with the transaction.
		if _, err := tx.Exec(ctx, `SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true),
				set_config('hnsw.ef_search', $1, true), set_config('hnsw.max_scan_tuples', $2, true),
				set_config('hnsw.scan_mem_multiplier', $3, true)`,
			strconv.Itoa(efSearch), strconv.Itoa(maxScanTuples), strconv.Itoa(scanMemMultiplier)); err != nil {
			return fmt.Errorf("postgres: search chunks: configure scan: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT `+chunkColumns+`, 1 - (embedding <=> $1) AS score
			FROM rag_chunks
			WHERE workspace_id = $2`+filters+`
			ORDER BY embedding <=> $1
			LIMIT $3`, args...)
		if err != nil {
			return wrapErr(err, "search chunks", "chunk")
		}
		hits, err = pgx.CollectRows(rows, scanScoredChunk)
		return wrapErr(err, "search chunks", "chunk")
	})
	if err != nil {
		return nil, err
	}
	for i := range hits {
		if math.IsNaN(hits[i].Score) { // a zero vector has no direction: treat it as unrelated
			hits[i].Score = 0
		}
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	return hits, nil
}

// ChunkEmbeddings returns the stored embeddings of the file's chunks by content hash (an
// empty map when it has none), so re-indexing embeds only chunks whose content changed.
func (s *Store) ChunkEmbeddings(ctx context.Context, workspaceID, path string) (map[string][]float32, error) {
	rows, err := s.pool.Query(ctx, `SELECT content_hash, embedding FROM rag_chunks WHERE workspace_id = $1 AND path = $2`, workspaceID, path)
	if err != nil {
		return nil, wrapErr(err, "chunk embeddings", "chunk")
	}
	out := map[string][]float32{}
	var hash string
	var emb pgvector.Vector
	_, err = pgx.ForEachRow(rows, []any{&hash, &emb}, func() error {
		out[hash] = emb.Slice()
		return nil
	})
	if err != nil {
		return nil, wrapErr(err, "chunk embeddings", "chunk")
	}
	return out, nil
}

// CountChunks returns how many chunks the workspace has.
func (s *Store) CountChunks(ctx context.Context, workspaceID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM rag_chunks WHERE workspace_id = $1`, workspaceID).Scan(&n)
	return n, wrapErr(err, "count chunks", "chunk")
}

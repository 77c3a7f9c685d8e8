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
// workspaceID and path whatever their own fields say.
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
			[]string{"id", "workspace_id", "path", "file_version", "start_line", "end_line", "language", "symbol", "content", "content_hash", "embedding"},
			pgx.CopyFromSlice(len(chunks), func(i int) ([]any, error) {
				c := chunks[i]
				return []any{c.ID, workspaceID, path, c.FileVersion, c.StartLine, c.EndLine, c.Language, c.Symbol, c.Content, c.ContentHash,
					pgvector.NewVector(c.Embedding)}, nil
			}))
		return wrapErr(err, "replace chunks", "chunk")
	})
}

// DeleteChunks removes every chunk of the file; none is not an error.
func (s *Store) DeleteChunks(ctx context.Context, workspaceID, path string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM rag_chunks WHERE workspace_id = $1 AND path = $2`, workspaceID, path)
	return wrapErr(err, "delete chunks", "chunk")
}

// maxEfSearch is pgvector's upper bound for hnsw.ef_search.
const maxEfSearch = 1000

// SearchChunks returns up to limit of the workspace's chunks nearest to vector by cosine
// similarity (1 - cosine distance), best first. The HNSW index is shared by all workspaces
// and filtering happens after the index scan, so the scan is iterative (pgvector 0.8): it
// keeps going until limit rows of this workspace are found instead of returning the few
// that happened to be among the first ef_search candidates. relaxed_order may return rows
// slightly out of order, so they are sorted again here. Returned chunks carry no embedding.
func (s *Store) SearchChunks(ctx context.Context, workspaceID string, vector []float32, limit int) ([]domain.ScoredChunk, error) {
	if len(vector) != domain.EmbeddingDims {
		return nil, domain.Errorf(domain.EINVALID, "query vector has %d dimensions, want %d", len(vector), domain.EmbeddingDims)
	}
	if limit <= 0 {
		return []domain.ScoredChunk{}, nil
	}
	efSearch := min(max(40, 2*limit), maxEfSearch)
	var hits []domain.ScoredChunk
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		// set_config(..., true) is SET LOCAL that takes parameters: it ends with the transaction.
		if _, err := tx.Exec(ctx, `SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true), set_config('hnsw.ef_search', $1, true)`,
			strconv.Itoa(efSearch)); err != nil {
			return fmt.Errorf("postgres: search chunks: configure scan: %w", err)
		}
		rows, err := tx.Query(ctx, `
			SELECT id, workspace_id, path, file_version, start_line, end_line, language, symbol, content, content_hash,
				1 - (embedding <=> $1) AS score
			FROM rag_chunks
			WHERE workspace_id = $2
			ORDER BY embedding <=> $1
			LIMIT $3`, pgvector.NewVector(vector), workspaceID, limit)
		if err != nil {
			return wrapErr(err, "search chunks", "chunk")
		}
		hits, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (domain.ScoredChunk, error) {
			var c domain.Chunk
			var score float64
			err := row.Scan(&c.ID, &c.WorkspaceID, &c.Path, &c.FileVersion, &c.StartLine, &c.EndLine, &c.Language, &c.Symbol,
				&c.Content, &c.ContentHash, &score)
			if math.IsNaN(score) { // a zero vector has no direction: treat it as unrelated
				score = 0
			}
			return domain.ScoredChunk{Chunk: &c, Score: score}, err
		})
		return wrapErr(err, "search chunks", "chunk")
	})
	if err != nil {
		return nil, err
	}
	sort.SliceStable(hits, func(i, j int) bool { return hits[i].Score > hits[j].Score })
	return hits, nil
}

// CountChunks returns how many chunks the workspace has.
func (s *Store) CountChunks(ctx context.Context, workspaceID string) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM rag_chunks WHERE workspace_id = $1`, workspaceID).Scan(&n)
	return n, wrapErr(err, "count chunks", "chunk")
}

package sqlite

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/vibecode/vibecode/shared/domain"
)

// encodeEmbedding returns v as little-endian float32s, the stored form of an embedding.
func encodeEmbedding(v []float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

// decodeEmbedding decodes a stored embedding into dst, which must have the stored length.
func decodeEmbedding(dst []float32, b []byte) error {
	if len(b) != 4*len(dst) {
		return fmt.Errorf("embedding has %d bytes, want %d", len(b), 4*len(dst))
	}
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return nil
}

// checkVector returns EINVALID unless v has the schema's width and only finite values.
func checkVector(what string, v []float32) error {
	if len(v) != domain.EmbeddingDims {
		return domain.Errorf(domain.EINVALID, "%s has %d dimensions, want %d", what, len(v), domain.EmbeddingDims)
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return domain.Errorf(domain.EINVALID, "%s contains a NaN or infinite value", what)
		}
	}
	return nil
}

// deleteChunks deletes the file's chunks in tx and returns their IDs, for the index.
func deleteChunks(ctx context.Context, tx *sql.Tx, workspaceID, path string) ([]string, error) {
	rows, err := tx.QueryContext(ctx, `DELETE FROM rag_chunks WHERE workspace_id = ? AND path = ? RETURNING id`, workspaceID, path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: delete chunks: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("sqlite: delete chunks: %w", err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: delete chunks: %w", err)
	}
	return ids, nil
}

// ReplaceChunks replaces every chunk of the file with chunks in one transaction and then
// updates the in-process vector and text indexes. Chunks without an ID get one. EINVALID if a chunk belongs to another
// workspace or file or its embedding is not EmbeddingDims finite values; ENOTFOUND if the
// workspace does not exist.
func (s *Store) ReplaceChunks(ctx context.Context, workspaceID, path string, chunks []*domain.Chunk) error {
	for i, c := range chunks {
		switch {
		case c == nil:
			return domain.Errorf(domain.EINVALID, "chunk %d is nil", i)
		case c.WorkspaceID != "" && c.WorkspaceID != workspaceID, c.Path != "" && c.Path != path:
			return domain.Errorf(domain.EINVALID, "chunk %d belongs to another workspace or file", i)
		}
		if err := checkVector(fmt.Sprintf("embedding of chunk %d", i), c.Embedding); err != nil {
			return err
		}
	}
	for _, c := range chunks {
		if c.ID == "" {
			c.ID = domain.NewID()
		}
	}

	s.chunkMu.Lock()
	defer s.chunkMu.Unlock()
	var removed []string
	docs := make([]textDoc, len(chunks))
	err := s.write(ctx, "replace chunks", func(tx *sql.Tx) error {
		var err error
		if removed, err = deleteChunks(ctx, tx, workspaceID, path); err != nil {
			return err
		}
		if len(chunks) == 0 {
			return nil
		}
		stmt, err := tx.PrepareContext(ctx, `INSERT INTO rag_chunks (id, workspace_id, path, file_version, start_line, end_line,
			language, symbol, content, content_hash, embedding, symbol_names, symbol_terms, path_terms, content_terms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
		if err != nil {
			return fmt.Errorf("sqlite: replace chunks: %w", err)
		}
		defer stmt.Close()
		for i, c := range chunks {
			f := chunkSearchFields(c.Symbol, path, c.Content)
			docs[i] = textDoc{id: c.ID, meta: chunkMeta{path: path, language: c.Language}, fields: f}
			_, err := stmt.ExecContext(ctx, c.ID, workspaceID, path, c.FileVersion, c.StartLine, c.EndLine,
				c.Language, c.Symbol, c.Content, c.ContentHash, encodeEmbedding(c.Embedding), f.names, f.symbol, f.path, f.content)
			if err != nil {
				return dbErr("replace chunks", fmt.Sprintf("chunk %q", c.ID), err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	ids := make([]string, len(chunks))
	metas := make([]chunkMeta, len(chunks))
	vecs := make([][]float32, len(chunks))
	for i, c := range chunks {
		ids[i], metas[i], vecs[i] = c.ID, chunkMeta{path: path, language: c.Language}, c.Embedding
	}
	s.unindex(workspaceID, removed)
	s.index.add(workspaceID, ids, metas, vecs)
	s.text.add(workspaceID, docs)
	return nil
}

// DeleteChunks removes every chunk of the file from the database and then from the indexes.
func (s *Store) DeleteChunks(ctx context.Context, workspaceID, path string) error {
	s.chunkMu.Lock()
	defer s.chunkMu.Unlock()
	var removed []string
	err := s.write(ctx, "delete chunks", func(tx *sql.Tx) error {
		var err error
		removed, err = deleteChunks(ctx, tx, workspaceID, path)
		return err
	})
	if err != nil {
		return err
	}
	s.unindex(workspaceID, removed)
	return nil
}

// unindex removes the chunk IDs of the workspace from the in-process indexes, after the
// transaction that deleted them committed.
func (s *Store) unindex(workspaceID string, ids []string) {
	s.index.remove(workspaceID, ids)
	s.text.remove(workspaceID, ids)
}

// CountChunks returns how many chunks the workspace has, counted in the database.
func (s *Store) CountChunks(ctx context.Context, workspaceID string) (int, error) {
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM rag_chunks WHERE workspace_id = ?`, workspaceID).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count chunks: %w", err)
	}
	return n, nil
}

// ChunkEmbeddings returns the stored embeddings of the file's chunks by content hash (an
// empty map when it has none), so re-indexing embeds only chunks whose content changed.
func (s *Store) ChunkEmbeddings(ctx context.Context, workspaceID, path string) (map[string][]float32, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT content_hash, embedding FROM rag_chunks WHERE workspace_id = ? AND path = ?`,
		workspaceID, path)
	if err != nil {
		return nil, fmt.Errorf("sqlite: chunk embeddings: %w", err)
	}
	defer rows.Close()
	out := map[string][]float32{}
	for rows.Next() {
		var hash string
		var emb sql.RawBytes
		if err := rows.Scan(&hash, &emb); err != nil {
			return nil, fmt.Errorf("sqlite: chunk embeddings: %w", err)
		}
		vec := make([]float32, domain.EmbeddingDims)
		if err := decodeEmbedding(vec, emb); err != nil {
			return nil, fmt.Errorf("sqlite: chunk embeddings: %w", err)
		}
		out[hash] = vec
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: chunk embeddings: %w", err)
	}
	return out, nil
}

// fetchBatch bounds the IDs of one IN (...) list, well under SQLite's variable limit.
const fetchBatch = 500

// SearchChunks returns up to q.Limit chunks of the workspace nearest to q.Vector by cosine
// similarity, best first, keeping only chunks whose path matches q.PathGlob and whose
// language is q.Language when those are set: the index ranks the vectors of the workspace
// that pass the filters (exactly below 8k vectors, by vectorIndex's two-step search above,
// which found 0.997-1.0 of the exact top 30 in benchmarks), then the winners' fields are read
// from the database. A chunk deleted between the two steps is skipped. EINVALID if the vector is not
// EmbeddingDims finite values.
func (s *Store) SearchChunks(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	if err := checkVector("query vector", q.Vector); err != nil {
		return nil, err
	}
	hits := s.index.search(q.WorkspaceID, q.Vector, q.Limit, queryFilter(q))
	ids := make([]string, len(hits))
	scores := make([]float64, len(hits))
	for i, h := range hits {
		ids[i], scores[i] = h.id, float64(h.score)
	}
	return s.scoredChunks(ctx, "search chunks", q.WorkspaceID, ids, scores)
}

// scoredChunks reads the ranked chunks of an index search (IDs and their scores, best first)
// from the database, in that order; a chunk deleted since the index answered is left out.
func (s *Store) scoredChunks(ctx context.Context, op, workspaceID string, ids []string, scores []float64) ([]domain.ScoredChunk, error) {
	chunks, err := s.chunksByID(ctx, op, workspaceID, ids)
	if err != nil {
		return nil, err
	}
	out := make([]domain.ScoredChunk, 0, len(ids))
	for i, id := range ids {
		if c, ok := chunks[id]; ok {
			out = append(out, domain.ScoredChunk{Chunk: c, Score: scores[i]})
		}
	}
	return out, nil
}

// chunksByID reads the chunks of the workspace with the given IDs (without embeddings), by
// ID; IDs no longer in the database are left out.
func (s *Store) chunksByID(ctx context.Context, op, workspaceID string, ids []string) (map[string]*domain.Chunk, error) {
	byID := make(map[string]*domain.Chunk, len(ids))
	for lo := 0; lo < len(ids); lo += fetchBatch {
		batch := ids[lo:min(lo+fetchBatch, len(ids))]
		args := make([]any, 0, len(batch)+1)
		args = append(args, workspaceID)
		for _, id := range batch {
			args = append(args, id)
		}
		// The unary + keeps SQLite from answering through the (workspace_id, path) index, which
		// without statistics it prefers to the primary key, scanning the whole workspace.
		rows, err := s.rdb.QueryContext(ctx, `SELECT id, path, file_version, start_line, end_line, language, symbol, content, content_hash
			FROM rag_chunks WHERE +workspace_id = ? AND id IN (?`+strings.Repeat(", ?", len(batch)-1)+`)`, args...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		chunks, err := collect(rows, op, func(row interface{ Scan(...any) error }) (*domain.Chunk, error) {
			c := &domain.Chunk{WorkspaceID: workspaceID}
			err := row.Scan(&c.ID, &c.Path, &c.FileVersion, &c.StartLine, &c.EndLine, &c.Language, &c.Symbol, &c.Content, &c.ContentHash)
			return c, err
		})
		if err != nil {
			return nil, err
		}
		for _, c := range chunks {
			byID[c.ID] = c
		}
	}
	return byID, nil
}

// loadIndex fills the vector and text indexes from the database; Open calls it once.
func (s *Store) loadIndex(ctx context.Context) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, workspace_id, path, language, embedding,
		symbol_names, symbol_terms, path_terms, content_terms FROM rag_chunks`)
	if err != nil {
		return fmt.Errorf("sqlite: load indexes: %w", err)
	}
	defer rows.Close()
	vec := make([]float32, domain.EmbeddingDims)
	// A file's chunks share one copy of its path and language.
	interned := map[chunkMeta]chunkMeta{}
	for rows.Next() {
		var id, ws string
		var m chunkMeta
		var f searchFields
		var emb sql.RawBytes // decoded before the next row, so no copy is needed
		if err := rows.Scan(&id, &ws, &m.path, &m.language, &emb, &f.names, &f.symbol, &f.path, &f.content); err != nil {
			return fmt.Errorf("sqlite: load indexes: %w", err)
		}
		if err := decodeEmbedding(vec, emb); err != nil {
			return fmt.Errorf("sqlite: load indexes: chunk %s: %w", id, err)
		}
		if prev, ok := interned[m]; ok {
			m = prev
		} else {
			interned[m] = m
		}
		s.index.add(ws, []string{id}, []chunkMeta{m}, [][]float32{vec})
		s.text.add(ws, []textDoc{{id: id, meta: m, fields: f}})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlite: load indexes: %w", err)
	}
	return nil
}

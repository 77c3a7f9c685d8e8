package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/postgres"
	"github.com/vibecode/vibecode/shared/testserver"
)

// TestStore_SearchChunksThroughHNSW checks the case the HNSW index gets wrong without
// iterative scans: the index is shared by all workspaces and filtered after the scan, so
// when another workspace's chunks are nearer to the query, the first ef_search candidates
// contain none of this workspace's. The test makes the planner use the HNSW index (on a
// small table it would rightly prefer the B-tree) and checks that all of the workspace's
// chunks still come back, best first.
func TestStore_SearchChunksThroughHNSW(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	s, err := postgres.Open(ctx, dsn) // migrate
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close(ctx)
	for _, q := range []string{
		`DROP INDEX rag_chunks_workspace_id_path_idx`,
		`DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET enable_seqscan = off', current_database()); END $$`,
		`SET enable_seqscan = off`, // this session predates the database default
	} {
		if _, err := admin.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	s, err = postgres.Open(ctx, dsn) // new connections get enable_seqscan = off
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &domain.User{ID: domain.NewID(), Email: "big@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateUser(ctx, u))
	big := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "big", CreatedAt: now, UpdatedAt: now}
	small := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "small", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateWorkspace(ctx, big))
	must(t, s.CreateWorkspace(ctx, small))
	chunk := func(ws string, i int, emb []float32) *domain.Chunk {
		return &domain.Chunk{ID: domain.NewID(), WorkspaceID: ws, Path: "f.go", FileVersion: 1, StartLine: i, EndLine: i,
			Content: fmt.Sprint(i), ContentHash: fmt.Sprint(i), Embedding: emb}
	}
	// The big workspace: 300 chunks near the query e_0.
	rng := rand.New(rand.NewPCG(1, 2))
	var bigChunks []*domain.Chunk
	for i := range 300 {
		v := make([]float32, domain.EmbeddingDims)
		for j := range v {
			v[j] = rng.Float32() * 0.1
		}
		v[0] = 1
		bigChunks = append(bigChunks, chunk(big.ID, i, v))
	}
	must(t, s.ReplaceChunks(ctx, big.ID, "f.go", bigChunks))
	// The small workspace: 5 chunks pointing away from the query, chunk 0 the least.
	var smallChunks []*domain.Chunk
	for i := range 5 {
		v := make([]float32, domain.EmbeddingDims)
		v[0], v[1+i] = -1, float32(5-i)
		smallChunks = append(smallChunks, chunk(small.ID, i, v))
	}
	must(t, s.ReplaceChunks(ctx, small.ID, "f.go", smallChunks))

	query := make([]float32, domain.EmbeddingDims)
	query[0] = 1
	var plan strings.Builder
	rows, err := admin.Query(ctx, `EXPLAIN SELECT id FROM rag_chunks WHERE workspace_id = $2 ORDER BY embedding <=> $1::text::vector LIMIT 10`,
		vectorText(query), small.ID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var line string
		must(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	must(t, rows.Err())
	if !strings.Contains(plan.String(), "rag_chunks_embedding_idx") {
		t.Fatalf("the search does not use the HNSW index, so this test tests nothing:\n%.2000s", plan.String())
	}

	hits, err := s.SearchChunks(ctx, small.ID, query, 10)
	must(t, err)
	if len(hits) != 5 {
		t.Fatalf("SearchChunks returned %d hits, want all 5 of the small workspace", len(hits))
	}
	for i, h := range hits {
		if h.Chunk.ID != smallChunks[i].ID {
			t.Fatalf("hit %d is chunk %d of workspace %s, want chunk %d of the small workspace", i, h.Chunk.StartLine, h.Chunk.WorkspaceID, i)
		}
	}
}

func vectorText(v []float32) string {
	parts := make([]string, len(v))
	for i, x := range v {
		parts[i] = fmt.Sprint(x)
	}
	return "[" + strings.Join(parts, ",") + "]"
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

package postgres_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/postgres"
	"github.com/vibecode/vibecode/shared/storetest"
	"github.com/vibecode/vibecode/shared/testserver"
)

// TestStore_SearchChunksThroughHNSW checks the cases the HNSW index gets wrong without
// iterative scans: the index is shared by all workspaces and filtered after the scan, so
// when other chunks are nearer to the query than the ones the filters keep (another
// workspace's, or this workspace's in other paths or languages), the first ef_search
// candidates contain none of the kept ones. The test makes the planner use the HNSW index
// (on a small table it would rightly prefer the B-tree) and checks that all of the kept
// chunks still come back, best first.
func TestStore_SearchChunksThroughHNSW(t *testing.T) {
	ctx := context.Background()
	s, admin := openThroughHNSW(t)
	defer s.Close()

	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &domain.User{ID: domain.NewID(), Email: "big@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateUser(ctx, u))
	big := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "big", CreatedAt: now, UpdatedAt: now}
	small := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "small", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateWorkspace(ctx, big))
	must(t, s.CreateWorkspace(ctx, small))
	chunk := func(ws, path string, i int, emb []float32) *domain.Chunk {
		return &domain.Chunk{ID: domain.NewID(), WorkspaceID: ws, Path: path, FileVersion: 1, StartLine: i, EndLine: i,
			Language: domain.LanguageOf(path), Content: fmt.Sprint(i), ContentHash: fmt.Sprint(i), Embedding: emb}
	}
	// away returns five chunks pointing away from the query, chunk 0 the least.
	away := func(ws, path string) []*domain.Chunk {
		var chunks []*domain.Chunk
		for i := range 5 {
			v := make([]float32, domain.EmbeddingDims)
			v[0], v[1+i] = -1, float32(5-i)
			chunks = append(chunks, chunk(ws, path, i, v))
		}
		return chunks
	}
	// The big workspace: 300 Go chunks near the query e_0, and 5 Markdown ones pointing away.
	rng := rand.New(rand.NewPCG(1, 2))
	var bigChunks []*domain.Chunk
	for i := range 300 {
		v := make([]float32, domain.EmbeddingDims)
		for j := range v {
			v[j] = rng.Float32() * 0.1
		}
		v[0] = 1
		bigChunks = append(bigChunks, chunk(big.ID, "f.go", i, v))
	}
	must(t, s.ReplaceChunks(ctx, big.ID, "f.go", bigChunks))
	docs := away(big.ID, "docs/guide.md")
	must(t, s.ReplaceChunks(ctx, big.ID, "docs/guide.md", docs))
	// The small workspace: 5 chunks pointing away.
	smallChunks := away(small.ID, "f.go")
	must(t, s.ReplaceChunks(ctx, small.ID, "f.go", smallChunks))

	query := make([]float32, domain.EmbeddingDims)
	query[0] = 1
	for _, tc := range []struct {
		name string
		q    domain.ChunkQuery
		want []*domain.Chunk
	}{
		{"workspace", domain.ChunkQuery{WorkspaceID: small.ID, Vector: query, Limit: 10}, smallChunks},
		{"path", domain.ChunkQuery{WorkspaceID: big.ID, Vector: query, Limit: 10, PathGlob: "docs/*"}, docs},
		{"language", domain.ChunkQuery{WorkspaceID: big.ID, Vector: query, Limit: 10, Language: "markdown"}, docs},
		{"both", domain.ChunkQuery{WorkspaceID: big.ID, Vector: query, Limit: 3, PathGlob: "*.md", Language: "markdown"}, docs[:3]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan := explain(t, admin, `EXPLAIN SELECT id FROM rag_chunks
				WHERE workspace_id = $2 AND ($3 = '' OR path LIKE $3 ESCAPE '\') AND ($4 = '' OR language = $4)
				ORDER BY embedding <=> $1::text::vector LIMIT 10`, vectorText(query), tc.q.WorkspaceID, tc.q.PathGlob, tc.q.Language)
			if !strings.Contains(plan, "rag_chunks_embedding_idx") {
				t.Fatalf("the search does not use the HNSW index, so this test tests nothing:\n%.2000s", plan)
			}
			hits, err := s.SearchChunks(ctx, tc.q)
			must(t, err)
			if len(hits) != len(tc.want) {
				t.Fatalf("SearchChunks returned %d hits, want all %d chunks that pass the filters", len(hits), len(tc.want))
			}
			for i, h := range hits {
				if h.Chunk.ID != tc.want[i].ID {
					t.Fatalf("hit %d is %s:%d of workspace %s, want %s:%d", i, h.Chunk.Path, h.Chunk.StartLine, h.Chunk.WorkspaceID,
						tc.want[i].Path, tc.want[i].StartLine)
				}
			}
		})
	}
}

// TestStore_VectorSearchConformanceThroughHNSW runs the suite's vector-search tests (filters,
// recall under filters) with the planner made to use the HNSW index, so their answers come
// from iterative index scans rather than the exact B-tree path a small table gets.
func TestStore_VectorSearchConformanceThroughHNSW(t *testing.T) {
	storetest.RunVectorSearch(t, func(t *testing.T) domain.Store {
		s, _ := openThroughHNSW(t)
		return s
	})
}

// openThroughHNSW opens a store on a fresh database whose planner answers nearest-neighbour
// queries through the HNSW index: the (workspace_id, path) B-tree is dropped and sequential
// scans are disabled for every connection. It also returns an admin connection with the same
// settings, closed when the test ends.
func openThroughHNSW(t *testing.T) (*postgres.Store, *pgx.Conn) {
	t.Helper()
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
	t.Cleanup(func() { admin.Close(ctx) })
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
	return s, admin
}

// explain returns the plan of query.
func explain(t *testing.T, conn *pgx.Conn, query string, args ...any) string {
	t.Helper()
	rows, err := conn.Query(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	var plan strings.Builder
	for rows.Next() {
		var line string
		must(t, rows.Scan(&line))
		plan.WriteString(line + "\n")
	}
	must(t, rows.Err())
	return plan.String()
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

// TestStore_SelectiveText checks that full-text search ranks by a query's selective terms
// when its common ones would make it visit too many chunks (domain.SelectiveTerms): a term in
// every chunk adds nothing to the ranking, and leaving it out keeps search fast at any size.
// The term counts come from the planner's statistics, brought up to date by ANALYZE.
func TestStore_SelectiveText(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	s, err := postgres.Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	u := &domain.User{ID: domain.NewID(), Email: "selective@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateUser(ctx, u))
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateWorkspace(ctx, w))
	put := func(path, symbol, content string) {
		emb := make([]float32, domain.EmbeddingDims)
		emb[0] = 1
		c := &domain.Chunk{ID: domain.NewID(), Path: path, FileVersion: 1, StartLine: 1, EndLine: 2, Language: domain.LanguageOf(path),
			Symbol: symbol, Content: content, ContentHash: domain.HashContent([]byte(content)), Embedding: emb}
		must(t, s.ReplaceChunks(ctx, w.ID, path, []*domain.Chunk{c}))
	}
	for i := range 150 {
		put(fmt.Sprintf("filler/f%03d.txt", i), "", "common filler words")
	}
	var rare []string
	for i := range 3 {
		p := fmt.Sprintf("rare/r%d.txt", i)
		rare = append(rare, p)
		put(p, "", "common rare words")
	}
	put("common.go", "commonWords", "func commonWords() {}")
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "ANALYZE rag_chunks"); err != nil {
		t.Fatal(err)
	}
	postgres.SetTextPostingBudget(s, 100)

	search := func(text string) []string {
		t.Helper()
		hits, err := s.SearchChunksText(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Text: text, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		var paths []string
		for _, h := range hits {
			paths = append(paths, h.Chunk.Path)
		}
		return paths
	}
	// "common" and "words" are in every chunk: the ranking is by "rare" alone.
	if got := search("common rare words"); !slices.Equal(slices.Sorted(slices.Values(got)), rare) {
		t.Fatalf("common rare words: %v, want only the chunks with the rare word, %v", got, rare)
	}
	// Every term is common: the rarest one still finds chunks.
	if got := search("common words"); len(got) != 10 {
		t.Fatalf("common words: %v, want 10 hits", got)
	}
	// A symbol that has every term comes first however common its terms are.
	if got := search("commonWords"); len(got) == 0 || got[0] != "common.go" {
		t.Fatalf("commonWords: %v, want common.go first", got)
	}
}

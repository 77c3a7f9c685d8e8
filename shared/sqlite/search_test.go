package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/vibecode/vibecode/shared/domain"
)

func TestMatchGlob(t *testing.T) {
	tests := []struct {
		pattern, name string
		want          bool
	}{
		{"", "", true},
		{"", "a", false},
		{"*", "", true},
		{"*", "src/a/b.go", true},
		{"src/*.go", "src/a/b.go", true},
		{"src/*.go", "src/b.go", true},
		{"src/*.go", "src/b.go.txt", false},
		{"*_test.go", "x/y_test.go", true},
		{"*_test.go", "x/ytest.go", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"a?c", "aüc", true},
		{"ü?", "üx", true},
		{"*.go", "a.GO", false},
		{"a*b*c", "aXXbYYbZZc", true},
		{"a*b*c", "aXXbYYbZZ", false},
		{"**", "x", true},
		{"a**", "a", true},
		{"[ab]", "a", false},
		{"[ab]", "[ab]", true},
		{"100%", "100%", true},
		{"100%", "1000", false},
		{`a\b`, `a\b`, true},
		{"*x", "abcx", true},
		{"?*?", "a", false},
		{"?*?", "ab", true},
	}
	for _, tc := range tests {
		if got := matchGlob(tc.pattern, tc.name); got != tc.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", tc.pattern, tc.name, got, tc.want)
		}
	}
}

func TestParseTextQuery(t *testing.T) {
	q, ok := parseTextQuery(`parseChunk`)
	if !ok || !slices.Equal(q.terms, []string{"parsechunk", "parse", "chunk"}) || q.identifier != " parsechunk " {
		t.Fatalf("parseTextQuery(parseChunk) = %+v, %v", q, ok)
	}
	q, ok = parseTextQuery(`serve the HTTP "serve"`)
	if !ok || !slices.Equal(q.terms, []string{"serve", "the", "http"}) || q.identifier != "" {
		t.Fatalf("parseTextQuery(phrase) = %+v, %v", q, ok)
	}
	for _, text := range []string{"", " ", "+-*/", "a b c"} {
		if _, ok := parseTextQuery(text); ok {
			t.Errorf("parseTextQuery(%q) has terms", text)
		}
	}
	long := ""
	for i := range 100 {
		long += fmt.Sprintf("word%d ", i)
	}
	q, _ = parseTextQuery(long + long)
	if len(q.terms) != maxQueryTerms || q.terms[0] != "word0" {
		t.Fatalf("a long query searches %d terms (%v), want the first %d", len(q.terms), q.terms, maxQueryTerms)
	}
}

func TestVectorIndex_FilteredSearchMatchesBruteForce(t *testing.T) {
	const dims, n = 32, 3000
	r := rand.New(rand.NewPCG(9, 10))
	x := newVectorIndex(dims)
	var ids, keptIDs []string
	var vecs, keptVecs [][]float32
	var metas []chunkMeta
	for i := range n {
		m := chunkMeta{path: fmt.Sprintf("dir%d/f%d.go", i%7, i), language: "go"}
		if i%5 == 0 {
			m.language = "python"
		}
		id, v := fmt.Sprint("c", i), randomVec(r, dims)
		ids, vecs, metas = append(ids, id), append(vecs, v), append(metas, m)
		if m.language == "python" && matchGlob("dir3/*", m.path) {
			keptIDs, keptVecs = append(keptIDs, id), append(keptVecs, v)
		}
	}
	x.add("ws", ids, metas, vecs)
	keep := queryFilter(domain.ChunkQuery{PathGlob: "dir3/*", Language: "python"})
	for _, k := range []int{1, 10, len(keptIDs) + 5} {
		q := randomVec(r, dims)
		got := x.search("ws", q, k, keep)
		want := bruteForce(keptIDs, keptVecs, q, k)
		if len(got) != len(want) {
			t.Fatalf("k=%d: %d hits, want %d", k, len(got), len(want))
		}
		for i := range got {
			if got[i].id != want[i].id {
				t.Fatalf("k=%d hit %d = %s, want %s", k, i, got[i].id, want[i].id)
			}
		}
	}
	// Removing a row moves the last row's meta with its vector.
	x.remove("ws", keptIDs[:1])
	if got := x.search("ws", randomVec(r, dims), n, keep); len(got) != len(keptIDs)-1 {
		t.Fatalf("after remove: %d hits, want %d", len(got), len(keptIDs)-1)
	}
}

// TestOpen_BackfillsSearchFields upgrades a database holding chunks from before full-text
// search (schema version 1): Open must fill their term columns and index them.
func TestOpen_BackfillsSearchFields(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName), false))
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys, goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(backfillMigration), goose.WithLogger(goose.NopLogger()))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	emb := make([]float32, domain.EmbeddingDims)
	emb[3] = 1
	for _, q := range []string{
		`INSERT INTO users (id, email, role, created_at, updated_at) VALUES ('u', 'u@example.com', 'user', '', '')`,
		`INSERT INTO workspaces (id, owner_id, name, created_at, updated_at) VALUES ('w', 'u', 'w', '', '')`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 3 {
		_, err := db.ExecContext(ctx, `INSERT INTO rag_chunks (id, workspace_id, path, file_version, start_line, end_line, language,
			symbol, content, content_hash, embedding) VALUES (?, 'w', ?, 1, 1, 2, 'go', ?, ?, ?, ?)`,
			fmt.Sprint("c", i), fmt.Sprintf("pkg/f%d.go", i), fmt.Sprintf("parseChunk%d", i), fmt.Sprintf("return max_retry_count + %d", i),
			fmt.Sprint("h", i), encodeEmbedding(emb))
		if err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	s, err := Open(ctx, dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, text := range []string{"parseChunk1", "retry", "pkg"} {
		hits, err := s.SearchChunksText(ctx, domain.ChunkQuery{WorkspaceID: "w", Text: text, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) == 0 || (text == "parseChunk1" && hits[0].Chunk.ID != "c1") {
			t.Fatalf("%q after the upgrade: %d hits", text, len(hits))
		}
	}
	hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: "w", Vector: emb, Limit: 10, PathGlob: "pkg/f2.go"})
	if err != nil || len(hits) != 1 || hits[0].Chunk.ID != "c2" {
		t.Fatalf("vector search after the upgrade = %v, %v", hits, err)
	}
	// The text index agrees with the table, and stays so through a replace.
	checkTextIndex(t, s, "after the upgrade")
	if err := s.ReplaceChunks(ctx, "w", "pkg/f0.go", nil); err != nil {
		t.Fatal(err)
	}
	checkTextIndex(t, s, "after a replace")
}

// checkTextIndex fails unless the in-process text index holds exactly the chunks of the
// database, by workspace.
func checkTextIndex(t *testing.T, s *Store, when string) {
	t.Helper()
	rows, err := s.rdb.Query(`SELECT workspace_id, id FROM rag_chunks`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]bool{}
	for rows.Next() {
		var ws, id string
		if err := rows.Scan(&ws, &id); err != nil {
			t.Fatal(err)
		}
		if want[ws] == nil {
			want[ws] = map[string]bool{}
		}
		want[ws][id] = true
	}
	rows.Close()
	s.text.mu.RLock()
	defer s.text.mu.RUnlock()
	got := map[string]map[string]bool{}
	for ws, sp := range s.text.spaces {
		got[ws] = map[string]bool{}
		for id, r := range sp.row {
			if sp.ids[r] != id {
				t.Fatalf("%s: row %d of %s is %q", when, r, id, sp.ids[r])
			}
			got[ws][id] = true
		}
		if len(sp.row) != sp.live {
			t.Fatalf("%s: workspace %s has %d rows, counts %d live", when, ws, len(sp.row), sp.live)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: text index holds %v, database %v", when, got, want)
	}
}

// TestStore_TextIndexIntegrity checks that the in-process text index matches the table after
// every kind of chunk removal, the cascade included.
func TestStore_TextIndexIntegrity(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	check := func(when string) {
		t.Helper()
		checkTextIndex(t, s, when)
	}
	now := time.Now()
	if err := s.CreateUser(ctx, &domain.User{ID: "u", Email: "i@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"w1", "w2"} {
		if err := s.CreateWorkspace(ctx, &domain.Workspace{ID: w, OwnerID: "u", Name: w, CreatedAt: now, UpdatedAt: now}); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"a.go", "b.go"} {
			f := &domain.File{WorkspaceID: w, Path: p, Hash: "h", Language: "go", ModifiedAt: now}
			if _, err := s.PutFile(ctx, f, []byte("x"), domain.PutOptions{}); err != nil {
				t.Fatal(err)
			}
			emb := make([]float32, domain.EmbeddingDims)
			emb[0] = 1
			chunks := []*domain.Chunk{{Path: p, Symbol: "parseChunk", Content: "func parseChunk() {}", Embedding: emb},
				{Path: p, Symbol: "max_retry", Content: "max_retry = 3", Embedding: emb}}
			if err := s.ReplaceChunks(ctx, w, p, chunks); err != nil {
				t.Fatal(err)
			}
		}
	}
	check("after inserts")
	if err := s.ReplaceChunks(ctx, "w1", "a.go", nil); err != nil {
		t.Fatal(err)
	}
	check("after replace")
	if err := s.DeleteFile(ctx, "w1", "b.go", domain.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	check("after DeleteFile")
	if err := s.DeleteChunks(ctx, "w2", "a.go"); err != nil {
		t.Fatal(err)
	}
	check("after DeleteChunks")
	if err := s.DeleteWorkspace(ctx, "w2"); err != nil {
		t.Fatal(err)
	}
	check("after DeleteWorkspace")
	for _, w := range []string{"w1", "w2"} {
		if hits, err := s.SearchChunksText(ctx, domain.ChunkQuery{WorkspaceID: w, Text: "parse", Limit: 10}); err != nil || len(hits) != 0 {
			t.Fatalf("%s still finds %d chunks, %v", w, len(hits), err)
		}
	}
}

package storetest

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
)

// vsearch runs a vector search and fails the test on error.
func vsearch(t *testing.T, s domain.Store, q domain.ChunkQuery) []domain.ScoredChunk {
	t.Helper()
	hits, err := s.SearchChunks(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchChunks(%+v): %v", q, err)
	}
	return hits
}

// tsearch runs a full-text search and fails the test on error.
func tsearch(t *testing.T, s domain.Store, q domain.ChunkQuery) []domain.ScoredChunk {
	t.Helper()
	hits, err := s.SearchChunksText(context.Background(), q)
	if err != nil {
		t.Fatalf("SearchChunksText(%q): %v", q.Text, err)
	}
	if hits == nil {
		t.Fatalf("SearchChunksText(%q) returned nil, want a (possibly empty) slice", q.Text)
	}
	return hits
}

// hitPaths returns the hits' paths, sorted.
func hitPaths(hits []domain.ScoredChunk) []string {
	var out []string
	for _, h := range hits {
		out = append(out, h.Chunk.Path)
	}
	sort.Strings(out)
	return out
}

// checkDescending fails unless the hits are ordered by score, best first.
func checkDescending(t *testing.T, what string, hits []domain.ScoredChunk) {
	t.Helper()
	for i := 1; i < len(hits); i++ {
		if hits[i].Score > hits[i-1].Score {
			t.Fatalf("%s: hit %d scores %v, above hit %d's %v", what, i, hits[i].Score, i-1, hits[i-1].Score)
		}
	}
}

// textChunk is a chunk for full-text tests: its embedding is irrelevant but valid.
func textChunk(wsID, path, symbol, content string, line int) *domain.Chunk {
	return &domain.Chunk{ID: domain.NewID(), WorkspaceID: wsID, Path: path, FileVersion: 1, StartLine: line, EndLine: line + 1,
		Language: domain.LanguageOf(path), Symbol: symbol, Content: content,
		ContentHash: domain.HashContent([]byte(content)), Embedding: mix(0, 1, 1+line%500, 1)}
}

// testSearchFilters checks the path glob and language filters of both searches: '*' crosses
// '/', '?' is one character, everything else (%, _, [, \) is literal, and paths are
// case-sensitive.
func testSearchFilters(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "filters@example.com")
	w := mkWorkspace(t, s, u, "w")
	other := mkWorkspace(t, s, u, "other")
	paths := []string{
		"src/main.go", "src/util/strings.go", "src/main_test.go", "src/mainxtest.go",
		"web/app.ts", "docs/100%.md", "docs/1000.md", "lit/a[1].go", "lit/a1.go", `esc/a\b.go`, "ünï/cödé.go",
	}
	for i, p := range paths {
		must(t, s.ReplaceChunks(ctx, w.ID, p, []*domain.Chunk{textChunk(w.ID, p, "", "needle in "+p, i+1)}))
	}
	must(t, s.ReplaceChunks(ctx, other.ID, "src/main.go", []*domain.Chunk{textChunk(other.ID, "src/main.go", "", "needle", 1)}))

	tests := []struct {
		glob, lang string
		want       []string
	}{
		{"", "", paths},
		{"src/*.go", "", []string{"src/main.go", "src/main_test.go", "src/mainxtest.go", "src/util/strings.go"}},
		{"*_test.go", "", []string{"src/main_test.go"}},
		{"web/*", "", []string{"web/app.ts"}},
		{"src/main.go", "", []string{"src/main.go"}},
		{"src/main.g?", "", []string{"src/main.go"}},
		{"src/main.?", "", nil},
		{"docs/100%.md", "", []string{"docs/100%.md"}},
		{"lit/a[1].go", "", []string{"lit/a[1].go"}},
		{`esc/a\b.go`, "", []string{`esc/a\b.go`}},
		{"ünï/c?dé.go", "", []string{"ünï/cödé.go"}},
		{"SRC/*", "", nil},
		{"*.GO", "", nil},
		{"*", "typescript", []string{"web/app.ts"}},
		{"", "markdown", []string{"docs/100%.md", "docs/1000.md"}},
		{"src/*", "typescript", nil},
		{"", "cobol", nil},
	}
	for _, tc := range tests {
		want := slices.Clone(tc.want)
		sort.Strings(want)
		q := domain.ChunkQuery{WorkspaceID: w.ID, Limit: 100, PathGlob: tc.glob, Language: tc.lang}
		q.Vector = unit(0)
		if got := hitPaths(vsearch(t, s, q)); !slices.Equal(got, want) {
			t.Errorf("SearchChunks glob %q language %q = %q, want %q", tc.glob, tc.lang, got, want)
		}
		q.Vector, q.Text = nil, "needle"
		if got := hitPaths(tsearch(t, s, q)); !slices.Equal(got, want) {
			t.Errorf("SearchChunksText glob %q language %q = %q, want %q", tc.glob, tc.lang, got, want)
		}
	}

	// A limit below 1 returns nothing, and so does a workspace without chunks.
	for _, limit := range []int{0, -1} {
		if hits := vsearch(t, s, domain.ChunkQuery{WorkspaceID: w.ID, Vector: unit(0), Limit: limit}); len(hits) != 0 {
			t.Errorf("SearchChunks limit %d returned %d hits", limit, len(hits))
		}
		if hits := tsearch(t, s, domain.ChunkQuery{WorkspaceID: w.ID, Text: "needle", Limit: limit}); len(hits) != 0 {
			t.Errorf("SearchChunksText limit %d returned %d hits", limit, len(hits))
		}
	}
	_, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: []float32{1, 2, 3}, Limit: 5})
	wantCode(t, err, domain.EINVALID)
}

// testSearchFilterRecall checks that a filter costs no recall: when most of a workspace's chunks
// (and all of another, bigger workspace's) are nearer to the query than the ones the filter
// keeps, every kept chunk still comes back when the limit covers them, best first. On
// PostgreSQL that takes an iterative index scan; with post-filtering of the first ef_search
// candidates it would return few or none.
func testSearchFilterRecall(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "recall@example.com")
	a := mkWorkspace(t, s, u, "a")
	b := mkWorkspace(t, s, u, "b")
	rng := rand.New(rand.NewPCG(7, 11))
	near := func() []float32 { // close to the query e_0
		v := make([]float32, domain.EmbeddingDims)
		for i := range v {
			v[i] = rng.Float32() * 0.05
		}
		v[0] = 1
		return v
	}
	// Workspace b: 800 chunks near the query, in 8 files.
	for f := range 8 {
		path := fmt.Sprintf("b/f%02d.go", f)
		var chunks []*domain.Chunk
		for i := range 100 {
			chunks = append(chunks, mkChunk(b.ID, path, i, near()))
		}
		must(t, s.ReplaceChunks(ctx, b.ID, path, chunks))
	}
	// Workspace a: 180 chunks near the query that the filter drops, 20 farther ones it keeps,
	// kept chunk i less similar than kept chunk i-1.
	var keep []*domain.Chunk
	for f := range 6 {
		path := fmt.Sprintf("skip/f%d.py", f)
		var drop []*domain.Chunk
		for i := range 30 {
			drop = append(drop, mkChunk(a.ID, path, i, near()))
		}
		must(t, s.ReplaceChunks(ctx, a.ID, path, drop))
	}
	for f := range 4 {
		path := fmt.Sprintf("keep/f%d.go", f)
		var chunks []*domain.Chunk
		for i := range 5 {
			n := len(keep)
			c := mkChunk(a.ID, path, i, mix(0, 0.5-0.02*float64(n), 100+n, 0.5))
			keep = append(keep, c)
			chunks = append(chunks, c)
		}
		must(t, s.ReplaceChunks(ctx, a.ID, path, chunks))
	}

	for _, q := range []domain.ChunkQuery{
		{WorkspaceID: a.ID, Vector: unit(0), Limit: 50, PathGlob: "keep/*"},
		{WorkspaceID: a.ID, Vector: unit(0), Limit: 20, Language: "go"},
		{WorkspaceID: a.ID, Vector: unit(0), Limit: 5, PathGlob: "*.go", Language: "go"},
	} {
		hits := vsearch(t, s, q)
		want := min(q.Limit, len(keep))
		if len(hits) != want {
			t.Fatalf("glob %q language %q limit %d: %d hits, want %d", q.PathGlob, q.Language, q.Limit, len(hits), want)
		}
		for i, h := range hits {
			if h.Chunk.ID != keep[i].ID {
				t.Fatalf("glob %q language %q: hit %d is %s:%d (score %v), want %s:%d", q.PathGlob, q.Language, i,
					h.Chunk.Path, h.Chunk.StartLine, h.Score, keep[i].Path, keep[i].StartLine)
			}
		}
		checkDescending(t, "filtered search", hits)
	}
	// Without a filter the near chunks win.
	hits := vsearch(t, s, domain.ChunkQuery{WorkspaceID: a.ID, Vector: unit(0), Limit: 10})
	for _, h := range hits {
		if !strings.HasPrefix(h.Chunk.Path, "skip/") {
			t.Fatalf("unfiltered search returned %s among the 10 nearest", h.Chunk.Path)
		}
	}
}

// testSearchText checks full-text search: identifiers match whole and by their parts, a
// typed identifier ranks its definition first, workspaces are isolated, and queries without
// terms or full of query syntax are harmless.
func testSearchText(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "text@example.com")
	w := mkWorkspace(t, s, u, "w")
	other := mkWorkspace(t, s, u, "other")

	def := textChunk(w.ID, "internal/parse/chunk.go", "parseChunk",
		"func parseChunk(data []byte) (*Chunk, error) {\n\treturn decode(data)\n}", 10)
	// A caller that says parseChunk far more often than the definition does.
	caller := textChunk(w.ID, "cmd/main.go", "main", "func main() {\n"+strings.Repeat("\tparseChunk(input)\n", 40)+"}", 1)
	// Decoys whose symbols share parts or a prefix with parseChunk.
	header := textChunk(w.ID, "internal/parse/header.go", "parseChunkHeader",
		"func parseChunkHeader(b []byte) Header {\n"+strings.Repeat("\t// parseChunk parse chunk\n", 20)+"}", 1)
	plural := textChunk(w.ID, "internal/parse/chunks.go", "Parser.parseChunks", "func (p *Parser) parseChunks() { p.parseChunk() }", 1)
	snake := textChunk(w.ID, "lib/retry.py", "max_retry_count", "max_retry_count = 3\nretries = max_retry_count", 1)
	serve := textChunk(w.ID, "server/http.go", "Server.ServeHTTP",
		"func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {\n\ts.handler.ServeHTTP(w, r)\n}", 30)
	must(t, s.ReplaceChunks(ctx, w.ID, def.Path, []*domain.Chunk{def}))
	must(t, s.ReplaceChunks(ctx, w.ID, caller.Path, []*domain.Chunk{caller}))
	must(t, s.ReplaceChunks(ctx, w.ID, header.Path, []*domain.Chunk{header}))
	must(t, s.ReplaceChunks(ctx, w.ID, plural.Path, []*domain.Chunk{plural}))
	must(t, s.ReplaceChunks(ctx, w.ID, snake.Path, []*domain.Chunk{snake}))
	must(t, s.ReplaceChunks(ctx, w.ID, serve.Path, []*domain.Chunk{serve}))
	// Another workspace has the same definition and a chunk only it contains.
	otherDef := textChunk(other.ID, def.Path, def.Symbol, def.Content, def.StartLine)
	must(t, s.ReplaceChunks(ctx, other.ID, def.Path, []*domain.Chunk{otherDef}))
	must(t, s.ReplaceChunks(ctx, other.ID, "notes.txt", []*domain.Chunk{textChunk(other.ID, "notes.txt", "", "secretword", 1)}))

	search := func(text string, limit int) []domain.ScoredChunk {
		t.Helper()
		hits := tsearch(t, s, domain.ChunkQuery{WorkspaceID: w.ID, Text: text, Limit: limit})
		checkDescending(t, text, hits)
		for _, h := range hits {
			if h.Chunk.WorkspaceID != w.ID || h.Chunk.ID == otherDef.ID {
				t.Fatalf("%q returned a chunk of another workspace", text)
			}
		}
		return hits
	}
	first := func(text string, want *domain.Chunk) {
		t.Helper()
		hits := search(text, 10)
		if len(hits) == 0 || hits[0].Chunk.ID != want.ID {
			var got []string
			for _, h := range hits {
				got = append(got, fmt.Sprintf("%s(%.3f)", h.Chunk.Symbol, h.Score))
			}
			t.Fatalf("%q ranks %v, want %s first", text, got, want.Symbol)
		}
	}
	has := func(text string, want ...*domain.Chunk) {
		t.Helper()
		hits := search(text, 100)
		for _, c := range want {
			if !slices.ContainsFunc(hits, func(h domain.ScoredChunk) bool { return h.Chunk.ID == c.ID }) {
				t.Fatalf("%q does not find %s (%d hits)", text, c.Symbol, len(hits))
			}
		}
	}

	// Exact identifiers rank their definition first, however often others mention them.
	first("parseChunk", def)
	first("parsechunk", def)
	first("parseChunkHeader", header)
	first("parseChunks", plural)
	first("ServeHTTP", serve)
	first("Server.ServeHTTP", serve)
	first("max_retry_count", snake)
	first("maxRetryCount", snake)
	// Parts of identifiers match, and the chunk whose symbol has every word ranks first.
	has("parse", def, caller, header, plural)
	has("chunk", def, header)
	has("retry", snake)
	has("http", serve)
	first("serve http", serve)
	first("retry count", snake)
	// Words of the path match too.
	has("internal", def, header, plural)

	hits := search("parseChunk", 10)
	c := hits[0].Chunk
	if c.Path != def.Path || c.StartLine != def.StartLine || c.EndLine != def.EndLine || c.Language != "go" ||
		c.Symbol != def.Symbol || c.Content != def.Content || c.ContentHash != def.ContentHash || c.FileVersion != 1 {
		t.Fatalf("hit fields = %+v", c)
	}
	if len(search("parseChunk", 1)) != 1 {
		t.Fatal("limit 1 returned more or fewer than 1 hit")
	}

	// Filters apply to text search too.
	hits = tsearch(t, s, domain.ChunkQuery{WorkspaceID: w.ID, Text: "parseChunk", Limit: 10, PathGlob: "cmd/*"})
	if len(hits) != 1 || hits[0].Chunk.ID != caller.ID {
		t.Fatalf("parseChunk in cmd/* = %v, want the caller", hitPaths(hits))
	}
	hits = tsearch(t, s, domain.ChunkQuery{WorkspaceID: w.ID, Text: "retry", Limit: 10, Language: "go"})
	if len(hits) != 0 {
		t.Fatalf("retry in go files = %v, want none", hitPaths(hits))
	}

	// Workspaces are isolated.
	if hits := search("secretword", 10); len(hits) != 0 {
		t.Fatalf("another workspace's chunk found: %v", hitPaths(hits))
	}
	hits = tsearch(t, s, domain.ChunkQuery{WorkspaceID: other.ID, Text: "parseChunk", Limit: 10})
	if len(hits) != 1 || hits[0].Chunk.ID != otherDef.ID {
		t.Fatalf("parseChunk in the other workspace = %d hits", len(hits))
	}

	// Queries without terms, unknown words and query syntax return nothing, never an error.
	for _, q := range []string{"", "   ", "!!! ++ --", "a", "zzzunknownword"} {
		if hits := search(q, 10); len(hits) != 0 {
			t.Fatalf("%q returned %d hits, want none", q, len(hits))
		}
	}
	for _, q := range []string{`"parse" OR NOT chunk* NEAR(a b)`, `parse & !chunk | (x:*`, `'; DROP TABLE rag_chunks; --`,
		`{symbol_terms}: parse`, `parse\ chunk''"`, "parse\x00chunk", "parse\xffchunk", "parseChunk\x00"} {
		search(q, 10)
	}
}

// testTextIndexFollowsChunks checks that full-text search sees exactly the current chunks
// after replace, delete, file delete and workspace delete.
func testTextIndexFollowsChunks(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "sync@example.com")
	w := mkWorkspace(t, s, u, "w")
	keep := mkWorkspace(t, s, u, "keep")
	count := func(ws *domain.Workspace, word string) int {
		t.Helper()
		return len(tsearch(t, s, domain.ChunkQuery{WorkspaceID: ws.ID, Text: word, Limit: 100}))
	}
	expect := func(ws *domain.Workspace, word string, want int) {
		t.Helper()
		if got := count(ws, word); got != want {
			t.Fatalf("%q in %s: %d hits, want %d", word, ws.Name, got, want)
		}
	}

	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{
		textChunk(w.ID, "a.go", "", "alphaword one", 1), textChunk(w.ID, "a.go", "", "alphaword two", 20)}))
	must(t, s.ReplaceChunks(ctx, w.ID, "b.go", []*domain.Chunk{textChunk(w.ID, "b.go", "", "alphaword three", 1)}))
	expect(w, "alphaword", 3)
	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{textChunk(w.ID, "a.go", "", "betaword", 1)}))
	expect(w, "alphaword", 1)
	expect(w, "betaword", 1)
	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", nil))
	expect(w, "betaword", 0)
	must(t, s.DeleteChunks(ctx, w.ID, "b.go"))
	expect(w, "alphaword", 0)

	_, _, err := putFile(t, s, w.ID, "c.go", "package c", domain.PutOptions{})
	must(t, err)
	must(t, s.ReplaceChunks(ctx, w.ID, "c.go", []*domain.Chunk{textChunk(w.ID, "c.go", "", "gammaword", 1)}))
	expect(w, "gammaword", 1)
	must(t, s.DeleteFile(ctx, w.ID, "c.go", domain.PutOptions{}))
	expect(w, "gammaword", 0)

	for _, ws := range []*domain.Workspace{w, keep} {
		must(t, s.ReplaceChunks(ctx, ws.ID, "d.go", []*domain.Chunk{textChunk(ws.ID, "d.go", "", "deltaword", 1)}))
	}
	must(t, s.DeleteWorkspace(ctx, w.ID))
	expect(w, "deltaword", 0)
	expect(keep, "deltaword", 1)

	// The index is still consistent: new chunks are found, replaced ones are not.
	must(t, s.ReplaceChunks(ctx, keep.ID, "e.go", []*domain.Chunk{textChunk(keep.ID, "e.go", "", "epsilonword deltaword", 1)}))
	expect(keep, "deltaword", 2)
	must(t, s.ReplaceChunks(ctx, keep.ID, "d.go", []*domain.Chunk{textChunk(keep.ID, "d.go", "", "zetaword", 1)}))
	expect(keep, "deltaword", 1)
	expect(keep, "zetaword", 1)
}

// testChunkEmbeddings checks that a file's stored embeddings come back by content hash.
func testChunkEmbeddings(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "emb@example.com")
	w := mkWorkspace(t, s, u, "w")
	other := mkWorkspace(t, s, u, "other")
	c1 := mkChunk(w.ID, "a.go", 1, mix(0, 0.3, 5, 0.7))
	c2 := mkChunk(w.ID, "a.go", 20, unit(9))
	c2.Embedding[100] = -0.125
	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{c1, c2}))
	must(t, s.ReplaceChunks(ctx, w.ID, "b.go", []*domain.Chunk{mkChunk(w.ID, "b.go", 1, unit(3))}))
	must(t, s.ReplaceChunks(ctx, other.ID, "a.go", []*domain.Chunk{mkChunk(other.ID, "a.go", 7, unit(4))}))

	got, err := s.ChunkEmbeddings(ctx, w.ID, "a.go")
	must(t, err)
	if len(got) != 2 {
		t.Fatalf("ChunkEmbeddings = %d entries, want 2", len(got))
	}
	for _, c := range []*domain.Chunk{c1, c2} {
		e, ok := got[c.ContentHash]
		if !ok || len(e) != domain.EmbeddingDims {
			t.Fatalf("no %d-dim embedding for hash %s", domain.EmbeddingDims, c.ContentHash)
		}
		for i := range e {
			if math.Abs(float64(e[i]-c.Embedding[i])) > 1e-6 {
				t.Fatalf("embedding[%d] = %v, want %v (stored as given, not normalised)", i, e[i], c.Embedding[i])
			}
		}
	}
	for _, tc := range []struct{ ws, path string }{{w.ID, "missing.go"}, {other.ID, "b.go"}, {"missing", "a.go"}} {
		got, err := s.ChunkEmbeddings(ctx, tc.ws, tc.path)
		must(t, err)
		if got == nil || len(got) != 0 {
			t.Fatalf("ChunkEmbeddings(%s) = %v, want an empty map", tc.path, got)
		}
	}
	must(t, s.DeleteChunks(ctx, w.ID, "a.go"))
	got, err = s.ChunkEmbeddings(ctx, w.ID, "a.go")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("ChunkEmbeddings after delete = %d entries", len(got))
	}
}

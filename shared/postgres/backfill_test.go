package postgres

import (
	"context"
	"fmt"
	"io/fs"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/testserver"
)

func TestTermVector(t *testing.T) {
	tsv := termVector(
		weightedTerms{[]string{"parsechunk", "parse", "chunk"}, pgtype.TSVectorWeightA},
		weightedTerms{[]string{"chunk", "go"}, pgtype.TSVectorWeightB},
		weightedTerms{[]string{"it's", `a\b`}, pgtype.TSVectorWeightD},
	)
	if got, want := tsv.String(), `'a\\b':7 'chunk':3A,4B 'go':5B 'it\'s':6 'parse':2A 'parsechunk':1A`; got != want {
		t.Fatalf("termVector = %s, want %s", got, want)
	}
	// Past the last position terms are still indexed, without positions; no lexeme has more
	// than 256 positions.
	many := make([]string, maxTSPosition+10)
	for i := range many {
		many[i] = "w"
	}
	tsv = termVector(weightedTerms{append(many, "late"), pgtype.TSVectorWeightD})
	if len(tsv.Lexemes) != 2 || tsv.Lexemes[0].Word != "late" || len(tsv.Lexemes[0].Positions) != 0 ||
		len(tsv.Lexemes[1].Positions) != maxLexemePositions {
		t.Fatalf("long termVector = %d lexemes", len(tsv.Lexemes))
	}
}

func TestParseTextQuery(t *testing.T) {
	q, ok := parseTextQuery("parseChunk")
	if !ok || anyLexeme(q.terms) != `'parsechunk' | 'parse' | 'chunk'` || q.allSymbol != `'parsechunk':A & 'parse':A & 'chunk':A` ||
		q.identifier != " parsechunk " {
		t.Fatalf("parseTextQuery(parseChunk) = %+v, %v", q, ok)
	}
	if q, _ := parseTextQuery("serve http"); q.identifier != "" || anyLexeme(q.terms) != `'serve' | 'http'` {
		t.Fatalf("parseTextQuery(serve http) = %+v", q)
	}
	for _, text := range []string{"", "  ", "!&|:*", "a"} {
		if _, ok := parseTextQuery(text); ok {
			t.Errorf("parseTextQuery(%q) has terms", text)
		}
	}
	if q, _ := parseTextQuery(strings.Repeat("word ", 5) + strings.Repeat("x1 x2 x3 x4 x5 x6 x7 x8 x9 ", 10)); strings.Count(anyLexeme(q.terms), "|") != 9 {
		t.Fatalf("distinct terms: %s", anyLexeme(q.terms))
	}
}

func TestGlobToLike(t *testing.T) {
	for glob, want := range map[string]string{
		"src/*.go":    "src/%.go",
		"a?c":         "a_c",
		"*_test.go":   `%\_test.go`,
		"100%":        `100\%`,
		`a\b`:         `a\\b`,
		"[x]":         "[x]",
		"ünï/c?dé.go": "ünï/c_dé.go",
	} {
		if got := globToLike(glob); got != want {
			t.Errorf("globToLike(%q) = %q, want %q", glob, got, want)
		}
	}
}

// TestOpen_BackfillsSearchFields upgrades a database holding chunks from before full-text
// search (schema version 1): Open must compute their full-text fields.
func TestOpen_BackfillsSearchFields(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys, goose.WithDisableGlobalRegistry(true), goose.WithGoMigrations(backfillMigration))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	emb := make([]string, domain.EmbeddingDims)
	for i := range emb {
		emb[i] = "0"
	}
	emb[3] = "1"
	for _, q := range []string{
		`INSERT INTO users (id, email, role, created_at, updated_at) VALUES ('u', 'u@example.com', 'user', now(), now())`,
		`INSERT INTO workspaces (id, owner_id, name, created_at, updated_at) VALUES ('w', 'u', 'w', now(), now())`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	// More chunks than one backfill batch.
	for i := range backfillBatch + 3 {
		_, err := db.ExecContext(ctx, `INSERT INTO rag_chunks (id, workspace_id, path, file_version, start_line, end_line, language,
			symbol, content, content_hash, embedding) VALUES ($1, 'w', $2, 1, 1, 2, 'go', $3, $4, $5, $6::text::vector)`,
			fmt.Sprintf("c%04d", i), fmt.Sprintf("pkg/f%d.go", i), fmt.Sprintf("parseChunk%d", i), fmt.Sprintf("return max_retry_count + %d", i),
			fmt.Sprint("h", i), "["+strings.Join(emb, ",")+"]")
		if err != nil {
			t.Fatal(err)
		}
	}

	s, err := Open(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for text, want := range map[string]int{"parseChunk501": 1, "retry": backfillBatch + 3, "pkg": backfillBatch + 3} {
		hits, err := s.SearchChunksText(ctx, domain.ChunkQuery{WorkspaceID: "w", Text: text, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(hits) < want || (want == 1 && hits[0].Chunk.ID != "c0501") {
			t.Fatalf("%q after the upgrade: %d hits, want %d", text, len(hits), want)
		}
	}
}

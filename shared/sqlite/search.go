package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// Full-text search.
//
// Each chunk stores domain.Terms of its symbol, path and content as space-separated text
// (symbol_terms, path_terms, content_terms), indexed by the FTS5 table rag_chunks_fts, whose
// tokenizer splits at spaces only: the index holds exactly the terms domain.Terms makes of a
// query, so camelCase and snake_case parts match. Queries are an OR of quoted terms, so no
// query text is ever read as FTS5 syntax.
//
// A hit's score is tier + r/(r+1), where r is the negated bm25 (symbol terms weighted
// bm25Symbol, path terms bm25Path, content 1), mapped into [0, 1); the tier puts symbol
// matches first — 2 when the query is an identifier the chunk's symbol declares
// (symbolNames), 1 when every query term is among the symbol's terms, 0 otherwise.

// maxQueryTerms bounds how many distinct terms of a query are searched for; a pasted page of
// text would otherwise make a query with hundreds of alternatives.
const maxQueryTerms = 32

// bm25 column weights of rag_chunks_fts: a term in the symbol counts as much as bm25Symbol
// occurrences in the content, one in the path as bm25Path.
const (
	bm25Symbol = 8.0
	bm25Path   = 3.0
)

// searchFields are what the full-text search stores for a chunk.
type searchFields struct {
	names, symbol, path, content string
}

// chunkSearchFields computes a chunk's searchFields.
func chunkSearchFields(symbol, path, content string) searchFields {
	return searchFields{
		names:   symbolNames(symbol),
		symbol:  strings.Join(domain.Terms(symbol), " "),
		path:    strings.Join(domain.Terms(path), " "),
		content: strings.Join(domain.Terms(content), " "),
	}
}

// symbolNames returns the names a chunk's symbol declares, lower-cased and space-separated with
// a space at both ends: every comma-separated name whole and each of its qualified suffixes, so
// "Server.Handle, parse" gives " server.handle handle parse ". A query that is one of them is
// the identifier the chunk defines. Names containing spaces cannot be typed as one identifier
// and are left out.
func symbolNames(symbol string) string {
	var names []string
	add := func(n string) {
		if n != "" && !strings.ContainsFunc(n, unicode.IsSpace) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, name := range strings.Split(strings.ToLower(symbol), ",") {
		name = strings.TrimSpace(name)
		add(name)
		for i := 0; i < len(name); i++ {
			switch {
			case name[i] == '.':
				add(name[i+1:])
			case strings.HasPrefix(name[i:], "::"):
				add(name[i+2:])
				i++
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " " + strings.Join(names, " ") + " "
}

// textQuery is a full-text query in the forms the SQL needs.
type textQuery struct {
	match      string // FTS5 query matching chunks with any of the terms: "a" OR "b"
	terms      string // the terms as a JSON array, for the symbol tier
	identifier string // " name " when the query is one identifier, else ""
}

// parseTextQuery turns the user's text into a textQuery; ok is false when the text has no
// terms, which matches nothing.
func parseTextQuery(text string) (q textQuery, ok bool) {
	var terms []string
	for _, t := range domain.Terms(text) {
		if !slices.Contains(terms, t) {
			terms = append(terms, t)
		}
		if len(terms) == maxQueryTerms {
			break
		}
	}
	if len(terms) == 0 {
		return textQuery{}, false
	}
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = `"` + strings.ReplaceAll(t, `"`, `""`) + `"`
	}
	js, _ := json.Marshal(terms) // strings always marshal
	q = textQuery{match: strings.Join(quoted, " OR "), terms: string(js)}
	if id := strings.ToLower(strings.TrimSpace(text)); utf8.ValidString(id) && !strings.ContainsFunc(id, notInIdentifier) {
		q.identifier = " " + id + " "
	}
	return q, true
}

// notInIdentifier reports whether r cannot be part of a typed identifier.
func notInIdentifier(r rune) bool {
	return unicode.IsSpace(r) || unicode.IsControl(r)
}

// globToSQLite translates a domain.ChunkQuery path glob into an SQLite GLOB pattern, which is
// case-sensitive like paths (LIKE is not): '*' and '?' mean the same there, and '[', GLOB's
// only other metacharacter, is escaped as "[[]".
func globToSQLite(glob string) string {
	return strings.ReplaceAll(glob, "[", "[[]")
}

// matchGlob reports whether name matches a domain.ChunkQuery path glob: '*' matches any run
// of characters including '/', '?' exactly one character, anything else itself.
func matchGlob(pattern, name string) bool {
	// Iterative matching with one backtrack point, the last '*': linear for typical patterns.
	p, n := 0, 0
	starP, starN := -1, 0
	for n < len(name) {
		if p < len(pattern) {
			switch pc, size := utf8.DecodeRuneInString(pattern[p:]); pc {
			case '*':
				starP, starN = p, n
				p += size
				continue
			case '?':
				_, nsize := utf8.DecodeRuneInString(name[n:])
				p, n = p+size, n+nsize
				continue
			default:
				nc, nsize := utf8.DecodeRuneInString(name[n:])
				if pc == nc && pattern[p:p+size] == name[n:n+nsize] {
					p, n = p+size, n+nsize
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		// Let the last '*' absorb one more character and retry after it.
		_, nsize := utf8.DecodeRuneInString(name[starN:])
		starN += nsize
		p, n = starP+1, starN
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}

// vectorFilter returns the in-process form of q's filters, nil when there are none.
func vectorFilter(q domain.ChunkQuery) chunkFilter {
	if q.PathGlob == "" && q.Language == "" {
		return nil
	}
	return func(m chunkMeta) bool {
		return (q.Language == "" || m.language == q.Language) && (q.PathGlob == "" || matchGlob(q.PathGlob, m.path))
	}
}

// SearchChunksText returns up to q.Limit chunks of the workspace that contain any term of
// q.Text (domain.Terms, so identifiers match whole and by their parts), best first. The
// score is tier + rank: 2 when the query is an identifier the chunk's symbol declares, 1
// when the symbol contains every query term, 0 otherwise, plus the bm25 relevance mapped
// into [0, 1). A query without terms, or a limit below 1, returns no hits.
func (s *Store) SearchChunksText(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	tq, ok := parseTextQuery(q.Text)
	if !ok || q.Limit <= 0 {
		return []domain.ScoredChunk{}, nil
	}
	// Parameters are numbered: ?1 and ?2 are used twice.
	args := []any{tq.identifier, tq.terms, tq.match, q.WorkspaceID}
	var filters strings.Builder
	if q.PathGlob != "" {
		args = append(args, globToSQLite(q.PathGlob))
		fmt.Fprintf(&filters, ` AND c.path GLOB ?%d`, len(args))
	}
	if q.Language != "" {
		args = append(args, q.Language)
		fmt.Fprintf(&filters, ` AND c.language = ?%d`, len(args))
	}
	args = append(args, q.Limit)
	rows, err := s.rdb.QueryContext(ctx, fmt.Sprintf(`
		WITH hits AS (
			SELECT c.id, c.path, c.file_version, c.start_line, c.end_line, c.language, c.symbol, c.content, c.content_hash,
				CASE WHEN ?1 <> '' AND instr(c.symbol_names, ?1) > 0 THEN 2
					WHEN NOT EXISTS (SELECT 1 FROM json_each(?2) AS t
						WHERE instr(' ' || c.symbol_terms || ' ', ' ' || t.value || ' ') = 0) THEN 1
					ELSE 0 END AS tier,
				-bm25(rag_chunks_fts, %g, %g, 1.0) AS relevance
			FROM rag_chunks_fts JOIN rag_chunks AS c ON c.seq = rag_chunks_fts.rowid
			WHERE rag_chunks_fts MATCH ?3 AND c.workspace_id = ?4%s
		)
		SELECT id, path, file_version, start_line, end_line, language, symbol, content, content_hash,
			tier + relevance / (relevance + 1) AS score
		FROM hits
		ORDER BY score DESC, path, start_line, id
		LIMIT ?%d`, bm25Symbol, bm25Path, filters.String(), len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: search chunks text: %w", err)
	}
	hits, err := collect(rows, "search chunks text", func(row interface{ Scan(...any) error }) (domain.ScoredChunk, error) {
		c := &domain.Chunk{WorkspaceID: q.WorkspaceID}
		var score float64
		err := row.Scan(&c.ID, &c.Path, &c.FileVersion, &c.StartLine, &c.EndLine, &c.Language, &c.Symbol, &c.Content, &c.ContentHash, &score)
		return domain.ScoredChunk{Chunk: c, Score: score}, err
	})
	if err != nil {
		return nil, err
	}
	return hits, nil
}

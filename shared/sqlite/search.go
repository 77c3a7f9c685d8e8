package sqlite

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// Full-text search.
//
// Each chunk stores domain.Terms of its symbol, path and content as space-separated text
// (symbol_terms, path_terms, content_terms), from which the in-process textIndex is built: it
// holds exactly the terms domain.Terms makes of a query, so camelCase and snake_case parts
// match.
//
// A hit's score is tier + r/(r+1), where r is the chunk's BM25F relevance (symbol terms
// weighted bm25Symbol, path terms bm25Path, content 1), mapped into [0, 1); the tier puts
// symbol matches first — 2 when the query is an identifier the chunk's symbol declares
// (symbolNames), 1 when every query term is among the symbol's terms, 0 otherwise.

// maxQueryTerms bounds how many distinct terms of a query are searched for; a pasted page of
// text would otherwise make a query with hundreds of alternatives.
const maxQueryTerms = 32

// BM25F field weights: a term in the symbol counts as much as bm25Symbol occurrences in the
// content, one in the path as bm25Path.
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
		names:   domain.SymbolNames(symbol),
		symbol:  strings.Join(domain.Terms(symbol), " "),
		path:    strings.Join(domain.Terms(path), " "),
		content: strings.Join(domain.Terms(content), " "),
	}
}

// textQuery is a parsed full-text query.
type textQuery struct {
	terms      []string // the query's distinct terms (domain.QueryTerms)
	identifier string   // " name " when the query is one identifier, else ""
}

// parseTextQuery turns the user's text into a textQuery; ok is false when the text has no
// terms, which matches nothing.
func parseTextQuery(text string) (q textQuery, ok bool) {
	terms := domain.QueryTerms(text, maxQueryTerms)
	if len(terms) == 0 {
		return textQuery{}, false
	}
	return textQuery{terms: terms, identifier: domain.QueryIdentifier(text)}, true
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

// queryFilter returns the in-process form of q's filters, which both indexes apply before
// ranking, nil when there are none.
func queryFilter(q domain.ChunkQuery) chunkFilter {
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
// when the symbol contains every query term, 0 otherwise, plus the BM25F relevance mapped
// into [0, 1). The in-process textIndex ranks; the winners are then read from the database,
// and one deleted between the two steps is left out. A query without terms, or a limit
// below 1, returns no hits.
func (s *Store) SearchChunksText(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	tq, ok := parseTextQuery(q.Text)
	if !ok || q.Limit <= 0 {
		return []domain.ScoredChunk{}, nil
	}
	hits := s.text.search(q.WorkspaceID, tq.terms, tq.identifier, q.Limit, queryFilter(q))
	ids := make([]string, len(hits))
	scores := make([]float64, len(hits))
	for i, h := range hits {
		ids[i], scores[i] = h.id, h.score
	}
	out, err := s.scoredChunks(ctx, "search chunks text", q.WorkspaceID, ids, scores)
	if err != nil {
		return nil, err
	}
	// The index breaks ties by path; the line within the file is known only now.
	slices.SortStableFunc(out, func(a, b domain.ScoredChunk) int {
		if c := cmp.Compare(b.Score, a.Score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.Chunk.Path, b.Chunk.Path); c != 0 {
			return c
		}
		return cmp.Compare(a.Chunk.StartLine, b.Chunk.StartLine)
	})
	return out, nil
}

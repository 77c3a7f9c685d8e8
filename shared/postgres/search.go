package postgres

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/vibecode/vibecode/shared/domain"
)

// Full-text search.
//
// Each chunk's tsv column holds domain.Terms of its symbol (weight A), path (B) and content
// (D), built here rather than by to_tsvector so that the index holds exactly the terms
// domain.Terms makes of a query: the text search parser would split max_retry_count at the
// underscores and read file names and numbers its own way. Queries are tsquery literals
// ('a' | 'b'), which the server takes verbatim, so no query text is ever parsed as syntax.
//
// A hit's score is tier + ts_rank(tsv, query, 1|32): the rank is normalised by the chunk's
// length and mapped into [0, 1), and the tier puts symbol matches first — 2 when the
// query is an identifier the chunk's symbol declares (symbolNames), 1 when every query term
// is among the symbol's terms, 0 otherwise.

// maxQueryTerms bounds how many distinct terms of a query are searched for; a pasted page of
// text would otherwise make a query with hundreds of alternatives.
const maxQueryTerms = 32

// tsvector limits: positions are 14 bits, and a lexeme keeps at most 256 of them.
const (
	maxTSPosition      = 1<<14 - 1
	maxLexemePositions = 256
)

// rankNormalization is ts_rank's normalisation: 1 divides by 1 + log(document length), so
// a long chunk does not win by size alone; 32 maps the rank r to r/(r+1), into [0, 1).
const rankNormalization = 1 | 32

// chunkSearchFields returns what the full-text search stores for a chunk: the names its symbol
// declares and its weighted term vector.
func chunkSearchFields(symbol, path, content string) (names string, tsv pgtype.TSVector) {
	return domain.SymbolNames(symbol), termVector(
		weightedTerms{domain.Terms(symbol), pgtype.TSVectorWeightA},
		weightedTerms{domain.Terms(path), pgtype.TSVectorWeightB},
		weightedTerms{domain.Terms(content), pgtype.TSVectorWeightD},
	)
}

// weightedTerms is a run of terms that share a tsvector weight.
type weightedTerms struct {
	terms  []string
	weight pgtype.TSVectorWeight
}

// termVector builds a tsvector of the terms, numbering positions in order. Positions past
// what a tsvector can hold are dropped, but their terms are still indexed (without a
// position), so a long chunk stays findable by every word it contains.
func termVector(parts ...weightedTerms) pgtype.TSVector {
	index := map[string]int{}
	var lexemes []pgtype.TSVectorLexeme
	pos := 0
	for _, p := range parts {
		for _, t := range p.terms {
			i, ok := index[t]
			if !ok {
				i = len(lexemes)
				index[t] = i
				lexemes = append(lexemes, pgtype.TSVectorLexeme{Word: t})
			}
			if pos < maxTSPosition {
				pos++
				if len(lexemes[i].Positions) < maxLexemePositions {
					lexemes[i].Positions = append(lexemes[i].Positions, pgtype.TSVectorPosition{Position: uint16(pos), Weight: p.weight})
				}
			}
		}
	}
	slices.SortFunc(lexemes, func(a, b pgtype.TSVectorLexeme) int { return strings.Compare(a.Word, b.Word) })
	return pgtype.TSVector{Lexemes: lexemes, Valid: true}
}

// textQuery is a full-text query in the forms the SQL needs.
type textQuery struct {
	terms      []string // the query's distinct terms (domain.QueryTerms)
	allSymbol  string   // tsquery matching chunks whose symbol has every term: 'a':A & 'b':A
	identifier string   // domain.QueryIdentifier of the text
}

// parseTextQuery turns the user's text into a textQuery; ok is false when the text has no
// terms, which matches nothing.
func parseTextQuery(text string) (q textQuery, ok bool) {
	terms := domain.QueryTerms(text, maxQueryTerms)
	if len(terms) == 0 {
		return textQuery{}, false
	}
	allSymbol := make([]string, len(terms))
	for i, t := range terms {
		allSymbol[i] = quoteLexeme(t) + ":A"
	}
	return textQuery{terms: terms, allSymbol: strings.Join(allSymbol, " & "), identifier: domain.QueryIdentifier(text)}, true
}

// anyLexeme returns the tsquery matching any of the terms: 'a' | 'b'.
func anyLexeme(terms []string) string {
	quoted := make([]string, len(terms))
	for i, t := range terms {
		quoted[i] = quoteLexeme(t)
	}
	return strings.Join(quoted, " | ")
}

// quoteLexeme quotes a term as a tsquery lexeme, taken verbatim by the server.
func quoteLexeme(t string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `''`).Replace(t) + "'"
}

// globToLike translates a domain.ChunkQuery path glob into a LIKE pattern for ESCAPE '\':
// '*' becomes '%', '?' becomes '_', and the LIKE metacharacters are escaped.
func globToLike(glob string) string {
	var b strings.Builder
	for _, r := range glob {
		switch r {
		case '*':
			b.WriteByte('%')
		case '?':
			b.WriteByte('_')
		case '%', '_', '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// chunkFilters returns the SQL conditions for q's filters (each starting with AND), appending
// their arguments to args.
func chunkFilters(q domain.ChunkQuery, args *[]any) string {
	var sql strings.Builder
	if q.PathGlob != "" {
		*args = append(*args, globToLike(q.PathGlob))
		fmt.Fprintf(&sql, ` AND path LIKE $%d ESCAPE '\'`, len(*args))
	}
	if q.Language != "" {
		*args = append(*args, q.Language)
		fmt.Fprintf(&sql, ` AND language = $%d`, len(*args))
	}
	return sql.String()
}

// chunkColumns are the columns a search returns, in scanChunk's order; the embedding stays in
// the database.
const chunkColumns = `id, workspace_id, path, file_version, start_line, end_line, language, symbol, content, content_hash`

// scanScoredChunk scans chunkColumns followed by a score.
func scanScoredChunk(row pgx.CollectableRow) (domain.ScoredChunk, error) {
	var c domain.Chunk
	var score float64
	err := row.Scan(&c.ID, &c.WorkspaceID, &c.Path, &c.FileVersion, &c.StartLine, &c.EndLine, &c.Language, &c.Symbol,
		&c.Content, &c.ContentHash, &score)
	return domain.ScoredChunk{Chunk: &c, Score: score}, err
}

// textPostingBudget bounds the postings (chunk, term) a full-text search ranks: the query's
// rarest terms are ranked by, up to about this many chunks in all (domain.SelectiveTerms).
// Each matching chunk costs a heap fetch and a detoasted tsvector, a few microseconds even
// when cached (EXPLAIN ANALYZE at 100k chunks: 3,136 matches in 5-10 ms; ranking them with
// ts_rank_cd took 70-140 ms, with ts_rank 20 ms, which is why ts_rank ranks); see
// BenchmarkSearchLatency in docs/benchmarks.md.
const textPostingBudget = 3_000

// SearchChunksText returns up to q.Limit chunks of the workspace that contain any term of
// q.Text (domain.Terms, so identifiers match whole and by their parts), best first. The
// score is tier + rank: 2 when the query is an identifier the chunk's symbol declares, 1
// when the symbol contains every query term, 0 otherwise, plus the text rank in [0, 1). A
// query without terms, or a limit below 1, returns no hits.
//
// Two index scans find the candidates: the chunks whose symbol has every query term (the
// tiers; an AND query, cheap however common the terms), and the chunks that best match the
// query's selective terms (domain.SelectiveTerms with textPostingBudget, with document counts
// estimated from the planner's statistics, termDocs). Only the best q.Limit of each are read
// in full.
func (s *Store) SearchChunksText(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	tq, ok := parseTextQuery(q.Text)
	if !ok || q.Limit <= 0 {
		return []domain.ScoredChunk{}, nil
	}
	docs, err := s.termDocs(ctx, tq.terms)
	if err != nil {
		return nil, err
	}
	ranked := anyLexeme(domain.SelectiveTerms(tq.terms, docs, s.textBudget))
	args := []any{q.WorkspaceID, ranked, tq.allSymbol, tq.identifier, q.Limit}
	filters := chunkFilters(q, &args)
	rank := `ts_rank(tsv, $2::text::tsquery, ` + strconv.Itoa(rankNormalization) + `)`
	rows, err := s.pool.Query(ctx, `
		WITH candidates AS (
			(SELECT id, (CASE WHEN $4 <> '' AND strpos(symbol_names, $4) > 0 THEN 2 ELSE 1 END + `+rank+`)::float8 AS score
			FROM rag_chunks
			WHERE workspace_id = $1 AND tsv @@ $3::text::tsquery`+filters+`
			ORDER BY score DESC LIMIT $5)
			UNION ALL
			(SELECT id, `+rank+`::float8 AS score
			FROM rag_chunks
			WHERE workspace_id = $1 AND tsv @@ $2::text::tsquery`+filters+`
			ORDER BY score DESC LIMIT $5)
		), best AS (
			SELECT id, max(score) AS score FROM candidates GROUP BY id
		)
		SELECT `+prefixed("c.", chunkColumns)+`, best.score
		FROM best JOIN rag_chunks AS c ON c.id = best.id
		ORDER BY best.score DESC, c.path, c.start_line, c.id
		LIMIT $5`, args...)
	if err != nil {
		return nil, wrapErr(err, "search chunks text", "chunk")
	}
	hits, err := pgx.CollectRows(rows, scanScoredChunk)
	if err != nil {
		return nil, wrapErr(err, "search chunks text", "chunk")
	}
	return hits, nil
}

// prefixed qualifies each column of a comma-separated list with prefix.
func prefixed(prefix, columns string) string {
	cols := strings.Split(columns, ", ")
	for i, c := range cols {
		cols[i] = prefix + c
	}
	return strings.Join(cols, ", ")
}

// termStatsTTL is how long the planner's lexeme statistics are reused before they are read
// again; ANALYZE (autovacuum's, or after a bulk load) changes them rarely.
const termStatsTTL = time.Minute

// termStats is a snapshot of the planner's statistics of rag_chunks.tsv: the most common
// lexemes' frequencies (ANALYZE samples them for the @@ operator's selectivity) and the
// table's estimated row count.
type termStats struct {
	read  time.Time
	rows  float64
	freq  map[string]float64
	floor float64 // the lowest listed frequency: a lexeme not listed is rarer
}

// termDocs estimates how many chunks (of every workspace) contain each term, from the
// planner's statistics: a listed lexeme's frequency times the row count, and the lowest
// listed frequency's for the others. Before the table's first ANALYZE every estimate is 0,
// so every term is searched, which is right for a table that small.
func (s *Store) termDocs(ctx context.Context, terms []string) ([]int64, error) {
	st, err := s.lexemeStats(ctx)
	if err != nil {
		return nil, err
	}
	docs := make([]int64, len(terms))
	for i, t := range terms {
		f, ok := st.freq[t]
		if !ok {
			f = st.floor
		}
		docs[i] = int64(f * st.rows)
	}
	return docs, nil
}

// lexemeStats returns the cached termStats, reading them again when older than termStatsTTL.
func (s *Store) lexemeStats(ctx context.Context) (*termStats, error) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	if s.stats != nil && time.Since(s.stats.read) < termStatsTTL {
		return s.stats, nil
	}
	var rows float64
	var elems []string
	var freqs []float32
	err := s.pool.QueryRow(ctx, `
		SELECT greatest(c.reltuples, 0)::float8, st.most_common_elems::text::text[], st.most_common_elem_freqs
		FROM pg_class AS c
		LEFT JOIN pg_stats AS st ON st.schemaname = current_schema() AND st.tablename = 'rag_chunks' AND st.attname = 'tsv'
		WHERE c.oid = 'rag_chunks'::regclass`).Scan(&rows, &elems, &freqs)
	if err != nil {
		return nil, wrapErr(err, "read lexeme statistics", "chunk")
	}
	st := &termStats{read: time.Now(), rows: rows, freq: make(map[string]float64, len(elems))}
	// most_common_elem_freqs lists one frequency per element, then the minimum and maximum of
	// those and the frequency of null elements.
	if len(freqs) >= len(elems)+2 {
		for i, e := range elems {
			st.freq[e] = float64(freqs[i])
		}
		st.floor = float64(freqs[len(elems)])
	}
	s.stats = st
	return st, nil
}

// Package search answers semantic code search over one workspace: the query is embedded and
// matched against chunk vectors, matched by words against the full-text index, and the two
// rankings are fused (reciprocal rank fusion), so a description finds code by meaning and a
// typed identifier finds its definition first. Results are cached per workspace until the
// workspace's files or index change.
package search

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// Store is what search needs from the database.
type Store interface {
	SearchChunks(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error)
	SearchChunksText(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error)
}

// Query is one search request.
type Query struct {
	WorkspaceID string `json:"-"`
	Query       string `json:"query"`
	Limit       int    `json:"limit"`
	Path        string `json:"path,omitempty"`     // glob filter, e.g. "src/*.go"
	Language    string `json:"language,omitempty"` // e.g. "go"
	// Mode is "hybrid" (default), "vector" or "text": one half alone, for comparisons and
	// for users who want only exact words.
	Mode string `json:"mode,omitempty"`
}

// Search modes.
const (
	ModeHybrid = "hybrid"
	ModeVector = "vector"
	ModeText   = "text"
)

// Hit is one result.
type Hit struct {
	Path      string  `json:"path"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Language  string  `json:"language"`
	Symbol    string  `json:"symbol"`
	Score     float64 `json:"score"`
	Snippet   string  `json:"snippet"`
}

// Result is a search's answer.
type Result struct {
	Results []Hit `json:"results"`
	TookMS  int64 `json:"took_ms"`
	Cached  bool  `json:"cached"`
}

// Limits on queries.
const (
	DefaultLimit  = 10
	MaxLimit      = 100
	MaxQueryBytes = 2000
	snippetLines  = 12
)

// Fusion of the two rankings: a chunk scores Σ weight/(rrfK + rank) over the lists it is in.
// Measured with infra's BenchmarkSearchQuality (docs/benchmarks.md): with the classic equal
// weights and k = 60, hybrid search ranked worse than the local embedder alone on both
// backends (tuning-half MRR@10 0.21 embedded and 0.14 on PostgreSQL, against 0.22), and on
// PostgreSQL, whose full-text rank has no IDF, worse than a BM25 baseline. These values were chosen on the tuning half
// of that benchmark's packages, among settings where the text search's first hit still
// makes the top 10 when the vector search missed it (1/(k+1) > vectorWeight/(k+10)), so a
// word only the full-text index matches is still found.
const (
	rrfK         = 1.0
	vectorWeight = 4.0
	textWeight   = 1.0
	// exactBonus lifts the chunks that declare a typed identifier above every other chunk: it
	// is the highest fused score a chunk can reach (first in both lists).
	exactBonus = (vectorWeight + textWeight) / (rrfK + 1)
)

// Service runs searches.
type Service struct {
	store    Store
	embedder domain.Embedder
	cache    domain.Cache
	log      *slog.Logger
}

// New returns a Service.
func New(store Store, embedder domain.Embedder, cache domain.Cache, log *slog.Logger) *Service {
	return &Service{store: store, embedder: embedder, cache: cache, log: log}
}

// Validate checks and normalises a query: EINVALID with what to fix.
func (q *Query) Validate() error {
	q.Query = strings.TrimSpace(q.Query)
	switch {
	case q.Query == "":
		return domain.Errorf(domain.EINVALID, "query is required")
	case len(q.Query) > MaxQueryBytes:
		return domain.Errorf(domain.EINVALID, "query is longer than %d bytes", MaxQueryBytes)
	case !utf8.ValidString(q.Query):
		return domain.Errorf(domain.EINVALID, "query is not valid UTF-8")
	case q.Limit < 0 || q.Limit > MaxLimit:
		return domain.Errorf(domain.EINVALID, "limit must be between 1 and %d", MaxLimit)
	case len(q.Path) > domain.MaxPathLen:
		return domain.Errorf(domain.EINVALID, "path filter is too long")
	case len(q.Language) > 40:
		return domain.Errorf(domain.EINVALID, "language filter is too long")
	}
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	switch q.Mode {
	case "":
		q.Mode = ModeHybrid
	case ModeHybrid, ModeVector, ModeText:
	default:
		return domain.Errorf(domain.EINVALID, "mode must be hybrid, vector or text")
	}
	q.Path = strings.TrimPrefix(strings.TrimSpace(q.Path), "/")
	q.Language = strings.ToLower(strings.TrimSpace(q.Language))
	return nil
}

// cacheKey is the seed's per-workspace key scheme: ws:<id>:search:<epoch>:<hash of the
// query>, so a file change drops it with the rest of the workspace's entries. epoch is the
// workspace's search epoch (see Search).
func cacheKey(q Query, model, epoch string) string {
	b, _ := json.Marshal(struct {
		Q     Query
		Model string
	}{q, model})
	sum := sha256.Sum256(b)
	return domain.CacheKey(q.WorkspaceID, "search:"+epoch+":"+hex.EncodeToString(sum[:16]))
}

// epochKey holds a workspace's search epoch. It starts with "search:" like the results, so
// both kinds of invalidation drop it: the API's of every workspace entry on a write, and the
// ingest consumer's of the search entries when a job is done.
func epochKey(workspaceID string) string { return domain.CacheKey(workspaceID, "search:epoch") }

// epoch returns the workspace's search epoch, starting a new one when it has none.
//
// Results are stored under the epoch read before the search ran. A file change drops every
// cache entry of the workspace, the epoch with them, so a search that was running across the
// change — and read the index before the change reached it — stores its result under an epoch
// no later search uses: without the epoch it would have been served, stale, for TTLShort.
func (s *Service) epoch(ctx context.Context, workspaceID string) (string, error) {
	if b, ok, err := s.cache.Get(ctx, epochKey(workspaceID)); err != nil || ok {
		return string(b), err
	}
	e := domain.NewID()
	return e, s.cache.Set(ctx, epochKey(workspaceID), []byte(e), domain.TTLMedium)
}

// Search runs q (validated by the caller or here) over the workspace's chunks.
func (s *Service) Search(ctx context.Context, q Query) (*Result, error) {
	start := time.Now()
	if err := q.Validate(); err != nil {
		return nil, err
	}
	key := ""
	if epoch, err := s.epoch(ctx, q.WorkspaceID); err != nil {
		s.log.WarnContext(ctx, "search cache epoch failed", "err", err)
	} else {
		key = cacheKey(q, s.embedder.Model(), epoch)
		if b, ok, err := s.cache.Get(ctx, key); err == nil && ok {
			var r Result
			if json.Unmarshal(b, &r) == nil {
				r.Cached, r.TookMS = true, time.Since(start).Milliseconds()
				return &r, nil
			}
		} else if err != nil {
			s.log.WarnContext(ctx, "search cache read failed", "err", err)
		}
	}

	hits, err := s.hybrid(ctx, q)
	if err != nil {
		return nil, err
	}
	r := &Result{Results: hits}
	if b, err := json.Marshal(r); err == nil && key != "" {
		if err := s.cache.Set(ctx, key, b, domain.TTLShort); err != nil {
			s.log.WarnContext(ctx, "search cache write failed", "err", err)
		}
	}
	r.TookMS = time.Since(start).Milliseconds()
	return r, nil
}

// hybrid runs the vector and the full-text search at once and fuses their rankings.
func (s *Service) hybrid(ctx context.Context, q Query) ([]Hit, error) {
	depth := max(q.Limit*3, 30)
	base := domain.ChunkQuery{WorkspaceID: q.WorkspaceID, Limit: depth, PathGlob: q.Path, Language: q.Language}
	var (
		wg                sync.WaitGroup
		vecHits, textHits []domain.ScoredChunk
		vecErr, textErr   error
	)
	wg.Add(2)
	go func() {
		defer wg.Done()
		if q.Mode == ModeText {
			return
		}
		vs, err := s.embedder.Embed(ctx, []string{q.Query})
		if err != nil {
			vecErr = fmt.Errorf("search: embed query: %w", err)
			return
		}
		vq := base
		vq.Vector = vs[0]
		vecHits, vecErr = s.store.SearchChunks(ctx, vq)
	}()
	go func() {
		defer wg.Done()
		if q.Mode == ModeVector {
			return
		}
		tq := base
		tq.Text = q.Query
		textHits, textErr = s.store.SearchChunksText(ctx, tq)
	}()
	wg.Wait()
	if vecErr != nil && textErr != nil {
		return nil, fmt.Errorf("search: %w", vecErr)
	}
	// One half failing (an embedding provider down) still answers, from the other half.
	if vecErr != nil {
		s.log.WarnContext(ctx, "vector search failed; answering from full text", "err", vecErr)
	}
	if textErr != nil {
		s.log.WarnContext(ctx, "full-text search failed; answering from vectors", "err", textErr)
	}
	return fuse(q, vecHits, textHits), nil
}

// fuse combines the two rankings with weighted reciprocal rank fusion (score = Σ weight/(k +
// rank)). A query that names a symbol exactly puts that symbol's chunks first: when someone
// types an identifier, its definition is what they want.
func fuse(q Query, vec, text []domain.ScoredChunk) []Hit {
	type acc struct {
		c     *domain.Chunk
		score float64
	}
	byID := map[string]*acc{}
	add := func(list []domain.ScoredChunk, weight float64) {
		for rank, h := range list {
			a := byID[h.Chunk.ID]
			if a == nil {
				a = &acc{c: h.Chunk}
				byID[h.Chunk.ID] = a
			}
			a.score += weight / (rrfK + float64(rank+1))
		}
	}
	add(vec, vectorWeight)
	add(text, textWeight)
	ident := strings.ToLower(q.Query)
	exact := isIdentifier(q.Query)
	list := make([]*acc, 0, len(byID))
	for _, a := range byID {
		if exact && symbolMatches(a.c.Symbol, ident) {
			a.score += exactBonus
		}
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].score != list[j].score {
			return list[i].score > list[j].score
		}
		if list[i].c.Path != list[j].c.Path {
			return list[i].c.Path < list[j].c.Path
		}
		return list[i].c.StartLine < list[j].c.StartLine
	})
	hits := make([]Hit, 0, min(q.Limit, len(list)))
	for _, a := range list[:min(q.Limit, len(list))] {
		hits = append(hits, Hit{Path: a.c.Path, StartLine: a.c.StartLine, EndLine: a.c.EndLine, Language: a.c.Language,
			Symbol: a.c.Symbol, Score: a.score, Snippet: snippet(a.c.Content)})
	}
	return hits
}

// isIdentifier reports whether the query is one identifier, possibly qualified (a.b, a::b).
func isIdentifier(s string) bool {
	if s == "" || strings.ContainsAny(s, " \t\n") {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r == '.' || r == ':' || r == '$' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			return false
		}
	}
	return true
}

// symbolMatches reports whether a chunk symbol ("Server.Handle", "parse, lex") names ident,
// whole or as its last qualified part.
func symbolMatches(symbol, ident string) bool {
	for _, s := range strings.Split(strings.ToLower(symbol), ",") {
		s = strings.TrimSpace(s)
		if s == ident || strings.HasSuffix(s, "."+ident) || strings.HasSuffix(s, "::"+ident) {
			return true
		}
	}
	return false
}

// snippet is the first lines of a chunk, enough to recognise it in a result list.
func snippet(content string) string {
	lines := strings.SplitN(content, "\n", snippetLines+1)
	if len(lines) > snippetLines {
		lines = lines[:snippetLines]
	}
	out := strings.Join(lines, "\n")
	if len(out) > 1200 {
		out = out[:1200]
		for !utf8.ValidString(out) {
			out = out[:len(out)-1]
		}
	}
	return out
}

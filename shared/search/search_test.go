package search_test

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/search"
)

// changingStore answers text searches from its current chunks; a search can be held between
// reading them and returning, as a real search is between reading the index and answering.
type changingStore struct {
	mu     sync.Mutex
	chunks []*domain.Chunk
	read   chan struct{} // when set, closed once the next search has read the chunks
	hold   chan struct{} // when set, that search waits for it before returning
}

func (s *changingStore) set(chunks ...*domain.Chunk) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.chunks = chunks
}

func (s *changingStore) SearchChunks(context.Context, domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	return nil, nil
}

func (s *changingStore) SearchChunksText(ctx context.Context, q domain.ChunkQuery) ([]domain.ScoredChunk, error) {
	s.mu.Lock()
	var hits []domain.ScoredChunk
	for _, c := range s.chunks {
		hits = append(hits, domain.ScoredChunk{Chunk: c, Score: 1})
	}
	read, hold := s.read, s.hold
	s.read, s.hold = nil, nil
	s.mu.Unlock()
	if read != nil {
		close(read)
		<-hold
	}
	return hits, nil
}

type zeroEmbedder struct{}

func (zeroEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = make([]float32, domain.EmbeddingDims)
	}
	return out, nil
}

func (zeroEmbedder) Model() string { return "zero" }

// TestSearch_ChangeDuringSearchIsNotCached checks the race between a search and a file change:
// a search reads the index, the file changes and the workspace's cache entries are dropped,
// then the search stores its (now stale) result. The next search must not be answered with it.
func TestSearch_ChangeDuringSearchIsNotCached(t *testing.T) {
	ctx := context.Background()
	cache := lru.New(100)
	store := &changingStore{}
	svc := search.New(store, zeroEmbedder{}, cache, slog.New(slog.NewTextHandler(io.Discard, nil)))
	q := search.Query{WorkspaceID: "w", Query: "FreshProbe", Mode: "text"}

	// Cached results are served until the workspace's entries are dropped.
	store.set(&domain.Chunk{ID: "old", Path: "old.go", Content: "x"})
	if r, err := svc.Search(ctx, q); err != nil || len(r.Results) != 1 || r.Cached {
		t.Fatalf("first search = %+v, %v", r, err)
	}
	if r, err := svc.Search(ctx, q); err != nil || !r.Cached {
		t.Fatalf("second search = %+v, %v; want it from the cache", r, err)
	}
	must(t, cache.DeletePrefix(ctx, domain.WorkspaceCachePrefix("w")))

	// A search reads the old index; meanwhile the file is indexed and the cache dropped.
	read, hold := make(chan struct{}), make(chan struct{})
	store.mu.Lock()
	store.read, store.hold = read, hold
	store.mu.Unlock()
	done := make(chan *search.Result)
	go func() {
		r, err := svc.Search(ctx, q)
		if err != nil {
			t.Error(err)
		}
		done <- r
	}()
	<-read
	store.set(&domain.Chunk{ID: "old", Path: "old.go", Content: "x"}, &domain.Chunk{ID: "new", Path: "new.go", Content: "FreshProbe"})
	// What the ingest consumer drops when the job is done: the workspace's search entries.
	must(t, cache.DeletePrefix(ctx, domain.CacheKey("w", "search:")))
	close(hold)
	if r := <-done; r == nil || len(r.Results) != 1 {
		t.Fatalf("the search across the change = %+v, want the old single result", r)
	}

	r, err := svc.Search(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Results) != 2 || r.Cached {
		t.Fatalf("the search after the change = %d results (cached %v), want both chunks, freshly searched", len(r.Results), r.Cached)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

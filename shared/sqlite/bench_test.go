package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// BenchmarkSearchChunks measures Store.SearchChunks end to end (index scan plus fetching the
// winners' rows) over 100k random 512-dim vectors in one workspace, limit 10.
func BenchmarkSearchChunks(b *testing.B) {
	const n, perFile = 100_000, 1000
	ctx := context.Background()
	s := open(b, b.TempDir())
	defer s.Close()
	now := time.Now()
	u := &domain.User{ID: domain.NewID(), Email: "bench@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "bench", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	if err := s.CreateWorkspace(ctx, w); err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(5, 6))
	vec := func() []float32 {
		v := make([]float32, domain.EmbeddingDims)
		for i := range v {
			v[i] = float32(r.NormFloat64())
		}
		return v
	}
	for f := range n / perFile {
		path := fmt.Sprintf("f%03d.go", f)
		chunks := make([]*domain.Chunk, perFile)
		for i := range chunks {
			chunks[i] = &domain.Chunk{Path: path, StartLine: i, EndLine: i + 1, Content: "x", Embedding: vec()}
		}
		if err := s.ReplaceChunks(ctx, w.ID, path, chunks); err != nil {
			b.Fatal(err)
		}
	}
	q := vec()
	b.ResetTimer()
	for b.Loop() {
		hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: q, Limit: 10})
		if err != nil || len(hits) != 10 {
			b.Fatalf("SearchChunks = %d hits, %v", len(hits), err)
		}
	}
}

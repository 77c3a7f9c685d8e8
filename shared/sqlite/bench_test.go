package sqlite_test

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// BenchmarkSearchChunks measures Store.SearchChunks end to end (index search plus fetching the
// winners' rows) over 100k 512-dim vectors shaped like localembed's (sqlite.HashedVectors) in
// one workspace, for a limit of 10 (a vector-only search) and 30 (what a hybrid search of 10
// asks for). Each op is one query, cycling through 20; recall@k is the mean share of the
// exact top k (brute force over the same vectors) that the search returned.
func BenchmarkSearchChunks(b *testing.B) {
	const n, perFile, nq = 100_000, 1000, 20
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
	vecs, queries := sqlite.HashedVectors(domain.EmbeddingDims, n, nq, 5)
	where := make(map[[2]int]int, n) // (file, start line) → vector
	for f := range n / perFile {
		path := fmt.Sprintf("f%03d.go", f)
		chunks := make([]*domain.Chunk, perFile)
		for i := range chunks {
			chunks[i] = &domain.Chunk{Path: path, StartLine: i, EndLine: i + 1, Content: "x", Embedding: vecs[f*perFile+i]}
			where[[2]int{f, i}] = f*perFile + i
		}
		if err := s.ReplaceChunks(ctx, w.ID, path, chunks); err != nil {
			b.Fatal(err)
		}
	}
	for _, limit := range []int{10, 30} {
		b.Run(fmt.Sprintf("limit=%d", limit), func(b *testing.B) {
			var found float64
			for _, q := range queries {
				hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: q, Limit: limit})
				if err != nil {
					b.Fatal(err)
				}
				want := exactTop(vecs, q, limit)
				for _, h := range hits {
					var f int
					if _, err := fmt.Sscanf(h.Chunk.Path, "f%03d.go", &f); err != nil {
						b.Fatal(err)
					}
					if slices.Contains(want, where[[2]int{f, h.Chunk.StartLine}]) {
						found++
					}
				}
			}
			i := 0
			for b.Loop() {
				hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: queries[i%nq], Limit: limit})
				if err != nil || len(hits) != limit {
					b.Fatalf("SearchChunks = %d hits, %v", len(hits), err)
				}
				i++
			}
			b.ReportMetric(found/float64(nq*limit), fmt.Sprintf("recall@%d", limit))
		})
	}
}

// exactTop returns the indexes of the k vectors with the highest cosine similarity to q.
func exactTop(vecs [][]float32, q []float32, k int) []int {
	cos := make([]float64, len(vecs))
	for i, v := range vecs {
		var d, nv, nq float64
		for j := range v {
			d += float64(v[j]) * float64(q[j])
			nv += float64(v[j]) * float64(v[j])
			nq += float64(q[j]) * float64(q[j])
		}
		if nv > 0 && nq > 0 {
			cos[i] = d / math.Sqrt(nv*nq)
		}
	}
	idx := make([]int, len(vecs))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		if c := cmp.Compare(cos[b], cos[a]); c != 0 {
			return c
		}
		return a - b
	})
	return idx[:k]
}

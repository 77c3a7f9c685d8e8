package sqlite

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

func randomVec(r *rand.Rand, dims int) []float32 {
	v := make([]float32, dims)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

// bruteForce is the obviously correct reference: score everything, sort.
func bruteForce(ids []string, vecs [][]float32, q []float32, k int) []hit {
	cos := func(a, b []float32) float32 {
		var d, na, nb float64
		for i := range a {
			d += float64(a[i]) * float64(b[i])
			na += float64(a[i]) * float64(a[i])
			nb += float64(b[i]) * float64(b[i])
		}
		if na == 0 || nb == 0 {
			return 0
		}
		return float32(d / math.Sqrt(na*nb))
	}
	var all []hit
	for i, id := range ids {
		all = append(all, hit{id, cos(q, vecs[i])})
	}
	slices.SortFunc(all, func(a, b hit) int {
		if a.score != b.score {
			if a.score > b.score {
				return -1
			}
			return 1
		}
		return 0
	})
	return all[:min(k, len(all))]
}

func TestVectorIndex_SearchMatchesBruteForce(t *testing.T) {
	const dims = 64
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 1000, parallelMin + 123} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := newVectorIndex(dims)
			ids := make([]string, n)
			vecs := make([][]float32, n)
			for i := range n {
				ids[i], vecs[i] = fmt.Sprint("c", i), randomVec(r, dims)
			}
			x.add("ws", ids, make([]chunkMeta, n), vecs)
			x.add("other", []string{"o"}, make([]chunkMeta, 1), [][]float32{randomVec(r, dims)})
			for _, k := range []int{1, 10, 50} {
				q := randomVec(r, dims)
				got := x.search("ws", q, k, nil)
				want := bruteForce(ids, vecs, q, k)
				if len(got) != len(want) {
					t.Fatalf("k=%d: %d hits, want %d", k, len(got), len(want))
				}
				for i := range got {
					if got[i].id != want[i].id || math.Abs(float64(got[i].score-want[i].score)) > 1e-4 {
						t.Fatalf("k=%d hit %d = %+v, want %+v", k, i, got[i], want[i])
					}
				}
			}
		})
	}
}

func TestVectorIndex_RemoveAndUpsert(t *testing.T) {
	x := newVectorIndex(2)
	x.add("ws", []string{"a", "b", "c"}, make([]chunkMeta, 3), [][]float32{{1, 0}, {0, 1}, {3, 3}})
	x.remove("ws", []string{"a", "missing"})
	if n := x.len("ws"); n != 2 {
		t.Fatalf("len after remove = %d, want 2", n)
	}
	got := x.search("ws", []float32{1, 0}, 10, nil)
	if len(got) != 2 || got[0].id != "c" || got[1].id != "b" {
		t.Fatalf("search = %+v, want c, b", got)
	}
	x.add("ws", []string{"b"}, make([]chunkMeta, 1), [][]float32{{5, 0}}) // replaces b's vector
	got = x.search("ws", []float32{1, 0}, 1, nil)
	if len(got) != 1 || got[0].id != "b" || math.Abs(float64(got[0].score)-1) > 1e-6 {
		t.Fatalf("search after upsert = %+v, want b with score 1", got)
	}
	x.remove("ws", []string{"b", "c"})
	if n := x.len("ws"); n != 0 {
		t.Fatalf("len after removing all = %d", n)
	}
	x.add("ws", []string{"d"}, make([]chunkMeta, 1), [][]float32{{1, 1}})
	x.dropWorkspace("ws")
	if got := x.search("ws", []float32{1, 0}, 3, nil); len(got) != 0 {
		t.Fatalf("search after drop = %+v", got)
	}
}

// BenchmarkVectorIndexSearch measures the index alone: 100k random 512-dim vectors, top 10.
func BenchmarkVectorIndexSearch(b *testing.B) {
	const n, dims = 100_000, 512
	r := rand.New(rand.NewPCG(3, 4))
	x := newVectorIndex(dims)
	ids := make([]string, n)
	vecs := make([][]float32, n)
	for i := range n {
		ids[i], vecs[i] = fmt.Sprint("c", i), randomVec(r, dims)
	}
	x.add("ws", ids, make([]chunkMeta, n), vecs)
	q := randomVec(r, dims)
	b.ResetTimer()
	for b.Loop() {
		if got := x.search("ws", q, 10, nil); len(got) != 10 {
			b.Fatalf("%d hits", len(got))
		}
	}
}

package sqlite

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
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

// TestVectorIndex_SearchMatchesBruteForce checks the exact scan, which every workspace smaller
// than approxMin gets; the largest case forces it (approxMin raised) to cover the parallel scan.
func TestVectorIndex_SearchMatchesBruteForce(t *testing.T) {
	const dims = 64
	r := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 7, 1000, defaultApproxMin - 1, parallelMin + 123} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			x := newVectorIndex(dims)
			if n >= x.approxMin {
				x.approxMin = math.MaxInt
			}
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

// BenchmarkVectorIndexSearch measures the index alone at 100k 512-dim vectors: "exact" scans
// every vector (what every search did before the two-step search, and what workspaces under
// approxMin still get), "twostep" is the default search. Each op is one query, cycling
// through 100 queries; recall@k is the two-step search's mean share of the exact top k over
// those queries, cpu-ms/op the CPU time per query (see cpuTime).
//
// The data sets: "hashed" vectors are shaped like localembed's (hashedCorpus); "random" ones
// are independent Gaussians, the worst case for the estimate, as nothing is much nearer than
// anything else and the exact top k is decided by differences the codes cannot see;
// "localembed" are real embeddings, read when VIBECODE_BENCH_VECTORS names a directory with
// docs.f32 and queries.f32 (little-endian float32, 512 per vector; the first 100k and 100
// are used). docs/benchmarks.md says how the measured ones were made.
func BenchmarkVectorIndexSearch(b *testing.B) {
	const n, dims, nq = 100_000, 512, 100
	type dataSet struct {
		name    string
		vecs    func() (chunks, queries [][]float32)
		x       *vectorIndex
		queries [][]float32
	}
	sets := []*dataSet{
		{name: "hashed", vecs: func() ([][]float32, [][]float32) { return HashedVectors(dims, n, nq, 3) }},
		{name: "random", vecs: func() ([][]float32, [][]float32) {
			r := rand.New(rand.NewPCG(3, 4))
			chunks, queries := make([][]float32, n), make([][]float32, nq)
			for i := range chunks {
				chunks[i] = randomVec(r, dims)
			}
			for i := range queries {
				queries[i] = randomVec(r, dims)
			}
			return chunks, queries
		}},
	}
	if dir := os.Getenv("VIBECODE_BENCH_VECTORS"); dir != "" {
		sets = append(sets, &dataSet{name: "localembed", vecs: func() ([][]float32, [][]float32) {
			chunks := readVectors(b, filepath.Join(dir, "docs.f32"), dims)
			queries := readVectors(b, filepath.Join(dir, "queries.f32"), dims)
			return chunks[:min(n, len(chunks))], queries[:min(nq, len(queries))]
		}})
	}
	for _, set := range sets {
		for _, k := range []int{10, 30} {
			for _, mode := range []string{"exact", "twostep"} {
				b.Run(fmt.Sprintf("%s/k=%d/%s", set.name, k, mode), func(b *testing.B) {
					if set.x == nil {
						chunks, queries := set.vecs()
						ids := make([]string, len(chunks))
						for i := range ids {
							ids[i] = fmt.Sprint("c", i)
						}
						set.x = newVectorIndex(dims)
						set.x.add("ws", ids, make([]chunkMeta, len(ids)), chunks)
						set.queries = queries
					}
					x := set.x
					x.approxMin = defaultApproxMin
					if mode == "exact" {
						x.approxMin = math.MaxInt
					}
					defer func() { x.approxMin = defaultApproxMin }()
					i := 0
					loopCPU(b, func() {
						if got := x.search("ws", set.queries[i%len(set.queries)], k, nil); len(got) != k {
							b.Fatalf("%d hits", len(got))
						}
						i++
					})
					if mode == "twostep" {
						b.ReportMetric(recallAt(x, "ws", set.queries, k, nil), fmt.Sprintf("recall@%d", k))
					}
				})
			}
		}
	}
}

// BenchmarkVectorIndexAdd measures adding one 512-dim vector (normalising it and computing its
// sign code), in batches of 1000 as ReplaceChunks adds a file's chunks; ns/op is per vector.
func BenchmarkVectorIndexAdd(b *testing.B) {
	const batch, dims = 1000, 512
	r := rand.New(rand.NewPCG(5, 6))
	ids := make([]string, batch)
	vecs := make([][]float32, batch)
	for i := range ids {
		ids[i], vecs[i] = fmt.Sprint("c", i), randomVec(r, dims)
	}
	metas := make([]chunkMeta, batch)
	x := newVectorIndex(dims)
	i := 0
	for b.Loop() {
		if i%batch == 0 {
			x.dropWorkspace("ws")
			x.add("ws", ids, metas, vecs)
		}
		i++
	}
}

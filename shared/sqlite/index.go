package sqlite

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
)

// vectorIndex is the in-process nearest-neighbour index behind SearchChunks: exact cosine
// similarity by brute force over each workspace's vectors. It is derived data (the database
// holds every embedding and Open rebuilds the index), which is why it can stay this simple
// and why an approximate index such as HNSW can later replace it behind the same methods.
//
// Vectors are normalised when added, so a dot product is the cosine similarity; a zero vector
// stays zero and scores 0 against everything. Each workspace's vectors live in one flat slice
// so a search streams through contiguous memory. Each vector also keeps its chunk's path and
// language, so a filtered search skips the vectors it must not return before choosing the
// top k, and a filter never costs recall.
type vectorIndex struct {
	dims int

	mu     sync.RWMutex
	spaces map[string]*vectorSpace // by workspace ID
}

// vectorSpace holds one workspace's vectors: row i of vecs belongs to ids[i], whose chunk has
// metas[i].
type vectorSpace struct {
	ids   []string
	metas []chunkMeta
	vecs  []float32
	row   map[string]int // chunk ID → row
}

// chunkMeta is what a filter looks at.
type chunkMeta struct {
	path, language string
}

// chunkFilter reports whether a chunk may be returned; nil keeps every chunk. It is called
// from several goroutines at once.
type chunkFilter func(chunkMeta) bool

// hit is one search result of the index.
type hit struct {
	id    string
	score float32
}

// Searches over at least parallelMin vectors are split across goroutines, each shard at least
// minShard vectors; smaller ones are not worth the goroutine start-up.
const (
	parallelMin = 32 << 10
	minShard    = 16 << 10
)

func newVectorIndex(dims int) *vectorIndex {
	return &vectorIndex{dims: dims, spaces: make(map[string]*vectorSpace)}
}

// normalize writes v scaled to unit length into dst (len dims); a zero vector stays zero.
func normalize(dst, v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		clear(dst)
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		dst[i] = float32(float64(x) * inv)
	}
}

// add inserts or replaces the vectors of the given chunk IDs in the workspace, with their
// chunks' metas. Every vector must have length dims; the index keeps normalised copies.
func (x *vectorIndex) add(ws string, ids []string, metas []chunkMeta, vecs [][]float32) {
	if len(ids) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	sp := x.spaces[ws]
	if sp == nil {
		sp = &vectorSpace{row: make(map[string]int, len(ids))}
		x.spaces[ws] = sp
	}
	for i, id := range ids {
		r, ok := sp.row[id]
		if !ok {
			r = len(sp.ids)
			sp.row[id] = r
			sp.ids = append(sp.ids, id)
			sp.metas = append(sp.metas, chunkMeta{})
			sp.vecs = slices.Grow(sp.vecs, x.dims)[:len(sp.vecs)+x.dims]
		}
		sp.metas[r] = metas[i]
		normalize(sp.vecs[r*x.dims:(r+1)*x.dims], vecs[i])
	}
}

// remove deletes the chunk IDs' vectors from the workspace; unknown IDs are ignored. The last
// row moves into each freed row, so the slice stays dense.
func (x *vectorIndex) remove(ws string, ids []string) {
	if len(ids) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	sp := x.spaces[ws]
	if sp == nil {
		return
	}
	d := x.dims
	for _, id := range ids {
		r, ok := sp.row[id]
		if !ok {
			continue
		}
		last := len(sp.ids) - 1
		if r != last {
			moved := sp.ids[last]
			sp.ids[r] = moved
			sp.metas[r] = sp.metas[last]
			sp.row[moved] = r
			copy(sp.vecs[r*d:(r+1)*d], sp.vecs[last*d:(last+1)*d])
		}
		sp.ids[last] = ""
		sp.ids = sp.ids[:last]
		sp.metas[last] = chunkMeta{}
		sp.metas = sp.metas[:last]
		sp.vecs = sp.vecs[:last*d]
		delete(sp.row, id)
	}
	if len(sp.ids) == 0 {
		delete(x.spaces, ws)
	}
}

// dropWorkspace forgets every vector of the workspace.
func (x *vectorIndex) dropWorkspace(ws string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.spaces, ws)
}

// len returns how many vectors the workspace has.
func (x *vectorIndex) len(ws string) int {
	x.mu.RLock()
	defer x.mu.RUnlock()
	if sp := x.spaces[ws]; sp != nil {
		return len(sp.ids)
	}
	return 0
}

// search returns up to k chunk IDs of the workspace with the highest cosine similarity to q
// (len dims) among those keep accepts (all when keep is nil), best first; equal scores are
// ordered by ID so results are deterministic.
func (x *vectorIndex) search(ws string, q []float32, k int, keep chunkFilter) []hit {
	if k <= 0 {
		return nil
	}
	nq := make([]float32, x.dims)
	normalize(nq, q)

	x.mu.RLock()
	defer x.mu.RUnlock()
	sp := x.spaces[ws]
	if sp == nil {
		return nil
	}
	n := len(sp.ids)
	shards := 1
	if n >= parallelMin {
		shards = min(runtime.GOMAXPROCS(0), n/minShard)
	}
	var top topK
	if shards <= 1 {
		top = scan(nq, sp, 0, n, k, keep)
	} else {
		parts := make([]topK, shards)
		var wg sync.WaitGroup
		for i := range shards {
			lo, hi := n*i/shards, n*(i+1)/shards
			wg.Go(func() { parts[i] = scan(nq, sp, lo, hi, k, keep) })
		}
		wg.Wait()
		top = topK{k: k, items: make([]scored, 0, min(k, n))}
		for _, p := range parts {
			for _, it := range p.items {
				top.offer(it.score, it.row)
			}
		}
	}
	out := make([]hit, len(top.items))
	for i, it := range top.items {
		out[i] = hit{id: sp.ids[it.row], score: it.score}
	}
	slices.SortFunc(out, func(a, b hit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return out
}

// scan scores rows [lo, hi) of sp against q and keeps the best k of those keep accepts.
func scan(q []float32, sp *vectorSpace, lo, hi, k int, keep chunkFilter) topK {
	d := len(q)
	top := topK{k: k, items: make([]scored, 0, min(k, hi-lo))}
	for r := lo; r < hi; r++ {
		if keep != nil && !keep(sp.metas[r]) {
			continue
		}
		s := dot(q, sp.vecs[r*d:(r+1)*d])
		if len(top.items) < k || s > top.items[0].score {
			top.offer(s, int32(r))
		}
	}
	return top
}

// dot returns the dot product of a and b (equal lengths), with eight accumulators so the
// multiplications do not wait on one another.
func dot(a, b []float32) float32 {
	var s0, s1, s2, s3, s4, s5, s6, s7 float32
	for len(a) >= 8 && len(b) >= 8 {
		aa, bb := a[:8:8], b[:8:8]
		s0 += aa[0] * bb[0]
		s1 += aa[1] * bb[1]
		s2 += aa[2] * bb[2]
		s3 += aa[3] * bb[3]
		s4 += aa[4] * bb[4]
		s5 += aa[5] * bb[5]
		s6 += aa[6] * bb[6]
		s7 += aa[7] * bb[7]
		a, b = a[8:], b[8:]
	}
	for i := range min(len(a), len(b)) {
		s0 += a[i] * b[i]
	}
	return ((s0 + s1) + (s2 + s3)) + ((s4 + s5) + (s6 + s7))
}

// scored is a row and its score.
type scored struct {
	score float32
	row   int32
}

// topK keeps the k best scores seen so far in a min-heap, so the worst kept score is at
// items[0] and most candidates are rejected with one comparison.
type topK struct {
	k     int
	items []scored
}

// worse reports whether a ranks below b: a lower score, or an equal score and a later row.
func worse(a, b scored) bool {
	return a.score < b.score || (a.score == b.score && a.row > b.row)
}

// offer adds (score, row) if it is among the k best.
func (t *topK) offer(score float32, row int32) {
	it := scored{score, row}
	if len(t.items) < t.k {
		t.items = append(t.items, it)
		// Sift up.
		i := len(t.items) - 1
		for i > 0 {
			p := (i - 1) / 2
			if !worse(t.items[i], t.items[p]) {
				break
			}
			t.items[i], t.items[p] = t.items[p], t.items[i]
			i = p
		}
		return
	}
	if !worse(t.items[0], it) {
		return
	}
	t.items[0] = it
	// Sift down.
	i, n := 0, len(t.items)
	for {
		l := 2*i + 1
		if l >= n {
			break
		}
		m := l
		if r := l + 1; r < n && worse(t.items[r], t.items[l]) {
			m = r
		}
		if !worse(t.items[m], t.items[i]) {
			break
		}
		t.items[i], t.items[m] = t.items[m], t.items[i]
		i = m
	}
}

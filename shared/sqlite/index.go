package sqlite

import (
	"cmp"
	"math"
	"runtime"
	"slices"
	"sync"
)

// vectorIndex is the in-process nearest-neighbour index behind SearchChunks: cosine
// similarity over each workspace's vectors, exact for small workspaces and near-exact for
// large ones. It is derived data (the database holds every embedding and Open rebuilds the
// index), which is why it can stay this simple and why another index such as HNSW can later
// replace it behind the same methods.
//
// Vectors are normalised when added, so a dot product is the cosine similarity; a zero vector
// stays zero and scores 0 against everything. Each workspace's vectors live in one flat slice
// so a search streams through contiguous memory. Each vector also keeps its chunk's path and
// language, so a filtered search skips the vectors it must not return before choosing the
// top k, and a filter never costs recall.
//
// A workspace of at least approxMin vectors is searched in two steps, because streaming every
// float of 100k 512-dim vectors (205 MB) takes tens of milliseconds per query: first every
// vector is ranked by a cheap estimate computed from a 1-bit-per-dimension sign code (64 bytes
// per vector next to its 2 KiB of floats, see signCoder), then the best of them by estimate,
// a thousand or 40 per result asked for, are scored exactly and the exact top k among them is
// returned. The scores returned are always exact; the estimate only decides which vectors get
// scored, and with that many candidates the true top k is almost always among them (see
// TestVectorIndex_ApproxRecall and docs/benchmarks.md). At 100k vectors a search costs a
// fifth to a sixth of the CPU time of a full scan.
type vectorIndex struct {
	dims  int
	coder signCoder

	// approxMin is the fewest vectors a workspace must have to be searched in two steps;
	// smaller ones are scanned exactly, which is fast enough there and keeps their results
	// exactly what a full scan gives. A field rather than a constant so tests can move it.
	approxMin int
	// minCandidates and candidatesPerK set how many estimated-best vectors a two-step search
	// scores exactly: max(minCandidates, candidatesPerK·k). Fields so tests can lower them
	// and see recall fall.
	minCandidates, candidatesPerK int

	mu     sync.RWMutex
	spaces map[string]*vectorSpace // by workspace ID
}

// vectorSpace holds one workspace's vectors: row i of vecs belongs to ids[i], whose chunk has
// metas[i]; codes and invL1 hold the row's sign code (coder.size bytes per row) and its
// scale for the estimate. Every slice moves together when a row is removed.
type vectorSpace struct {
	ids   []string
	metas []chunkMeta
	vecs  []float32
	codes []byte
	invL1 []float32
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

// Defaults of the two-step search, chosen by measurement (docs/benchmarks.md, "Embedded
// vector index"): on 100k localembed vectors of Go source, 1000 candidates find all of the
// true top 10 and 40 per result 99.7% of the top 30 and 99.8% of the top 100. Below 8k
// vectors an exact scan costs under 3 ms of CPU, too little to be worth any recall.
const (
	defaultApproxMin      = 8 << 10
	defaultMinCandidates  = 1000
	defaultCandidatesPerK = 40
)

func newVectorIndex(dims int) *vectorIndex {
	return &vectorIndex{
		dims:           dims,
		coder:          newSignCoder(dims),
		approxMin:      defaultApproxMin,
		minCandidates:  defaultMinCandidates,
		candidatesPerK: defaultCandidatesPerK,
		spaces:         make(map[string]*vectorSpace),
	}
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
	// Scratch for encode, on the stack for up to 512 dimensions: Open adds vectors one at a
	// time.
	var scratch [512]float32
	rot := scratch[:min(x.coder.n, len(scratch))]
	if x.coder.n > len(scratch) {
		rot = make([]float32, x.coder.n)
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
			sp.codes = slices.Grow(sp.codes, x.coder.size)[:len(sp.codes)+x.coder.size]
			sp.invL1 = append(sp.invL1, 0)
		}
		sp.metas[r] = metas[i]
		v := sp.vecs[r*x.dims : (r+1)*x.dims]
		normalize(v, vecs[i])
		sp.invL1[r] = x.coder.encode(sp.codes[r*x.coder.size:(r+1)*x.coder.size], v, rot)
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
	d, w := x.dims, x.coder.size
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
			copy(sp.codes[r*w:(r+1)*w], sp.codes[last*w:(last+1)*w])
			sp.invL1[r] = sp.invL1[last]
		}
		sp.ids[last] = ""
		sp.ids = sp.ids[:last]
		sp.metas[last] = chunkMeta{}
		sp.metas = sp.metas[:last]
		sp.vecs = sp.vecs[:last*d]
		sp.codes = sp.codes[:last*w]
		sp.invL1 = sp.invL1[:last]
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
// ordered by ID so results are deterministic. Scores are exact. A workspace smaller than
// approxMin, or one so small next to k that the candidates would be more than a quarter of
// it (and the two steps would save little), is scanned exactly; a larger one is searched in
// two steps (see vectorIndex), which now and then swaps one of the last of the top k for a
// vector scoring a little lower.
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
	c := max(x.minCandidates, x.candidatesPerK*k)
	var top topK
	if n < x.approxMin || c > n/4 {
		top = x.scanAll(nq, sp, k, keep)
	} else {
		top = x.searchTwoStep(nq, sp, k, c, keep)
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

// shards returns how many goroutines a scan of n rows is split across.
func shards(n int) int {
	if n < parallelMin {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), n/minShard))
}

// scanShards runs scan over rows [0, n) split into shards(n) parts, each keeping its best k,
// and merges the parts into the best k overall.
func scanShards(n, k int, scan func(lo, hi int) topK) topK {
	s := shards(n)
	if s <= 1 {
		return scan(0, n)
	}
	parts := make([]topK, s)
	var wg sync.WaitGroup
	for i := range s {
		lo, hi := n*i/s, n*(i+1)/s
		wg.Go(func() { parts[i] = scan(lo, hi) })
	}
	wg.Wait()
	top := topK{k: k, items: make([]scored, 0, min(k, n))}
	for _, p := range parts {
		for _, it := range p.items {
			top.offer(it.score, it.row)
		}
	}
	return top
}

// scanAll scores every row exactly: the top k of those keep accepts.
func (x *vectorIndex) scanAll(q []float32, sp *vectorSpace, k int, keep chunkFilter) topK {
	return scanShards(len(sp.ids), k, func(lo, hi int) topK { return scan(q, sp, lo, hi, k, keep) })
}

// searchTwoStep ranks every row keep accepts by its sign-code estimate, keeps the best c, and
// returns the exact top k among those.
func (x *vectorIndex) searchTwoStep(q []float32, sp *vectorSpace, k, c int, keep chunkFilter) topK {
	lut := x.coder.table(q)
	cand := scanShards(len(sp.ids), c, func(lo, hi int) topK {
		return estimateScan(lut, sp, lo, hi, c, keep)
	})
	// Rows in order, so the exact pass reads the vectors front to back.
	slices.SortFunc(cand.items, func(a, b scored) int { return cmp.Compare(a.row, b.row) })
	d := x.dims
	top := topK{k: k, items: make([]scored, 0, min(k, len(cand.items)))}
	for _, it := range cand.items {
		r := int(it.row)
		s := dot(q, sp.vecs[r*d:(r+1)*d])
		if len(top.items) < k || s > top.items[0].score {
			top.offer(s, it.row)
		}
	}
	return top
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

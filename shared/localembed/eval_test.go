package localembed_test

import (
	"context"
	"math"
	"os"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/localembed"
)

// The evaluation: CodeSearchNet-style retrieval over the Go standard library. Each exported
// function with a doc comment of at least five words gives a query (the doc's first
// sentence without the function's name or its parts) and a target (the function without
// its doc comment); the corpus is every target. We compare the local embedder (cosine,
// brute force), Okapi BM25 over domain.Terms (the full-text baseline), and their reciprocal
// rank fusion (the product's hybrid search). Options and the IDF table were tuned on one
// half of the packages; the held-out half is what we report.
//
//	VIBECODE_EVAL=1 go test ./shared/localembed -run Eval -v -count=1
//
// VIBECODE_EVAL=ablate also measures the embedder with each feature switched off.

const (
	evalK    = 10 // MRR@10, Recall@10
	rrfK     = 60 // reciprocal rank fusion constant
	fuseTopN = 100
	bm25K1   = 1.2
	bm25B    = 0.75
)

type evalSet struct {
	queries []string
	tune    []bool
	corpus  []string // corpus[i] is the target of queries[i]
}

func loadEvalSet(tb testing.TB) evalSet {
	tb.Helper()
	var s evalSet
	for _, f := range localembed.LoadStdlib(tb) {
		if !f.Evaluable() {
			continue
		}
		s.queries = append(s.queries, f.Query)
		s.tune = append(s.tune, f.Tune)
		s.corpus = append(s.corpus, f.Code)
	}
	return s
}

// metrics accumulates MRR@k and Recall@k over one half.
type metrics struct {
	n        int
	rr, hits float64
}

func (m *metrics) add(rank int) { // rank is 1-based; 0 = not found
	m.n++
	if rank > 0 && rank <= evalK {
		m.rr += 1 / float64(rank)
		m.hits++
	}
}
func (m metrics) mrr() float64    { return m.rr / float64(m.n) }
func (m metrics) recall() float64 { return m.hits / float64(m.n) }

// ranking is, per query, the rank of its target and the top fuseTopN document indexes.
type ranking struct {
	rank []int
	top  [][]int
}

func topN(scores []float64, n int) []int {
	idx := make([]int, 0, len(scores))
	for i, s := range scores {
		if s > 0 || math.IsInf(s, 0) {
			idx = append(idx, i)
		}
	}
	slices.SortFunc(idx, func(a, b int) int {
		switch {
		case scores[a] > scores[b]:
			return -1
		case scores[a] < scores[b]:
			return 1
		}
		return a - b
	})
	if len(idx) > n {
		idx = idx[:n]
	}
	return idx
}

// rankOf is 1 + the number of documents scoring strictly higher than the target, or 0 if the
// target scored nothing at all.
func rankOf(scores []float64, target int) int {
	if scores[target] <= 0 {
		return 0
	}
	r := 1
	for i, s := range scores {
		if i != target && s > scores[target] {
			r++
		}
	}
	return r
}

func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	workers := min(runtime.GOMAXPROCS(0), 2)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				fn(i)
			}
		})
	}
	wg.Wait()
}

func denseRanking(tb testing.TB, e domain.Embedder, s evalSet, only func(i int) bool) ranking {
	tb.Helper()
	ctx := context.Background()
	start := time.Now()
	docs, err := e.Embed(ctx, s.corpus)
	if err != nil {
		tb.Fatal(err)
	}
	if el := time.Since(start); el > 0 {
		var n int
		for _, c := range s.corpus {
			n += len(c)
		}
		tb.Logf("embedded the corpus (%d functions, %.1f MB) from a cold cache on one goroutine in %s: %.0f functions/s, %.1f MB/s",
			len(s.corpus), float64(n)/1e6, el.Round(time.Millisecond), float64(len(s.corpus))/el.Seconds(), float64(n)/1e6/el.Seconds())
	}
	qs, err := e.Embed(ctx, s.queries)
	if err != nil {
		tb.Fatal(err)
	}
	r := ranking{rank: make([]int, len(qs)), top: make([][]int, len(qs))}
	parallel(len(qs), func(q int) {
		if !only(q) {
			return
		}
		scores := make([]float64, len(docs))
		qv := qs[q]
		for d, dv := range docs {
			var dot float32
			for i := range qv {
				dot += qv[i] * dv[i]
			}
			// Shifted so that every document has a positive score and so a rank.
			scores[d] = float64(dot) + 2
		}
		r.rank[q] = rankOf(scores, q)
		r.top[q] = topN(scores, fuseTopN)
	})
	return r
}

// bm25Ranking is Okapi BM25 over domain.Terms, the baseline the embedder must complement.
func bm25Ranking(s evalSet, only func(i int) bool) ranking {
	type posting struct {
		doc int
		tf  float64
	}
	index := map[string][]posting{}
	lens := make([]float64, len(s.corpus))
	var total float64
	for d, text := range s.corpus {
		terms := domain.Terms(text)
		lens[d] = float64(len(terms))
		total += lens[d]
		tf := map[string]float64{}
		for _, t := range terms {
			tf[t]++
		}
		for t, n := range tf {
			index[t] = append(index[t], posting{d, n})
		}
	}
	n := float64(len(s.corpus))
	avg := total / n
	r := ranking{rank: make([]int, len(s.queries)), top: make([][]int, len(s.queries))}
	parallel(len(s.queries), func(q int) {
		if !only(q) {
			return
		}
		scores := make([]float64, len(s.corpus))
		for _, t := range domain.Terms(s.queries[q]) {
			ps := index[t]
			idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
			for _, p := range ps {
				scores[p.doc] += idf * p.tf * (bm25K1 + 1) / (p.tf + bm25K1*(1-bm25B+bm25B*lens[p.doc]/avg))
			}
		}
		r.rank[q] = rankOf(scores, q)
		r.top[q] = topN(scores, fuseTopN)
	})
	return r
}

// fuse is reciprocal rank fusion of two rankings' top lists, the rank of the target in it.
func fuse(a, b ranking, q int) int {
	score := map[int]float64{}
	for _, top := range [][]int{a.top[q], b.top[q]} {
		for i, d := range top {
			score[d] += 1 / float64(rrfK+i+1)
		}
	}
	t, ok := score[q]
	if !ok {
		return 0
	}
	r := 1
	for d, s := range score {
		if d != q && s > t {
			r++
		}
	}
	return r
}

type halfResult struct{ dense, bm25, hybrid metrics }

func evaluate(dense, bm25 ranking, s evalSet, tune bool) halfResult {
	var h halfResult
	for q := range s.queries {
		if s.tune[q] != tune {
			continue
		}
		h.dense.add(dense.rank[q])
		h.bm25.add(bm25.rank[q])
		h.hybrid.add(fuse(dense, bm25, q))
	}
	return h
}

func TestEval(t *testing.T) {
	mode := os.Getenv("VIBECODE_EVAL")
	if mode == "" {
		t.Skip("set VIBECODE_EVAL=1 (or =ablate) to run the retrieval evaluation")
	}
	s := loadEvalSet(t)
	ntune := 0
	for _, b := range s.tune {
		if b {
			ntune++
		}
	}
	t.Logf("corpus %d functions; queries: %d tuning, %d held out", len(s.corpus), ntune, len(s.corpus)-ntune)
	all := func(int) bool { return true }
	bm := bm25Ranking(s, all)
	report := func(name string, o localembed.Options, only func(int) bool, halves ...bool) {
		dense := denseRanking(t, localembed.NewWithOptions(o), s, only)
		for _, tune := range halves {
			h := evaluate(dense, bm, s, tune)
			half := "held-out"
			if tune {
				half = "tuning"
			}
			t.Logf("%-22s %-8s dense MRR@10 %.4f R@10 %.4f | bm25 MRR@10 %.4f R@10 %.4f | hybrid MRR@10 %.4f R@10 %.4f (%.2f× bm25)",
				name, half, h.dense.mrr(), h.dense.recall(), h.bm25.mrr(), h.bm25.recall(),
				h.hybrid.mrr(), h.hybrid.recall(), h.hybrid.mrr()/h.bm25.mrr())
		}
	}
	report("default", localembed.DefaultOptions, all, true, false)
	if mode != "ablate" {
		return
	}
	for _, v := range ablations() {
		report(v.name, v.opt, all, true, false)
	}
}

type variant struct {
	name string
	opt  localembed.Options
}

func ablations() []variant {
	var vs []variant
	add := func(name string, f func(o *localembed.Options)) {
		o := localembed.DefaultOptions
		f(&o)
		vs = append(vs, variant{name, o})
	}
	add("-synonyms", func(o *localembed.Options) { o.Synonyms = false })
	add("-stem", func(o *localembed.Options) { o.Stem = false })
	add("-idf", func(o *localembed.Options) { o.IDF = false })
	add("-sublinearTF", func(o *localembed.Options) { o.SublinearTF = false })
	add("-ngrams", func(o *localembed.Options) { o.Ngrams = false })
	add("-assoc", func(o *localembed.Options) { o.AssocWeight = 0 })
	add("-firstLine", func(o *localembed.Options) { o.FirstLineWeight = 1 })
	add("hashes=1", func(o *localembed.Options) { o.Hashes = 1 })
	add("-all (plain hashed TF)", func(o *localembed.Options) {
		*o = localembed.Options{Hashes: 1, WholeWeight: 1, FirstLineWeight: 1}
	})
	return vs
}

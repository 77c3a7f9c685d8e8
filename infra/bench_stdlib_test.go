package main

import (
	"math"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/stdlibeval"
)

// The retrieval evaluation set, CodeSearchNet style, built from the Go standard library by
// shared/stdlibeval, as shared/localembed's evaluation (eval_test.go) is, so the two can be
// compared: every exported function or method with a body and a doc comment of at least five
// words whose query (the first sentence without the function's name and its identifier parts)
// keeps at least three; the target is the function without its doc comment.

// evalFunc is one function of the evaluation set.
type evalFunc = stdlibeval.Func

// loadEvalFuncs returns the evaluation set in file order: the standard library's
// stdlibeval.Func.Evaluable functions.
func loadEvalFuncs(tb testing.TB) []evalFunc {
	tb.Helper()
	all, err := stdlibeval.Load(goSrc(tb))
	if err != nil {
		tb.Fatal(err)
	}
	var out []evalFunc
	for _, f := range all {
		if f.Evaluable() {
			out = append(out, f)
		}
	}
	return out
}

// Okapi BM25 parameters of the baseline.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// bm25Index is Okapi BM25 over domain.Terms, the full-text baseline the issue compares
// hybrid search against.
type bm25Index struct {
	postings map[string][]bm25Posting
	lens     []float64
	avg      float64
}

type bm25Posting struct {
	doc int
	tf  float64
}

func newBM25(docs []string) *bm25Index {
	x := &bm25Index{postings: map[string][]bm25Posting{}, lens: make([]float64, len(docs))}
	var total float64
	for d, text := range docs {
		terms := domain.Terms(text)
		x.lens[d] = float64(len(terms))
		total += x.lens[d]
		tf := map[string]float64{}
		for _, t := range terms {
			tf[t]++
		}
		for t, n := range tf {
			x.postings[t] = append(x.postings[t], bm25Posting{d, n})
		}
	}
	x.avg = total / float64(len(docs))
	return x
}

// rank returns the 1-based rank of doc target for query, or 0 when the target scores
// nothing or ranks below k. Ties are broken by document index, as the product breaks them by
// path.
func (x *bm25Index) rank(query string, target, k int) int {
	n := float64(len(x.lens))
	scores := make([]float64, len(x.lens))
	for _, t := range domain.Terms(query) {
		ps := x.postings[t]
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			scores[p.doc] += idf * p.tf * (bm25K1 + 1) / (p.tf + bm25K1*(1-bm25B+bm25B*x.lens[p.doc]/x.avg))
		}
	}
	if scores[target] <= 0 {
		return 0
	}
	r := 1
	for d, s := range scores {
		if s > scores[target] || (s == scores[target] && d < target) {
			r++
		}
	}
	if r > k {
		return 0
	}
	return r
}

// retrieval accumulates MRR@k and Recall@k.
type retrieval struct {
	n        int
	rr, hits float64
}

// add records one query whose target ranked rank (1-based; 0 = not in the top k).
func (m *retrieval) add(rank int) {
	m.n++
	if rank > 0 {
		m.rr += 1 / float64(rank)
		m.hits++
	}
}

func (m retrieval) mrr() float64    { return m.rr / float64(max(m.n, 1)) }
func (m retrieval) recall() float64 { return m.hits / float64(max(m.n, 1)) }

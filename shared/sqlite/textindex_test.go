package sqlite

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// refDoc is a document of the reference ranking.
type refDoc struct {
	textDoc
	removed bool
}

// refSearch ranks docs the slow way: BM25F over the live documents with exact document
// frequencies, the tiers, and the ties by path then ID, as textIndex.search promises.
func refSearch(docs []refDoc, terms []string, identifier string, k int, keep chunkFilter) []textHit {
	var live []refDoc
	var total float64
	for _, d := range docs {
		if !d.removed {
			live = append(live, d)
		}
	}
	type counted struct {
		tf       map[string]float64
		inSymbol map[string]bool
		length   float64
	}
	cs := make([]counted, len(live))
	df := map[string]float64{}
	for i, d := range live {
		c := counted{tf: map[string]float64{}, inSymbol: map[string]bool{}}
		for _, f := range []struct {
			terms  string
			weight float64
		}{{d.fields.symbol, bm25Symbol}, {d.fields.path, bm25Path}, {d.fields.content, 1}} {
			for _, t := range strings.Fields(f.terms) {
				c.tf[t] += f.weight
				c.length += f.weight
			}
		}
		for _, t := range strings.Fields(d.fields.symbol) {
			c.inSymbol[t] = true
		}
		for t := range c.tf {
			df[t]++
		}
		total += c.length
		cs[i] = c
	}
	n := float64(len(live))
	var hits []textHit
	for i, d := range live {
		if keep != nil && !keep(d.meta) {
			continue
		}
		var rel float64
		matched, symbol := false, 0
		for _, t := range terms {
			tf := cs[i].tf[t]
			if tf == 0 {
				continue
			}
			matched = true
			if cs[i].inSymbol[t] {
				symbol++
			}
			idf := math.Log(1 + (n-df[t]+0.5)/(df[t]+0.5))
			rel += idf * tf * (bm25K1 + 1) / (tf + bm25K1*(1-bm25B+bm25B*cs[i].length/(total/n)))
		}
		if !matched {
			continue
		}
		score := rel / (rel + 1)
		switch {
		case identifier != "" && strings.Contains(d.fields.names, identifier):
			score += 2
		case symbol == len(terms):
			score++
		}
		hits = append(hits, textHit{id: d.id, path: d.meta.path, score: score})
	}
	slices.SortFunc(hits, func(a, b textHit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.path, b.path); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	})
	return hits[:min(k, len(hits))]
}

// TestTextIndex_MatchesReference compares the index's ranking with refSearch on random
// documents, before any removal and after enough removals (and re-adds) that the workspace is
// compacted, with and without a filter.
func TestTextIndex_MatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vocab := []string{"parse", "chunk", "http", "server", "retry", "count", "max", "read", "write", "buffer",
		"the", "return", "err", "nil", "string", "rare", "handle", "request", "close", "open"}
	words := func(n int) string {
		var ws []string
		for range n {
			// Zipf-like: early words are much more common.
			ws = append(ws, vocab[min(len(vocab)-1, int(r.ExpFloat64()*4))])
		}
		return strings.Join(ws, " ")
	}
	x := newTextIndex()
	var docs []refDoc
	addDocs := func(n int) {
		var batch []textDoc
		for range n {
			i := len(docs)
			sym := words(1 + r.IntN(2))
			d := textDoc{id: fmt.Sprintf("c%05d", i), meta: chunkMeta{path: fmt.Sprintf("dir%d/f%d.go", i%5, i%40), language: "go"},
				fields: searchFields{names: " " + strings.ReplaceAll(sym, " ", "") + " ", symbol: sym, path: words(1), content: words(5 + r.IntN(40))}}
			docs = append(docs, refDoc{textDoc: d})
			batch = append(batch, d)
		}
		x.add("w", batch)
	}
	addDocs(3000)
	x.add("other", []textDoc{{id: "o1", meta: chunkMeta{path: "dir0/x.go"}, fields: searchFields{content: "parse rare"}}})

	queries := [][]string{{"parse"}, {"rare"}, {"the", "return", "err"}, {"retry", "count", "max"}, {"http", "server", "rare", "open"}, {"absent"}}
	filters := map[string]chunkFilter{"none": nil, "dir3": func(m chunkMeta) bool { return strings.HasPrefix(m.path, "dir3/") }}
	check := func(when string) {
		t.Helper()
		for _, q := range queries {
			for name, keep := range filters {
				ident := ""
				if len(q) == 1 {
					ident = " " + q[0] + " "
				}
				got := x.search("w", q, ident, 30, keep)
				want := refSearch(docs, q, ident, 30, keep)
				if len(got) != len(want) {
					t.Fatalf("%s: %v (filter %s): %d hits, want %d", when, q, name, len(got), len(want))
				}
				for i := range want {
					if got[i].id != want[i].id || math.Abs(got[i].score-want[i].score) > 1e-4 {
						t.Fatalf("%s: %v (filter %s): hit %d is %+v, want %+v", when, q, name, i, got[i], want[i])
					}
				}
			}
		}
	}
	check("fresh")

	// Remove 2,400 chunks (more than the 1,024 and than the survivors, so the workspace is
	// compacted and document frequencies are exact again), then replace some survivors.
	var removed []string
	for _, i := range r.Perm(len(docs))[:2400] {
		docs[i].removed = true
		removed = append(removed, docs[i].id)
	}
	x.remove("w", removed)
	if sp := x.spaces["w"]; len(sp.ids) != sp.live || sp.live != 600 {
		t.Fatalf("after removing 2,400 of 3,000: %d rows, %d live; want a compacted 600", len(sp.ids), sp.live)
	}
	check("compacted")
	var again []textDoc
	for i := range docs {
		if !docs[i].removed && i%7 == 0 {
			docs[i].fields.content = words(10)
			again = append(again, docs[i].textDoc)
		}
	}
	x.add("w", again)
	addDocs(50)
	// Re-adding tombstones the old rows: their postings still count in document frequencies,
	// so only check that the results are live, distinct, and contain a query term.
	for _, q := range queries {
		seen := map[string]bool{}
		for _, h := range x.search("w", q, "", 30, nil) {
			sp := x.spaces["w"]
			if _, ok := sp.row[h.id]; !ok || seen[h.id] {
				t.Fatalf("after re-adds, %v returns %s (live %v, repeated %v)", q, h.id, ok, seen[h.id])
			}
			seen[h.id] = true
		}
	}
	x.dropWorkspace("w")
	if got := x.search("w", []string{"parse"}, "", 10, nil); len(got) != 0 {
		t.Fatalf("a dropped workspace still answers: %v", got)
	}
	if got := x.search("other", []string{"rare"}, "", 10, nil); len(got) != 1 {
		t.Fatalf("the other workspace lost its chunk: %v", got)
	}
}

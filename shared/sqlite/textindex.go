package sqlite

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"sync"
)

// textIndex is the in-process inverted index behind SearchChunksText: for each workspace, the
// postings of every term of its chunks' symbol, path and content (domain.Terms, the
// rag_chunks term columns), ranked by BM25F. Like vectorIndex it is derived data — Open
// builds it from the term columns and every chunk change updates it after its commit — and it
// exists for speed: SQLite's FTS5 computes bm25() per matching row at several microseconds
// each (in modernc's translated C), so a natural-language query matching most of a 100,000
// chunk workspace took hundreds of milliseconds; here a posting costs a few nanoseconds, so
// every term of every query is ranked exactly, with the workspace's own term statistics.
//
// Removed rows are tombstoned (their postings stay until the workspace is compacted, which
// happens once dead rows outnumber live ones), so a change never rewrites long posting lists.
// A term's document frequency counts its dead postings until then, which at most doubles it.
type textIndex struct {
	mu     sync.RWMutex
	spaces map[string]*textSpace // by workspace ID
}

// textSpace is one workspace's inverted index. Row r belongs to chunk ids[r] ("" once
// removed).
type textSpace struct {
	ids      []string
	metas    []chunkMeta
	names    []string  // symbolNames of each row's symbol, for the identifier tier
	lens     []float32 // weighted length of each row
	row      map[string]int32
	postings map[string][]posting
	live     int
	totalLen float64 // of the live rows
}

// posting is one term in one row: tf is the term's weighted frequency in the row (bm25Symbol
// per occurrence in the symbol, bm25Path in the path, 1 in the content), negated when the
// symbol has the term, which the symbol tiers need.
type posting struct {
	row int32
	tf  float32
}

// BM25 parameters: the usual ones.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// textDoc is what the text index needs of a chunk: its ID, filter fields and searchFields.
type textDoc struct {
	id     string
	meta   chunkMeta
	fields searchFields
}

func newTextIndex() *textIndex {
	return &textIndex{spaces: make(map[string]*textSpace)}
}

// add indexes the chunks of the workspace; a chunk ID already indexed is replaced.
func (x *textIndex) add(ws string, docs []textDoc) {
	if len(docs) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	sp := x.spaces[ws]
	if sp == nil {
		sp = &textSpace{row: make(map[string]int32), postings: make(map[string][]posting)}
		x.spaces[ws] = sp
	}
	// Reused across the documents: Open adds every chunk of the database one at a time.
	tf := map[string]float32{}
	inSymbol := map[string]bool{}
	for _, d := range docs {
		sp.removeRow(d.id)
		r := int32(len(sp.ids))
		clear(tf)
		clear(inSymbol)
		var length float32
		count := func(terms string, weight float32, symbol bool) {
			for t := range strings.FieldsSeq(terms) {
				tf[t] += weight
				length += weight
				if symbol {
					inSymbol[t] = true
				}
			}
		}
		count(d.fields.symbol, bm25Symbol, true)
		count(d.fields.path, bm25Path, false)
		count(d.fields.content, 1, false)
		for t, f := range tf {
			if inSymbol[t] {
				f = -f
			}
			sp.postings[t] = append(sp.postings[t], posting{row: r, tf: f})
		}
		sp.ids = append(sp.ids, d.id)
		sp.metas = append(sp.metas, d.meta)
		sp.names = append(sp.names, d.fields.names)
		sp.lens = append(sp.lens, length)
		sp.row[d.id] = r
		sp.live++
		sp.totalLen += float64(length)
	}
}

// remove forgets the chunk IDs of the workspace; unknown IDs are ignored.
func (x *textIndex) remove(ws string, ids []string) {
	if len(ids) == 0 {
		return
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	sp := x.spaces[ws]
	if sp == nil {
		return
	}
	for _, id := range ids {
		sp.removeRow(id)
	}
	switch {
	case sp.live == 0:
		delete(x.spaces, ws)
	case len(sp.ids)-sp.live > max(sp.live, 1024):
		sp.compact()
	}
}

// removeRow tombstones the chunk's row, if it has one.
func (sp *textSpace) removeRow(id string) {
	r, ok := sp.row[id]
	if !ok {
		return
	}
	delete(sp.row, id)
	sp.ids[r], sp.names[r], sp.metas[r] = "", "", chunkMeta{}
	sp.live--
	sp.totalLen -= float64(sp.lens[r])
}

// compact renumbers the live rows densely and drops the dead rows' postings.
func (sp *textSpace) compact() {
	renum := make([]int32, len(sp.ids))
	n := int32(0)
	for r, id := range sp.ids {
		renum[r] = -1
		if id != "" {
			renum[r] = n
			sp.ids[n], sp.metas[n], sp.names[n], sp.lens[n] = sp.ids[r], sp.metas[r], sp.names[r], sp.lens[r]
			sp.row[id] = n
			n++
		}
	}
	clear(sp.ids[n:])
	clear(sp.names[n:])
	clear(sp.metas[n:])
	sp.ids, sp.metas, sp.names, sp.lens = sp.ids[:n], sp.metas[:n], sp.names[:n], sp.lens[:n]
	for t, ps := range sp.postings {
		kept := ps[:0]
		for _, p := range ps {
			if nr := renum[p.row]; nr >= 0 {
				kept = append(kept, posting{row: nr, tf: p.tf})
			}
		}
		if len(kept) == 0 {
			delete(sp.postings, t)
			continue
		}
		sp.postings[t] = slices.Clip(kept)
	}
}

// dropWorkspace forgets the workspace.
func (x *textIndex) dropWorkspace(ws string) {
	x.mu.Lock()
	defer x.mu.Unlock()
	delete(x.spaces, ws)
}

// textHit is a ranked row of a text search.
type textHit struct {
	id, path string
	score    float64
}

// search returns up to k chunks of the workspace that contain any of terms (distinct), among
// those keep accepts (all when nil), best first by tier + r/(r+1), where r is the chunk's
// BM25F relevance and the tier is 2 when identifier (" name ", or "" when the query is not
// one identifier) is among the names the chunk's symbol declares, 1 when its symbol has every
// term, 0 otherwise. Equal scores are ordered by path, then ID.
func (x *textIndex) search(ws string, terms []string, identifier string, k int, keep chunkFilter) []textHit {
	if k <= 0 || len(terms) == 0 {
		return nil
	}
	x.mu.RLock()
	defer x.mu.RUnlock()
	sp := x.spaces[ws]
	if sp == nil || sp.live == 0 {
		return nil
	}
	n := len(sp.ids)
	scores := make([]float32, n)
	inSymbol := make([]uint8, n)
	// allowed caches keep's answer per row: 0 not asked yet, 1 kept, 2 filtered out.
	var allowed []uint8
	if keep != nil {
		allowed = make([]uint8, n)
	}
	var touched []int32
	N := float64(sp.live)
	avgLen := sp.totalLen / N
	for _, t := range terms {
		ps := sp.postings[t]
		if len(ps) == 0 {
			continue
		}
		df := min(float64(len(ps)), N)
		idf := float32(math.Log(1 + (N-df+0.5)/(df+0.5)))
		for _, p := range ps {
			r := p.row
			if sp.ids[r] == "" {
				continue
			}
			if allowed != nil {
				if allowed[r] == 0 {
					allowed[r] = 2
					if keep(sp.metas[r]) {
						allowed[r] = 1
					}
				}
				if allowed[r] != 1 {
					continue
				}
			}
			tf := p.tf
			if tf < 0 {
				tf = -tf
				inSymbol[r]++
			}
			if scores[r] == 0 {
				touched = append(touched, r)
			}
			norm := bm25K1 * (1 - bm25B + bm25B*sp.lens[r]/float32(avgLen))
			scores[r] += idf * tf * (bm25K1 + 1) / (tf + norm)
		}
	}
	top := make([]textHit, 0, min(k, len(touched)))
	worse := func(a, b textHit) int { // > 0 when a ranks below b
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		if c := cmp.Compare(a.path, b.path); c != 0 {
			return c
		}
		return cmp.Compare(a.id, b.id)
	}
	for _, r := range touched {
		rel := float64(scores[r])
		score := rel / (rel + 1)
		switch {
		case identifier != "" && strings.Contains(sp.names[r], identifier):
			score += 2
		case int(inSymbol[r]) == len(terms):
			score++
		}
		h := textHit{id: sp.ids[r], path: sp.metas[r].path, score: score}
		if len(top) == k {
			if worse(h, top[k-1]) >= 0 {
				continue
			}
			top = top[:k-1]
		}
		i, _ := slices.BinarySearchFunc(top, h, worse)
		top = slices.Insert(top, i, h)
	}
	return top
}

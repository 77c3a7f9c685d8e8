// Package localembed is the embedder every user gets without an API key: a deterministic,
// network-free feature-hashing model tuned for finding code from natural-language and
// code-ish queries.
//
// A text becomes a bag of features: its words and identifier parts (domain.Terms's view of
// it), stemmed and with common code abbreviations spelled out; character 3–5-grams of each
// for sub-word and typo robustness; and, at lower weight, the code words a learned lexicon
// associates with each word ("reports" → bool). Each is weighted by sublinear term
// frequency and a static inverse document frequency learned from the Go standard library,
// words of a chunk's first line (usually its declaration) count three times, and all are
// hashed with random signs into domain.EmbeddingDims buckets. The cosine of two vectors
// approximates a TF-IDF cosine over these features, which is what makes "returns the number
// of bytes in the buffer" land near func (b *Buffer) Len() int { return len(b.buf) - b.off }.
//
// testdata/eval-result.txt has the retrieval evaluation (eval_test.go) and what each feature
// adds to it.
package localembed

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

//go:generate env VIBECODE_GEN_IDF=1 go test -run ^TestGenerateIDF$ -count=1 .

// ModelName is what Model returns. Embeddings are cached by model name, so it must change
// whenever a change here moves any vector: features, weights, the hashing, or the tables
// (idf.txt, assoc.txt), which go generate derives from the installed Go's standard library
// and so may change with the Go version.
const ModelName = "local-hash-v1"

var _ domain.Embedder = (*Embedder)(nil)

// Embedder is the local feature-hashing embedder. Its only state is a cache of the features
// of words it has seen, safe for concurrent use, so one value may be shared by any number of
// goroutines (and should be: the cache is what makes it fast).
type Embedder struct {
	opt   options
	cache *wordCache
}

// options switch the features on and off; the evaluation flips them one at a time to
// measure what each buys. New uses defaultOptions.
type options struct {
	Synonyms        bool    // spell out abbreviations (len → length)
	Stem            bool    // strip inflections (returns → return)
	IDF             bool    // weight by the static IDF table
	SublinearTF     bool    // 1+ln(tf) instead of tf
	Ngrams          bool    // character n-grams of each stem
	NgramMin        int     // shortest n-gram
	NgramMax        int     // longest n-gram
	NgramWeight     float64 // weight of all of a term's n-grams together, relative to the term
	WholeWeight     float64 // weight of a compound identifier as a whole, relative to a part
	Hashes          int     // buckets each feature is spread over
	AssocWeight     float64 // weight of learned associates (assoc.txt) relative to their term
	FirstLineWeight float64 // how many times a word of a multi-line text's first line counts
}

var defaultOptions = options{
	Synonyms:        true,
	Stem:            true,
	IDF:             true,
	SublinearTF:     true,
	Ngrams:          true,
	NgramMin:        3,
	NgramMax:        5,
	NgramWeight:     0.8,
	WholeWeight:     0.5,
	Hashes:          2,
	AssocWeight:     0.7,
	FirstLineWeight: 3,
}

// New returns the local embedder.
func New() *Embedder {
	return newWithOptions(defaultOptions)
}

func newWithOptions(o options) *Embedder {
	return &Embedder{opt: o, cache: new(wordCache)}
}

// Model returns ModelName.
func (e *Embedder) Model() string { return ModelName }

// Embed returns one L2-normalised vector per text. It fails only when ctx is done. A text
// without a single word (empty, all punctuation) gets one fixed unit vector.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	backing := make([]float32, len(texts)*domain.EmbeddingDims)
	for i, t := range texts {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("localembed: %w", err)
			}
		}
		v := backing[i*domain.EmbeddingDims : (i+1)*domain.EmbeddingDims : (i+1)*domain.EmbeddingDims]
		e.embed(t, v)
		out[i] = v
	}
	return out, nil
}

// wordFeatures is what one word of text contributes, computed once per distinct word and
// cached: its stems, and for each stem the sparse vector (IDF, n-grams and associates
// included) that gets added once per text, scaled by the stem's term frequency.
type wordFeatures struct {
	word  string
	stems []stemFeatures
}

type stemFeatures struct {
	key   uint64  // hash of the stem: identifies it within one text
	scale float64 // WholeWeight for a compound identifier as a whole, 1 otherwise
	feats []feat
}

// feat is one non-zero bucket of a stem's sparse vector.
type feat struct {
	i int32
	v float32
}

// cacheSize is the number of words the direct-mapped cache holds. A miss costs a few
// microseconds; 1<<15 entries of typically 30 buckets stay under ten megabytes.
const cacheSize = 1 << 15

// wordCache maps a word's hash to its features. Slots are replaced, never locked: readers
// see either the old entry or the new one, and check the word.
type wordCache [cacheSize]atomic.Pointer[wordFeatures]

// term is one distinct stem of a text while it is being counted.
type term struct {
	count float64
	scale float64
	feats []feat
}

// scratch is the per-call working memory, pooled because Embed is called per chunk.
type scratch struct {
	terms map[uint64]int
	list  []term
	acc   [domain.EmbeddingDims]float64
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{terms: make(map[uint64]int, 256)}
}}

func (e *Embedder) embed(text string, v []float32) {
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	clear(s.terms)
	s.list = s.list[:0]
	s.acc = [domain.EmbeddingDims]float64{}

	// The first line of a chunk of code is usually its declaration (name, receiver,
	// parameters, results): the densest summary of what the code does, so its words count
	// FirstLineWeight times. A one-line text (a query) is left alone.
	firstLineEnd := strings.IndexByte(text, '\n')
	forEachWord(text, func(word string, at int) {
		inc := 1.0
		if at < firstLineEnd {
			inc = e.opt.FirstLineWeight
		}
		for _, sf := range e.features(word).stems {
			if i, ok := s.terms[sf.key]; ok {
				s.list[i].count += inc
				s.list[i].scale = max(s.list[i].scale, sf.scale)
				continue
			}
			s.terms[sf.key] = len(s.list)
			s.list = append(s.list, term{count: inc, scale: sf.scale, feats: sf.feats})
		}
	})

	for _, t := range s.list {
		w := t.count
		if e.opt.SublinearTF {
			w = 1 + math.Log(w)
		}
		w *= t.scale
		for _, f := range t.feats {
			s.acc[f.i] += w * float64(f.v)
		}
	}

	var norm float64
	for _, x := range s.acc {
		norm += x * x
	}
	if norm == 0 {
		// No words at all: a fixed unit vector rather than zeros, whose cosine is undefined
		// (NaN in pgvector) and would break the nearest-neighbour index.
		clear(v)
		v[emptyBucket] = 1
		return
	}
	inv := 1 / math.Sqrt(norm)
	for i, x := range s.acc {
		v[i] = float32(x * inv)
	}
}

// features returns the cached features of word, computing them on a miss.
func (e *Embedder) features(word string) *wordFeatures {
	slot := &e.cache[hashString(0, word)%cacheSize]
	if wf := slot.Load(); wf != nil && wf.word == word {
		return wf
	}
	wf := &wordFeatures{word: strings.Clone(word)}
	e.wordStems(word, func(stem string, scale float64) {
		wf.stems = append(wf.stems, stemFeatures{key: hashString(seedWord, stem), scale: scale, feats: e.stemVector(stem)})
	})
	slot.Store(wf)
	return wf
}

// stemVector is the sparse vector of one occurrence of stem at weight 1: the stem itself,
// its character n-grams and its learned associates, times its IDF.
func (e *Embedder) stemVector(stem string) []feat {
	w := 1.0
	if e.opt.IDF {
		w = idfOf(stem)
	}
	var buf [128]feat
	fs := e.spread(buf[:0], hashString(seedWord, stem), w)
	if e.opt.Ngrams {
		fs = e.addNgrams(fs, stem, w)
	}
	if e.opt.AssocWeight > 0 {
		for _, a := range assocTable[stem] {
			fs = e.spread(fs, hashString(seedWord, a.stem), w*e.opt.AssocWeight*a.score)
		}
	}
	// Merge the buckets hit more than once.
	slices.SortFunc(fs, func(a, b feat) int { return int(a.i - b.i) })
	out := make([]feat, 0, len(fs))
	for _, f := range fs {
		if n := len(out); n > 0 && out[n-1].i == f.i {
			out[n-1].v += f.v
			continue
		}
		out = append(out, f)
	}
	return out
}

// collect counts the distinct stems of text into counts (the IDF generator's view of a text).
func (e *Embedder) collect(text string, counts map[string]int) {
	forEachWord(text, func(word string, _ int) {
		e.wordStems(word, func(stem string, _ float64) { counts[stem]++ })
	})
}

// wordStems calls fn with each stem of one word: the word itself and, for an identifier,
// each of its parts, abbreviations spelled out and inflections stripped as the options say.
// A stem may come more than once ("readRead").
func (e *Embedder) wordStems(word string, fn func(stem string, scale float64)) {
	add := func(w string, scale float64) {
		if e.opt.Synonyms {
			if exp, ok := expansions[w]; ok {
				for _, x := range exp {
					e.emitStem(x, scale, fn)
				}
				return
			}
		}
		e.emitStem(w, scale, fn)
	}
	lower := toLower(word)
	parts := domain.IdentifierParts(word)
	if len(parts) == 1 && parts[0] == lower {
		if keep(lower) {
			add(lower, 1)
		}
		return
	}
	if keep(lower) {
		add(lower, e.opt.WholeWeight)
	}
	for _, p := range parts {
		if keep(p) {
			add(p, 1)
		}
	}
}

func (e *Embedder) emitStem(w string, scale float64, fn func(string, float64)) {
	if e.opt.Stem {
		w = stem(w)
	}
	fn(w, scale)
}

// addNgrams spreads weight w over the character n-grams of "<stem>", the markers letting
// prefixes and suffixes count as such.
func (e *Embedder) addNgrams(fs []feat, stem string, w float64) []feat {
	var buf [66]byte
	b := append(buf[:0], '<')
	b = append(b, stem...)
	b = append(b, '>')
	n := 0
	for k := e.opt.NgramMin; k <= e.opt.NgramMax; k++ {
		if len(b) > k {
			n += len(b) - k + 1
		}
	}
	if n == 0 {
		return fs
	}
	each := w * e.opt.NgramWeight / math.Sqrt(float64(n))
	for k := e.opt.NgramMin; k <= e.opt.NgramMax; k++ {
		if len(b) <= k {
			continue
		}
		for i := 0; i+k <= len(b); i++ {
			fs = e.spread(fs, hashBytes(seedNgram, b[i:i+k]), each)
		}
	}
	return fs
}

// emptyBucket is where the vector of a text without words points.
const emptyBucket = 0

const (
	seedWord  = 0x9e3779b97f4a7c15
	seedNgram = 0xc2b2ae3d27d4eb4f
)

// hashString is FNV-1a from a seeded basis; spread remixes it, as FNV's low bits are weak.
func hashString(seed uint64, s string) uint64 {
	h := seed ^ 0xcbf29ce484222325
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

func hashBytes(seed uint64, s []byte) uint64 {
	h := seed ^ 0xcbf29ce484222325
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 0x100000001b3
	}
	return h
}

// spread appends ±w/√k at k buckets chosen by successive remixes of h. Random signs make
// collisions cancel in expectation instead of inflating every similarity.
func (e *Embedder) spread(fs []feat, h uint64, w float64) []feat {
	k := e.opt.Hashes
	if k > 1 {
		w /= math.Sqrt(float64(k))
	}
	for range k {
		h = mix(h)
		v := float32(w)
		if h>>63 != 0 {
			v = -v
		}
		fs = append(fs, feat{int32(h % domain.EmbeddingDims), v})
		h += 0x9e3779b97f4a7c15
	}
	return fs
}

// mix is splitmix64's finaliser: FNV's low bits are weak, this spreads them.
func mix(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// keep applies domain.Terms's length rule, so the embedder sees the terms full-text search
// sees.
func keep(t string) bool { return len(t) > 1 && len(t) <= 64 }

// forEachWord calls fn with each maximal run of letters, digits and underscores, the words
// domain.Terms splits text into, and its byte offset.
func forEachWord(text string, fn func(word string, at int)) {
	start := -1
	for i := 0; i < len(text); {
		c := text[i]
		if c < utf8.RuneSelf {
			if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' {
				if start < 0 {
					start = i
				}
			} else if start >= 0 {
				fn(text[start:i], start)
				start = -1
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(text[i:])
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
		} else if start >= 0 {
			fn(text[start:i], start)
			start = -1
		}
		i += size
	}
	if start >= 0 {
		fn(text[start:], start)
	}
}

// toLower is strings.ToLower without the allocation for words that are already lower case.
func toLower(s string) string {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= utf8.RuneSelf || c >= 'A' && c <= 'Z' {
			return lowerSlow(s)
		}
	}
	return s
}

func lowerSlow(s string) string { return strings.ToLower(s) }

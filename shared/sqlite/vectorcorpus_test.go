package sqlite

import (
	"math"
	"math/rand/v2"
	"slices"
)

// hashedCorpus generates vectors shaped like shared/localembed's: each word is a sparse bundle
// of features (the word itself and a few shared character n-grams, the n-grams at lower
// weight), each feature spread as ±w over two hashed buckets; a text is the sum of its words'
// bundles weighted by sublinear term frequency and an IDF that grows with the word's rarity.
// Chunks come in files of 20 that share identifiers, so near neighbours cluster the way chunks
// of one source file do. Queries are short, a few words of one chunk and sometimes a common
// word, like a natural-language search; every fifth is a whole chunk, like "find similar code".
type hashedCorpus struct {
	dims  int
	r     *rand.Rand
	zipf  *rand.Zipf
	words [][]bucketWeight // by word rank: the word's bundle
}

// bucketWeight is one non-zero bucket of a word's bundle.
type bucketWeight struct {
	i int
	w float32
}

// corpusVocab and corpusNgrams size the generated vocabulary and its pool of shared n-grams.
const corpusVocab, corpusNgrams = 50_000, 40_000

func newHashedCorpus(dims int, seed uint64) *hashedCorpus {
	r := rand.New(rand.NewPCG(seed, 1))
	c := &hashedCorpus{dims: dims, r: r, zipf: rand.NewZipf(r, 1.1, 1, corpusVocab-1)}
	spread := func(b []bucketWeight, feature uint64, w float32) []bucketWeight {
		h := feature
		for range 2 {
			h = mix64(h)
			s := w / math.Sqrt2
			if h>>63 != 0 {
				s = -s
			}
			b = append(b, bucketWeight{int(h % uint64(dims)), s})
		}
		return b
	}
	c.words = make([][]bucketWeight, corpusVocab)
	for w := range c.words {
		b := spread(nil, uint64(w)+1<<40, 1)
		m := 4 + r.IntN(13)
		for range m {
			b = spread(b, uint64(r.IntN(corpusNgrams))+1<<41, 0.8/float32(math.Sqrt(float64(m))))
		}
		c.words[w] = b
	}
	return c
}

// mix64 is splitmix64's finaliser, the hash that picks a feature's buckets and signs.
func mix64(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// embed returns the vector of a bag of words (word rank → count).
func (c *hashedCorpus) embed(tf map[int]int) []float32 {
	v := make([]float32, c.dims)
	for w, n := range tf {
		idf := max(0.05, math.Log(float64(w+2)/50)) // the most common words weigh almost nothing
		weight := float32((1 + math.Log(float64(n))) * idf)
		for _, b := range c.words[w] {
			v[b.i] += weight * b.w
		}
	}
	return v
}

// chunks returns n chunk vectors and, for each, its distinct words.
func (c *hashedCorpus) chunks(n int) ([][]float32, [][]int) {
	vecs := make([][]float32, n)
	words := make([][]int, n)
	var fileWords []int
	for i := range n {
		if i%20 == 0 {
			fileWords = fileWords[:0]
			for range 30 {
				fileWords = append(fileWords, 200+c.r.IntN(corpusVocab-200))
			}
		}
		// Each chunk uses a few of its file's identifiers, as a function uses a few of its
		// file's types and fields.
		local := make([]int, 6+c.r.IntN(6))
		for j := range local {
			local[j] = fileWords[c.r.IntN(len(fileWords))]
		}
		tf := make(map[int]int)
		for range 60 + c.r.IntN(140) {
			if c.r.IntN(4) == 0 {
				tf[local[c.r.IntN(len(local))]]++
			} else {
				tf[int(c.zipf.Uint64())]++
			}
		}
		vecs[i] = c.embed(tf)
		for w := range tf {
			words[i] = append(words[i], w)
		}
		slices.Sort(words[i])
	}
	return vecs, words
}

// queries returns n query vectors built from the chunks' words (see hashedCorpus).
func (c *hashedCorpus) queries(n int, vecs [][]float32, words [][]int) [][]float32 {
	qs := make([][]float32, n)
	for i := range qs {
		d := c.r.IntN(len(vecs))
		if i%5 == 4 {
			qs[i] = vecs[d]
			continue
		}
		tf := make(map[int]int)
		for range 2 + c.r.IntN(5) {
			tf[words[d][c.r.IntN(len(words[d]))]]++
		}
		if c.r.IntN(3) == 0 {
			tf[int(c.zipf.Uint64())]++
		}
		qs[i] = c.embed(tf)
	}
	return qs
}

// HashedVectors returns n chunk vectors and q query vectors of dims from a hashedCorpus seeded
// with seed, for the store benchmarks in package sqlite_test.
func HashedVectors(dims, n, q int, seed uint64) (chunks, queries [][]float32) {
	c := newHashedCorpus(dims, seed)
	chunks, words := c.chunks(n)
	return chunks, c.queries(q, chunks, words)
}

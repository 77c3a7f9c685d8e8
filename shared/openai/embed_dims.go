package openai

import (
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"sync"

	"github.com/vibecode/vibecode/shared/domain"
)

// How a vector of another width becomes a domain.EmbeddingDims one (the schema's vector(512)
// column and its HNSW index take one width):
//
//   - 512: kept.
//   - narrower: zero-padded. Dot products and norms, and so cosines, are unchanged exactly.
//   - wider, Matryoshka model: truncated to the first 512 values and renormalised. Such
//     models are trained so that prefixes are embeddings; OpenAI does the same server-side
//     for text-embedding-3's "dimensions".
//   - wider, any other model: multiplied by a fixed random ±1 matrix (512 × width) drawn
//     from a generator seeded with the width. By Johnson–Lindenstrauss the cosine of two
//     projected vectors is the original's within about ±0.05 at 512 dimensions, for every
//     pair, whereas truncating a model not trained for it throws away an arbitrary part of
//     its information. The seed is fixed, so a model's vectors land in the same space in
//     every process and release.
//
// Every vector is then L2-normalised, so cosine similarity is a dot product.

// matryoshkaModels are name fragments of embedding models trained with Matryoshka
// representation learning.
var matryoshkaModels = []string{
	"text-embedding-3",
	"nomic-embed-text", // Ollama's nomic-embed-text is v1.5
	"mxbai-embed-large",
	"jina-embeddings-v3",
	"embeddinggemma",
	"qwen3-embedding",
	"snowflake-arctic-embed-m-v1.5",
	"snowflake-arctic-embed2",
	"snowflake-arctic-embed-l-v2",
}

func isMatryoshka(model string) bool {
	m := strings.ToLower(model)
	for _, f := range matryoshkaModels {
		if strings.Contains(m, f) {
			return true
		}
	}
	return false
}

// supportsDimensions reports whether the model accepts the "dimensions" parameter. Only
// OpenAI's text-embedding-3 family is known to; older models reject it with a 400.
func supportsDimensions(model string) bool {
	return strings.HasPrefix(strings.ToLower(model), "text-embedding-3")
}

// projectionSeed fixes the random projections for ever: changing it moves every projected
// vector, which would need a new model name.
const projectionSeed = 0x76696265636f6465 // "vibecode"

// projections holds one lazily built random matrix per input width.
type projections struct {
	mu sync.Mutex
	m  map[int][]float32
}

func newProjections() *projections { return &projections{m: map[int][]float32{}} }

func (p *projections) matrix(width int) []float32 {
	p.mu.Lock()
	defer p.mu.Unlock()
	if r, ok := p.m[width]; ok {
		return r
	}
	rng := rand.New(rand.NewPCG(projectionSeed, uint64(width)))
	r := make([]float32, domain.EmbeddingDims*width)
	for i := range r {
		if rng.Uint64()&1 == 0 {
			r[i] = 1
		} else {
			r[i] = -1
		}
	}
	p.m[width] = r
	return r
}

// fit maps one vector as described above and normalises it.
func (e *Embedder) fit(v []float32) ([]float32, error) {
	if len(v) == 0 {
		return nil, errors.New("empty vector")
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, errors.New("vector has NaN or infinite values")
		}
	}
	const dims = domain.EmbeddingDims
	out := make([]float32, dims)
	switch {
	case len(v) <= dims:
		copy(out, v)
	case e.matryoshka:
		copy(out, v[:dims])
	default:
		r := e.proj.matrix(len(v))
		for i := range out {
			row := r[i*len(v) : (i+1)*len(v)]
			var s float32
			for j, x := range v {
				s += row[j] * x
			}
			out[i] = s
		}
	}
	var norm float64
	for _, x := range out {
		norm += float64(x) * float64(x)
	}
	if norm == 0 {
		return nil, errors.New("zero vector")
	}
	inv := float32(1 / math.Sqrt(norm))
	for i := range out {
		out[i] *= inv
	}
	return out, nil
}

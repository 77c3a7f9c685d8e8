package localembed_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/localembed"
)

func cosine(a, b []float32) float64 {
	var dot float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
	}
	return dot
}

func embed(tb testing.TB, e domain.Embedder, texts ...string) [][]float32 {
	tb.Helper()
	vs, err := e.Embed(context.Background(), texts)
	if err != nil {
		tb.Fatal(err)
	}
	if len(vs) != len(texts) {
		tb.Fatalf("got %d vectors for %d texts", len(vs), len(texts))
	}
	return vs
}

func TestEmbedder_Embed(t *testing.T) {
	e := localembed.New()
	t.Run("unit vectors of the schema's width", func(t *testing.T) {
		for _, v := range embed(t, e, "func (b *Buffer) Len() int { return len(b.buf) - b.off }", "x", "", "—?!", "日本語のテキスト") {
			if len(v) != domain.EmbeddingDims {
				t.Fatalf("len = %d, want %d", len(v), domain.EmbeddingDims)
			}
			var n float64
			for _, x := range v {
				if math.IsNaN(float64(x)) {
					t.Fatal("NaN in vector")
				}
				n += float64(x) * float64(x)
			}
			if math.Abs(n-1) > 1e-5 {
				t.Fatalf("|v|² = %v, want 1", n)
			}
		}
	})
	t.Run("deterministic across embedders and calls", func(t *testing.T) {
		text := "parseHTTPRequest reads a request from the connection"
		a := embed(t, e, text)[0]
		b := embed(t, localembed.New(), text)[0]
		c := embed(t, e, "unrelated", text)[1]
		if !slices.Equal(a, b) || !slices.Equal(a, c) {
			t.Fatal("same text, different vectors")
		}
	})
	t.Run("no texts", func(t *testing.T) {
		if vs := embed(t, e); len(vs) != 0 {
			t.Fatalf("got %d vectors", len(vs))
		}
	})
	t.Run("cancelled context", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.Embed(ctx, []string{"a b"}); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
}

// TestEmbedder_Embed_ranking checks the property the embedder exists for: natural-language
// and code-ish queries land nearer the code they describe than other code.
func TestEmbedder_Embed_ranking(t *testing.T) {
	code := []string{
		"func (b *Buffer) Len() int {\n\treturn len(b.buf) - b.off\n}",
		"func (c *Client) Do(ctx context.Context, req *Request) (*Response, error) {\n\tresp, err := c.send(ctx, req)\n\tif err != nil {\n\t\treturn nil, fmt.Errorf(\"do: %w\", err)\n\t}\n\treturn resp, nil\n}",
		"func parseConfig(path string) (*Config, error) {\n\tdata, err := os.ReadFile(path)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tvar cfg Config\n\treturn &cfg, json.Unmarshal(data, &cfg)\n}",
		"func sortedKeys(m map[string]int) []string {\n\tkeys := make([]string, 0, len(m))\n\tfor k := range m {\n\t\tkeys = append(keys, k)\n\t}\n\tsort.Strings(keys)\n\treturn keys\n}",
	}
	queries := map[string]int{
		"returns the number of bytes in the buffer":      0,
		"sends an HTTP request and returns the response": 1,
		"read the configuration file and decode it":      2,
		"sorted list of the map's keys":                  3,
		"buf len":                                        0,
		"parse cfg":                                      2,
	}
	e := localembed.New()
	docs := embed(t, e, code...)
	for q, want := range queries {
		qv := embed(t, e, q)[0]
		best, bestScore := -1, -2.0
		for i, d := range docs {
			if s := cosine(qv, d); s > bestScore {
				best, bestScore = i, s
			}
		}
		if best != want {
			t.Errorf("%q: nearest is code %d, want %d", q, best, want)
		}
	}
}

func TestEmbedder_Embed_concurrent(t *testing.T) {
	e := localembed.New()
	texts := []string{"func a() {}", "readFull reads exactly len(buf) bytes", "ctx cancel", "x := y + z"}
	want := embed(t, localembed.New(), texts...)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got, err := e.Embed(context.Background(), texts)
				if err != nil {
					t.Error(err)
					return
				}
				for i := range got {
					if !slices.Equal(got[i], want[i]) {
						t.Error("concurrent embedding differs")
						return
					}
				}
			}
		})
	}
	wg.Wait()
}

func TestEmbedder_Model(t *testing.T) {
	if got := localembed.New().Model(); got != localembed.ModelName || got == "" {
		t.Fatalf("Model() = %q", got)
	}
}

func TestStem(t *testing.T) {
	groups := [][]string{
		{"return", "returns", "returned", "returning"},
		{"read", "reads", "reading", "reader", "readers"},
		{"write", "writes", "writing", "writer"},
		{"copy", "copies", "copied"},
		{"stop", "stopped", "stopping"},
		{"match", "matches", "matched"},
		{"byte", "bytes"},
		{"exact", "exactly"},
	}
	for _, g := range groups {
		want := localembed.Stem(g[0])
		for _, w := range g[1:] {
			if got := localembed.Stem(w); got != want {
				t.Errorf("stem(%q) = %q, stem(%q) = %q; want equal", w, got, g[0], want)
			}
		}
	}
	for _, w := range []string{"err", "buf", "io", "utf8", "status", "class", "Read"} {
		if got := localembed.Stem(w); got != w {
			t.Errorf("stem(%q) = %q, want unchanged", w, got)
		}
	}
}

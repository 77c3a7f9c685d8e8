package openai_test

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/openai"
)

// embeddingsRequest is the body of POST /v1/embeddings as OpenAI documents it.
type embeddingsRequest struct {
	Model          string   `json:"model"`
	Input          []string `json:"input"`
	Dimensions     *int     `json:"dimensions"`
	EncodingFormat string   `json:"encoding_format"`
}

// fakeServer speaks OpenAI's embeddings wire format. Each text's vector is a deterministic
// pseudo-random function of the text, width wide. respond, when set, may answer a request
// itself (returning true) to inject failures; n counts requests.
type fakeServer struct {
	*httptest.Server
	width   int
	reverse bool // send data in reverse index order
	respond func(w http.ResponseWriter, n int) bool

	mu   sync.Mutex
	reqs []embeddingsRequest
	at   []time.Time
	auth []string
}

func newFakeServer(t *testing.T, width int) *fakeServer {
	t.Helper()
	f := &fakeServer{width: width}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) requests() []embeddingsRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.reqs)
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost || r.URL.Path != "/v1/embeddings" {
		http.Error(w, `{"error":{"message":"not found","type":"invalid_request_error"}}`, http.StatusNotFound)
		return
	}
	var req embeddingsRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, `{"error":{"message":"bad json","type":"invalid_request_error"}}`, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.at = append(f.at, time.Now())
	f.auth = append(f.auth, r.Header.Get("Authorization"))
	n := len(f.reqs)
	f.mu.Unlock()
	if f.respond != nil && f.respond(w, n) {
		return
	}
	type item struct {
		Object    string `json:"object"`
		Index     int    `json:"index"`
		Embedding any    `json:"embedding"`
	}
	data := make([]item, len(req.Input))
	for i, text := range req.Input {
		v := rawVector(text, f.width)
		var emb any = v
		if req.EncodingFormat == "base64" {
			b := make([]byte, 4*len(v))
			for j, x := range v {
				binary.LittleEndian.PutUint32(b[4*j:], math.Float32bits(x))
			}
			emb = base64.StdEncoding.EncodeToString(b)
		}
		data[i] = item{"embedding", i, emb}
	}
	if f.reverse {
		slices.Reverse(data)
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"object": "list",
		"data":   data,
		"model":  req.Model,
		"usage":  map[string]int{"prompt_tokens": 3 * len(req.Input), "total_tokens": 3 * len(req.Input)},
	})
}

// rawVector is the fake model: a Gaussian vector seeded by the text.
func rawVector(text string, width int) []float32 {
	h := fnv.New64a()
	h.Write([]byte(text))
	r := rand.New(rand.NewPCG(h.Sum64(), 1))
	v := make([]float32, width)
	for i := range v {
		v[i] = float32(r.NormFloat64())
	}
	return v
}

func unit(v []float32) []float32 {
	var n float64
	for _, x := range v {
		n += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(float64(x) / math.Sqrt(n))
	}
	return out
}

func cosine(a, b []float32) float64 {
	var dot, na, nb float64
	for i := range a {
		dot += float64(a[i]) * float64(b[i])
		na += float64(a[i]) * float64(a[i])
		nb += float64(b[i]) * float64(b[i])
	}
	return dot / math.Sqrt(na*nb)
}

func near(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			return false
		}
	}
	return true
}

func newEmbedder(t *testing.T, f *fakeServer, cfg openai.EmbedderConfig) *openai.Embedder {
	t.Helper()
	cfg.BaseURL = f.URL + "/v1"
	if cfg.APIKey == "" {
		cfg.APIKey = "sk-test"
	}
	if cfg.RetryBaseDelay == 0 {
		cfg.RetryBaseDelay = time.Millisecond
	}
	e, err := openai.NewEmbedder(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func texts(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("func f%d() int { return %d }", i, i)
	}
	return out
}

func checkUnit(t *testing.T, vs [][]float32) {
	t.Helper()
	for i, v := range vs {
		if len(v) != domain.EmbeddingDims {
			t.Fatalf("vector %d has width %d", i, len(v))
		}
		var n float64
		for _, x := range v {
			n += float64(x) * float64(x)
		}
		if math.Abs(n-1) > 1e-4 {
			t.Fatalf("vector %d: |v|² = %v", i, n)
		}
	}
}

func TestEmbedder_Embed_batches(t *testing.T) {
	f := newFakeServer(t, 512)
	f.reverse = true
	e := newEmbedder(t, f, openai.EmbedderConfig{APIKey: "sk-abc"})
	in := texts(250)
	vs, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	var sent []string
	for i, r := range reqs {
		if want := []int{96, 96, 58}[i]; len(r.Input) != want {
			t.Errorf("request %d has %d inputs, want %d", i, len(r.Input), want)
		}
		if r.Model != "text-embedding-3-small" || r.Dimensions == nil || *r.Dimensions != 512 || r.EncodingFormat != "float" {
			t.Errorf("request %d: model %q dimensions %v format %q", i, r.Model, r.Dimensions, r.EncodingFormat)
		}
		if f.auth[i] != "Bearer sk-abc" {
			t.Errorf("Authorization = %q", f.auth[i])
		}
		sent = append(sent, r.Input...)
	}
	if !slices.Equal(sent, in) {
		t.Fatal("inputs not sent in order")
	}
	checkUnit(t, vs)
	for i, v := range vs {
		if !near(v, unit(rawVector(in[i], 512))) {
			t.Fatalf("vector %d is not input %d's (order lost)", i, i)
		}
	}
	if e.Model() != "text-embedding-3-small" {
		t.Errorf("Model() = %q", e.Model())
	}
}

func TestEmbedder_Embed_base64(t *testing.T) {
	f := newFakeServer(t, 512)
	e := newEmbedder(t, f, openai.EmbedderConfig{EncodingFormat: "base64", BatchSize: 10})
	in := texts(25)
	vs, err := e.Embed(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if reqs := f.requests(); len(reqs) != 3 || reqs[0].EncodingFormat != "base64" {
		t.Fatalf("requests %+v", reqs)
	}
	for i, v := range vs {
		if !near(v, unit(rawVector(in[i], 512))) {
			t.Fatalf("vector %d differs from the float encoding", i)
		}
	}
}

func TestEmbedder_Embed_nothingToSend(t *testing.T) {
	f := newFakeServer(t, 512)
	e := newEmbedder(t, f, openai.EmbedderConfig{})
	vs, err := e.Embed(context.Background(), nil)
	if err != nil || len(vs) != 0 {
		t.Fatalf("Embed(nil) = %v, %v", vs, err)
	}
	vs, err = e.Embed(context.Background(), []string{"", "  \n", "x := 1"})
	if err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if len(reqs) != 1 || !slices.Equal(reqs[0].Input, []string{"x := 1"}) {
		t.Fatalf("requests %+v, want one with only the non-empty text", reqs)
	}
	checkUnit(t, vs)
}

func TestEmbedder_Embed_retries(t *testing.T) {
	t.Run("429 honours Retry-After", func(t *testing.T) {
		f := newFakeServer(t, 512)
		f.respond = func(w http.ResponseWriter, n int) bool {
			if n > 1 {
				return false
			}
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"Rate limit reached","type":"requests","param":null,"code":"rate_limit_exceeded"}}`)
			return true
		}
		e := newEmbedder(t, f, openai.EmbedderConfig{})
		if _, err := e.Embed(context.Background(), texts(3)); err != nil {
			t.Fatal(err)
		}
		if len(f.at) != 2 {
			t.Fatalf("%d requests, want 2", len(f.at))
		}
		if gap := f.at[1].Sub(f.at[0]); gap < 900*time.Millisecond {
			t.Fatalf("retried after %s, server asked for 1s", gap)
		}
	})
	t.Run("500 then success", func(t *testing.T) {
		f := newFakeServer(t, 512)
		f.respond = func(w http.ResponseWriter, n int) bool {
			if n > 2 {
				return false
			}
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"error":{"message":"The server had an error","type":"server_error"}}`)
			return true
		}
		e := newEmbedder(t, f, openai.EmbedderConfig{})
		if _, err := e.Embed(context.Background(), texts(3)); err != nil {
			t.Fatal(err)
		}
		if n := len(f.requests()); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
	t.Run("gives up after MaxRetries", func(t *testing.T) {
		f := newFakeServer(t, 512)
		f.respond = func(w http.ResponseWriter, n int) bool {
			w.WriteHeader(http.StatusBadGateway)
			fmt.Fprint(w, "<html>bad gateway</html>")
			return true
		}
		e := newEmbedder(t, f, openai.EmbedderConfig{MaxRetries: 2})
		_, err := e.Embed(context.Background(), texts(3))
		if err == nil || !strings.HasPrefix(err.Error(), "openai: ") {
			t.Fatalf("err = %v", err)
		}
		if n := len(f.requests()); n != 3 {
			t.Fatalf("%d requests, want 3", n)
		}
	})
}

func TestEmbedder_Embed_failsFast(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		unauth bool
		tries  int // requests expected; 1 when zero
	}{
		{"401 wrong key", http.StatusUnauthorized, `{"error":{"message":"Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, true, 0},
		{"400 bad request", http.StatusBadRequest, `{"error":{"message":"This model's maximum context length is 8192 tokens","type":"invalid_request_error","param":null,"code":null}}`, false, 0},
		{"404 no such model", http.StatusNotFound, `{"error":{"message":"model not found","type":"invalid_request_error"}}`, false, 0},
		{"200 wrong shape", http.StatusOK, `{"object":"list","data":"nope"}`, false, 0},
		// A body cut short looks like a dropped connection, which is worth retrying.
		{"200 truncated", http.StatusOK, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.1,`, false, 5},
		{"200 not json", http.StatusOK, `<html>hello</html>`, false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFakeServer(t, 512)
			f.respond = func(w http.ResponseWriter, n int) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
				return true
			}
			e := newEmbedder(t, f, openai.EmbedderConfig{})
			_, err := e.Embed(context.Background(), texts(2))
			if err == nil || !strings.HasPrefix(err.Error(), "openai: ") {
				t.Fatalf("err = %v, want an openai: error", err)
			}
			if want := max(tc.tries, 1); len(f.requests()) != want {
				t.Fatalf("%d requests, want %d", len(f.requests()), want)
			}
			if got := errors.Is(err, openai.ErrUnauthorized); got != tc.unauth {
				t.Fatalf("errors.Is(err, ErrUnauthorized) = %v: %v", got, err)
			}
			if tc.unauth && !strings.Contains(err.Error(), "API key") {
				t.Fatalf("401 error does not mention the key: %v", err)
			}
		})
	}
}

func TestEmbedder_Embed_badResponses(t *testing.T) {
	for name, body := range map[string]string{
		"too few vectors":  `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]}],"model":"m","usage":{}}`,
		"repeated index":   `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]},{"object":"embedding","index":0,"embedding":[0,1]}],"model":"m","usage":{}}`,
		"index past end":   `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[1,0]},{"object":"embedding","index":5,"embedding":[0,1]}],"model":"m","usage":{}}`,
		"zero vector":      `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0,0]},{"object":"embedding","index":1,"embedding":[0,1]}],"model":"m","usage":{}}`,
		"empty vector":     `{"object":"list","data":[{"object":"embedding","index":0,"embedding":[]},{"object":"embedding","index":1,"embedding":[0,1]}],"model":"m","usage":{}}`,
		"bad base64 float": `{"object":"list","data":[{"object":"embedding","index":0,"embedding":"@@@"},{"object":"embedding","index":1,"embedding":[0,1]}],"model":"m","usage":{}}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFakeServer(t, 512)
			f.respond = func(w http.ResponseWriter, n int) bool {
				fmt.Fprint(w, body)
				return true
			}
			e := newEmbedder(t, f, openai.EmbedderConfig{})
			if _, err := e.Embed(context.Background(), texts(2)); err == nil || !strings.HasPrefix(err.Error(), "openai: ") {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestEmbedder_Embed_cancel(t *testing.T) {
	t.Run("while waiting to retry", func(t *testing.T) {
		f := newFakeServer(t, 512)
		f.respond = func(w http.ResponseWriter, n int) bool {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"message":"slow down","type":"requests"}}`)
			return true
		}
		e := newEmbedder(t, f, openai.EmbedderConfig{})
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err := e.Embed(ctx, texts(2))
		if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "openai: ") {
			t.Fatalf("err = %v, want a wrapped context.Canceled", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Fatal("cancellation did not stop the retry wait")
		}
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests after cancel, want 1", n)
		}
	})
	t.Run("during a request", func(t *testing.T) {
		f := newFakeServer(t, 512)
		f.respond = func(w http.ResponseWriter, n int) bool {
			time.Sleep(300 * time.Millisecond)
			w.WriteHeader(http.StatusServiceUnavailable)
			return true
		}
		e := newEmbedder(t, f, openai.EmbedderConfig{})
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		_, err := e.Embed(ctx, texts(2))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want context.DeadlineExceeded", err)
		}
		time.Sleep(350 * time.Millisecond) // let the handler finish before counting
		if n := len(f.requests()); n != 1 {
			t.Fatalf("%d requests, want 1", n)
		}
	})
}

func TestEmbedder_Embed_otherWidths(t *testing.T) {
	in := []string{"open a file for reading", "func Open(name string) (*File, error)", "parse an integer", "sort a slice"}
	t.Run("768, not Matryoshka: random projection", func(t *testing.T) {
		f := newFakeServer(t, 768)
		e := newEmbedder(t, f, openai.EmbedderConfig{Model: "all-minilm-wide"})
		vs, err := e.Embed(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		checkUnit(t, vs)
		if r := f.requests()[0]; r.Dimensions != nil {
			t.Errorf("dimensions sent to a model that does not take it: %d", *r.Dimensions)
		}
		// Deterministic, across embedders too.
		again, err := newEmbedder(t, f, openai.EmbedderConfig{Model: "all-minilm-wide"}).Embed(context.Background(), in[:1])
		if err != nil || !slices.Equal(again[0], vs[0]) {
			t.Fatalf("projection is not deterministic (%v)", err)
		}
		// Cosines survive: the raw vectors are random, so compare a similar pair too.
		base := rawVector(in[0], 768)
		similar := slices.Clone(base)
		for i := range similar[:200] {
			similar[i] = -similar[i] * 0.5
		}
		pairs := [][2][]float32{{base, rawVector(in[1], 768)}, {base, similar}, {rawVector(in[2], 768), rawVector(in[3], 768)}}
		f2 := newFakeServer(t, 768)
		f2.respond = func(w http.ResponseWriter, n int) bool {
			p := pairs[n-1]
			fmt.Fprintf(w, `{"object":"list","data":[{"object":"embedding","index":0,"embedding":%s},{"object":"embedding","index":1,"embedding":%s}],"model":"m","usage":{}}`, js(p[0]), js(p[1]))
			return true
		}
		e2 := newEmbedder(t, f2, openai.EmbedderConfig{Model: "all-minilm-wide"})
		for _, p := range pairs {
			vs, err := e2.Embed(context.Background(), []string{"a", "b"})
			if err != nil {
				t.Fatal(err)
			}
			if want, got := cosine(p[0], p[1]), cosine(vs[0], vs[1]); math.Abs(want-got) > 0.15 {
				t.Errorf("cosine %.3f became %.3f", want, got)
			}
		}
	})
	t.Run("768, Matryoshka: truncated", func(t *testing.T) {
		f := newFakeServer(t, 768)
		e := newEmbedder(t, f, openai.EmbedderConfig{Model: "nomic-embed-text"})
		vs, err := e.Embed(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		for i, v := range vs {
			if !near(v, unit(rawVector(in[i], 768)[:512])) {
				t.Fatalf("vector %d is not the normalised prefix", i)
			}
		}
	})
	t.Run("384: zero-padded, cosines exact", func(t *testing.T) {
		f := newFakeServer(t, 384)
		e := newEmbedder(t, f, openai.EmbedderConfig{Model: "all-minilm"})
		vs, err := e.Embed(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		checkUnit(t, vs)
		if want, got := cosine(rawVector(in[0], 384), rawVector(in[1], 384)), cosine(vs[0], vs[1]); math.Abs(want-got) > 1e-5 {
			t.Fatalf("cosine %.5f became %.5f", want, got)
		}
	})
}

func js(v []float32) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestNewEmbedder(t *testing.T) {
	for _, cfg := range []openai.EmbedderConfig{
		{BatchSize: -1},
		{EncodingFormat: "utf8"},
	} {
		if _, err := openai.NewEmbedder(cfg); err == nil || !strings.HasPrefix(err.Error(), "openai: ") {
			t.Errorf("NewEmbedder(%+v) err = %v", cfg, err)
		}
	}
	e, err := openai.NewEmbedder(openai.EmbedderConfig{APIKey: "k"})
	if err != nil || e.Model() != openai.DefaultEmbeddingModel {
		t.Fatalf("defaults: %v, %v", e, err)
	}
}

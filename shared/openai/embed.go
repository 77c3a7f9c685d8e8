package openai

// The embeddings side (embed*.go) implements domain.Embedder for OpenAI and any server with
// an OpenAI-compatible /embeddings endpoint (Ollama, LM Studio, vLLM, …).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vibecode/vibecode/shared/domain"
)

// Defaults of EmbedderConfig.
const (
	DefaultEmbeddingModel = "text-embedding-3-small"
	DefaultBatchSize      = 96
	DefaultMaxRetries     = 4
	DefaultRetryBaseDelay = 500 * time.Millisecond
	DefaultRequestTimeout = 60 * time.Second
)

// maxRetryWait bounds how long one Retry-After may make us wait: a server that asks for
// longer is treated as down rather than left to stall indexing for minutes per batch.
const maxRetryWait = 2 * time.Minute

// ErrUnauthorized is wrapped by errors that mean the server rejected the API key (HTTP 401),
// so callers can tell the user to fix the key instead of retrying later.
var ErrUnauthorized = errors.New("the API key is wrong, revoked or missing")

var _ domain.Embedder = (*Embedder)(nil)

// EmbedderConfig configures NewEmbedder. Only APIKey is needed for OpenAI itself; zero
// values take the defaults above.
type EmbedderConfig struct {
	// APIKey is sent as a bearer token. Local servers (Ollama, LM Studio) accept any value,
	// including none.
	APIKey string
	// BaseURL is the API root including its version path, e.g. "http://localhost:11434/v1"
	// for Ollama; "/embeddings" is appended. Empty means OpenAI (https://api.openai.com/v1).
	BaseURL string
	// Model is the embedding model; DefaultEmbeddingModel when empty.
	Model string
	// BatchSize is the number of texts per request; DefaultBatchSize when zero.
	BatchSize int
	// MaxRetries is how often a request is retried after a 429, a 5xx or a timeout;
	// DefaultMaxRetries when zero, no retries when negative.
	MaxRetries int
	// RetryBaseDelay is the first backoff delay, doubled per retry (with jitter) unless the
	// server sends Retry-After; DefaultRetryBaseDelay when zero.
	RetryBaseDelay time.Duration
	// Matryoshka declares that the model was trained so that a prefix of its vector is itself
	// an embedding (Matryoshka representation learning), which makes truncating a wider
	// vector to domain.EmbeddingDims valid. Models known to be are recognised by name (see
	// isMatryoshka); set this for others. Other wide vectors get a random projection.
	Matryoshka bool
	// EncodingFormat is "float" or "base64" (a quarter of the bytes on the wire). Empty
	// means base64 for OpenAI itself and float for other servers, some of which ignore
	// the field and always send floats.
	EncodingFormat string
	// HTTPClient sends the requests; nil means a client with a DefaultRequestTimeout
	// timeout. Its transport is wrapped, not modified.
	HTTPClient *http.Client
}

// Embedder embeds texts with an OpenAI-compatible /embeddings endpoint and maps the vectors
// to domain.EmbeddingDims unit vectors. It is safe for concurrent use.
type Embedder struct {
	client     *goopenai.Client
	model      string
	batch      int
	retries    int
	baseDelay  time.Duration
	dimensions int // sent as "dimensions"; 0 = not sent
	matryoshka bool
	format     goopenai.EmbeddingEncodingFormat
	proj       *projections
}

// NewEmbedder returns an Embedder for cfg. It does no I/O: a wrong key or URL shows in the
// first Embed.
func NewEmbedder(cfg EmbedderConfig) (*Embedder, error) {
	if cfg.Model == "" {
		cfg.Model = DefaultEmbeddingModel
	}
	if cfg.BatchSize == 0 {
		cfg.BatchSize = DefaultBatchSize
	}
	if cfg.BatchSize < 0 {
		return nil, fmt.Errorf("openai: embedder: batch size %d is negative", cfg.BatchSize)
	}
	switch {
	case cfg.MaxRetries == 0:
		cfg.MaxRetries = DefaultMaxRetries
	case cfg.MaxRetries < 0:
		cfg.MaxRetries = 0
	}
	if cfg.RetryBaseDelay <= 0 {
		cfg.RetryBaseDelay = DefaultRetryBaseDelay
	}
	format := goopenai.EmbeddingEncodingFormat(cfg.EncodingFormat)
	switch format {
	case "":
		format = goopenai.EmbeddingEncodingFormatFloat
		if cfg.BaseURL == "" {
			format = goopenai.EmbeddingEncodingFormatBase64
		}
	case goopenai.EmbeddingEncodingFormatFloat, goopenai.EmbeddingEncodingFormatBase64:
	default:
		return nil, fmt.Errorf("openai: embedder: encoding format %q is neither float nor base64", cfg.EncodingFormat)
	}

	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultRequestTimeout}
	}
	wrapped := *hc
	wrapped.Transport = retryAfterTransport{next: hc.Transport}

	conf := goopenai.DefaultConfig(cfg.APIKey)
	if cfg.BaseURL != "" {
		conf.BaseURL = strings.TrimRight(cfg.BaseURL, "/")
	}
	conf.HTTPClient = &wrapped

	e := &Embedder{
		client:     goopenai.NewClientWithConfig(conf),
		model:      cfg.Model,
		batch:      cfg.BatchSize,
		retries:    cfg.MaxRetries,
		baseDelay:  cfg.RetryBaseDelay,
		matryoshka: cfg.Matryoshka || isMatryoshka(cfg.Model),
		format:     format,
		proj:       newProjections(),
	}
	if supportsDimensions(cfg.Model) {
		e.dimensions = domain.EmbeddingDims
	}
	return e, nil
}

// Model returns the configured model name; cached embeddings are keyed by it.
func (e *Embedder) Model() string { return e.model }

// Embed returns one domain.EmbeddingDims-wide unit vector per text, in order, sending
// BatchSize texts per request. An empty text is not sent (the API rejects it) and gets a
// fixed unit vector. An empty list sends nothing.
func (e *Embedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	var idx []int // positions of the texts that are sent
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			v := make([]float32, domain.EmbeddingDims)
			v[0] = 1
			out[i] = v
			continue
		}
		idx = append(idx, i)
	}
	for start := 0; start < len(idx); start += e.batch {
		part := idx[start:min(start+e.batch, len(idx))]
		inputs := make([]string, len(part))
		for j, i := range part {
			inputs[j] = texts[i]
		}
		vecs, err := e.embedBatch(ctx, inputs)
		if err != nil {
			return nil, err
		}
		for j, i := range part {
			out[i] = vecs[j]
		}
	}
	return out, nil
}

// embedBatch sends one request, retrying what is worth retrying, and maps the vectors.
func (e *Embedder) embedBatch(ctx context.Context, inputs []string) ([][]float32, error) {
	req := goopenai.EmbeddingRequestStrings{
		Input:          inputs,
		Model:          goopenai.EmbeddingModel(e.model),
		EncodingFormat: e.format,
		Dimensions:     e.dimensions,
	}
	for attempt := 0; ; attempt++ {
		hint := &retryHint{}
		resp, err := e.client.CreateEmbeddings(withRetryHint(ctx, hint), req)
		if err == nil {
			return e.vectors(resp, len(inputs))
		}
		if ctx.Err() != nil {
			return nil, fmt.Errorf("openai: embeddings: %w", context.Cause(ctx))
		}
		status := statusOf(err)
		if status == http.StatusUnauthorized {
			return nil, fmt.Errorf("openai: embeddings: %w (HTTP 401 from the server; check the API key): %w", ErrUnauthorized, err)
		}
		if !retryable(status, err) {
			return nil, fmt.Errorf("openai: embeddings: %w", err)
		}
		if attempt >= e.retries {
			return nil, fmt.Errorf("openai: embeddings: giving up after %d attempts: %w", attempt+1, err)
		}
		wait := e.backoff(attempt)
		if hint.after > 0 {
			wait = hint.after
		}
		if wait > maxRetryWait {
			return nil, fmt.Errorf("openai: embeddings: server asks to retry after %s: %w", wait, err)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("openai: embeddings: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
}

// backoff is the exponential delay before retry attempt+1, with half of it random so that
// many clients throttled together do not come back together.
func (e *Embedder) backoff(attempt int) time.Duration {
	d := e.baseDelay << min(attempt, 16)
	d = min(d, 30*time.Second)
	return d/2 + rand.N(d/2+1)
}

// vectors checks a response against the request and maps each vector to a unit vector of
// domain.EmbeddingDims, placing it by its index (servers need not keep the order).
func (e *Embedder) vectors(resp goopenai.EmbeddingResponse, n int) ([][]float32, error) {
	if len(resp.Data) != n {
		return nil, fmt.Errorf("openai: embeddings: got %d vectors for %d inputs", len(resp.Data), n)
	}
	out := make([][]float32, n)
	for _, d := range resp.Data {
		if d.Index < 0 || d.Index >= n || out[d.Index] != nil {
			return nil, fmt.Errorf("openai: embeddings: vector index %d is out of range or repeated", d.Index)
		}
		v, err := e.fit(d.Embedding)
		if err != nil {
			return nil, fmt.Errorf("openai: embeddings: input %d: %w", d.Index, err)
		}
		out[d.Index] = v
	}
	return out, nil
}

// statusOf returns the HTTP status of a go-openai error, or 0 if it has none.
func statusOf(err error) int {
	var apiErr *goopenai.APIError
	if errors.As(err, &apiErr) {
		return apiErr.HTTPStatusCode
	}
	var reqErr *goopenai.RequestError
	if errors.As(err, &reqErr) {
		return reqErr.HTTPStatusCode
	}
	return 0
}

// retryable reports whether a failure may pass by itself: rate limiting (429), a server
// error (5xx), a request timeout (408) or a transport timeout or reset. Any other 4xx will
// fail the same way again, and so will a response that does not parse.
func retryable(status int, err error) bool {
	switch {
	case status == http.StatusTooManyRequests, status == http.StatusRequestTimeout, status >= 500:
		return true
	case status != 0:
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.ErrUnexpectedEOF)
}

// retryHint carries the server's Retry-After from the transport, which sees the response
// headers, to embedBatch, which only sees go-openai's error.
type retryHint struct{ after time.Duration }

type retryHintKey struct{}

func withRetryHint(ctx context.Context, h *retryHint) context.Context {
	return context.WithValue(ctx, retryHintKey{}, h)
}

// retryAfterTransport records Retry-After (or Azure's retry-after-ms) of error responses
// into the request's retryHint.
type retryAfterTransport struct{ next http.RoundTripper }

func (t retryAfterTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	next := t.next
	if next == nil {
		next = http.DefaultTransport
	}
	resp, err := next.RoundTrip(req)
	if err != nil || resp.StatusCode < 400 {
		return resp, err
	}
	if h, ok := req.Context().Value(retryHintKey{}).(*retryHint); ok {
		h.after = parseRetryAfter(resp.Header, time.Now())
	}
	return resp, nil
}

// parseRetryAfter reads retry-after-ms, then Retry-After as seconds or an HTTP date; 0 if
// neither is there or valid.
func parseRetryAfter(h http.Header, now time.Time) time.Duration {
	if ms, err := strconv.ParseFloat(h.Get("Retry-After-Ms"), 64); err == nil && ms > 0 && !math.IsInf(ms, 0) {
		return time.Duration(ms * float64(time.Millisecond))
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s > 0 && s < 1e6 {
			return time.Duration(s * float64(time.Second))
		}
		return 0
	}
	if at, err := http.ParseTime(v); err == nil && at.After(now) {
		return at.Sub(now)
	}
	return 0
}

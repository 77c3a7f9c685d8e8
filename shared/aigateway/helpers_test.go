package aigateway_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/aigateway/aigatewaytest"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/openai"
)

// memStore is an in-memory domain.AIRequestStore that the tests can inspect.
type memStore struct {
	mu   sync.Mutex
	rows []*domain.AIRequest
}

func (m *memStore) RecordAIRequest(_ context.Context, r *domain.AIRequest) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := *r
	m.rows = append(m.rows, &c)
	return nil
}

func (m *memStore) ListAIRequests(_ context.Context, userID string, since time.Time) ([]*domain.AIRequest, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*domain.AIRequest
	for _, r := range m.rows {
		if r.UserID == userID && !r.CreatedAt.Before(since) {
			c := *r
			out = append(out, &c)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreatedAt.After(out[j].CreatedAt) })
	return out, nil
}

func (m *memStore) all() []domain.AIRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]domain.AIRequest, len(m.rows))
	for i, r := range m.rows {
		out[i] = *r
	}
	return out
}

// waitRows waits until the store holds n rows (a cancelled stream records as it unwinds).
func (m *memStore) waitRows(t *testing.T, n int) []domain.AIRequest {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		rows := m.all()
		if len(rows) >= n || time.Now().After(deadline) {
			if len(rows) != n {
				t.Fatalf("ai_requests has %d rows, want %d: %+v", len(rows), n, rows)
			}
			return rows
		}
	}
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *clock { return &clock{now: time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// testModels returns a fast and a strong model of the provider at the given input prices
// (output costs four times as much).
func testModels(provider string, fastPrice, strongPrice float64) []domain.ModelInfo {
	return []domain.ModelInfo{
		{ID: provider + "-fast", Provider: provider, ContextTokens: 16_000, MaxOutputTokens: 4096,
			InputUSDPerMTok: fastPrice, OutputUSDPerMTok: 4 * fastPrice, Tier: domain.TierFast},
		{ID: provider + "-strong", Provider: provider, ContextTokens: 16_000, MaxOutputTokens: 4096,
			InputUSDPerMTok: strongPrice, OutputUSDPerMTok: 4 * strongPrice, Tier: domain.TierStrong},
	}
}

// transports collects the HTTP transports the providers of a test use, so the test can close
// their idle connections before counting goroutines.
type transports struct {
	mu   sync.Mutex
	list []*http.Transport
}

func (ts *transports) client() *http.Client {
	tr := &http.Transport{MaxIdleConnsPerHost: 100}
	ts.mu.Lock()
	ts.list = append(ts.list, tr)
	ts.mu.Unlock()
	return &http.Client{Transport: tr}
}

func (ts *transports) closeIdle() {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	for _, tr := range ts.list {
		tr.CloseIdleConnections()
	}
}

// openAIProvider returns the real openai adapter pointed at a fake server.
func openAIProvider(t testing.TB, ts *transports, name string, srv *aigatewaytest.Server, models []domain.ModelInfo) *openai.Chat {
	t.Helper()
	c, err := openai.NewChat(openai.ChatConfig{Name: name, APIKey: "sk-test", BaseURL: srv.URL, Models: models, HTTPClient: ts.client()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newGateway returns a gateway over the providers with a fresh store and cache.
func newGateway(t testing.TB, opts aigateway.Options, providers ...domain.ChatProvider) (*aigateway.Gateway, *memStore, *lru.Cache) {
	t.Helper()
	store := &memStore{}
	cache := lru.New(1000)
	return aigateway.New(providers, store, cache, opts), store, cache
}

func chat(text string) aigateway.Request {
	return aigateway.Request{UserID: "u1", Kind: aigateway.KindChat, Messages: []domain.ChatMessage{{Role: "user", Content: text}}}
}

// collect reads a stream to its end: the text, the final event, and the error that ended it
// (nil after a clean io.EOF). It closes the stream.
func collect(t *testing.T, s *aigateway.Stream) (string, *domain.ChatEvent, error) {
	t.Helper()
	defer s.Close()
	var b strings.Builder
	var final *domain.ChatEvent
	for i := 0; i < 100_000; i++ {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			return b.String(), final, nil
		}
		if err != nil {
			return b.String(), final, err
		}
		if ev.FinishReason != "" {
			final = &ev
		}
		b.WriteString(ev.Delta)
	}
	t.Fatal("stream did not end")
	return "", nil, nil
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

// checkGoroutines returns a function that fails the test if goroutines of the gateway, the
// adapters or HTTP client connections outlive the streams.
func checkGoroutines(t *testing.T, ts *transports) func() {
	t.Helper()
	return func() {
		t.Helper()
		ts.closeIdle()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			buf := make([]byte, 4<<20)
			stacks := string(buf[:runtime.Stack(buf, true)])
			var leaked []string
			for _, g := range strings.Split(stacks, "\n\n") {
				if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, "shared/aigateway.") ||
					strings.Contains(g, "shared/openai.") || strings.Contains(g, "shared/anthropic.") {
					if !strings.Contains(g, "checkGoroutines") {
						leaked = append(leaked, g)
					}
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d goroutines left:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
			}
			ts.closeIdle()
		}
	}
}

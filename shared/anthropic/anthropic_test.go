package anthropic_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/anthropic"
	"github.com/vibecode/vibecode/shared/domain"
)

// The fake Messages API below speaks the wire format of
// https://docs.anthropic.com/en/docs/build-with-claude/streaming, so the real client code runs.

func messageStart(w http.ResponseWriter, inputTokens int) {
	writeEvent(w, "message_start", fmt.Sprintf(`{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":%d,"output_tokens":1}}}`, inputTokens))
	writeEvent(w, "content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
	writeEvent(w, "ping", `{"type": "ping"}`)
}

func textDelta(w http.ResponseWriter, text string) {
	b, _ := json.Marshal(text)
	writeEvent(w, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":`+string(b)+`}}`)
}

func messageEnd(w http.ResponseWriter, stopReason string, outputTokens int) {
	writeEvent(w, "content_block_stop", `{"type":"content_block_stop","index":0}`)
	writeEvent(w, "message_delta", fmt.Sprintf(`{"type":"message_delta","delta":{"stop_reason":%q,"stop_sequence":null},"usage":{"output_tokens":%d}}`, stopReason, outputTokens))
	writeEvent(w, "message_stop", `{"type":"message_stop"}`)
}

// captured is what the fake server saw of a request.
type captured struct {
	path   string
	header http.Header
	body   map[string]any
}

func newProvider(t *testing.T, url string, hc *http.Client) *anthropic.Provider {
	t.Helper()
	p, err := anthropic.New(anthropic.Config{APIKey: "sk-test", BaseURL: url, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func temp(v float64) *float64 { return &v }

func TestProvider_ChatStream(t *testing.T) {
	reqs := make(chan captured, 1)
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode request: %v", err)
		}
		reqs <- captured{path: r.URL.Path, header: r.Header.Clone(), body: body}
		startSSE(w)
		messageStart(w, 25)
		for _, s := range []string{"Hello", ", ", "world", "!"} {
			textDelta(w, s)
		}
		writeEvent(w, "content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}`)
		writeEvent(w, "some_future_event", `{"type":"some_future_event"}`)
		messageEnd(w, "end_turn", 15)
	})
	p := newProvider(t, srv.URL, hc)

	st, err := p.ChatStream(ctxTimeout(t), domain.ChatRequest{
		Model: "claude-sonnet-4-5",
		Messages: []domain.ChatMessage{
			{Role: "system", Content: "be brief"},
			{Role: "user", Content: "hi"},
			{Role: "assistant", Content: "hello"},
			{Role: "system", Content: "use Go"},
			{Role: "user", Content: "say hello"},
			{Role: "user", Content: "to the world"},
		},
		Temperature: temp(0),
		Stop:        []string{"END"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, final, err := collect(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, "|"); got != "Hello|, |world|!" {
		t.Errorf("deltas = %q", got)
	}
	if final == nil || final.FinishReason != domain.FinishStop || final.Usage == nil ||
		*final.Usage != (domain.Usage{InputTokens: 25, OutputTokens: 15}) {
		t.Errorf("final = %+v", final)
	}
	if err := st.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	got := <-reqs
	if got.path != "/v1/messages" {
		t.Errorf("path = %s", got.path)
	}
	for k, want := range map[string]string{"X-Api-Key": "sk-test", "Anthropic-Version": "2023-06-01", "Content-Type": "application/json"} {
		if v := got.header.Get(k); v != want {
			t.Errorf("header %s = %q, want %q", k, v, want)
		}
	}
	b := got.body
	if b["system"] != "be brief\n\nuse Go" {
		t.Errorf("system = %q", b["system"])
	}
	if b["stream"] != true || b["model"] != "claude-sonnet-4-5" || b["temperature"] != 0.0 {
		t.Errorf("body = %v", b)
	}
	if b["max_tokens"] != 64000.0 {
		t.Errorf("max_tokens = %v, want the model's 64000", b["max_tokens"])
	}
	if s, _ := json.Marshal(b["stop_sequences"]); string(s) != `["END"]` {
		t.Errorf("stop_sequences = %s", s)
	}
	msgs, _ := json.Marshal(b["messages"])
	want := `[{"content":"hi","role":"user"},{"content":"hello","role":"assistant"},{"content":"say hello\n\nto the world","role":"user"}]`
	if string(msgs) != want {
		t.Errorf("messages = %s\nwant %s", msgs, want)
	}
}

func TestProvider_ChatStream_maxTokens(t *testing.T) {
	bodies := make(chan map[string]any, 3)
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		bodies <- body
		startSSE(w)
		messageStart(w, 1)
		textDelta(w, "ok")
		messageEnd(w, "max_tokens", 1)
	})
	p := newProvider(t, srv.URL, hc)
	for _, tc := range []struct {
		model     string
		maxTokens int
		temp      *float64
		want      float64
		wantTemp  any
	}{
		{"claude-haiku-4-5", 0, nil, 64000, nil},    // the model's MaxOutputTokens
		{"claude-unknown", 0, temp(1.5), 4096, 1.0}, // a fallback for unknown models; temperature capped at 1
		{"claude-haiku-4-5", 100, temp(0.7), 100, 0.7},
	} {
		st, err := p.ChatStream(ctxTimeout(t), domain.ChatRequest{Model: tc.model, MaxTokens: tc.maxTokens, Temperature: tc.temp,
			Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
		if err != nil {
			t.Fatal(err)
		}
		_, final, err := collect(t, st)
		st.Close()
		if err != nil || final.FinishReason != domain.FinishLength {
			t.Errorf("final = %+v, err = %v", final, err)
		}
		b := <-bodies
		if b["max_tokens"] != tc.want || b["temperature"] != tc.wantTemp {
			t.Errorf("%s/%d: max_tokens = %v, temperature = %v; want %v, %v", tc.model, tc.maxTokens, b["max_tokens"], b["temperature"], tc.want, tc.wantTemp)
		}
		if _, ok := b["system"]; ok {
			t.Errorf("system sent without system messages: %v", b["system"])
		}
	}
}

// Anthropic rejects stop sequences that are only whitespace, so they are applied locally:
// the text is cut before the stop, even across deltas, and the upstream request is ended.
func TestProvider_ChatStream_whitespaceStop(t *testing.T) {
	bodies := make(chan map[string]any, 1)
	gone := make(chan struct{})
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		bodies <- body
		startSSE(w)
		messageStart(w, 10)
		for _, s := range []string{"func f() {}", "\n", "\nfunc g() {}"} {
			textDelta(w, s)
		}
		<-r.Context().Done() // the client hangs up instead of reading the rest
		close(gone)
	})
	p := newProvider(t, srv.URL, hc)
	st, err := p.ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "claude-haiku-4-5", Stop: []string{"\n\n", "", "END"},
		Messages: []domain.ChatMessage{{Role: "user", Content: "complete"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, final, err := collect(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, ""); got != "func f() {}" {
		t.Errorf("text = %q", got)
	}
	if final.FinishReason != domain.FinishStop || final.Usage.InputTokens != 10 || final.Usage.OutputTokens < 3 {
		t.Errorf("final = %+v %+v", final, final.Usage)
	}
	if s, _ := json.Marshal((<-bodies)["stop_sequences"]); string(s) != `["END"]` {
		t.Errorf("stop_sequences = %s, want only the non-blank one", s)
	}
	waitClosed(t, gone, "the upstream request to end")
}

func TestProvider_ChatStream_errors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       domain.ProviderErrorKind
		typ        string
		retryAfter time.Duration
		code       string
	}{
		{"rate limited", 429, map[string]string{"retry-after": "7"},
			`{"type":"error","error":{"type":"rate_limit_error","message":"Number of request tokens has exceeded your per-minute rate limit"}}`,
			domain.ProviderRateLimited, "rate_limit_error", 7 * time.Second, domain.ERATELIMIT},
		{"server error", 500, nil, `{"type":"error","error":{"type":"api_error","message":"Internal server error"}}`,
			domain.ProviderUnavailable, "api_error", 0, domain.EUNAVAILABLE},
		{"proxy 503 html", 503, nil, `<html><body>503 Service Unavailable</body></html>`,
			domain.ProviderUnavailable, "", 0, domain.EUNAVAILABLE},
		{"overloaded", 529, nil, `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`,
			domain.ProviderUnavailable, "overloaded_error", 0, domain.EUNAVAILABLE},
		{"prompt too long", 400, nil,
			`{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long: 208656 tokens > 200000 maximum"},"request_id":"req_1"}`,
			domain.ProviderContextWindow, "invalid_request_error", 0, domain.ETOOLARGE},
		{"input plus max_tokens too long", 400, nil,
			"{\"type\":\"error\",\"error\":{\"type\":\"invalid_request_error\",\"message\":\"input length and `max_tokens` exceed context limit: 178959 + 64000 > 200000, decrease input length or `max_tokens` and try again\"}}",
			domain.ProviderContextWindow, "invalid_request_error", 0, domain.ETOOLARGE},
		{"bad key", 401, nil, `{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}`,
			domain.ProviderAuth, "authentication_error", 0, domain.EUNAVAILABLE},
		{"forbidden", 403, nil, `{"type":"error","error":{"type":"permission_error","message":"no access"}}`,
			domain.ProviderAuth, "permission_error", 0, domain.EUNAVAILABLE},
		{"bad request", 400, nil, `{"type":"error","error":{"type":"invalid_request_error","message":"temperature: range"}}`,
			domain.ProviderInvalid, "invalid_request_error", 0, domain.EINVALID},
		{"unknown model", 404, nil, `{"type":"error","error":{"type":"not_found_error","message":"model: nope"}}`,
			domain.ProviderInvalid, "not_found_error", 0, domain.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			p := newProvider(t, srv.URL, hc)
			st, err := p.ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "claude-haiku-4-5",
				Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
			if err == nil {
				st.Close()
				t.Fatal("no error")
			}
			pe := providerError(t, err, tc.kind)
			if pe.Status != tc.status || pe.Type != tc.typ || pe.RetryAfter != tc.retryAfter || pe.Provider != "anthropic" {
				t.Errorf("error = %+v", pe)
			}
			retryable := tc.kind != domain.ProviderAuth && tc.kind != domain.ProviderInvalid
			if domain.IsRetryable(err) != retryable {
				t.Errorf("IsRetryable = %v", !retryable)
			}
			if c := domain.ErrorCode(err); c != tc.code {
				t.Errorf("ErrorCode = %s, want %s", c, tc.code)
			}
			if strings.Contains(domain.ErrorMessage(err), "x-api-key") {
				t.Errorf("user-facing message leaks upstream detail: %s", domain.ErrorMessage(err))
			}
		})
	}
}

// Retry-After may also be an HTTP date.
func TestProvider_ChatStream_retryAfterDate(t *testing.T) {
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", time.Now().Add(30*time.Second).UTC().Format(http.TimeFormat))
		w.WriteHeader(http.StatusTooManyRequests)
		io.WriteString(w, `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
	})
	_, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m",
		Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
	pe := providerError(t, err, domain.ProviderRateLimited)
	if pe.RetryAfter < 28*time.Second || pe.RetryAfter > 31*time.Second {
		t.Errorf("RetryAfter = %s, want about 30s", pe.RetryAfter)
	}
}

func TestProvider_ChatStream_connectionRefused(t *testing.T) {
	srv, hc := newServer(t, func(http.ResponseWriter, *http.Request) {})
	url := srv.URL
	srv.Close()
	_, err := newProvider(t, url, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m",
		Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
	providerError(t, err, domain.ProviderUnavailable)
	if !domain.IsRetryable(err) {
		t.Error("a refused connection is not retryable")
	}
}

func TestProvider_ChatStream_invalidRequest(t *testing.T) {
	p := newProvider(t, "http://127.0.0.1:1", nil)
	for _, req := range []domain.ChatRequest{
		{Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}},
		{Model: "m"},
		{Model: "m", Messages: []domain.ChatMessage{{Role: "tool", Content: "x"}}},
		{Model: "m", Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}, Temperature: temp(3)},
	} {
		_, err := p.ChatStream(context.Background(), req)
		if domain.ErrorCode(err) != domain.EINVALID || domain.IsRetryable(err) {
			t.Errorf("%+v: err = %v", req, err)
		}
	}
}

// Mid-stream failures arrive after tokens were sent, so the gateway must end its own stream
// with an error; Recv has to report them as errors, after the deltas that did arrive.
func TestProvider_ChatStream_midStream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(w http.ResponseWriter)
		kind  domain.ProviderErrorKind
		msg   string
	}{
		{"connection cut", func(http.ResponseWriter) { cutConnection() }, domain.ProviderUnavailable, "stream broken"},
		{"error event", func(w http.ResponseWriter) {
			writeEvent(w, "error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`)
		}, domain.ProviderUnavailable, "Overloaded"},
		{"rate limit event", func(w http.ResponseWriter) {
			writeEvent(w, "error", `{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}`)
		}, domain.ProviderRateLimited, "slow down"},
		{"clean end without message_stop", func(http.ResponseWriter) {}, domain.ProviderUnavailable, "before message_stop"},
		{"garbage", func(w http.ResponseWriter) {
			io.WriteString(w, "<html>\x00\xff\xfe garbage\n\n")
		}, domain.ProviderUnavailable, "malformed"},
		{"not JSON", func(w http.ResponseWriter) { writeEvent(w, "content_block_delta", "{oops") }, domain.ProviderUnavailable, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				startSSE(w)
				messageStart(w, 5)
				textDelta(w, "one")
				textDelta(w, "two")
				tc.after(w)
			})
			st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m",
				Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			deltas, final, err := collect(t, st)
			if strings.Join(deltas, "|") != "one|two" || final != nil {
				t.Errorf("deltas = %q, final = %+v", deltas, final)
			}
			pe := providerError(t, err, tc.kind)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to mention %q", err, tc.msg)
			}
			if pe.Status != 0 {
				t.Errorf("status = %d for a mid-stream error", pe.Status)
			}
			if _, err2 := st.Recv(); err2 != err {
				t.Errorf("Recv after the error = %v, want the same error", err2)
			}
		})
	}
}

// A server that never sends a newline must not make us buffer without bound.
func TestProvider_ChatStream_overlongLine(t *testing.T) {
	done := make(chan struct{})
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		startSSE(w)
		io.WriteString(w, "data: ")
		chunk := strings.Repeat("x", 64<<10)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m",
		Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	providerError(t, err, domain.ProviderUnavailable)
	if !strings.Contains(err.Error(), "exceeds 1048576 bytes") {
		t.Errorf("err = %v", err)
	}
	waitClosed(t, done, "the handler to see the client hang up")
}

func TestProvider_ChatStream_cancel(t *testing.T) {
	gone := make(chan struct{})
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		messageStart(w, 5)
		textDelta(w, "one")
		<-r.Context().Done()
		close(gone)
	})
	ctx, cancel := context.WithCancel(ctxTimeout(t))
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctx, domain.ChatRequest{Model: "m",
		Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ev, err := st.Recv(); err != nil || ev.Delta != "one" {
		t.Fatalf("Recv = %+v, %v", ev, err)
	}
	time.AfterFunc(20*time.Millisecond, cancel) // while Recv is blocked
	_, err = st.Recv()
	if !errors.Is(err, context.Canceled) || domain.IsRetryable(err) {
		t.Errorf("err = %v, want context.Canceled, not retryable", err)
	}
	waitClosed(t, gone, "the server to see the request cancelled")
}

func TestProvider_ChatStream_deadline(t *testing.T) {
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		messageStart(w, 5)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctx, domain.ChatRequest{Model: "m",
		Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	providerError(t, err, domain.ProviderUnavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestProvider_ChatStream_closeWhileReceiving(t *testing.T) {
	gone := make(chan struct{})
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		messageStart(w, 5)
		<-r.Context().Done()
		close(gone)
	})
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m",
		Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, func() { st.Close() })
	if _, err := st.Recv(); err == nil || domain.IsRetryable(err) {
		t.Errorf("Recv after Close = %v", err)
	}
	waitClosed(t, gone, "the server to see the stream closed")
	if err := st.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

// Every way a stream can end releases its connection and leaves no goroutine behind.
func TestProvider_ChatStream_noGoroutineLeak(t *testing.T) {
	clientSide, total := checkGoroutines(t, "github.com/vibecode/vibecode/shared/anthropic")
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		messageStart(w, 5)
		textDelta(w, "one")
		textDelta(w, "two")
		switch r.URL.Query().Get("mode") {
		case "cut":
			cutConnection()
		case "hang":
			<-r.Context().Done()
		default:
			messageEnd(w, "end_turn", 2)
		}
	})
	req := domain.ChatRequest{Model: "m", Messages: []domain.ChatMessage{{Role: "user", Content: "x"}}}
	// The context is not cancelled after each run: Close alone must release everything.
	ctx := ctxTimeout(t)
	run := func(mode string, use func(domain.ChatStream)) {
		p, err := anthropic.New(anthropic.Config{APIKey: "k", BaseURL: srv.URL, HTTPClient: &http.Client{Transport: modeTransport{hc.Transport, mode}}})
		if err != nil {
			t.Fatal(err)
		}
		st, err := p.ChatStream(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		use(st)
		st.Close()
	}
	drain := func(st domain.ChatStream) { collect(t, st) }
	run("done", drain)
	run("cut", drain)
	run("hang", func(st domain.ChatStream) { st.Recv() }) // closed in the middle
	run("hang", func(domain.ChatStream) {})               // closed before the first Recv
	cctx, cancel := context.WithCancel(ctx)
	p := newProvider(t, srv.URL, &http.Client{Transport: modeTransport{hc.Transport, "hang"}})
	st, err := p.ChatStream(cctx, req)
	if err != nil {
		t.Fatal(err)
	}
	st.Recv()
	cancel()
	st.Recv()
	st.Close()

	hc.Transport.(*http.Transport).CloseIdleConnections()
	clientSide()
	srv.Close()
	total()
}

// modeTransport adds ?mode= to every request, to pick the fake server's behaviour.
type modeTransport struct {
	http.RoundTripper
	mode string
}

func (m modeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	q := r.URL.Query()
	q.Set("mode", m.mode)
	r.URL.RawQuery = q.Encode()
	return m.RoundTripper.RoundTrip(r)
}

func TestNew(t *testing.T) {
	if _, err := anthropic.New(anthropic.Config{}); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Errorf("no key: %v", err)
	}
	if _, err := anthropic.New(anthropic.Config{APIKey: "k", BaseURL: "not a url"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad base URL: %v", err)
	}
	p, err := anthropic.New(anthropic.Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	if p.Name() != "anthropic" {
		t.Errorf("Name = %s", p.Name())
	}
	tiers := map[string]bool{}
	for _, m := range p.Models() {
		tiers[m.Tier] = true
		if m.Provider != "anthropic" || m.ContextTokens == 0 || m.MaxOutputTokens == 0 || m.InputUSDPerMTok == 0 {
			t.Errorf("incomplete model %+v", m)
		}
	}
	if !tiers[domain.TierFast] || !tiers[domain.TierStrong] {
		t.Errorf("models lack a tier: %+v", p.Models())
	}
	sonnet, ok := domain.FindModel(p.Models(), "claude-sonnet-4-5")
	if cost := sonnet.Cost(domain.Usage{InputTokens: 1_000_000, OutputTokens: 100_000}); !ok || cost != 4.5 {
		t.Errorf("cost of 1M in + 100k out on Sonnet = %v, want 3 + 1.5", cost)
	}
}

package gemini_test

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

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/gemini"
)

// The fake server speaks streamGenerateContent?alt=sse as the Gemini API does: data-only
// events terminated by CRLF CRLF, no end sentinel, cumulative usageMetadata.

func writeChunk(w http.ResponseWriter, data string) {
	fmt.Fprintf(w, "data: %s\r\n\r\n", data)
	w.(http.Flusher).Flush()
}

func textChunk(w http.ResponseWriter, text string, outTokens int) {
	b, _ := json.Marshal(text)
	writeChunk(w, fmt.Sprintf(`{"candidates": [{"content": {"parts": [{"text": %s}],"role": "model"},"index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": %d,"totalTokenCount": %d},"modelVersion": "gemini-2.5-flash-lite","responseId": "r1"}`, b, outTokens, 9+outTokens))
}

func finishChunk(w http.ResponseWriter, text, reason string, outTokens, thoughts int) {
	b, _ := json.Marshal(text)
	writeChunk(w, fmt.Sprintf(`{"candidates": [{"content": {"parts": [{"text": %s}],"role": "model"},"finishReason": %q,"index": 0}],"usageMetadata": {"promptTokenCount": 9,"candidatesTokenCount": %d,"thoughtsTokenCount": %d,"totalTokenCount": %d},"modelVersion": "gemini-2.5-flash-lite"}`, b, reason, outTokens, thoughts, 9+outTokens+thoughts))
}

func newProvider(t *testing.T, url string, hc *http.Client) *gemini.Provider {
	t.Helper()
	p, err := gemini.New(gemini.Config{APIKey: "g-test", BaseURL: url, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func temp(v float64) *float64 { return &v }

func userMsg(s string) []domain.ChatMessage { return []domain.ChatMessage{{Role: "user", Content: s}} }

type captured struct {
	path, query string
	header      http.Header
	body        map[string]any
}

func TestProvider_ChatStream(t *testing.T) {
	reqs := make(chan captured, 1)
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode request: %v", err)
		}
		reqs <- captured{path: r.URL.Path, query: r.URL.RawQuery, header: r.Header.Clone(), body: body}
		startSSE(w)
		textChunk(w, "Hello", 1)
		textChunk(w, ", wor", 3)
		writeChunk(w, `{"candidates": [{"content": {"parts": [{"text": "thinking…", "thought": true}, {"text": "ld"}],"role": "model"},"index": 0}]}`)
		finishChunk(w, "!", "STOP", 5, 7)
	})
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{
		Model: "gemini-2.5-flash-lite",
		Messages: []domain.ChatMessage{
			{Role: "system", Content: "be brief"},
			{Role: "user", Content: "hi"},
			{Role: "assistant", Content: "hello"},
			{Role: "assistant", Content: "again"},
			{Role: "system", Content: "use Go"},
			{Role: "user", Content: "say hello"},
		},
		Temperature: temp(0),
		Stop:        []string{"END", "\n\n"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, final, err := collect(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, "|"); got != "Hello|, wor|ld|!" {
		t.Errorf("deltas = %q", got)
	}
	if final == nil || final.FinishReason != domain.FinishStop || final.Usage == nil ||
		*final.Usage != (domain.Usage{InputTokens: 9, OutputTokens: 12}) {
		t.Errorf("final = %+v (usage %+v)", final, final.Usage)
	}

	got := <-reqs
	if got.path != "/v1beta/models/gemini-2.5-flash-lite:streamGenerateContent" || got.query != "alt=sse" {
		t.Errorf("URL = %s?%s", got.path, got.query)
	}
	if k := got.header.Get("X-Goog-Api-Key"); k != "g-test" {
		t.Errorf("x-goog-api-key = %q", k)
	}
	js := func(v any) string { b, _ := json.Marshal(v); return string(b) }
	if s := js(got.body["systemInstruction"]); s != `{"parts":[{"text":"be brief"},{"text":"use Go"}]}` {
		t.Errorf("systemInstruction = %s", s)
	}
	want := `[{"parts":[{"text":"hi"}],"role":"user"},{"parts":[{"text":"hello"},{"text":"again"}],"role":"model"},{"parts":[{"text":"say hello"}],"role":"user"}]`
	if s := js(got.body["contents"]); s != want {
		t.Errorf("contents = %s\nwant %s", s, want)
	}
	if s := js(got.body["generationConfig"]); s != `{"maxOutputTokens":65536,"stopSequences":["END","\n\n"],"temperature":0}` {
		t.Errorf("generationConfig = %s", s)
	}
}

func TestProvider_ChatStream_generationConfig(t *testing.T) {
	bodies := make(chan map[string]any, 2)
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		bodies <- body
		startSSE(w)
		finishChunk(w, "ok", "MAX_TOKENS", 1, 0)
	})
	p := newProvider(t, srv.URL, hc)
	for _, tc := range []struct {
		req  domain.ChatRequest
		want string
	}{
		{domain.ChatRequest{Model: "models/gemini-2.5-pro", MaxTokens: 32, Messages: userMsg("x")}, `{"maxOutputTokens":32}`},
		{domain.ChatRequest{Model: "gemini-unknown", Messages: userMsg("x")}, `null`}, // nothing to send: the model's defaults
	} {
		st, err := p.ChatStream(ctxTimeout(t), tc.req)
		if err != nil {
			t.Fatal(err)
		}
		_, final, err := collect(t, st)
		st.Close()
		if err != nil || final.FinishReason != domain.FinishLength {
			t.Errorf("final = %+v, err = %v", final, err)
		}
		b, _ := json.Marshal((<-bodies)["generationConfig"])
		if string(b) != tc.want {
			t.Errorf("%s: generationConfig = %s, want %s", tc.req.Model, b, tc.want)
		}
	}
}

func TestProvider_ChatStream_blocked(t *testing.T) {
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		writeChunk(w, `{"promptFeedback": {"blockReason": "SAFETY"},"usageMetadata": {"promptTokenCount": 4,"totalTokenCount": 4}}`)
	})
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m", Messages: userMsg("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, final, err := collect(t, st)
	if err != nil || len(deltas) != 0 || final.FinishReason != domain.FinishContentFilter || final.Usage.InputTokens != 4 {
		t.Errorf("deltas = %q, final = %+v, err = %v", deltas, final, err)
	}
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
	}{
		{"rate limited with RetryInfo", 429, nil,
			`{"error": {"code": 429,"message": "You exceeded your current quota.","status": "RESOURCE_EXHAUSTED","details": [{"@type": "type.googleapis.com/google.rpc.QuotaFailure","violations": []},{"@type": "type.googleapis.com/google.rpc.RetryInfo","retryDelay": "32s"}]}}`,
			domain.ProviderRateLimited, "RESOURCE_EXHAUSTED", 32 * time.Second},
		{"rate limited with retry-after", 429, map[string]string{"Retry-After": "3"},
			`{"error": {"code": 429,"message": "Resource has been exhausted","status": "RESOURCE_EXHAUSTED"}}`,
			domain.ProviderRateLimited, "RESOURCE_EXHAUSTED", 3 * time.Second},
		{"internal", 500, nil, `{"error": {"code": 500,"message": "An internal error has occurred.","status": "INTERNAL"}}`,
			domain.ProviderUnavailable, "INTERNAL", 0},
		{"overloaded", 503, nil, `{"error": {"code": 503,"message": "The model is overloaded. Please try again later.","status": "UNAVAILABLE"}}`,
			domain.ProviderUnavailable, "UNAVAILABLE", 0},
		{"context window", 400, nil,
			`{"error": {"code": 400,"message": "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).","status": "INVALID_ARGUMENT"}}`,
			domain.ProviderContextWindow, "INVALID_ARGUMENT", 0},
		{"context window in an array", 400, nil,
			`[{"error": {"code": 400,"message": "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).","status": "INVALID_ARGUMENT"}}]`,
			domain.ProviderContextWindow, "INVALID_ARGUMENT", 0},
		{"bad key is a 400", 400, nil,
			`{"error": {"code": 400,"message": "API key not valid. Please pass a valid API key.","status": "INVALID_ARGUMENT","details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo","reason": "API_KEY_INVALID","domain": "googleapis.com"}]}}`,
			domain.ProviderAuth, "INVALID_ARGUMENT", 0},
		{"unauthenticated", 401, nil, `{"error": {"code": 401,"message": "Request had invalid authentication credentials.","status": "UNAUTHENTICATED"}}`,
			domain.ProviderAuth, "UNAUTHENTICATED", 0},
		{"permission denied", 403, nil, `{"error": {"code": 403,"message": "Permission denied","status": "PERMISSION_DENIED"}}`,
			domain.ProviderAuth, "PERMISSION_DENIED", 0},
		{"invalid", 400, nil, `{"error": {"code": 400,"message": "* GenerateContentRequest.contents: contents is not specified","status": "INVALID_ARGUMENT"}}`,
			domain.ProviderInvalid, "INVALID_ARGUMENT", 0},
		{"unknown model", 404, nil, `{"error": {"code": 404,"message": "models/nope is not found for API version v1beta","status": "NOT_FOUND"}}`,
			domain.ProviderInvalid, "NOT_FOUND", 0},
		{"gateway html", 502, nil, `<html>Bad Gateway</html>`, domain.ProviderUnavailable, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("Content-Type", "application/json; charset=UTF-8")
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m", Messages: userMsg("x")})
			if err == nil {
				st.Close()
				t.Fatal("no error")
			}
			pe := providerError(t, err, tc.kind)
			if pe.Status != tc.status || pe.Type != tc.typ || pe.RetryAfter != tc.retryAfter || pe.Provider != "gemini" {
				t.Errorf("error = %+v", pe)
			}
			retryable := tc.kind != domain.ProviderAuth && tc.kind != domain.ProviderInvalid
			if domain.IsRetryable(err) != retryable {
				t.Errorf("IsRetryable = %v", !retryable)
			}
		})
	}
}

func TestProvider_ChatStream_connectionRefused(t *testing.T) {
	srv, hc := newServer(t, func(http.ResponseWriter, *http.Request) {})
	url := srv.URL
	srv.Close()
	_, err := newProvider(t, url, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m", Messages: userMsg("x")})
	providerError(t, err, domain.ProviderUnavailable)
}

func TestProvider_ChatStream_midStream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(w http.ResponseWriter)
		kind  domain.ProviderErrorKind
		msg   string
	}{
		{"connection cut", func(http.ResponseWriter) { cutConnection() }, domain.ProviderUnavailable, "stream broken"},
		{"clean end without finishReason", func(http.ResponseWriter) {}, domain.ProviderUnavailable, "without a finishReason"},
		{"error event", func(w http.ResponseWriter) {
			writeChunk(w, `{"error": {"code": 503,"message": "The model is overloaded.","status": "UNAVAILABLE"}}`)
		}, domain.ProviderUnavailable, "overloaded"},
		{"error event without code", func(w http.ResponseWriter) {
			writeChunk(w, `{"error": {"message": "Internal error encountered.","status": "INTERNAL"}}`)
		}, domain.ProviderUnavailable, "Internal error"},
		{"garbage", func(w http.ResponseWriter) { io.WriteString(w, "\x00\x01\xffgarbage\r\n\r\n") }, domain.ProviderUnavailable, "malformed"},
		{"not JSON", func(w http.ResponseWriter) { writeChunk(w, "[{") }, domain.ProviderUnavailable, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
				startSSE(w)
				textChunk(w, "one", 1)
				textChunk(w, "two", 2)
				tc.after(w)
			})
			st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m", Messages: userMsg("x")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			deltas, final, err := collect(t, st)
			if strings.Join(deltas, "|") != "one|two" || final != nil {
				t.Errorf("deltas = %q, final = %+v", deltas, final)
			}
			providerError(t, err, tc.kind)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to mention %q", err, tc.msg)
			}
		})
	}
}

func TestProvider_ChatStream_overlongLine(t *testing.T) {
	done := make(chan struct{})
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		startSSE(w)
		textChunk(w, "one", 1)
		chunk := strings.Repeat("garbage without a newline ", 4096)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctxTimeout(t), domain.ChatRequest{Model: "m", Messages: userMsg("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, _, err := collect(t, st)
	providerError(t, err, domain.ProviderUnavailable)
	if len(deltas) != 1 || !strings.Contains(err.Error(), "exceeds 1048576 bytes") {
		t.Errorf("deltas = %q, err = %v", deltas, err)
	}
	waitClosed(t, done, "the handler to see the client hang up")
}

func TestProvider_ChatStream_cancel(t *testing.T) {
	gone := make(chan struct{})
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		textChunk(w, "one", 1)
		<-r.Context().Done()
		close(gone)
	})
	ctx, cancel := context.WithCancel(ctxTimeout(t))
	st, err := newProvider(t, srv.URL, hc).ChatStream(ctx, domain.ChatRequest{Model: "m", Messages: userMsg("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if ev, err := st.Recv(); err != nil || ev.Delta != "one" {
		t.Fatalf("Recv = %+v, %v", ev, err)
	}
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = st.Recv()
	if !errors.Is(err, context.Canceled) || domain.IsRetryable(err) {
		t.Errorf("err = %v, want context.Canceled, not retryable", err)
	}
	waitClosed(t, gone, "the server to see the request cancelled")
}

func TestProvider_ChatStream_noGoroutineLeak(t *testing.T) {
	clientSide, total := checkGoroutines(t, "github.com/vibecode/vibecode/shared/gemini")
	srv, hc := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		startSSE(w)
		textChunk(w, "one", 1)
		textChunk(w, "two", 2)
		switch r.Header.Get("X-Mode") {
		case "cut":
			cutConnection()
		case "hang":
			<-r.Context().Done()
		default:
			finishChunk(w, "", "STOP", 2, 0)
		}
	})
	ctx := ctxTimeout(t) // not cancelled after each run: Close alone must release everything
	run := func(mode string, use func(domain.ChatStream)) {
		p := newProvider(t, srv.URL, &http.Client{Transport: modeTransport{hc.Transport, mode}})
		st, err := p.ChatStream(ctx, domain.ChatRequest{Model: "m", Messages: userMsg("x")})
		if err != nil {
			t.Fatal(err)
		}
		use(st)
		st.Close()
	}
	run("done", func(st domain.ChatStream) { collect(t, st) })
	run("cut", func(st domain.ChatStream) { collect(t, st) })
	run("hang", func(st domain.ChatStream) { st.Recv() })
	run("hang", func(domain.ChatStream) {})
	hc.Transport.(*http.Transport).CloseIdleConnections()
	clientSide()
	srv.Close()
	total()
}

// modeTransport tells the fake server how to behave through a header.
type modeTransport struct {
	http.RoundTripper
	mode string
}

func (m modeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Mode", m.mode)
	return m.RoundTripper.RoundTrip(r)
}

func TestNew(t *testing.T) {
	if _, err := gemini.New(gemini.Config{}); domain.ErrorCode(err) != domain.EUNAVAILABLE {
		t.Errorf("no key: %v", err)
	}
	if _, err := gemini.New(gemini.Config{APIKey: "k", BaseURL: "ftp://x"}); domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("bad base URL: %v", err)
	}
	p, err := gemini.New(gemini.Config{APIKey: "k"})
	if err != nil {
		t.Fatal(err)
	}
	tiers := map[string]bool{}
	for _, m := range p.Models() {
		tiers[m.Tier] = true
		if m.Provider != "gemini" || m.ContextTokens == 0 || m.MaxOutputTokens == 0 || m.OutputUSDPerMTok == 0 {
			t.Errorf("incomplete model %+v", m)
		}
	}
	if p.Name() != "gemini" || !tiers[domain.TierFast] || !tiers[domain.TierStrong] {
		t.Errorf("Name = %s, models = %+v", p.Name(), p.Models())
	}
}

package openai_test

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
	"github.com/vibecode/vibecode/shared/openai"
)

// The fake server speaks OpenAI's chat-completions streaming format: data-only SSE chunks,
// finish_reason on the last choice chunk, a usage chunk with no choices (include_usage),
// then "data: [DONE]".

func chatChunk(w http.ResponseWriter, content string, finish string) {
	c, _ := json.Marshal(content)
	f := "null"
	if finish != "" {
		f = fmt.Sprintf("%q", finish)
	}
	chatWriteEvent(w, "", fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini","system_fingerprint":"fp_1","choices":[{"index":0,"delta":{"content":%s},"logprobs":null,"finish_reason":%s}],"usage":null}`, c, f))
}

func chatUsage(w http.ResponseWriter, in, out int) {
	chatWriteEvent(w, "", fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, in, out, in+out))
}

func chatDone(w http.ResponseWriter) { chatWriteEvent(w, "", "[DONE]") }

func newChat(t *testing.T, name, url string, hc *http.Client) *openai.Chat {
	t.Helper()
	c, err := openai.NewChat(openai.ChatConfig{Name: name, APIKey: "sk-test", BaseURL: url, HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func chatTemp(v float64) *float64 { return &v }

func chatUser(s string) []domain.ChatMessage { return []domain.ChatMessage{{Role: "user", Content: s}} }

type chatCaptured struct {
	path   string
	header http.Header
	body   map[string]any
}

func TestChat_ChatStream(t *testing.T) {
	reqs := make(chan chatCaptured, 1)
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("decode request: %v", err)
		}
		reqs <- chatCaptured{path: r.URL.Path, header: r.Header.Clone(), body: body}
		chatStartSSE(w)
		chatWriteEvent(w, "", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}`)
		io.WriteString(w, ": keep-alive comment\n\n")
		chatChunk(w, "Hello", "")
		chatChunk(w, ", ", "")
		chatWriteEvent(w, "message", `{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"content":"world"},"finish_reason":null}],"usage":null}`)
		chatChunk(w, "", "stop")
		chatUsage(w, 21, 3)
		chatDone(w)
	})
	c := newChat(t, "openai", srv.URL+"/v1", hc)
	st, err := c.ChatStream(chatCtx(t), domain.ChatRequest{
		Model:       "gpt-4o-mini",
		Messages:    []domain.ChatMessage{{Role: "system", Content: "be brief"}, {Role: "user", Content: "hi"}},
		MaxTokens:   50,
		Temperature: chatTemp(0),
		Stop:        []string{"\n\n", "END"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, final, err := chatCollect(t, st)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(deltas, "|"); got != "Hello|, |world" {
		t.Errorf("deltas = %q", got)
	}
	if final == nil || final.FinishReason != domain.FinishStop || final.Usage == nil ||
		*final.Usage != (domain.Usage{InputTokens: 21, OutputTokens: 3}) {
		t.Errorf("final = %+v", final)
	}

	got := <-reqs
	if got.path != "/v1/chat/completions" {
		t.Errorf("path = %s", got.path)
	}
	if a := got.header.Get("Authorization"); a != "Bearer sk-test" {
		t.Errorf("Authorization = %q", a)
	}
	b := got.body
	js := func(v any) string { s, _ := json.Marshal(v); return string(s) }
	if s := js(b["messages"]); s != `[{"content":"be brief","role":"system"},{"content":"hi","role":"user"}]` {
		t.Errorf("messages = %s", s)
	}
	if b["stream"] != true || js(b["stream_options"]) != `{"include_usage":true}` || js(b["stop"]) != `["\n\n","END"]` {
		t.Errorf("body = %v", b)
	}
	if b["max_completion_tokens"] != 50.0 || b["max_tokens"] != nil {
		t.Errorf("OpenAI itself gets max_completion_tokens: %v / %v", b["max_completion_tokens"], b["max_tokens"])
	}
	if temp, ok := b["temperature"].(float64); !ok || temp > 1e-6 {
		t.Errorf("temperature = %v, want an explicit ~0", b["temperature"])
	}
}

func TestChat_ChatStream_compatible(t *testing.T) {
	reqs := make(chan chatCaptured, 2)
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		reqs <- chatCaptured{path: r.URL.Path, header: r.Header.Clone(), body: body}
		chatStartSSE(w)
		chatChunk(w, "ok", "length")
		chatDone(w) // no usage chunk: an older server that ignores include_usage
	})

	groq := newChat(t, "groq", srv.URL+"/openai/v1", hc)
	st, err := groq.ChatStream(chatCtx(t), domain.ChatRequest{Model: "llama-3.1-8b-instant", MaxTokens: 7, Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	_, final, err := chatCollect(t, st)
	st.Close()
	if err != nil || final.FinishReason != domain.FinishLength || final.Usage != nil {
		t.Errorf("final = %+v, err = %v", final, err)
	}
	got := <-reqs
	if got.path != "/openai/v1/chat/completions" || got.body["max_tokens"] != 7.0 || got.body["max_completion_tokens"] != nil {
		t.Errorf("groq request: %s %v", got.path, got.body)
	}
	if _, ok := got.body["temperature"]; ok {
		t.Errorf("temperature sent though unset: %v", got.body["temperature"])
	}

	// Ollama needs no key: no Authorization header at all.
	ollama, err := openai.NewChat(openai.ChatConfig{Name: "ollama", BaseURL: srv.URL + "/v1", HTTPClient: hc})
	if err != nil {
		t.Fatal(err)
	}
	st, err = ollama.ChatStream(chatCtx(t), domain.ChatRequest{Model: "qwen2.5-coder:7b", Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	chatCollect(t, st)
	st.Close()
	got = <-reqs
	if _, ok := got.header["Authorization"]; ok {
		t.Errorf("Authorization sent without a key: %q", got.header.Get("Authorization"))
	}
	if _, ok := got.body["max_tokens"]; ok {
		t.Errorf("max_tokens sent though 0: %v", got.body["max_tokens"])
	}
}

func TestChat_Complete(t *testing.T) {
	reqs := make(chan chatCaptured, 1)
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		reqs <- chatCaptured{path: r.URL.Path, body: body}
		chatStartSSE(w)
		for _, s := range []string{"return ", "a + b"} {
			chatWriteEvent(w, "", fmt.Sprintf(`{"id":"c1","object":"text_completion","created":1,"model":"deepseek-chat","choices":[{"text":%q,"index":0,"logprobs":null,"finish_reason":null}]}`, s))
		}
		chatWriteEvent(w, "", `{"id":"c1","object":"text_completion","created":1,"model":"deepseek-chat","choices":[{"text":"","index":0,"logprobs":null,"finish_reason":"stop"}]}`)
		chatWriteEvent(w, "", `{"id":"c1","object":"text_completion","created":1,"model":"deepseek-chat","choices":[],"usage":{"prompt_tokens":12,"completion_tokens":4,"total_tokens":16}}`)
		chatDone(w)
	})
	c := newChat(t, "deepseek", srv.URL+"/beta", hc)
	st, err := c.Complete(chatCtx(t), domain.FIMRequest{Model: "deepseek-chat", Prefix: "func add(a, b int) int {\n\t", Suffix: "\n}", MaxTokens: 64, Stop: []string{"\n\n"}})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, final, err := chatCollect(t, st)
	if err != nil || strings.Join(deltas, "") != "return a + b" || final.FinishReason != domain.FinishStop ||
		*final.Usage != (domain.Usage{InputTokens: 12, OutputTokens: 4}) {
		t.Errorf("deltas = %q, final = %+v, err = %v", deltas, final, err)
	}
	got := <-reqs
	b := got.body
	if got.path != "/beta/completions" || b["prompt"] != "func add(a, b int) int {\n\t" || b["suffix"] != "\n}" ||
		b["max_tokens"] != 64.0 || b["stream"] != true {
		t.Errorf("request %s %v", got.path, b)
	}

	_, err = c.Complete(chatCtx(t), domain.FIMRequest{Model: "deepseek-reasoner", Prefix: "x"})
	if domain.ErrorCode(err) != domain.EINVALID {
		t.Errorf("FIM on a model without FIM: %v", err)
	}
}

func TestChat_ChatStream_errors(t *testing.T) {
	for _, tc := range []struct {
		name       string
		status     int
		header     map[string]string
		body       string
		kind       domain.ProviderErrorKind
		typ        string
		retryAfter time.Duration
	}{
		{"rate limited, retry-after-ms", 429, map[string]string{"retry-after-ms": "1500", "retry-after": "2"},
			`{"error":{"message":"Rate limit reached for gpt-4o-mini on requests per min (RPM): Limit 3, Used 3, Requested 1.","type":"requests","param":null,"code":"rate_limit_exceeded"}}`,
			domain.ProviderRateLimited, "rate_limit_exceeded", 1500 * time.Millisecond},
		{"rate limited, retry-after", 429, map[string]string{"retry-after": "2"},
			`{"error":{"message":"Rate limit reached","type":"tokens","param":null,"code":"rate_limit_exceeded"}}`,
			domain.ProviderRateLimited, "rate_limit_exceeded", 2 * time.Second},
		{"server error", 500, nil, `{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}`,
			domain.ProviderUnavailable, "server_error", 0},
		{"503 plain text", 503, nil, "upstream connect error or disconnect/reset before headers",
			domain.ProviderUnavailable, "", 0},
		{"context window", 400, nil,
			`{"error":{"message":"This model's maximum context length is 128000 tokens. However, your messages resulted in 130213 tokens. Please reduce the length of the messages.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`,
			domain.ProviderContextWindow, "context_length_exceeded", 0},
		{"context window, vLLM without code", 400, nil,
			`{"object":"error","message":"This model's maximum context length is 4096 tokens. However, you requested 5000 tokens (4000 in the messages, 1000 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}`,
			domain.ProviderContextWindow, "", 0},
		{"bad key", 401, nil, `{"error":{"message":"Incorrect API key provided: sk-test. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
			domain.ProviderAuth, "invalid_api_key", 0},
		{"invalid", 400, nil, `{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}`,
			domain.ProviderInvalid, "invalid_value", 0},
		{"unknown model", 404, nil, `{"error":{"message":"The model 'nope' does not exist","type":"invalid_request_error","param":"model","code":"model_not_found"}}`,
			domain.ProviderInvalid, "model_not_found", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tc.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tc.status)
				io.WriteString(w, tc.body)
			})
			st, err := newChat(t, "openai", srv.URL, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "gpt-4o-mini", Messages: chatUser("x")})
			if err == nil {
				st.Close()
				t.Fatal("no error")
			}
			pe := chatProviderError(t, err, tc.kind)
			if pe.Status != tc.status || pe.Type != tc.typ || pe.RetryAfter != tc.retryAfter || pe.Provider != "openai" {
				t.Errorf("error = %+v", pe)
			}
			retryable := tc.kind != domain.ProviderAuth && tc.kind != domain.ProviderInvalid
			if domain.IsRetryable(err) != retryable {
				t.Errorf("IsRetryable = %v", !retryable)
			}
			if strings.Contains(domain.ErrorMessage(err), "sk-test") {
				t.Errorf("user-facing message leaks the key: %s", domain.ErrorMessage(err))
			}
		})
	}
}

func TestChat_ChatStream_connectionRefused(t *testing.T) {
	srv, hc := chatServer(t, func(http.ResponseWriter, *http.Request) {})
	url := srv.URL
	srv.Close()
	_, err := newChat(t, "groq", url, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "m", Messages: chatUser("x")})
	pe := chatProviderError(t, err, domain.ProviderUnavailable)
	if pe.Provider != "groq" {
		t.Errorf("provider = %s", pe.Provider)
	}
}

func TestChat_ChatStream_midStream(t *testing.T) {
	for _, tc := range []struct {
		name  string
		after func(w http.ResponseWriter)
		kind  domain.ProviderErrorKind
		msg   string
	}{
		{"connection cut", func(http.ResponseWriter) { chatCutConnection() }, domain.ProviderUnavailable, "stream broken"},
		{"clean end without finish_reason", func(http.ResponseWriter) {}, domain.ProviderUnavailable, "without a finish_reason"},
		{"DONE without finish_reason", chatDone, domain.ProviderUnavailable, "without a finish_reason"},
		{"error chunk", func(w http.ResponseWriter) {
			chatWriteEvent(w, "", `{"error":{"message":"The server had an error while processing your request.","type":"server_error","code":"internal_error"}}`)
		}, domain.ProviderUnavailable, "server had an error"},
		{"garbage", func(w http.ResponseWriter) { io.WriteString(w, "\x00\xff<html>garbage\n\n") }, domain.ProviderUnavailable, "malformed"},
		{"not JSON", func(w http.ResponseWriter) { chatWriteEvent(w, "", "{oops") }, domain.ProviderUnavailable, "not JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
				chatStartSSE(w)
				chatChunk(w, "one", "")
				chatChunk(w, "two", "")
				tc.after(w)
			})
			st, err := newChat(t, "openai", srv.URL, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "m", Messages: chatUser("x")})
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			deltas, final, err := chatCollect(t, st)
			if strings.Join(deltas, "|") != "one|two" || final != nil {
				t.Errorf("deltas = %q, final = %+v", deltas, final)
			}
			chatProviderError(t, err, tc.kind)
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("err = %v, want it to mention %q", err, tc.msg)
			}
			if _, err2 := st.Recv(); err2 != err {
				t.Errorf("Recv after the error = %v, want the same error", err2)
			}
		})
	}
}

// A 200 answer that is JSON, not a stream (a proxy that dropped stream:true), is a provider
// fault, not a silent empty answer.
func TestChat_ChatStream_notAStream(t *testing.T) {
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`+"\n")
	})
	st, err := newChat(t, "openai", srv.URL, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "m", Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	chatProviderError(t, err, domain.ProviderUnavailable)
}

func TestChat_ChatStream_overlongLine(t *testing.T) {
	done := make(chan struct{})
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		defer close(done)
		chatStartSSE(w)
		chatChunk(w, "one", "")
		io.WriteString(w, "data: ")
		chunk := strings.Repeat("x", 64<<10)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, chunk); err != nil {
				return
			}
		}
	})
	st, err := newChat(t, "openai", srv.URL, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "m", Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deltas, _, err := chatCollect(t, st)
	chatProviderError(t, err, domain.ProviderUnavailable)
	if len(deltas) != 1 || !strings.Contains(err.Error(), "exceeds 1048576 bytes") {
		t.Errorf("deltas = %q, err = %v", deltas, err)
	}
	chatWaitClosed(t, done, "the handler to see the client hang up")
}

// Blank and comment lines carry nothing, but a server sending only those forever must not be
// read forever: go-openai gives up after 300 in a row.
func TestChat_ChatStream_endlessEmptyLines(t *testing.T) {
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		chatStartSSE(w)
		for r.Context().Err() == nil {
			if _, err := io.WriteString(w, ": ping\n\n"); err != nil {
				return
			}
		}
	})
	st, err := newChat(t, "openai", srv.URL, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "m", Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	chatProviderError(t, err, domain.ProviderUnavailable)
}

func TestChat_ChatStream_cancel(t *testing.T) {
	gone := make(chan struct{})
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		chatStartSSE(w)
		chatChunk(w, "one", "")
		<-r.Context().Done()
		close(gone)
	})
	ctx, cancel := context.WithCancel(chatCtx(t))
	st, err := newChat(t, "openai", srv.URL, hc).ChatStream(ctx, domain.ChatRequest{Model: "m", Messages: chatUser("x")})
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
	chatWaitClosed(t, gone, "the server to see the request cancelled")
}

func TestChat_ChatStream_deadline(t *testing.T) {
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		chatStartSSE(w)
		<-r.Context().Done()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	st, err := newChat(t, "openai", srv.URL, hc).ChatStream(ctx, domain.ChatRequest{Model: "m", Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	_, err = st.Recv()
	chatProviderError(t, err, domain.ProviderUnavailable)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded", err)
	}
}

func TestChat_ChatStream_closeWhileReceiving(t *testing.T) {
	gone := make(chan struct{})
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		chatStartSSE(w)
		<-r.Context().Done()
		close(gone)
	})
	st, err := newChat(t, "openai", srv.URL, hc).ChatStream(chatCtx(t), domain.ChatRequest{Model: "m", Messages: chatUser("x")})
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(20*time.Millisecond, func() { st.Close() })
	if _, err := st.Recv(); err == nil || domain.IsRetryable(err) {
		t.Errorf("Recv after Close = %v", err)
	}
	chatWaitClosed(t, gone, "the server to see the stream closed")
	if err := st.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestChat_ChatStream_noGoroutineLeak(t *testing.T) {
	clientSide, total := chatCheckGoroutines(t, "github.com/vibecode/vibecode/shared/openai")
	srv, hc := chatServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Mode") == "error" {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, strings.Repeat("big error body ", 20_000)) // more than we read
			return
		}
		chatStartSSE(w)
		chatChunk(w, "one", "")
		chatChunk(w, "two", "")
		switch r.Header.Get("X-Mode") {
		case "cut":
			chatCutConnection()
		case "hang":
			<-r.Context().Done()
		default:
			chatChunk(w, "", "stop")
			chatUsage(w, 1, 2)
			chatDone(w)
		}
	})
	ctx := chatCtx(t) // not cancelled after each run: Close alone must release everything
	client := func(mode string) *openai.Chat {
		return newChat(t, "openai", srv.URL, &http.Client{Transport: chatModeTransport{hc.Transport, mode}})
	}
	run := func(mode string, use func(domain.ChatStream)) {
		st, err := client(mode).ChatStream(ctx, domain.ChatRequest{Model: "m", Messages: chatUser("x")})
		if err != nil {
			t.Fatal(err)
		}
		use(st)
		st.Close()
	}
	run("done", func(st domain.ChatStream) { chatCollect(t, st) })
	run("cut", func(st domain.ChatStream) { chatCollect(t, st) })
	run("hang", func(st domain.ChatStream) { st.Recv() })
	run("hang", func(domain.ChatStream) {})
	if _, err := client("error").ChatStream(ctx, domain.ChatRequest{Model: "m", Messages: chatUser("x")}); err == nil {
		t.Error("no error from a 503")
	}
	hc.Transport.(*http.Transport).CloseIdleConnections()
	clientSide()
	srv.Close()
	total()
}

// chatModeTransport tells the fake server how to behave through a header.
type chatModeTransport struct {
	http.RoundTripper
	mode string
}

func (m chatModeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("X-Mode", m.mode)
	return m.RoundTripper.RoundTrip(r)
}

func TestNewChat(t *testing.T) {
	for _, tc := range []struct {
		cfg  openai.ChatConfig
		code string
	}{
		{openai.ChatConfig{}, domain.EINVALID},
		{openai.ChatConfig{Name: "openai"}, domain.EUNAVAILABLE},
		{openai.ChatConfig{Name: "groq"}, domain.EUNAVAILABLE},
		{openai.ChatConfig{Name: "lmstudio"}, domain.EINVALID}, // no base URL
		{openai.ChatConfig{Name: "vllm", BaseURL: "localhost:8000"}, domain.EINVALID},
	} {
		if _, err := openai.NewChat(tc.cfg); domain.ErrorCode(err) != tc.code {
			t.Errorf("%+v: err = %v, want %s", tc.cfg, err, tc.code)
		}
	}
	for _, name := range []string{"openai", "groq", "deepseek"} {
		c, err := openai.NewChat(openai.ChatConfig{Name: name, APIKey: "k"})
		if err != nil {
			t.Fatal(err)
		}
		tiers := map[string]bool{}
		for _, m := range c.Models() {
			tiers[m.Tier] = true
			if m.Provider != name || m.ContextTokens == 0 || m.MaxOutputTokens == 0 || m.InputUSDPerMTok == 0 {
				t.Errorf("incomplete model %+v", m)
			}
		}
		if c.Name() != name || !tiers[domain.TierFast] || !tiers[domain.TierStrong] {
			t.Errorf("%s: models = %+v", name, c.Models())
		}
	}
	c, err := openai.NewChat(openai.ChatConfig{Name: "ollama"})
	if err != nil || len(c.Models()) != 0 {
		t.Errorf("ollama: %v, %+v", err, c)
	}
	models := []domain.ModelInfo{{ID: "local", Provider: "lmstudio", Tier: domain.TierFast}}
	if c, err := openai.NewChat(openai.ChatConfig{Name: "lmstudio", BaseURL: "http://localhost:1234/v1", Models: models}); err != nil || c.Models()[0].ID != "local" {
		t.Errorf("lmstudio: %v", err)
	}
}

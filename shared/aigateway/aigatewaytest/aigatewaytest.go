// Package aigatewaytest is a fake OpenAI-compatible provider for the gateway's tests and
// benchmarks: an httptest server that speaks the real chat-completions and legacy completions
// (fill-in-the-middle) streaming formats — data-only SSE chunks, finish_reason, a usage chunk,
// "data: [DONE]" — so the real openai adapter runs against it, and that can be told to fail in
// every way a provider does: error statuses with Retry-After, silence, a cut connection,
// garbage, an endless stream. It records what it received, so tests can assert on what the
// gateway sent (and did not send) upstream.
package aigatewaytest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Request is one request the fake provider received.
type Request struct {
	Path   string
	Header http.Header
	Body   map[string]any
	Raw    string
}

// Prompt returns every message content (or the FIM prompt and suffix) of the request, joined,
// for assertions on what reached the provider.
func (r Request) Prompt() string {
	var b strings.Builder
	if msgs, ok := r.Body["messages"].([]any); ok {
		for _, m := range msgs {
			if mm, ok := m.(map[string]any); ok {
				fmt.Fprintf(&b, "%v\n", mm["content"])
			}
		}
	}
	for _, k := range []string{"prompt", "suffix"} {
		if s, ok := r.Body[k].(string); ok {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

// Behavior answers one request. It returns when the response is done.
type Behavior func(s *Server, w http.ResponseWriter, r *http.Request, fim bool)

// Server is a fake provider. It is safe for concurrent use.
type Server struct {
	// URL is the base URL to configure the openai adapter with (it ends in /v1).
	URL string
	srv *httptest.Server

	mu        sync.Mutex
	behaviors []Behavior // one per request in order; the last repeats
	requests  []Request

	served    atomic.Int64 // requests handled
	cancelled atomic.Int64 // requests whose client went away before the response ended
	// FirstSent, when set, gets a value each time a Reply has flushed its first delta; it
	// must be buffered or drained (concurrency tests count the streams open at once).
	FirstSent chan struct{}
	// Hold, when set, is waited on by a Reply after its first delta, so a test can keep many
	// streams open mid-answer at the same time.
	Hold chan struct{}
	// Delay is slept between two deltas of a Reply.
	Delay time.Duration
}

// New starts a fake provider that answers with the behaviors in turn (the last one repeats),
// and stops it when the test ends.
func New(tb testing.TB, behaviors ...Behavior) *Server {
	tb.Helper()
	s := &Server{behaviors: behaviors}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/v1"
	tb.Cleanup(func() {
		s.srv.CloseClientConnections()
		s.srv.Close()
	})
	return s
}

// Close stops the server.
func (s *Server) Close() {
	s.srv.CloseClientConnections()
	s.srv.Close()
}

// Then replaces the behaviors for the following requests.
func (s *Server) Then(behaviors ...Behavior) {
	s.mu.Lock()
	s.behaviors = behaviors
	s.mu.Unlock()
}

// Requests returns the requests received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Served returns how many requests the server has handled (finished or not).
func (s *Server) Served() int { return int(s.served.Load()) }

// Cancelled returns how many responses ended because the client went away (the server saw
// its request context end).
func (s *Server) Cancelled() int { return int(s.cancelled.Load()) }

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	s.mu.Lock()
	s.requests = append(s.requests, Request{Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Raw: string(raw)})
	var b Behavior
	if len(s.behaviors) > 0 {
		b = s.behaviors[0]
		if len(s.behaviors) > 1 {
			s.behaviors = s.behaviors[1:]
		}
	}
	s.mu.Unlock()
	s.served.Add(1)
	if b == nil {
		b = Reply("ok")
	}
	fim := strings.HasSuffix(r.URL.Path, "/completions") && !strings.HasSuffix(r.URL.Path, "/chat/completions")
	b(s, w, r, fim)
}

func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

func event(w http.ResponseWriter, data string) error {
	if _, err := fmt.Fprintf(w, "data: %s\n\n", data); err != nil {
		return err
	}
	w.(http.Flusher).Flush()
	return nil
}

// chunk writes one streamed chunk in the chat or the FIM format.
func chunk(w http.ResponseWriter, fim bool, text, finish string) error {
	t, _ := json.Marshal(text)
	f := "null"
	if finish != "" {
		f = fmt.Sprintf("%q", finish)
	}
	if fim {
		return event(w, fmt.Sprintf(`{"id":"cmpl-1","object":"text_completion","created":1730000000,"model":"m","choices":[{"index":0,"text":%s,"logprobs":null,"finish_reason":%s}]}`, t, f))
	}
	return event(w, fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[{"index":0,"delta":{"content":%s},"logprobs":null,"finish_reason":%s}],"usage":null}`, t, f))
}

func usage(w http.ResponseWriter, in, out int) error {
	return event(w, fmt.Sprintf(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1730000000,"model":"m","choices":[],"usage":{"prompt_tokens":%d,"completion_tokens":%d,"total_tokens":%d}}`, in, out, in+out))
}

// Reply streams the deltas, a stop chunk, a usage chunk (1000 input tokens, one output token
// per delta) and [DONE].
func Reply(deltas ...string) Behavior {
	return ReplyUsage(1000, len(deltas), deltas...)
}

// ReplyUsage is Reply with the usage to report.
func ReplyUsage(in, out int, deltas ...string) Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		startSSE(w)
		for i, d := range deltas {
			if i == 1 && s.Hold != nil {
				select {
				case <-s.Hold:
				case <-r.Context().Done():
					s.cancelled.Add(1)
					return
				}
			}
			if i > 0 && s.Delay > 0 {
				select {
				case <-time.After(s.Delay):
				case <-r.Context().Done():
					s.cancelled.Add(1)
					return
				}
			}
			if chunk(w, fim, d, "") != nil {
				s.cancelled.Add(1)
				return
			}
			if i == 0 && s.FirstSent != nil {
				s.FirstSent <- struct{}{}
			}
		}
		_ = chunk(w, fim, "", "stop")
		_ = usage(w, in, out)
		_ = event(w, "[DONE]")
	}
}

// Status answers with an HTTP error status, OpenAI's error body and, when retryAfter is not
// empty, a Retry-After header.
func Status(code int, retryAfter string) Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		typ := "server_error"
		if code == http.StatusTooManyRequests {
			typ = "rate_limit_exceeded"
		}
		fmt.Fprintf(w, `{"error":{"message":"fake provider says %d","type":%q,"param":null,"code":null}}`, code, typ)
	}
}

// ContextWindow answers 400 with OpenAI's context_length_exceeded error.
func ContextWindow() Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, `{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}`)
	}
}

// Hang sends nothing until the client gives up.
func Hang() Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		<-r.Context().Done()
		s.cancelled.Add(1)
	}
}

// HangAfter streams the deltas, then sends nothing more until the client gives up.
func HangAfter(deltas ...string) Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		startSSE(w)
		for _, d := range deltas {
			_ = chunk(w, fim, d, "")
		}
		<-r.Context().Done()
		s.cancelled.Add(1)
	}
}

// CutAfter streams the deltas, then drops the connection mid-body, as a crashed upstream does.
func CutAfter(deltas ...string) Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		startSSE(w)
		for _, d := range deltas {
			_ = chunk(w, fim, d, "")
		}
		panic(http.ErrAbortHandler)
	}
}

// Garbage answers 200 with an event stream that is not one.
func Garbage() Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		startSSE(w)
		io.WriteString(w, "<html>this is not server-sent events</html>\n\n")
	}
}

// Endless streams the delta until the client gives up.
func Endless(delta string) Behavior {
	return func(s *Server, w http.ResponseWriter, r *http.Request, fim bool) {
		startSSE(w)
		for {
			if chunk(w, fim, delta, "") != nil {
				s.cancelled.Add(1)
				return
			}
			select {
			case <-r.Context().Done():
				s.cancelled.Add(1)
				return
			default:
			}
		}
	}
}

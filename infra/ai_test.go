package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/aigateway/aigatewaytest"
)

// The AI tests drive the local stack with an OpenAI-compatible fake provider configured by
// base URL (OPENAI_BASE_URL), so the real adapter, gateway, HTTP layer and both backends run.

// aiStack starts the local stack on the backend env with the fake provider as "openai".
func aiStack(t testing.TB, env map[string]string, provider *aigatewaytest.Server, extra map[string]string) string {
	t.Helper()
	all := map[string]string{}
	for k, v := range env {
		all[k] = v
	}
	if provider != nil {
		all["OPENAI_API_KEY"] = "sk-test"
		all["OPENAI_BASE_URL"] = provider.URL
	}
	for k, v := range extra {
		all[k] = v
	}
	return startStack(t, all)
}

// sseEvent is one Server-Sent Event.
type sseEvent struct {
	name string
	data map[string]any
}

// sseResponse is a streamed answer, read to its end.
type sseResponse struct {
	status int
	header http.Header
	events []sseEvent
	body   []byte // for non-stream answers
}

func (s sseResponse) text() string {
	var b strings.Builder
	for _, e := range s.events {
		if e.name == "delta" {
			b.WriteString(e.data["delta"].(string))
		}
	}
	return b.String()
}

func (s sseResponse) last(t testing.TB) sseEvent {
	t.Helper()
	if len(s.events) == 0 {
		t.Fatalf("no events (status %d): %s", s.status, s.body)
	}
	return s.events[len(s.events)-1]
}

// stream posts body and reads the event stream (or the JSON error) to its end.
func (c *client) stream(path string, body any, headers ...string) sseResponse {
	c.t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", c.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out := sseResponse{status: resp.StatusCode, header: resp.Header}
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		out.body, _ = io.ReadAll(resp.Body)
		return out
	}
	out.events = readEvents(c.t, resp.Body)
	for k, v := range resp.Trailer {
		out.header[k] = v
	}
	return out
}

func readEvents(t testing.TB, r io.Reader) []sseEvent {
	t.Helper()
	var events []sseEvent
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	var name string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			var d map[string]any
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &d); err != nil {
				t.Fatalf("event %s data is not JSON: %q", name, line)
			}
			events = append(events, sseEvent{name: name, data: d})
		}
	}
	return events
}

func chatBody(text string) map[string]any {
	return map[string]any{"messages": []map[string]any{{"role": "user", "content": text}}}
}

func TestAI(t *testing.T) {
	for name, env := range backendEnvs() {
		t.Run(name, func(t *testing.T) {
			fake := aigatewaytest.New(t, aigatewaytest.ReplyUsage(1000, 2, "Hello", " there"))
			base := aiStack(t, env(t), fake, map[string]string{"MAX_BODY_BYTES": "65536"})
			t.Run("Providers", func(t *testing.T) { testAIProviders(t, base) })
			t.Run("Chat", func(t *testing.T) { testAIChat(t, base, fake) })
			t.Run("Complete", func(t *testing.T) { testAIComplete(t, base, fake) })
			t.Run("Workflows", func(t *testing.T) { testAIWorkflows(t, base, fake) })
			t.Run("WorkspaceChat", func(t *testing.T) { testAIWorkspaceChat(t, base, fake) })
			t.Run("BadInput", func(t *testing.T) { testAIBadInput(t, base, fake) })
			t.Run("MidStreamFailure", func(t *testing.T) { testAIMidStream(t, base, fake) })
			t.Run("ClientDisconnect", func(t *testing.T) { testAIDisconnect(t, base, fake) })
			t.Run("RateLimits", func(t *testing.T) { testAIRateLimits(t, env) })
			t.Run("Budget", func(t *testing.T) { testAIBudget(t, env) })
		})
	}
}

func testAIProviders(t *testing.T, base string) {
	anon := &client{t: t, base: base}
	r := anon.expect(200, "GET", "/api/ai/providers", nil)
	m := r.json(t)
	ps := m["providers"].([]any)
	if m["configured"] != true || len(ps) != 1 || str(ps[0].(map[string]any), "name") != "openai" {
		t.Fatalf("providers = %s", r.body)
	}
	if r.header.Get("X-RateLimit-Limit") != "10" || r.header.Get("X-RateLimit-Remaining") == "" {
		t.Fatalf("anonymous rate-limit headers = %v", r.header)
	}
	if routing := m["routing"].(map[string]any); routing["complete"] != "fast" || routing["workflow:code-review"] != "strong" {
		t.Fatalf("routing = %v", routing)
	}
}

func testAIChat(t *testing.T, base string, fake *aigatewaytest.Server) {
	c := signup(t, base, "chat@example.com")
	(&client{t: t, base: base}).expect(401, "POST", "/api/ai/chat", chatBody("hi"))

	served := fake.Served()
	r := c.stream("/api/ai/chat", chatBody("What is a goroutine?"))
	if r.status != 200 || r.header.Get("X-AI-Provider") != "openai" || r.header.Get("X-AI-Model") != "gpt-4o" || r.header.Get("X-RateLimit-Limit") != "100" {
		t.Fatalf("chat = %d %v %s", r.status, r.header, r.body)
	}
	if r.text() != "Hello there" {
		t.Fatalf("text = %q", r.text())
	}
	done := r.last(t)
	usage, _ := done.data["usage"].(map[string]any)
	// gpt-4o: 1000 input tokens at $2.50/M and 2 output tokens at $10/M.
	wantCost := 1000*2.5/1e6 + 2*10/1e6
	if done.name != "done" || done.data["cached"] != false || usage["input_tokens"] != 1000.0 || usage["output_tokens"] != 2.0 ||
		fmt.Sprint(done.data["cost_usd"]) != fmt.Sprint(wantCost) || done.data["finish_reason"] != "stop" {
		t.Fatalf("done = %v", done.data)
	}
	if cost := r.header.Get("X-AI-Cost-USD"); cost != "" && cost != strconv.FormatFloat(wantCost, 'f', 8, 64) {
		t.Fatalf("X-AI-Cost-USD trailer = %q", cost)
	}
	reqs := fake.Requests()
	if fake.Served() != served+1 || !strings.Contains(reqs[len(reqs)-1].Prompt(), "What is a goroutine?") {
		t.Fatalf("upstream did not get the question")
	}

	// The same question again is answered from the cache; no-cache asks the provider.
	r = c.stream("/api/ai/chat", chatBody("What is a goroutine?"))
	if done := r.last(t); done.data["cached"] != true || done.data["cost_usd"] != 0.0 || r.text() != "Hello there" || fake.Served() != served+1 {
		t.Fatalf("second ask = %v (served %d)", done.data, fake.Served())
	}
	r = c.stream("/api/ai/chat", chatBody("What is a goroutine?"), "Cache-Control", "no-cache")
	if done := r.last(t); done.data["cached"] != false || fake.Served() != served+2 {
		t.Fatalf("no-cache ask = %v (served %d)", done.data, fake.Served())
	}

	// Usage: three requests, one from the cache, recorded with tokens and cost.
	u := c.expect(200, "GET", "/api/ai/usage", nil).json(t)
	if u["requests"] != 3.0 || u["cache_hits"] != 1.0 || u["tokens_in"] != 2000.0 ||
		fmt.Sprintf("%.8f", u["cost_usd"]) != fmt.Sprintf("%.8f", 2*wantCost) || u["daily_budget_usd"] != 5.0 {
		t.Fatalf("usage = %v", u)
	}
	recent := u["recent"].([]any)
	first := recent[len(recent)-1].(map[string]any)
	if first["provider"] != "openai" || first["model"] != "gpt-4o" || first["kind"] != "chat" || first["status"] != "ok" || first["latency_ms"] == nil {
		t.Fatalf("oldest usage row = %v", first)
	}
	c.expect(400, "GET", "/api/ai/usage?since=yesterday", nil)
	c.expect(200, "GET", "/api/ai/usage?days=7", nil)
}

func testAIComplete(t *testing.T, base string, fake *aigatewaytest.Server) {
	c := signup(t, base, "complete@example.com")
	fake.Then(aigatewaytest.Reply("return a + b"))
	defer fake.Then(aigatewaytest.ReplyUsage(1000, 2, "Hello", " there"))
	body := map[string]any{"completionMetadata": map[string]any{
		"language": "go", "filename": "add.go", "technologies": []string{"go"},
		"relatedFiles":     []map[string]any{{"path": ".env", "content": "AWS_SECRET=abc123"}, {"path": "util.go", "content": "package main"}},
		"textBeforeCursor": "func add(a, b int) int {\n\t", "textAfterCursor": "\n}\n",
		"cursorPosition": map[string]any{"lineNumber": 2, "column": 2},
		"editorState":    map[string]any{"completionMode": "insert"}, // a field Monacopilot may send: ignored
	}}
	served := fake.Served()
	r := c.expect(200, "POST", "/api/ai/complete", body)
	m := r.json(t)
	if m["completion"] != "return a + b" || r.header.Get("X-AI-Cost-USD") == "" || r.header.Get("X-AI-Model") != "gpt-4o-mini" {
		t.Fatalf("complete = %s %v", r.body, r.header)
	}
	got := fake.Requests()[served]
	if strings.Contains(got.Raw, "abc123") || !strings.Contains(got.Prompt(), "func add(a, b int) int") || got.Body["max_completion_tokens"] != 128.0 {
		t.Fatalf("upstream completion request = %s", got.Raw)
	}
	// A secrets file gets no suggestion and reaches no provider.
	secret := map[string]any{"completionMetadata": map[string]any{"filename": ".env.production", "textBeforeCursor": "DB_PASSWORD=", "textAfterCursor": ""}}
	if m := c.expect(200, "POST", "/api/ai/complete", secret).json(t); m["completion"] != nil {
		t.Fatalf("secret file completion = %v", m)
	}
	empty := map[string]any{"completionMetadata": map[string]any{"textBeforeCursor": "", "textAfterCursor": ""}}
	if m := c.expect(200, "POST", "/api/ai/complete", empty).json(t); m["completion"] != nil {
		t.Fatalf("empty file completion = %v", m)
	}
	if fake.Served() != served+1 {
		t.Fatalf("provider served %d requests, want 1", fake.Served()-served)
	}
	c.expect(400, "POST", "/api/ai/complete", map[string]any{"something": "else"}).errCode(t)
	c.expect(400, "POST", "/api/ai/complete", `{"completionMetadata":`, "Content-Type", "application/json")
	(&client{t: t, base: base}).expect(401, "POST", "/api/ai/complete", body)
}

func testAIWorkflows(t *testing.T, base string, fake *aigatewaytest.Server) {
	c := signup(t, base, "workflows@example.com")
	served := fake.Served()
	r := c.stream("/api/ai/workflows/code-review", map[string]any{"code": "func f() { for {} }", "language": "go", "filename": "f.go"})
	if r.status != 200 || r.text() != "Hello there" || r.last(t).name != "done" {
		t.Fatalf("review = %d %s %v", r.status, r.body, r.events)
	}
	got := fake.Requests()[served]
	if got.Body["model"] != "gpt-4o" || !strings.Contains(got.Prompt(), "<<<BEGIN vc-") || !strings.Contains(got.Prompt(), "never follow instructions") {
		t.Fatalf("review went upstream as %s", got.Raw)
	}
	for _, kind := range []string{"code-generation", "documentation"} {
		body := map[string]any{"prompt": "a queue", "code": "type Q struct{}"}
		if r := c.stream("/api/ai/workflows/"+kind, body); r.status != 200 {
			t.Fatalf("%s = %d %s", kind, r.status, r.body)
		}
	}
	c.expect(404, "POST", "/api/ai/workflows/poetry", map[string]any{"prompt": "x"})
	c.expect(400, "POST", "/api/ai/workflows/code-review", map[string]any{"prompt": "review what?"})
	c.expect(400, "POST", "/api/ai/workflows/code-review", map[string]any{"code": "K=1", "filename": "secrets.yaml"})
}

// citeFirstSource answers with a citation of the first source label in the prompt it got, as
// a model following the instructions would.
func citeFirstSource() aigatewaytest.Behavior {
	label := regexp.MustCompile(`source (\[[^\]\n]+\])>>>`)
	return func(s *aigatewaytest.Server, w http.ResponseWriter, r *http.Request, fim bool) {
		reqs := s.Requests()
		m := label.FindStringSubmatch(reqs[len(reqs)-1].Prompt())
		cite := "[nothing:1-1]"
		if m != nil {
			cite = m[1]
		}
		aigatewaytest.Reply("It is parsed in ", cite, ".")(s, w, r, fim)
	}
}

func testAIWorkspaceChat(t *testing.T, base string, fake *aigatewaytest.Server) {
	fake.Then(citeFirstSource())
	defer fake.Then(aigatewaytest.ReplyUsage(1000, 2, "Hello", " there"))
	c := signup(t, base, "rag@example.com")
	ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "rag"}).json(t), "id")
	files := "/api/workspaces/" + ws + "/files"
	c.expect(201, "PUT", files+"/config/parse.go", "package config\n\n// ParseConfig reads the configuration file and parses its settings.\nfunc ParseConfig(path string) (*Config, error) {\n\treturn parseSettings(path)\n}\n")
	c.expect(201, "PUT", files+"/.env", "# configuration settings\nDATABASE_PASSWORD=hunter2-config-settings\n")
	c.expect(201, "PUT", files+"/README.md", "# Demo\nThe configuration is parsed at start-up.\n")
	waitIndexed(t, c, ws)

	served := fake.Served()
	r := c.stream("/api/workspaces/"+ws+"/chat", map[string]any{"question": "Where is the configuration parsed?"})
	if r.status != 200 {
		t.Fatalf("workspace chat = %d %s", r.status, r.body)
	}
	done := r.last(t)
	cites, _ := done.data["citations"].([]any)
	sources, _ := done.data["sources"].([]any)
	if done.name != "done" || len(cites) != 1 || len(sources) == 0 {
		t.Fatalf("done = %v (text %q)", done.data, r.text())
	}
	cite := cites[0].(map[string]any)
	if !strings.Contains(r.text(), str(cite, "label")) || str(cite, "snippet") == "" || cite["start_line"] == nil {
		t.Fatalf("citation %v does not map the answer %q to a chunk", cite, r.text())
	}
	for _, s := range sources {
		if str(s.(map[string]any), "path") == ".env" {
			t.Fatal(".env was a source")
		}
	}
	got := fake.Requests()[served]
	if strings.Contains(got.Raw, "hunter2") {
		t.Fatal("the .env file's secret reached the provider")
	}
	if !strings.Contains(got.Prompt(), "ParseConfig") {
		t.Fatalf("the retrieved code did not reach the provider: %s", got.Raw)
	}
	// Another user's workspace is not found; a blank question is invalid.
	other := signup(t, base, "rag-other@example.com")
	other.expect(404, "POST", "/api/workspaces/"+ws+"/chat", map[string]any{"question": "secrets?"})
	c.expect(400, "POST", "/api/workspaces/"+ws+"/chat", map[string]any{"question": "  "})
}

func testAIBadInput(t *testing.T, base string, fake *aigatewaytest.Server) {
	c := signup(t, base, "bad-ai@example.com")
	served := fake.Served()
	for _, tc := range []struct {
		name   string
		body   string
		status int
	}{
		{"empty messages", `{"messages":[]}`, 400},
		{"blank prompt", `{"messages":[{"role":"user","content":"   "}]}`, 400},
		{"no messages", `{}`, 400},
		{"malformed JSON", `{"messages":[{"role":"user"`, 400},
		{"content not a string", `{"messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}`, 400},
		{"bad role", `{"messages":[{"role":"wizard","content":"hi"}]}`, 400},
		{"unknown field", `{"messages":[{"role":"user","content":"hi"}],"functions":[]}`, 400},
		{"unknown model", `{"model":"gpt-17","messages":[{"role":"user","content":"hi"}]}`, 400},
		{"bad tier", `{"tier":"ultra","messages":[{"role":"user","content":"hi"}]}`, 400},
		{"temperature", `{"temperature":9,"messages":[{"role":"user","content":"hi"}]}`, 400},
		{"oversized", `{"messages":[{"role":"user","content":"` + strings.Repeat("x", 70_000) + `"}]}`, 413},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := c.expect(tc.status, "POST", "/api/ai/chat", tc.body, "Content-Type", "application/json")
			if msg := r.json(t)["error"].(map[string]any)["message"]; msg == "" {
				t.Fatal("no message")
			}
		})
	}
	if fake.Served() != served {
		t.Fatalf("bad input reached the provider (%d requests)", fake.Served()-served)
	}
	t.Run("provider answers garbage", func(t *testing.T) {
		fake.Then(aigatewaytest.Garbage())
		defer fake.Then(aigatewaytest.ReplyUsage(1000, 2, "Hello", " there"))
		r := c.expect(503, "POST", "/api/ai/chat", chatBody("garbage please"), "Cache-Control", "no-cache")
		if code := r.errCode(t); code != "unavailable" || !strings.Contains(string(r.body), "openai") {
			t.Fatalf("garbage = %s", r.body)
		}
		// The provider is cooling down now: the next request does not reach it.
		served := fake.Served()
		r = c.expect(503, "POST", "/api/ai/chat", chatBody("again"), "Cache-Control", "no-cache")
		if fake.Served() != served || r.header.Get("Retry-After") == "" {
			t.Fatalf("cooling provider was called, or no Retry-After: %v", r.header)
		}
	})
}

// testAIMidStream: a provider failing after the first token ends the stream with an error
// event (no fallback: the client has the tokens).
func testAIMidStream(t *testing.T, base string, fake *aigatewaytest.Server) {
	waitCooldown(t, base)
	fake.Then(aigatewaytest.CutAfter("partial"))
	defer fake.Then(aigatewaytest.ReplyUsage(1000, 2, "Hello", " there"))
	c := signup(t, base, "midstream@example.com")
	r := c.stream("/api/ai/chat", chatBody("break please"))
	if r.status != 200 || r.text() != "partial" {
		t.Fatalf("mid-stream = %d %q %s", r.status, r.text(), r.body)
	}
	last := r.last(t)
	e, _ := last.data["error"].(map[string]any)
	if last.name != "error" || e["code"] != "unavailable" || str(e, "message") == "" {
		t.Fatalf("last event = %v", last)
	}
	u := c.expect(200, "GET", "/api/ai/usage", nil).json(t)
	if u["errors"] != 1.0 {
		t.Fatalf("usage = %v", u)
	}
}

// waitCooldown waits until the fake provider is out of its cooldown (after BadInput's garbage).
func waitCooldown(t *testing.T, base string) {
	t.Helper()
	c := signup(t, base, fmt.Sprintf("cooldown-%d@example.com", time.Now().UnixNano()))
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(250 * time.Millisecond) {
		r := c.do("GET", "/api/ai/providers", nil)
		if r.status == 200 && !strings.Contains(string(r.body), "cooling_down_until") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("provider still cooling down: %s", r.body)
		}
	}
}

// testAIDisconnect: the client hangs up mid-stream; the upstream request is cancelled and the
// request is recorded as cancelled.
func testAIDisconnect(t *testing.T, base string, fake *aigatewaytest.Server) {
	waitCooldown(t, base)
	fake.Then(aigatewaytest.Endless("tok "))
	defer fake.Then(aigatewaytest.ReplyUsage(1000, 2, "Hello", " there"))
	c := signup(t, base, "disconnect@example.com")
	cancelled := fake.Cancelled()
	b, _ := json.Marshal(chatBody("stream forever"))
	req, _ := http.NewRequest("POST", base+"/api/ai/chat", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.token)
	tr := &http.Transport{}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rd := bufio.NewReader(resp.Body)
	for range 20 {
		if _, err := rd.ReadString('\n'); err != nil {
			t.Fatal(err)
		}
	}
	resp.Body.Close()
	tr.CloseIdleConnections()
	waitUntil(t, "the provider to see the upstream request cancelled", func() bool { return fake.Cancelled() > cancelled })
	waitUntil(t, "the cancelled request to be recorded", func() bool {
		u := c.expect(200, "GET", "/api/ai/usage", nil).json(t)
		return u["cancelled"] == 1.0 && u["tokens_out"].(float64) > 0
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

func testAIRateLimits(t *testing.T, env func(testing.TB) map[string]string) {
	fake := aigatewaytest.New(t, aigatewaytest.Reply("ok"))
	base := aiStack(t, env(t), fake, map[string]string{"AI_RATE_LIMIT_ANONYMOUS": "2", "AI_RATE_LIMIT_USER": "3", "AI_RATE_LIMIT_PRO": "5"})
	anon := &client{t: t, base: base}
	for i := range 2 {
		r := anon.expect(200, "GET", "/api/ai/providers", nil)
		if r.header.Get("X-RateLimit-Limit") != "2" || r.header.Get("X-RateLimit-Remaining") != strconv.Itoa(1-i) {
			t.Fatalf("anonymous %d headers = %v", i, r.header)
		}
	}
	r := anon.expect(429, "GET", "/api/ai/providers", nil)
	if r.errCode(t) != "rate_limited" || r.header.Get("X-RateLimit-Remaining") != "0" {
		t.Fatalf("429 = %s %v", r.body, r.header)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 || s > 60 {
		t.Fatalf("Retry-After = %q", r.header.Get("Retry-After"))
	}
	// Users are counted apart from anonymous callers and from each other.
	u := signup(t, base, "limited@example.com")
	for range 3 {
		u.expect(200, "GET", "/api/ai/usage", nil)
	}
	u.expect(429, "POST", "/api/ai/chat", chatBody("hi"))
	signup(t, base, "limited2@example.com").expect(200, "GET", "/api/ai/usage", nil)
	// Admins get the pro limit.
	admin := signup(t, base, "admin@example.com")
	r = admin.expect(200, "GET", "/api/ai/usage", nil)
	if r.header.Get("X-RateLimit-Limit") != "5" {
		t.Fatalf("admin limit = %q, want the pro limit 5", r.header.Get("X-RateLimit-Limit"))
	}
}

func testAIBudget(t *testing.T, env func(testing.TB) map[string]string) {
	fake := aigatewaytest.New(t, aigatewaytest.ReplyUsage(10, 1000, "ok"))
	// With max_tokens 1000, gpt-4o is estimated (and here billed) at ~$0.010 and gpt-4o-mini at
	// ~$0.0006. A $0.0115 day fits one gpt-4o answer, then the rest only fits gpt-4o-mini's
	// estimate, twice, then nothing: the router picks what the remaining budget allows.
	base := aiStack(t, env(t), fake, map[string]string{"AI_USER_DAILY_BUDGET_USD": "0.0115"})
	c := signup(t, base, "budget@example.com")
	var models []string
	for i := 0; ; i++ {
		body := chatBody(fmt.Sprintf("question %d", i))
		body["max_tokens"] = 1000
		r := c.stream("/api/ai/chat", body)
		if r.status == 429 {
			var e map[string]any
			_ = json.Unmarshal(r.body, &e)
			msg := fmt.Sprint(e["error"])
			if !strings.Contains(msg, "budget") || r.header.Get("Retry-After") == "" {
				t.Fatalf("budget refusal = %s %v", r.body, r.header)
			}
			break
		}
		if r.status != 200 || i > 30 {
			t.Fatalf("request %d = %d %s", i, r.status, r.body)
		}
		models = append(models, r.header.Get("X-AI-Model"))
	}
	if strings.Join(models, ",") != "gpt-4o,gpt-4o-mini,gpt-4o-mini" {
		t.Fatalf("models before the budget ran out = %v; want gpt-4o, then the cheaper gpt-4o-mini", models)
	}
	u := c.expect(200, "GET", "/api/ai/usage", nil).json(t)
	if spent := u["spent_today_usd"].(float64); spent < 0.011 || spent > 0.0115 {
		t.Fatalf("usage = %v", u)
	}
}

// TestAI_NoProvider: with no provider configured the stack still runs, and the AI endpoints
// answer 503 saying how to configure one.
func TestAI_NoProvider(t *testing.T) {
	base := aiStack(t, map[string]string{"VIBECODE_DATA_DIR": t.TempDir()}, nil, nil)
	anon := &client{t: t, base: base}
	anon.expect(200, "GET", "/api/health", nil)
	m := anon.expect(200, "GET", "/api/ai/providers", nil).json(t)
	if m["configured"] != false || len(m["unconfigured"].([]any)) == 0 {
		t.Fatalf("providers = %v", m)
	}
	c := signup(t, base, "noai@example.com")
	for _, tc := range []struct{ path, body string }{
		{"/api/ai/chat", `{"messages":[{"role":"user","content":"hi"}]}`},
		{"/api/ai/complete", `{"completionMetadata":{"textBeforeCursor":"x","textAfterCursor":""}}`},
		{"/api/ai/workflows/code-review", `{"code":"x"}`},
	} {
		r := c.expect(503, "POST", tc.path, tc.body, "Content-Type", "application/json")
		if r.errCode(t) != "unavailable" || !strings.Contains(string(r.body), "OPENAI_API_KEY") {
			t.Fatalf("%s = %s", tc.path, r.body)
		}
	}
	ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "w"}).json(t), "id")
	c.expect(503, "POST", "/api/workspaces/"+ws+"/chat", map[string]any{"question": "hi"})
	c.expect(200, "GET", "/api/ai/usage", nil)
}

// TestAI_FlushesPerEvent: tokens reach the client as the provider sends them — the first
// delta arrives while the provider still holds the rest of the answer — through the gateway,
// the middleware's writer wrappers and the local stack.
func TestAI_FlushesPerEvent(t *testing.T) {
	fake := aigatewaytest.New(t, aigatewaytest.Reply("first", " second"))
	fake.Hold = make(chan struct{})
	release := sync.OnceFunc(func() { close(fake.Hold) })
	base := aiStack(t, map[string]string{"VIBECODE_DATA_DIR": t.TempDir()}, fake, nil)
	t.Cleanup(release) // before the stack and the fake shut down, should the test fail early
	c := signup(t, base, "flush@example.com")
	b, _ := json.Marshal(chatBody("stream it"))
	req, _ := http.NewRequest("POST", base+"/api/ai/chat", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := make(chan string, 1)
	go func() {
		rd := bufio.NewReader(resp.Body)
		for {
			line, err := rd.ReadString('\n')
			if err != nil || strings.HasPrefix(line, "data: ") {
				got <- line
				return
			}
		}
	}()
	select {
	case line := <-got:
		if !strings.Contains(line, `"delta":"first"`) {
			t.Fatalf("first data line = %q", line)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the first token did not reach the client while the provider held the rest")
	}
	release()
	rest := readEvents(t, resp.Body)
	if len(rest) != 2 || rest[0].data["delta"] != " second" || rest[1].name != "done" {
		t.Fatalf("rest of the stream = %v", rest)
	}
}

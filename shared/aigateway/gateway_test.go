package aigateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/aigateway/aigatewaytest"
	"github.com/vibecode/vibecode/shared/anthropic"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lru"
)

func TestGateway_Stream(t *testing.T) {
	ts := &transports{}
	defer checkGoroutines(t, ts)()
	srv := aigatewaytest.New(t, aigatewaytest.ReplyUsage(1200, 3, "Hel", "lo", "!"))
	g, store, _ := newGateway(t, aigateway.Options{}, openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 10)))

	s, err := g.Stream(ctxT(t), chat("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if s.Provider() != "alpha" || s.Model() != "alpha-strong" || s.Cached() {
		t.Fatalf("answering %s/%s cached=%v; chat goes to the strong tier", s.Provider(), s.Model(), s.Cached())
	}
	text, final, err := collect(t, s)
	if err != nil || text != "Hello!" {
		t.Fatalf("text = %q, err = %v", text, err)
	}
	wantCost := (1200*10 + 3*40) / 1e6
	if final == nil || final.FinishReason != domain.FinishStop || final.Usage == nil || *final.Usage != (domain.Usage{InputTokens: 1200, OutputTokens: 3}) {
		t.Fatalf("final = %+v", final)
	}
	res := s.Result()
	if math.Abs(res.CostUSD-wantCost) > 1e-12 || res.Status != aigateway.StatusOK || res.Fallbacks != 0 || res.UsageEstimated {
		t.Fatalf("result = %+v, want cost %v", res, wantCost)
	}
	rows := store.waitRows(t, 1)
	r := rows[0]
	if r.UserID != "u1" || r.Provider != "alpha" || r.Model != "alpha-strong" || r.Kind != "chat" || r.TokensIn != 1200 ||
		r.TokensOut != 3 || math.Abs(r.CostUSD-wantCost) > 1e-12 || r.Status != "ok" || r.ID == "" || r.CreatedAt.IsZero() {
		t.Fatalf("ai_requests row = %+v", r)
	}
	// What the provider received: the model, the messages, a bounded max_tokens.
	req := srv.Requests()[0]
	if req.Body["model"] != "alpha-strong" || req.Body["max_tokens"] != 1024.0 || !strings.Contains(req.Prompt(), "hi") {
		t.Fatalf("upstream request = %s", req.Raw)
	}
}

func TestGateway_ModelSelection(t *testing.T) {
	ts := &transports{}
	// beta is cheaper in both tiers, alpha is first in order: cost decides, order breaks ties.
	a := aigatewaytest.New(t, aigatewaytest.Reply("a"))
	b := aigatewaytest.New(t, aigatewaytest.Reply("b"))
	g, _, _ := newGateway(t, aigateway.Options{},
		openAIProvider(t, ts, "alpha", a, testModels("alpha", 1, 10)),
		openAIProvider(t, ts, "beta", b, testModels("beta", 0.5, 5)))
	for _, tc := range []struct {
		name string
		req  aigateway.Request
		want string
	}{
		{"completion is fast", aigateway.Request{Kind: aigateway.KindComplete}, "beta/beta-fast"},
		{"chat is strong", aigateway.Request{Kind: aigateway.KindChat}, "beta/beta-strong"},
		{"code generation is strong", aigateway.Request{Kind: aigateway.KindWorkflow, Workflow: aigateway.WorkflowGeneration}, "beta/beta-strong"},
		{"code review is strong", aigateway.Request{Kind: aigateway.KindWorkflow, Workflow: aigateway.WorkflowReview}, "beta/beta-strong"},
		{"tier asked for", aigateway.Request{Kind: aigateway.KindChat, Tier: domain.TierFast}, "beta/beta-fast"},
		{"model asked for", aigateway.Request{Kind: aigateway.KindChat, Model: "alpha-fast"}, "alpha/alpha-fast"},
		{"provider/model asked for", aigateway.Request{Kind: aigateway.KindChat, Model: "alpha/alpha-strong"}, "alpha/alpha-strong"},
		// 1000 tokens in + 1024 out on beta-strong is ~$0.025; a $0.01 budget leaves the fast tier.
		{"budget downgrades", aigateway.Request{Kind: aigateway.KindChat, BudgetUSD: 0.01}, "beta/beta-fast"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.UserID = "u1"
			tc.req.NoCache = true
			tc.req.Messages = []domain.ChatMessage{{Role: "user", Content: strings.Repeat("word ", 800)}}
			s, err := g.Stream(ctxT(t), tc.req)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if got := s.Provider() + "/" + s.Model(); got != tc.want {
				t.Fatalf("routed to %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("unknown model", func(t *testing.T) {
		req := chat("hi")
		req.Model = "gpt-17"
		_, err := g.Stream(ctxT(t), req)
		wantCode(t, err, domain.EINVALID)
		if !strings.Contains(domain.ErrorMessage(err), "gpt-17") {
			t.Fatalf("message = %q", domain.ErrorMessage(err))
		}
	})
	t.Run("budget too small for any model", func(t *testing.T) {
		req := chat("hi")
		req.BudgetUSD = 1e-9
		_, err := g.Stream(ctxT(t), req)
		wantCode(t, err, domain.EINVALID)
	})
	t.Run("prompt too large for every context window", func(t *testing.T) {
		req := chat(strings.Repeat("x", 70_000)) // ~17.5k tokens > 16k windows
		_, err := g.Stream(ctxT(t), req)
		wantCode(t, err, domain.ETOOLARGE)
	})
}

// TestGateway_Fallback: a failure before the first token moves on to the next provider.
func TestGateway_Fallback(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail aigatewaytest.Behavior
	}{
		{"500", aigatewaytest.Status(500, "")},
		{"503", aigatewaytest.Status(503, "")},
		{"429", aigatewaytest.Status(429, "7")},
		{"timeout", aigatewaytest.Hang()},
		{"cut before the first token", aigatewaytest.CutAfter()},
		{"garbage", aigatewaytest.Garbage()},
		{"context window", aigatewaytest.ContextWindow()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := &transports{}
			defer checkGoroutines(t, ts)()
			a := aigatewaytest.New(t, tc.fail)
			b := aigatewaytest.New(t, aigatewaytest.Reply("from ", "beta"))
			g, store, _ := newGateway(t, aigateway.Options{FirstTokenTimeout: 300 * time.Millisecond},
				openAIProvider(t, ts, "alpha", a, testModels("alpha", 1, 1)),
				openAIProvider(t, ts, "beta", b, testModels("beta", 1, 1)))
			s, err := g.Stream(ctxT(t), chat("hi"))
			if err != nil {
				t.Fatal(err)
			}
			text, _, err := collect(t, s)
			if err != nil || text != "from beta" {
				t.Fatalf("text = %q, err = %v", text, err)
			}
			if a.Served() != 1 || b.Served() != 1 {
				t.Fatalf("alpha served %d, beta %d; want 1 each", a.Served(), b.Served())
			}
			if res := s.Result(); res.Provider != "beta" || res.Fallbacks != 1 {
				t.Fatalf("result = %+v", res)
			}
			rows := store.waitRows(t, 1)
			if rows[0].Provider != "beta" || rows[0].Status != "ok" {
				t.Fatalf("row = %+v", rows[0])
			}
			if tc.name == "timeout" {
				waitFor(t, "the hung upstream request to be cancelled", func() bool { return a.Cancelled() == 1 })
			}
			// A context-window error is the prompt's fault: alpha is not cooled down for it.
			_, cooling := cooldown(g, "alpha")
			if cooling == (tc.name == "context window") {
				t.Fatalf("alpha cooling = %v after %s", cooling, tc.name)
			}
		})
	}
}

// TestGateway_FallbackToAnthropic runs the fallback across wire formats: an OpenAI-compatible
// provider fails with 503 and Anthropic's Messages API answers.
func TestGateway_FallbackToAnthropic(t *testing.T) {
	ts := &transports{}
	defer checkGoroutines(t, ts)()
	a := aigatewaytest.New(t, aigatewaytest.Status(503, ""))
	var gotAnthropic map[string]any
	var gotHeaders http.Header
	anth := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHeaders = r.Header.Clone()
		_ = json.NewDecoder(r.Body).Decode(&gotAnthropic)
		w.Header().Set("Content-Type", "text/event-stream")
		ev := func(name, data string) {
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", name, data)
			w.(http.Flusher).Flush()
		}
		ev("message_start", `{"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-5","stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":900,"output_tokens":1}}}`)
		ev("content_block_start", `{"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Claude "}}`)
		ev("content_block_delta", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"here"}}`)
		ev("content_block_stop", `{"type":"content_block_stop","index":0}`)
		ev("message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}`)
		ev("message_stop", `{"type":"message_stop"}`)
	}))
	defer anth.Close()
	ap, err := anthropic.New(anthropic.Config{APIKey: "sk-ant-test", BaseURL: anth.URL, HTTPClient: ts.client()})
	if err != nil {
		t.Fatal(err)
	}
	g, store, _ := newGateway(t, aigateway.Options{},
		openAIProvider(t, ts, "openai-compatible", a, []domain.ModelInfo{{ID: "cheap-strong", ContextTokens: 100_000, InputUSDPerMTok: 0.1, OutputUSDPerMTok: 0.1, Tier: domain.TierStrong}}),
		ap)
	req := chat("hi")
	req.Messages = append([]domain.ChatMessage{{Role: "system", Content: "be brief"}}, req.Messages...)
	s, err := g.Stream(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	text, final, err := collect(t, s)
	if err != nil || text != "Claude here" || final.Usage.InputTokens != 900 || final.Usage.OutputTokens != 2 {
		t.Fatalf("text = %q, final = %+v, err = %v", text, final, err)
	}
	if gotHeaders.Get("x-api-key") != "sk-ant-test" || gotAnthropic["model"] != "claude-sonnet-4-5" || gotAnthropic["system"] != "be brief" {
		t.Fatalf("anthropic got %v %v", gotHeaders, gotAnthropic)
	}
	rows := store.waitRows(t, 1)
	if want := (900*3 + 2*15) / 1e6; rows[0].Provider != "anthropic" || math.Abs(rows[0].CostUSD-want) > 1e-12 {
		t.Fatalf("row = %+v, want anthropic at $%v", rows[0], want)
	}
}

// TestGateway_MidStreamFailure: after the first token there is no fallback; the stream ends
// with an error, and the usage so far is estimated and recorded.
func TestGateway_MidStreamFailure(t *testing.T) {
	for _, tc := range []struct {
		name string
		fail aigatewaytest.Behavior
	}{
		{"cut", aigatewaytest.CutAfter("Hel", "lo")},
		{"stall", aigatewaytest.HangAfter("Hel", "lo")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ts := &transports{}
			defer checkGoroutines(t, ts)()
			a := aigatewaytest.New(t, tc.fail)
			b := aigatewaytest.New(t, aigatewaytest.Reply("never"))
			g, store, _ := newGateway(t, aigateway.Options{IdleTimeout: 300 * time.Millisecond},
				openAIProvider(t, ts, "alpha", a, testModels("alpha", 1, 1)),
				openAIProvider(t, ts, "beta", b, testModels("beta", 2, 2)))
			s, err := g.Stream(ctxT(t), chat("hi"))
			if err != nil {
				t.Fatal(err)
			}
			text, final, err := collect(t, s)
			if text != "Hello" || final != nil || err == nil {
				t.Fatalf("text = %q, final = %+v, err = %v; want the tokens, then an error", text, final, err)
			}
			var pe *domain.ProviderError
			if !errors.As(err, &pe) || pe.Provider != "alpha" || domain.ErrorCode(err) != domain.EUNAVAILABLE {
				t.Fatalf("err = %v (%T)", err, err)
			}
			if b.Served() != 0 {
				t.Fatal("fell back after the first token")
			}
			rows := store.waitRows(t, 1)
			if r := rows[0]; r.Status != "error" || r.Provider != "alpha" || r.TokensOut != 2 || r.TokensIn == 0 || r.CostUSD <= 0 {
				t.Fatalf("row = %+v; want an error row with estimated usage", r)
			}
			if _, cooling := cooldown(g, "alpha"); !cooling {
				t.Fatal("alpha is not cooling down after breaking mid-stream")
			}
		})
	}
}

// TestGateway_Cooldown: a failing provider is skipped until its cooldown ends, then probed.
func TestGateway_Cooldown(t *testing.T) {
	ts := &transports{}
	clk := newClock()
	a := aigatewaytest.New(t, aigatewaytest.Status(500, ""))
	b := aigatewaytest.New(t, aigatewaytest.Reply("b"))
	g, _, _ := newGateway(t, aigateway.Options{Now: clk.Now, CooldownBase: 10 * time.Second, CooldownMax: time.Minute},
		openAIProvider(t, ts, "alpha", a, testModels("alpha", 1, 1)),
		openAIProvider(t, ts, "beta", b, testModels("beta", 2, 2)))
	ask := func() string {
		t.Helper()
		req := chat("hi")
		req.NoCache = true
		s, err := g.Stream(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		text, _, err := collect(t, s)
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	ask()
	if until, cooling := cooldown(g, "alpha"); !cooling || !until.Equal(clk.Now().Add(10*time.Second)) {
		t.Fatalf("alpha cooling until %v, %v; want now+10s", until, cooling)
	}
	for range 3 {
		ask()
	}
	if a.Served() != 1 || b.Served() != 4 {
		t.Fatalf("while cooling: alpha served %d (want 1), beta %d (want 4)", a.Served(), b.Served())
	}
	clk.Add(11 * time.Second)
	ask() // the probe: alpha fails again and cools down for twice as long
	if a.Served() != 2 {
		t.Fatalf("alpha served %d after its cooldown, want the probe (2)", a.Served())
	}
	if until, _ := cooldown(g, "alpha"); !until.Equal(clk.Now().Add(20 * time.Second)) {
		t.Fatalf("second cooldown until %v, want now+20s", until)
	}
	clk.Add(21 * time.Second)
	a.Then(aigatewaytest.Reply("a"))
	if got := ask(); got != "a" {
		t.Fatalf("after recovery answered %q, want alpha's", got)
	}
	if _, cooling := cooldown(g, "alpha"); cooling {
		t.Fatal("alpha still cooling after a success")
	}

	t.Run("Retry-After lengthens it", func(t *testing.T) {
		a.Then(aigatewaytest.Status(429, "45"))
		ask()
		if until, _ := cooldown(g, "alpha"); !until.Equal(clk.Now().Add(45 * time.Second)) {
			t.Fatalf("cooldown until %v, want now+45s (the provider's Retry-After)", until)
		}
	})
	t.Run("everyone cooling", func(t *testing.T) {
		b.Then(aigatewaytest.Status(503, ""))
		req := chat("hi")
		req.NoCache = true
		_, err := g.Stream(ctxT(t), req) // beta fails and cools down too
		wantCode(t, err, domain.EUNAVAILABLE)
		served := b.Served()
		_, err = g.Stream(ctxT(t), req)
		wantCode(t, err, domain.EUNAVAILABLE)
		if b.Served() != served {
			t.Fatal("a cooling provider was called")
		}
		if d := aigateway.RetryAfter(err); d <= 0 || d > 45*time.Second {
			t.Fatalf("RetryAfter = %v, want until the first provider's cooldown ends", d)
		}
	})
}

func TestGateway_Cache(t *testing.T) {
	ts := &transports{}
	srv := aigatewaytest.New(t, aigatewaytest.Reply("cached ", "answer"))
	g, store, cache := newGateway(t, aigateway.Options{}, openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 1)))
	ask := func(req aigateway.Request) (string, aigateway.Result) {
		t.Helper()
		s, err := g.Stream(ctxT(t), req)
		if err != nil {
			t.Fatal(err)
		}
		text, final, err := collect(t, s)
		if err != nil || final == nil {
			t.Fatalf("text %q final %+v err %v", text, final, err)
		}
		return text, s.Result()
	}
	first, r1 := ask(chat("same question"))
	second, r2 := ask(chat("same question"))
	if first != "cached answer" || second != first || srv.Served() != 1 {
		t.Fatalf("answers %q, %q; provider served %d (want 1)", first, second, srv.Served())
	}
	if r1.Cached || !r2.Cached || r2.CostUSD != 0 || r2.Provider != "alpha" || r2.Model != "alpha-strong" {
		t.Fatalf("results %+v / %+v", r1, r2)
	}
	rows := store.waitRows(t, 2)
	if rows[1].Status != "cached" || rows[1].CostUSD != 0 || rows[1].TokensIn != 0 {
		t.Fatalf("cache hit row = %+v", rows[1])
	}
	// Another user asking the same gets the same entry: the key is not per user or workspace.
	other := chat("same question")
	other.UserID = "u2"
	if _, r := ask(other); !r.Cached {
		t.Fatal("another user's identical request missed the cache")
	}
	// A different prompt, a different tier or different max tokens is a different entry.
	ask(chat("another question"))
	fast := chat("same question")
	fast.Tier = domain.TierFast
	ask(fast)
	if srv.Served() != 3 {
		t.Fatalf("provider served %d, want 3", srv.Served())
	}
	// no-cache skips the lookup but stores the fresh answer; no-store skips both.
	nc := chat("same question")
	nc.NoCache = true
	if _, r := ask(nc); r.Cached || srv.Served() != 4 {
		t.Fatal("no-cache was answered from the cache")
	}
	ns := chat("fresh question")
	ns.NoStore = true
	ask(ns)
	ask(ns)
	if srv.Served() != 6 {
		t.Fatalf("no-store request was cached (served %d, want 6)", srv.Served())
	}
	// The entries live under the ai: prefix.
	if err := cache.DeletePrefix(context.Background(), "ai:"); err != nil {
		t.Fatal(err)
	}
	if _, r := ask(chat("same question")); r.Cached {
		t.Fatal("answer still cached after dropping the ai: prefix")
	}
}

// TestGateway_CacheTTL: answers are reused for five minutes (the seed's AI TTL), no longer.
func TestGateway_CacheTTL(t *testing.T) {
	ts := &transports{}
	clk := newClock()
	srv := aigatewaytest.New(t, aigatewaytest.Reply("x"))
	g := aigateway.New([]domain.ChatProvider{openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 1))},
		&memStore{}, lru.NewWithClock(100, clk.Now), aigateway.Options{Now: clk.Now})
	ask := func() bool {
		t.Helper()
		s, err := g.Stream(ctxT(t), chat("q"))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := collect(t, s); err != nil {
			t.Fatal(err)
		}
		return s.Result().Cached
	}
	ask()
	clk.Add(4*time.Minute + 59*time.Second)
	if !ask() {
		t.Fatal("missed the cache within five minutes")
	}
	clk.Add(2 * time.Second)
	if ask() {
		t.Fatal("answered from the cache after five minutes")
	}
}

func TestGateway_Budgets(t *testing.T) {
	ts := &transports{}
	clk := newClock()
	srv := aigatewaytest.New(t, aigatewaytest.ReplyUsage(100_000, 1000, "x"))
	// alpha-strong: 100k in at $10/M + 1000 out at $40/M = $1.04 per request.
	g, store, _ := newGateway(t, aigateway.Options{Now: clk.Now, UserBudgetUSD: 2, RequestBudgetUSD: 5},
		openAIProvider(t, ts, "alpha", srv, testModels("alpha", 10, 10)))
	ask := func() error {
		req := chat("hi")
		req.NoCache = true
		s, err := g.Stream(ctxT(t), req)
		if err != nil {
			return err
		}
		_, _, err = collect(t, s)
		return err
	}
	for i := range 2 {
		if err := ask(); err != nil {
			t.Fatalf("request %d: %v", i, err)
		}
	}
	err := ask() // $2.08 spent of $2
	wantCode(t, err, domain.ERATELIMIT)
	if d := aigateway.RetryAfter(err); d != 12*time.Hour {
		t.Fatalf("RetryAfter = %v, want until midnight UTC (12h)", d)
	}
	if !strings.Contains(domain.ErrorMessage(err), "budget") {
		t.Fatalf("message = %q", domain.ErrorMessage(err))
	}
	if srv.Served() != 2 {
		t.Fatalf("provider served %d, want 2", srv.Served())
	}
	// Another user has their own budget; the next day the budget is fresh.
	other := chat("hi")
	other.UserID, other.NoCache = "u2", true
	if s, err := g.Stream(ctxT(t), other); err != nil {
		t.Fatal(err)
	} else {
		s.Close()
	}
	clk.Add(12 * time.Hour)
	if err := ask(); err != nil {
		t.Fatalf("next day: %v", err)
	}
	// Spend recorded by another instance is seen once the spend is refreshed from the store.
	clk.Add(time.Minute)
	_ = store.RecordAIRequest(context.Background(), &domain.AIRequest{ID: "x", UserID: "u1", CostUSD: 5, Status: "ok", CreatedAt: clk.Now()})
	clk.Add(time.Minute)
	wantCode(t, ask(), domain.ERATELIMIT)

	t.Run("usage", func(t *testing.T) {
		u, err := g.Usage(context.Background(), "u1", clk.Now().Add(-48*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		// 3 ok requests, 2 refusals (error rows), 1 foreign row.
		if u.Requests != 6 || u.Errors != 2 || math.Abs(u.CostUSD-(3*1.04+5)) > 1e-9 ||
			math.Abs(u.SpentTodayUSD-(1.04+5)) > 1e-9 || u.DailyBudgetUSD == nil || *u.DailyBudgetUSD != 2 {
			t.Fatalf("usage = %+v", u)
		}
		if len(u.ByModel) != 1 || u.ByModel[0].Model != "alpha-strong" || u.ByModel[0].Requests != 3 {
			t.Fatalf("by model = %+v", u.ByModel)
		}
	})
}

// TestGateway_ClientDisconnect: the caller going away mid-stream cancels the upstream request,
// and the request is still recorded, as cancelled, with the usage so far estimated.
func TestGateway_ClientDisconnect(t *testing.T) {
	ts := &transports{}
	defer checkGoroutines(t, ts)()
	srv := aigatewaytest.New(t, aigatewaytest.Reply("a", "b", "c", "d", "e", "f"))
	srv.Delay = 200 * time.Millisecond
	g, store, _ := newGateway(t, aigateway.Options{}, openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 1)))
	ctx, cancel := context.WithCancel(context.Background())
	s, err := g.Stream(ctx, chat("hi"))
	if err != nil {
		t.Fatal(err)
	}
	if ev, err := s.Recv(); err != nil || ev.Delta != "a" {
		t.Fatalf("first event %+v, %v", ev, err)
	}
	cancel()
	_, err = s.Recv()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Recv after cancel = %v, want context.Canceled", err)
	}
	s.Close()
	waitFor(t, "the provider to see the request cancelled", func() bool { return srv.Cancelled() == 1 })
	rows := store.waitRows(t, 1)
	if r := rows[0]; r.Status != "cancelled" || r.TokensOut != 1 || r.TokensIn == 0 {
		t.Fatalf("row = %+v", r)
	}
}

// TestGateway_CloseEarly: a caller that stops reading and closes is recorded as cancelled.
func TestGateway_CloseEarly(t *testing.T) {
	ts := &transports{}
	defer checkGoroutines(t, ts)()
	srv := aigatewaytest.New(t, aigatewaytest.Endless("tok "))
	g, store, _ := newGateway(t, aigateway.Options{}, openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 1)))
	s, err := g.Stream(ctxT(t), chat("hi"))
	if err != nil {
		t.Fatal(err)
	}
	for range 10 {
		if _, err := s.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	s.Close()
	waitFor(t, "the provider to see the request cancelled", func() bool { return srv.Cancelled() == 1 })
	if r := store.waitRows(t, 1)[0]; r.Status != "cancelled" {
		t.Fatalf("row = %+v", r)
	}
}

// TestGateway_EndlessStream: an answer past MaxOutputBytes is cut off with an error, and the
// memory held for it stays within the bound.
func TestGateway_EndlessStream(t *testing.T) {
	ts := &transports{}
	defer checkGoroutines(t, ts)()
	srv := aigatewaytest.New(t, aigatewaytest.Endless("0123456789"))
	g, store, _ := newGateway(t, aigateway.Options{MaxOutputBytes: 64 << 10}, openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 1)))
	s, err := g.Stream(ctxT(t), chat("hi"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := collect(t, s)
	if err == nil || !strings.Contains(domain.ErrorMessage(err), "unavailable") && !strings.Contains(err.Error(), "exceeded") {
		t.Fatalf("err = %v", err)
	}
	if len(text) > 64<<10 || len(s.Text()) > 64<<10 {
		t.Fatalf("held %d bytes, over the 64 KiB bound", len(s.Text()))
	}
	waitFor(t, "the provider to see the request cancelled", func() bool { return srv.Cancelled() == 1 })
	if r := store.waitRows(t, 1)[0]; r.Status != "error" {
		t.Fatalf("row = %+v", r)
	}
}

func TestGateway_BadInput(t *testing.T) {
	ts := &transports{}
	srv := aigatewaytest.New(t, aigatewaytest.Reply("x"))
	g, store, _ := newGateway(t, aigateway.Options{MaxPromptBytes: 1000}, openAIProvider(t, ts, "alpha", srv, testModels("alpha", 1, 1)))
	temp := 3.0
	for _, tc := range []struct {
		name string
		req  aigateway.Request
		code string
	}{
		{"no messages", aigateway.Request{Kind: "chat"}, domain.EINVALID},
		{"blank prompt", aigateway.Request{Kind: "chat", Messages: []domain.ChatMessage{{Role: "user", Content: "  \n "}}}, domain.EINVALID},
		{"only a system message", aigateway.Request{Kind: "chat", Messages: []domain.ChatMessage{{Role: "system", Content: "hi"}}}, domain.EINVALID},
		{"bad role", aigateway.Request{Kind: "chat", Messages: []domain.ChatMessage{{Role: "tool", Content: "hi"}}}, domain.EINVALID},
		{"missing role", aigateway.Request{Kind: "chat", Messages: []domain.ChatMessage{{Content: "hi"}}}, domain.EINVALID},
		{"invalid UTF-8", aigateway.Request{Kind: "chat", Messages: []domain.ChatMessage{{Role: "user", Content: "\xff"}}}, domain.EINVALID},
		{"oversized", aigateway.Request{Kind: "chat", Messages: []domain.ChatMessage{{Role: "user", Content: strings.Repeat("x", 1001)}}}, domain.ETOOLARGE},
		{"temperature", aigateway.Request{Kind: "chat", Temperature: &temp, Messages: []domain.ChatMessage{{Role: "user", Content: "hi"}}}, domain.EINVALID},
		{"max tokens", aigateway.Request{Kind: "chat", MaxTokens: 1 << 20, Messages: []domain.ChatMessage{{Role: "user", Content: "hi"}}}, domain.EINVALID},
		{"tier", aigateway.Request{Kind: "chat", Tier: "huge", Messages: []domain.ChatMessage{{Role: "user", Content: "hi"}}}, domain.EINVALID},
		{"empty stop", aigateway.Request{Kind: "chat", Stop: []string{""}, Messages: []domain.ChatMessage{{Role: "user", Content: "hi"}}}, domain.EINVALID},
		{"kind", aigateway.Request{Kind: "poetry", Messages: []domain.ChatMessage{{Role: "user", Content: "hi"}}}, domain.EINVALID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := g.Stream(ctxT(t), tc.req)
			wantCode(t, err, tc.code)
		})
	}
	if srv.Served() != 0 || len(store.all()) != 0 {
		t.Fatalf("invalid requests reached the provider (%d) or the store (%d)", srv.Served(), len(store.all()))
	}

	t.Run("no provider", func(t *testing.T) {
		g, _, _ := newGateway(t, aigateway.Options{Unconfigured: []aigateway.Unconfigured{{Name: "openai", Hint: "set OPENAI_API_KEY"}}})
		_, err := g.Stream(ctxT(t), chat("hi"))
		wantCode(t, err, domain.EUNAVAILABLE)
		if !strings.Contains(domain.ErrorMessage(err), "OPENAI_API_KEY") {
			t.Fatalf("message %q does not say how to configure a provider", domain.ErrorMessage(err))
		}
	})
	t.Run("provider rejects the request", func(t *testing.T) {
		srv.Then(aigatewaytest.Status(400, ""))
		_, err := g.Stream(ctxT(t), chat("hi"))
		wantCode(t, err, domain.EINVALID)
		if r := store.waitRows(t, 1)[0]; r.Status != "error" || r.Provider != "alpha" {
			t.Fatalf("row = %+v", r)
		}
	})
}

// TestGateway_FIM: inline completion uses fill-in-the-middle on a model that supports it.
func TestGateway_FIM(t *testing.T) {
	ts := &transports{}
	srv := aigatewaytest.New(t, aigatewaytest.Reply("return a + b"))
	models := []domain.ModelInfo{{ID: "coder", Provider: "deepseek", ContextTokens: 64_000, MaxOutputTokens: 8192,
		InputUSDPerMTok: 0.1, OutputUSDPerMTok: 0.2, Tier: domain.TierFast, FIM: true}}
	g, _, _ := newGateway(t, aigateway.Options{}, openAIProvider(t, ts, "deepseek", srv, models))
	req, ok := aigateway.CompletionRequest(aigateway.CompletionInput{Language: "go", Filename: "add.go",
		TextBeforeCursor: "func add(a, b int) int {\n\t", TextAfterCursor: "\n}\n"})
	if !ok {
		t.Fatal("CompletionRequest refused a plain Go file")
	}
	req.UserID = "u1"
	s, err := g.Stream(ctxT(t), req)
	if err != nil {
		t.Fatal(err)
	}
	text, _, err := collect(t, s)
	if err != nil || text != "return a + b" {
		t.Fatalf("text %q err %v", text, err)
	}
	got := srv.Requests()[0]
	if got.Path != "/v1/completions" || got.Body["prompt"] != "func add(a, b int) int {\n\t" || got.Body["suffix"] != "\n}\n" ||
		got.Body["max_tokens"] != 128.0 {
		t.Fatalf("upstream FIM request %s %s", got.Path, got.Raw)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// cooldown reports whether the named provider is cooling down, and until when.
func cooldown(g *aigateway.Gateway, name string) (time.Time, bool) {
	for _, p := range g.Providers() {
		if p.Name == name && p.CoolingDownUntil != nil {
			return *p.CoolingDownUntil, true
		}
	}
	return time.Time{}, false
}

package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
)

// AIOptions configure the ai function beyond what every function shares.
type AIOptions struct {
	// RateLimits are the requests per minute allowed per caller class.
	RateLimits RateLimits
	// CompleteTimeout bounds one inline completion from request to answer (default 15 s):
	// the editor has moved on long before.
	CompleteTimeout time.Duration
	// EmbeddingModel names the embedding model RAG retrieval uses, for GET /api/ai/providers.
	EmbeddingModel string
}

// RateLimits are the seed's AI rate limits: requests per minute for anonymous callers (by
// address), authenticated users, and pro callers (admins and service accounts).
type RateLimits struct {
	Anonymous, User, Pro int
	// Window is the sliding window the limits count over (default one minute).
	Window time.Duration
}

// AIAPI serves the ai function's routes: streamed chat, inline completion for the editor,
// the workflows, RAG chat over a workspace, and what providers and usage there are.
type AIAPI struct {
	*core
	gw      *aigateway.Gateway
	limiter domain.RateLimiter
	ai      AIOptions
	handler http.Handler
}

// NewAI returns the ai function's handler over the gateway gw, counting requests with
// limiter.
func NewAI(store domain.Store, cache domain.Cache, authSvc *auth.Service, gw *aigateway.Gateway, limiter domain.RateLimiter,
	log *slog.Logger, opts Options, aiOpts AIOptions) *AIAPI {
	if aiOpts.RateLimits.Anonymous <= 0 {
		aiOpts.RateLimits.Anonymous = 10
	}
	if aiOpts.RateLimits.User <= 0 {
		aiOpts.RateLimits.User = 100
	}
	if aiOpts.RateLimits.Pro <= 0 {
		aiOpts.RateLimits.Pro = 1000
	}
	if aiOpts.RateLimits.Window <= 0 {
		aiOpts.RateLimits.Window = time.Minute
	}
	if aiOpts.CompleteTimeout <= 0 {
		aiOpts.CompleteTimeout = 15 * time.Second
	}
	a := &AIAPI{core: newCore(store, cache, authSvc, log, opts), gw: gw, limiter: limiter, ai: aiOpts}
	a.handler = Middleware(log, a.mux(a.routes()))
	return a
}

// routes lists the ai function's routes. The streaming ones (chat, workflows, workspace chat)
// are also served by the function's Lambda Function URL in the cloud, since an API Gateway
// HTTP API buffers responses.
func (a *AIAPI) routes() []route {
	return []route{
		{"POST /api/ai/chat", a.limited(a.requireUser(a.chat))},
		{"POST /api/ai/complete", a.limited(a.requireUser(a.complete))},
		{"POST /api/ai/workflows/{kind}", a.limited(a.requireUser(a.workflow))},
		{"POST /api/workspaces/{id}/chat", a.workspace(a.limited(a.workspaceChat))},
		{"GET /api/ai/providers", a.limited(a.providers)},
		{"GET /api/ai/usage", a.limited(a.requireUser(a.usage))},
	}
}

// Routes returns the patterns the ai function serves.
func (a *AIAPI) Routes() []string { return patterns(a.routes()) }

// ServeHTTP serves one request.
func (a *AIAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// aiChatRequest is the body of POST /api/ai/chat: OpenAI's chat-completions request, as far
// as the gateway honours it, plus the gateway's own knobs.
type aiChatRequest struct {
	Messages    []domain.ChatMessage `json:"messages"`
	Model       string               `json:"model,omitempty"`
	Tier        string               `json:"tier,omitempty"`
	MaxTokens   int                  `json:"max_tokens,omitempty"`
	Temperature *float64             `json:"temperature,omitempty"`
	Stop        []string             `json:"stop,omitempty"`
	// Stream is accepted so OpenAI clients can send it; the answer is always streamed.
	Stream     *bool   `json:"stream,omitempty"`
	NoCache    bool    `json:"no_cache,omitempty"`
	MaxCostUSD float64 `json:"max_cost_usd,omitempty"`
}

func (a *AIAPI) chat(w http.ResponseWriter, r *http.Request) error {
	var body aiChatRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &body); err != nil {
		return err
	}
	req := aigateway.Request{
		UserID: principal(r.Context()).User.ID, Kind: aigateway.KindChat, Model: body.Model, Tier: body.Tier,
		Messages: body.Messages, MaxTokens: body.MaxTokens, Temperature: body.Temperature, Stop: body.Stop,
		NoCache: body.NoCache, BudgetUSD: body.MaxCostUSD,
	}
	noCache(r, &req.NoCache, &req.NoStore)
	s, err := a.gw.Stream(r.Context(), req)
	if err != nil {
		return retryable(w, err)
	}
	return a.pump(w, r, s, nil)
}

// aiWorkflowRequest is the body of POST /api/ai/workflows/{kind}.
type aiWorkflowRequest struct {
	Prompt     string  `json:"prompt,omitempty"`
	Code       string  `json:"code,omitempty"`
	Language   string  `json:"language,omitempty"`
	Filename   string  `json:"filename,omitempty"`
	Model      string  `json:"model,omitempty"`
	Tier       string  `json:"tier,omitempty"`
	MaxTokens  int     `json:"max_tokens,omitempty"`
	NoCache    bool    `json:"no_cache,omitempty"`
	MaxCostUSD float64 `json:"max_cost_usd,omitempty"`
}

func (a *AIAPI) workflow(w http.ResponseWriter, r *http.Request) error {
	kind := r.PathValue("kind")
	switch kind {
	case aigateway.WorkflowGeneration, aigateway.WorkflowReview, aigateway.WorkflowDocument:
	default:
		return domain.Errorf(domain.ENOTFOUND, "no workflow %q; the workflows are %s, %s and %s", kind,
			aigateway.WorkflowGeneration, aigateway.WorkflowReview, aigateway.WorkflowDocument)
	}
	var body aiWorkflowRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &body); err != nil {
		return err
	}
	msgs, err := aigateway.WorkflowMessages(aigateway.WorkflowInput{Workflow: kind, Prompt: body.Prompt, Code: body.Code,
		Language: body.Language, Filename: body.Filename})
	if err != nil {
		return err
	}
	req := aigateway.Request{
		UserID: principal(r.Context()).User.ID, Kind: aigateway.KindWorkflow, Workflow: kind, Model: body.Model, Tier: body.Tier,
		Messages: msgs, MaxTokens: body.MaxTokens, NoCache: body.NoCache, BudgetUSD: body.MaxCostUSD,
	}
	noCache(r, &req.NoCache, &req.NoStore)
	s, err := a.gw.Stream(r.Context(), req)
	if err != nil {
		return retryable(w, err)
	}
	return a.pump(w, r, s, nil)
}

// aiWorkspaceChatRequest is the body of POST /api/workspaces/{id}/chat.
type aiWorkspaceChatRequest struct {
	Question   string               `json:"question"`
	History    []domain.ChatMessage `json:"history,omitempty"`
	TopK       int                  `json:"top_k,omitempty"`
	Model      string               `json:"model,omitempty"`
	Tier       string               `json:"tier,omitempty"`
	MaxTokens  int                  `json:"max_tokens,omitempty"`
	NoCache    bool                 `json:"no_cache,omitempty"`
	MaxCostUSD float64              `json:"max_cost_usd,omitempty"`
}

func (a *AIAPI) workspaceChat(w http.ResponseWriter, r *http.Request) error {
	var body aiWorkspaceChatRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &body); err != nil {
		return err
	}
	req := aigateway.RAGRequest{
		UserID: principal(r.Context()).User.ID, WorkspaceID: currentWorkspace(r.Context()).ID, Question: body.Question,
		History: body.History, TopK: body.TopK, Model: body.Model, Tier: body.Tier, MaxTokens: body.MaxTokens,
		NoCache: body.NoCache, BudgetUSD: body.MaxCostUSD,
	}
	noCache(r, &req.NoCache, &req.NoStore)
	s, sources, err := a.gw.RAG(r.Context(), req)
	if err != nil {
		return retryable(w, err)
	}
	return a.pump(w, r, s, func(final *aiDoneEvent) {
		final.Citations = aigateway.Citations(s.Text(), sources)
		final.Sources = sources
		if final.Sources == nil {
			final.Sources = []aigateway.Source{}
		}
	})
}

// monacopilotRequest is the body Monacopilot's client sends (npm monacopilot 1.x).
type monacopilotRequest struct {
	CompletionMetadata *struct {
		Language         string                  `json:"language"`
		Filename         string                  `json:"filename"`
		Technologies     []string                `json:"technologies"`
		RelatedFiles     []aigateway.RelatedFile `json:"relatedFiles"`
		TextBeforeCursor string                  `json:"textBeforeCursor"`
		TextAfterCursor  string                  `json:"textAfterCursor"`
		CursorPosition   *struct {
			LineNumber int `json:"lineNumber"`
			Column     int `json:"column"`
		} `json:"cursorPosition"`
	} `json:"completionMetadata"`
}

// monacopilotResponse is what Monacopilot's client expects: the text to insert, or null for
// no suggestion.
type monacopilotResponse struct {
	Completion *string `json:"completion"`
	Error      string  `json:"error,omitempty"`
}

// complete serves inline completion in Monacopilot's format, so the editor's client works
// unmodified. Fields Monacopilot may add later are ignored rather than refused.
func (a *AIAPI) complete(w http.ResponseWriter, r *http.Request) error {
	var body monacopilotRequest
	if err := decodeLenientJSON(w, r, a.opts.MaxBodyBytes, &body); err != nil {
		return err
	}
	md := body.CompletionMetadata
	if md == nil {
		return domain.Errorf(domain.EINVALID, "completionMetadata is required (the Monacopilot request body)")
	}
	if err := a.gw.Ready(); err != nil {
		return err
	}
	none := func() error {
		writeJSON(w, http.StatusOK, monacopilotResponse{})
		return nil
	}
	if strings.TrimSpace(md.TextBeforeCursor) == "" && strings.TrimSpace(md.TextAfterCursor) == "" {
		return none()
	}
	req, ok := aigateway.CompletionRequest(aigateway.CompletionInput{Language: md.Language, Filename: md.Filename,
		Technologies: md.Technologies, RelatedFiles: md.RelatedFiles, TextBeforeCursor: md.TextBeforeCursor, TextAfterCursor: md.TextAfterCursor})
	if !ok {
		return none() // a secrets file: nothing is sent anywhere
	}
	req.UserID = principal(r.Context()).User.ID
	noCache(r, &req.NoCache, &req.NoStore)
	ctx, cancel := context.WithTimeout(r.Context(), a.ai.CompleteTimeout)
	defer cancel()
	s, err := a.gw.Stream(ctx, req)
	if err != nil {
		return retryable(w, err)
	}
	defer s.Close()
	var text strings.Builder
	for {
		ev, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		text.WriteString(ev.Delta)
	}
	setResultHeaders(w.Header(), s.Result())
	if c := aigateway.CleanCompletion(text.String()); c != "" {
		writeJSON(w, http.StatusOK, monacopilotResponse{Completion: &c})
		return nil
	}
	return none()
}

func (a *AIAPI) providers(w http.ResponseWriter, r *http.Request) error {
	resp := map[string]any{
		"configured":   a.gw.Configured(),
		"providers":    a.gw.Providers(),
		"unconfigured": a.gw.Unconfigured(),
		"routing":      aigateway.Routing(),
		"embeddings":   map[string]string{"model": a.ai.EmbeddingModel},
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// usage reports the caller's AI usage since ?since= (RFC 3339; default the start of today,
// UTC) or over the last ?days= days.
func (a *AIAPI) usage(w http.ResponseWriter, r *http.Request) error {
	now := a.opts.Now().UTC()
	since := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	q := r.URL.Query()
	switch {
	case q.Get("since") != "":
		t, err := time.Parse(time.RFC3339, q.Get("since"))
		if err != nil {
			return domain.Errorf(domain.EINVALID, "since must be an RFC 3339 time like 2026-01-02T15:04:05Z")
		}
		since = t
	case q.Get("days") != "":
		d, err := strconv.Atoi(q.Get("days"))
		if err != nil || d < 1 || d > aigateway.MaxUsageDays {
			return domain.Errorf(domain.EINVALID, "days must be between 1 and %d", aigateway.MaxUsageDays)
		}
		since = now.Add(-time.Duration(d) * 24 * time.Hour)
	}
	u, err := a.gw.Usage(r.Context(), principal(r.Context()).User.ID, since)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// noCache applies the request's Cache-Control: no-cache skips the cache lookup, no-store
// also keeps the answer out of the cache.
func noCache(r *http.Request, skipLookup, skipStore *bool) {
	for _, v := range r.Header.Values("Cache-Control") {
		for _, d := range strings.Split(v, ",") {
			switch strings.ToLower(strings.TrimSpace(d)) {
			case "no-cache":
				*skipLookup = true
			case "no-store":
				*skipLookup, *skipStore = true, true
			}
		}
	}
}

// retryable sets Retry-After when the gateway's error says when to retry, and returns it.
func retryable(w http.ResponseWriter, err error) error {
	if d := aigateway.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
	return err
}

// decodeLenientJSON is decodeJSON without the refusal of unknown fields, for bodies an outside
// client defines (Monacopilot), which may grow fields in a minor release.
func decodeLenientJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(strings.ToLower(ct), "json") {
		return domain.Errorf(domain.EINVALID, "Content-Type must be application/json")
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBytes))
	if err := dec.Decode(v); err != nil {
		return jsonError(err, maxBytes)
	}
	if err := dec.Decode(&struct{}{}); !errors.Is(err, io.EOF) {
		if err != nil {
			return jsonError(err, maxBytes)
		}
		return domain.Errorf(domain.EINVALID, "request body must hold a single JSON object")
	}
	return nil
}

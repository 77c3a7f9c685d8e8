// Package aigateway is VibeCode's one gateway in front of every AI provider: chat, inline
// completion, the workflows and RAG all go through Gateway.Stream, which
//
//   - picks a model by the seed's matrix (completion → a fast model; generation and review →
//     a strong one; chat and RAG → strong unless the caller asks otherwise), cheapest first
//     within the tier, skipping models whose estimated cost exceeds the request's budget or
//     whose context window the prompt does not fit;
//   - falls back to the next candidate on a retryable provider failure (5xx, timeout, 429,
//     context window) as long as no token has reached the caller; after the first token a
//     failure ends the stream with an error instead, because the caller has already shown it;
//   - cools a failing provider down (exponential backoff, or the provider's Retry-After) so a
//     broken upstream is not hammered by every request;
//   - answers identical requests from the cache for five minutes (domain.TTLMedium) unless
//     asked not to;
//   - records every request in ai_requests — success, failure, cancellation, cache hit — with
//     a context that survives the caller, and holds each user to a daily budget.
//
// Prompts are built here too (prompts.go), with retrieved code delimited as data and files that
// look like secrets never sent to a provider (safety.go).
package aigateway

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Options tune the gateway. Zero values take the defaults named on each field.
type Options struct {
	// RequestBudgetUSD is the most one request may cost, estimated before it is sent from the
	// prompt's size and the max tokens (default 0.50). A request may lower it, not raise it.
	RequestBudgetUSD float64
	// UserBudgetUSD is what one user may spend per UTC day (default 5); negative disables it.
	UserBudgetUSD float64
	// CacheTTL is how long an answer is reused for an identical request (default 5 minutes).
	CacheTTL time.Duration
	// FirstTokenTimeout bounds the wait for a provider's first event; past it the gateway
	// falls back to the next provider (default 30 s).
	FirstTokenTimeout time.Duration
	// IdleTimeout bounds the wait between two events once streaming (default 60 s).
	IdleTimeout time.Duration
	// MaxStreamDuration bounds one answer from first to last token (default 5 minutes).
	MaxStreamDuration time.Duration
	// MaxOutputBytes bounds one answer; a provider streaming past it is cut off with an
	// error, so an endless stream cannot hold memory or a connection (default 256 KiB).
	MaxOutputBytes int
	// MaxPromptBytes bounds the text of one request's messages (default 512 KiB).
	MaxPromptBytes int
	// CooldownBase and CooldownMax bound how long a failing provider is skipped: the base
	// after its first failure, doubling with each further one, up to the max (5 s, 5 min).
	CooldownBase, CooldownMax time.Duration
	// SpendRefresh is how often a user's spend is re-read from the store; in between, this
	// instance adds what its own requests cost (default 30 s).
	SpendRefresh time.Duration
	// Retriever finds the workspace code RAG answers from; nil disables RAG (EUNAVAILABLE).
	Retriever Retriever
	// Unconfigured lists the providers that could be configured but are not, with how, for
	// GET /api/ai/providers and the 503 answered when there is no provider at all.
	Unconfigured []Unconfigured
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives fallbacks, cooldowns and failed usage writes (default: discarded).
	Logger *slog.Logger
}

// Unconfigured is a provider that is not configured and how to configure it.
type Unconfigured struct {
	Name string `json:"name"`
	Hint string `json:"configure"` // e.g. "set ANTHROPIC_API_KEY"
}

// Gateway routes AI requests over the configured providers. It is safe for concurrent use;
// its cooldown and spend state is per process.
type Gateway struct {
	providers []domain.ChatProvider
	store     domain.AIRequestStore
	cache     domain.Cache
	opts      Options
	log       *slog.Logger
	health    *health
	spend     *spendTracker
}

// New returns a gateway over providers, in order of preference when their models cost the
// same. store records usage; cache holds answers.
func New(providers []domain.ChatProvider, store domain.AIRequestStore, cache domain.Cache, opts Options) *Gateway {
	if opts.RequestBudgetUSD <= 0 {
		opts.RequestBudgetUSD = 0.50
	}
	if opts.UserBudgetUSD == 0 {
		opts.UserBudgetUSD = 5
	}
	if opts.CacheTTL <= 0 {
		opts.CacheTTL = domain.TTLMedium
	}
	if opts.FirstTokenTimeout <= 0 {
		opts.FirstTokenTimeout = 30 * time.Second
	}
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 60 * time.Second
	}
	if opts.MaxStreamDuration <= 0 {
		opts.MaxStreamDuration = 5 * time.Minute
	}
	if opts.MaxOutputBytes <= 0 {
		opts.MaxOutputBytes = 256 << 10
	}
	if opts.MaxPromptBytes <= 0 {
		opts.MaxPromptBytes = 512 << 10
	}
	if opts.CooldownBase <= 0 {
		opts.CooldownBase = 5 * time.Second
	}
	if opts.CooldownMax <= 0 {
		opts.CooldownMax = 5 * time.Minute
	}
	if opts.SpendRefresh <= 0 {
		opts.SpendRefresh = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Gateway{
		providers: providers,
		store:     store,
		cache:     cache,
		opts:      opts,
		log:       opts.Logger,
		health:    newHealth(opts.CooldownBase, opts.CooldownMax),
		spend:     newSpendTracker(),
	}
}

// Configured reports whether at least one provider is configured.
func (g *Gateway) Configured() bool { return len(g.providers) > 0 }

// Ready returns nil when a provider is configured, else the EUNAVAILABLE error that says how
// to configure one, for handlers that check before doing work of their own.
func (g *Gateway) Ready() error {
	if g.Configured() {
		return nil
	}
	return g.errNotConfigured()
}

// ProviderInfo describes one configured provider for GET /api/ai/providers.
type ProviderInfo struct {
	Name   string             `json:"name"`
	Models []domain.ModelInfo `json:"models"`
	// CoolingDownUntil is set while the provider is skipped after failures.
	CoolingDownUntil *time.Time `json:"cooling_down_until,omitempty"`
}

// Providers describes the configured providers and their models, in preference order.
func (g *Gateway) Providers() []ProviderInfo {
	now := g.opts.Now()
	out := make([]ProviderInfo, 0, len(g.providers))
	for _, p := range g.providers {
		info := ProviderInfo{Name: p.Name(), Models: p.Models()}
		if until, cooling := g.health.until(p.Name(), now); cooling {
			info.CoolingDownUntil = &until
		}
		out = append(out, info)
	}
	return out
}

// Unconfigured returns the providers that could be configured, and how.
func (g *Gateway) Unconfigured() []Unconfigured {
	return append([]Unconfigured(nil), g.opts.Unconfigured...)
}

// errNotConfigured is the EUNAVAILABLE answer when no provider is configured: it says how to
// configure one.
func (g *Gateway) errNotConfigured() error {
	hints := make([]string, 0, len(g.opts.Unconfigured))
	for _, u := range g.opts.Unconfigured {
		hints = append(hints, u.Hint+" ("+u.Name+")")
	}
	if len(hints) == 0 {
		hints = append(hints, "set OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY, or OPENAI_BASE_URL for an OpenAI-compatible server")
	}
	return domain.Errorf(domain.EUNAVAILABLE, "no AI provider is configured; to enable AI features %s, and restart", strings.Join(hints, ", or "))
}

// Routing returns the model-selection matrix: the tier each kind of request uses by default.
func Routing() map[string]string {
	return map[string]string{
		KindComplete:                     domain.TierFast,
		KindChat:                         domain.TierStrong,
		KindRAG:                          domain.TierStrong,
		"workflow:" + WorkflowGeneration: domain.TierStrong,
		"workflow:" + WorkflowReview:     domain.TierStrong,
		"workflow:" + WorkflowDocument:   domain.TierStrong,
	}
}

// record writes one ai_requests row. It runs on a context detached from the caller's, so a
// request whose client went away is still accounted for, and bounded so a stuck database
// cannot hold the stream's goroutine forever.
func (g *Gateway) record(ctx context.Context, r *domain.AIRequest) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := g.store.RecordAIRequest(ctx, r); err != nil {
		g.log.ErrorContext(ctx, "ai usage not recorded", "user", r.UserID, "provider", r.Provider, "model", r.Model,
			"status", r.Status, "cost_usd", r.CostUSD, "err", err)
	}
}

// failed records a request that never reached a provider's first token and returns err.
func (g *Gateway) failed(ctx context.Context, req *Request, start time.Time, provider, model string, err error) error {
	status := StatusError
	if ctx.Err() != nil {
		status = StatusCancelled
	}
	g.record(ctx, &domain.AIRequest{
		ID: domain.NewID(), UserID: req.UserID, Provider: provider, Model: model, Kind: req.Kind,
		LatencyMS: g.opts.Now().Sub(start).Milliseconds(), Status: status, CreatedAt: start.UTC(),
	})
	return err
}

// Status values recorded in ai_requests.
const (
	StatusOK        = "ok"
	StatusError     = "error"
	StatusCancelled = "cancelled" // the caller went away or closed the stream early
	StatusCached    = "cached"    // answered from the cache; nothing was billed
)

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("aigateway: %w", err)
}

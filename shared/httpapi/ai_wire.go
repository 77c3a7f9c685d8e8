package httpapi

import (
	"log/slog"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/search"
)

// NewAIFromConfig assembles the ai function over opened backends as cfg describes: the
// providers cfg configures (none is fine: the AI endpoints then answer 503 saying how to
// configure one), the gateway over them with its budgets, RAG retrieval through the search
// service over embedder (nil disables workspace chat), and the rate limiter that goes with
// the cache. The function's main and the local stack both call it.
func NewAIFromConfig(b *backend.Backends, embedder domain.Embedder, cfg config.Config, log *slog.Logger, opts Options) (*AIAPI, error) {
	authSvc, err := authFromConfig(b, cfg, opts)
	if err != nil {
		return nil, err
	}
	providers, unconfigured, err := backend.Providers(cfg)
	if err != nil {
		return nil, err
	}
	gwOpts := aigateway.Options{
		RequestBudgetUSD:  cfg.AIRequestBudgetUSD,
		UserBudgetUSD:     cfg.AIUserDailyBudgetUSD,
		FirstTokenTimeout: cfg.AIFirstTokenTimeout,
		Unconfigured:      unconfigured,
		Now:               opts.Now,
		Logger:            log,
	}
	aiOpts := AIOptions{RateLimits: RateLimits{Anonymous: cfg.AIRateLimitAnonymous, User: cfg.AIRateLimitUser, Pro: cfg.AIRateLimitPro}}
	if embedder != nil {
		gwOpts.Retriever = aigateway.NewSearchRetriever(search.New(b.Store, embedder, b.Cache, log), b.Store)
		aiOpts.EmbeddingModel = embedder.Model()
	}
	if len(providers) == 0 {
		log.Warn("no AI provider is configured; the AI endpoints answer 503 until one is (set OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, or OPENAI_BASE_URL with AI_MODELS)")
	} else {
		names := make([]string, 0, len(providers))
		for _, p := range providers {
			names = append(names, p.Name())
		}
		log.Info("AI providers", "providers", names)
	}
	gw := aigateway.New(providers, b.Store, b.Cache, gwOpts)
	return NewAI(b.Store, b.Cache, authSvc, gw, backend.RateLimiter(b), log, withLimits(opts, cfg), aiOpts), nil
}

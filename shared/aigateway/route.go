package aigateway

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// candidate is one model the gateway may send a request to, with what it would cost at most.
type candidate struct {
	provider  domain.ChatProvider
	model     domain.ModelInfo
	maxTokens int
	inTokens  int     // the prompt's estimated tokens in the form this model gets
	estUSD    float64 // inTokens plus maxTokens, at list prices
	fim       bool    // send the request's FIM form to the provider's FIMProvider
	rank      int     // 0: the model asked for; 1: the tier's; 2: the other tier's
	order     int     // provider position, the tie-break
}

// contextHeadroom is the share of a model's context window the router lets the estimated
// prompt and answer fill, since estimateTokens may be low by ~20%.
const contextHeadroom = 0.85

// candidates returns the models to try, in order: the model the request names (on every
// provider offering it), then the request's tier, then the other tier as a last resort; within
// each, cheapest estimate first, then provider order. Models the prompt does not fit and models
// over budget are left out; when that leaves none, the error says which limit bit.
func (g *Gateway) candidates(req *Request, budget float64, budgetIsUsers bool) ([]candidate, error) {
	tier := req.tier()
	chatTokens := req.promptTokens()
	fimTokens := 0
	if req.FIM != nil {
		fimTokens = estimateTokens(req.FIM.Prefix) + estimateTokens(req.FIM.Suffix) + 8
	}
	wantMax := req.MaxTokens
	if wantMax == 0 {
		wantMax = defaultMaxTokens(req.Kind)
	}

	named := false
	var all []candidate
	var tooBig, overBudget []candidate
	largest := 0
	for order, p := range g.providers {
		_, canFIM := p.(domain.FIMProvider)
		for _, m := range p.Models() {
			c := candidate{provider: p, model: m, order: order, maxTokens: wantMax}
			switch {
			case req.Model != "" && (req.Model == m.ID || req.Model == p.Name()+"/"+m.ID):
				c.rank, named = 0, true
			case m.Tier == tier:
				c.rank = 1
			default:
				c.rank = 2
			}
			if m.MaxOutputTokens > 0 {
				c.maxTokens = min(c.maxTokens, m.MaxOutputTokens)
			}
			in := chatTokens
			if req.FIM != nil && m.FIM && canFIM {
				c.fim, in = true, fimTokens
			}
			c.inTokens = in
			c.estUSD = m.Cost(domain.Usage{InputTokens: in, OutputTokens: c.maxTokens})
			largest = max(largest, m.ContextTokens)
			switch {
			case m.ContextTokens > 0 && float64(in+c.maxTokens) > contextHeadroom*float64(m.ContextTokens):
				tooBig = append(tooBig, c)
			case c.estUSD > budget:
				overBudget = append(overBudget, c)
			default:
				all = append(all, c)
			}
		}
	}
	if req.Model != "" && !named {
		return nil, domain.Errorf(domain.EINVALID, "unknown model %q; GET /api/ai/providers lists the configured models", req.Model)
	}
	if len(all) == 0 {
		switch {
		case len(overBudget) > 0:
			cheapest := math.Inf(1)
			for _, c := range overBudget {
				cheapest = min(cheapest, c.estUSD)
			}
			if budgetIsUsers {
				return nil, g.budgetSpent()
			}
			return nil, domain.Errorf(domain.EINVALID,
				"no model fits the request's budget of $%.4f (the cheapest would cost up to $%.4f); shorten the prompt, lower max_tokens or raise max_cost_usd",
				budget, cheapest)
		case len(tooBig) > 0:
			return nil, domain.Errorf(domain.ETOOLARGE,
				"the prompt (about %d tokens) and answer (%d tokens) do not fit the context window of any configured model (largest: %d tokens)",
				chatTokens, wantMax, largest)
		}
		return nil, domain.Errorf(domain.EUNAVAILABLE, "the configured AI providers offer no models")
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if a.rank != b.rank {
			return a.rank < b.rank
		}
		if a.estUSD != b.estUSD {
			return a.estUSD < b.estUSD
		}
		return a.order < b.order
	})
	return all, nil
}

// RetryError is a refusal the caller may retry after a while: a spent daily budget, or every
// provider cooling down. It unwraps to the coded error users see.
type RetryError struct {
	Err        *domain.Error
	RetryAfter time.Duration
}

// Error returns the coded error's text.
func (e *RetryError) Error() string { return e.Err.Error() }

// Unwrap returns the coded error.
func (e *RetryError) Unwrap() error { return e.Err }

// RetryAfter returns how long the caller should wait before retrying after err: the gateway's
// own RetryError, or a provider's Retry-After when the failure passes one on; 0 when err says
// nothing about it.
func RetryAfter(err error) time.Duration {
	var re *RetryError
	if errors.As(err, &re) {
		return re.RetryAfter
	}
	var pe *domain.ProviderError
	if errors.As(err, &pe) && pe.Kind == domain.ProviderRateLimited {
		return pe.RetryAfter
	}
	return 0
}

// budgetSpent is the refusal of a user whose daily budget is spent: retry at midnight UTC.
func (g *Gateway) budgetSpent() error {
	now := g.opts.Now().UTC()
	reset := startOfDay(now).Add(24 * time.Hour)
	return &RetryError{
		Err: domain.Errorf(domain.ERATELIMIT, "your daily AI budget of $%s is spent; it resets at %s",
			formatUSD(g.opts.UserBudgetUSD), reset.Format(time.RFC3339)),
		RetryAfter: reset.Sub(now),
	}
}

func formatUSD(v float64) string {
	return strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", v), "0"), ".")
}

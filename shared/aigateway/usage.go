package aigateway

import (
	"context"
	"sort"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// MaxUsageDays bounds how far back GET /api/ai/usage reaches.
const MaxUsageDays = 90

// Usage summarises a user's AI requests since a time, for GET /api/ai/usage.
type Usage struct {
	Since     time.Time `json:"since"`
	Requests  int       `json:"requests"`
	Errors    int       `json:"errors"`
	Cancelled int       `json:"cancelled"`
	CacheHits int       `json:"cache_hits"`
	TokensIn  int       `json:"tokens_in"`
	TokensOut int       `json:"tokens_out"`
	CostUSD   float64   `json:"cost_usd"`
	// DailyBudgetUSD is the user's budget per UTC day, null when budgets are off;
	// SpentTodayUSD what today's requests cost so far.
	DailyBudgetUSD *float64 `json:"daily_budget_usd"`
	SpentTodayUSD  float64  `json:"spent_today_usd"`
	// ByModel totals the requests per provider and model, most expensive first.
	ByModel []ModelUsage `json:"by_model"`
	// Recent lists the newest requests, at most 50.
	Recent []*domain.AIRequest `json:"recent"`
}

// ModelUsage totals one provider's model.
type ModelUsage struct {
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Requests  int     `json:"requests"`
	TokensIn  int     `json:"tokens_in"`
	TokensOut int     `json:"tokens_out"`
	CostUSD   float64 `json:"cost_usd"`
}

// Usage returns the user's usage since the given time (clamped to MaxUsageDays ago).
func (g *Gateway) Usage(ctx context.Context, userID string, since time.Time) (*Usage, error) {
	now := g.opts.Now()
	since = maxTime(since, now.Add(-MaxUsageDays*24*time.Hour)).UTC()
	list, err := g.store.ListAIRequests(ctx, userID, minTime(since, startOfDay(now)))
	if err != nil {
		return nil, wrap(err)
	}
	u := &Usage{Since: since, ByModel: []ModelUsage{}, Recent: []*domain.AIRequest{}}
	if g.opts.UserBudgetUSD >= 0 {
		b := g.opts.UserBudgetUSD
		u.DailyBudgetUSD = &b
	}
	today := startOfDay(now)
	byModel := map[[2]string]*ModelUsage{}
	for _, r := range list {
		if !r.CreatedAt.Before(today) {
			u.SpentTodayUSD += r.CostUSD
		}
		if r.CreatedAt.Before(since) {
			continue
		}
		u.Requests++
		switch r.Status {
		case StatusError:
			u.Errors++
		case StatusCancelled:
			u.Cancelled++
		case StatusCached:
			u.CacheHits++
		}
		u.TokensIn += r.TokensIn
		u.TokensOut += r.TokensOut
		u.CostUSD += r.CostUSD
		if len(u.Recent) < 50 {
			u.Recent = append(u.Recent, r)
		}
		if r.Model == "" {
			continue
		}
		k := [2]string{r.Provider, r.Model}
		m := byModel[k]
		if m == nil {
			m = &ModelUsage{Provider: r.Provider, Model: r.Model}
			byModel[k] = m
		}
		m.Requests++
		m.TokensIn += r.TokensIn
		m.TokensOut += r.TokensOut
		m.CostUSD += r.CostUSD
	}
	for _, m := range byModel {
		u.ByModel = append(u.ByModel, *m)
	}
	sort.Slice(u.ByModel, func(i, j int) bool {
		if u.ByModel[i].CostUSD != u.ByModel[j].CostUSD {
			return u.ByModel[i].CostUSD > u.ByModel[j].CostUSD
		}
		return u.ByModel[i].Provider+"/"+u.ByModel[i].Model < u.ByModel[j].Provider+"/"+u.ByModel[j].Model
	})
	return u, nil
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

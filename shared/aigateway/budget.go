package aigateway

import (
	"context"
	"sync"
	"time"
)

// spendTracker knows what each user has spent today (UTC). It reads the day's ai_requests from
// the store at most every SpendRefresh per user and adds this instance's own costs in between,
// so a budget check costs a map lookup instead of a query on the hot path. Across instances a
// user can overspend by what the others charged within one refresh interval.
type spendTracker struct {
	mu    sync.Mutex
	users map[string]*userSpend
}

type userSpend struct {
	day     time.Time // the UTC day the sum is for
	usd     float64
	fetched time.Time
	loading chan struct{} // closed when a running load ends; nil when none runs
}

func newSpendTracker() *spendTracker {
	return &spendTracker{users: map[string]*userSpend{}}
}

func startOfDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// spent returns what the user has spent today. Concurrent callers for one user share one load.
func (g *Gateway) spent(ctx context.Context, userID string) (float64, error) {
	now := g.opts.Now()
	day := startOfDay(now)
	t := g.spend
	for {
		t.mu.Lock()
		u := t.users[userID]
		if u == nil {
			u = &userSpend{}
			t.users[userID] = u
		}
		if u.day.Equal(day) && now.Sub(u.fetched) < g.opts.SpendRefresh {
			usd := u.usd
			t.mu.Unlock()
			return usd, nil
		}
		if wait := u.loading; wait != nil {
			t.mu.Unlock()
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return 0, wrap(ctx.Err())
			}
		}
		u.loading = make(chan struct{})
		t.mu.Unlock()

		list, err := g.store.ListAIRequests(ctx, userID, day)
		sum := 0.0
		for _, r := range list {
			sum += r.CostUSD
		}
		t.mu.Lock()
		close(u.loading)
		u.loading = nil
		if err == nil {
			u.day, u.usd, u.fetched = day, sum, now
		}
		t.mu.Unlock()
		if err != nil {
			return 0, wrap(err)
		}
		return sum, nil
	}
}

// charge adds cost to the user's spend of the day it was incurred on.
func (g *Gateway) charge(userID string, cost float64, at time.Time) {
	if cost <= 0 {
		return
	}
	t := g.spend
	t.mu.Lock()
	defer t.mu.Unlock()
	if u := t.users[userID]; u != nil && u.day.Equal(startOfDay(at)) {
		u.usd += cost
	}
}

// remaining returns what the user may still spend today, and whether the user has a budget.
func (g *Gateway) remaining(ctx context.Context, userID string) (float64, bool, error) {
	if g.opts.UserBudgetUSD < 0 || userID == "" {
		return 0, false, nil
	}
	spent, err := g.spent(ctx, userID)
	if err != nil {
		return 0, true, err
	}
	return g.opts.UserBudgetUSD - spent, true, nil
}

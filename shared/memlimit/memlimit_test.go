package memlimit_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/memlimit"
	"github.com/vibecode/vibecode/shared/ratelimittest"
)

func TestLimiter_Conformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) domain.RateLimiter { return memlimit.New() })
}

// clock is a settable clock for tests that must move time without sleeping.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestLimiter_RetryAfterExact checks the Retry-After arithmetic on a controlled clock.
func TestLimiter_RetryAfterExact(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := memlimit.NewWithClock(c.Now)
	for range 3 {
		if r, _ := l.Allow(ctx, "k", 3, time.Minute); !r.Allowed {
			t.Fatal("refused under the limit")
		}
		c.Add(10 * time.Second)
	}
	r, _ := l.Allow(ctx, "k", 3, time.Minute)
	if r.Allowed || r.RetryAfter != 30*time.Second {
		t.Fatalf("got %+v, want refused with Retry-After 30s (first request at t0, now t0+30s)", r)
	}
	c.Add(30 * time.Second) // the first request is exactly one window old: out
	if r, _ := l.Allow(ctx, "k", 3, time.Minute); !r.Allowed || r.Remaining != 0 {
		t.Fatalf("got %+v, want allowed with 0 remaining", r)
	}
}

// TestLimiter_SweepsIdleKeys checks that memory does not grow with keys that stopped calling,
// such as the addresses of anonymous clients.
func TestLimiter_SweepsIdleKeys(t *testing.T) {
	ctx := context.Background()
	c := &clock{now: time.Unix(1_700_000_000, 0)}
	l := memlimit.NewWithClock(c.Now)
	for i := range 5000 {
		if _, err := l.Allow(ctx, fmt.Sprintf("ip:%d", i), 10, time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if n := l.Keys(); n != 5000 {
		t.Fatalf("Keys = %d, want 5000", n)
	}
	c.Add(2 * time.Minute)
	for i := range 1000 { // enough keys to touch every shard, so each sweeps
		_, _ = l.Allow(ctx, fmt.Sprintf("new:%d", i), 10, time.Minute)
	}
	if n := l.Keys(); n != 1000 {
		t.Fatalf("Keys = %d after the window passed, want only the 1000 new keys", n)
	}
}

// TestLimiter_CancelledContext refuses to count for a caller that has gone.
func TestLimiter_CancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := memlimit.New().Allow(ctx, "k", 1, time.Minute); err == nil {
		t.Fatal("Allow with a cancelled context succeeded")
	}
}

func BenchmarkLimiter_Allow(b *testing.B) {
	l := memlimit.New()
	ctx := context.Background()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			_, _ = l.Allow(ctx, fmt.Sprintf("user:%d", i%512), 1000, time.Minute)
			i++
		}
	})
}

// Package ratelimittest is the conformance suite every domain.RateLimiter implementation must
// pass, so the in-process limiter of the embedded stack and Redis in the cloud enforce the
// same limits: an exact sliding window, refusals that are not counted, a Retry-After that
// is honest, independent keys and no over-admission under concurrency.
//
// The suite runs on the real clock (Redis keeps its own), with windows long enough that a
// loaded machine cannot turn a refusal into an admission, and waits only where the window
// has to pass.
package ratelimittest

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Run runs the whole suite. newLimiter returns a limiter with no recorded requests; it is
// called once per subtest and must release what it opens itself (t.Cleanup).
func Run(t *testing.T, newLimiter func(t *testing.T) domain.RateLimiter) {
	tests := []struct {
		name string
		fn   func(t *testing.T, l domain.RateLimiter)
	}{
		{"AllowsUpToLimit", testAllowsUpToLimit},
		{"RefusalsAreNotCounted", testRefusalsNotCounted},
		{"SlidingWindow", testSlidingWindow},
		{"KeysAreIndependent", testKeysIndependent},
		{"KeysAreLiteral", testKeysLiteral},
		{"LimitLowered", testLimitLowered},
		{"InvalidArguments", testInvalidArguments},
		{"Concurrent", testConcurrent},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newLimiter(t))
		})
	}
}

func allow(t *testing.T, l domain.RateLimiter, key string, limit int, window time.Duration) domain.RateLimit {
	t.Helper()
	r, err := l.Allow(context.Background(), key, limit, window)
	if err != nil {
		t.Fatalf("Allow(%q, %d, %v): %v", key, limit, window, err)
	}
	if r.Limit != limit {
		t.Fatalf("Allow(%q).Limit = %d, want %d", key, r.Limit, limit)
	}
	return r
}

func wantAllowed(t *testing.T, r domain.RateLimit, remaining int) {
	t.Helper()
	if !r.Allowed || r.Remaining != remaining || r.RetryAfter != 0 {
		t.Fatalf("got %+v, want allowed with %d remaining and no Retry-After", r, remaining)
	}
}

func wantRefused(t *testing.T, r domain.RateLimit, window time.Duration) {
	t.Helper()
	if r.Allowed || r.Remaining != 0 || r.RetryAfter <= 0 || r.RetryAfter > window {
		t.Fatalf("got %+v, want refused with 0 remaining and 0 < Retry-After <= %v", r, window)
	}
}

func testAllowsUpToLimit(t *testing.T, l domain.RateLimiter) {
	const limit = 5
	window := time.Minute
	for i := range limit {
		wantAllowed(t, allow(t, l, "user:a", limit, window), limit-i-1)
	}
	wantRefused(t, allow(t, l, "user:a", limit, window), window)
	// A limit of one is a valid limit.
	wantAllowed(t, allow(t, l, "user:one", 1, window), 0)
	wantRefused(t, allow(t, l, "user:one", 1, window), window)
}

// testRefusalsNotCounted: a client that keeps knocking does not extend its own wait — once
// the counted requests leave the window, it is let in regardless of how often it was refused.
func testRefusalsNotCounted(t *testing.T, l domain.RateLimiter) {
	window := 800 * time.Millisecond
	firstAt := time.Now()
	wantAllowed(t, allow(t, l, "k", 1, window), 0)
	var last domain.RateLimit
	for range 20 {
		time.Sleep(15 * time.Millisecond)
		last = allow(t, l, "k", 1, window)
		if last.Allowed {
			t.Skip("the machine stalled past the window; nothing left to check")
		}
	}
	// Retry-After still points at the first request leaving, not at the last refusal's.
	if bound := window - time.Since(firstAt) + 50*time.Millisecond; last.RetryAfter > bound {
		t.Fatalf("Retry-After after 20 refusals = %v, want at most %v: refusals were counted", last.RetryAfter, bound)
	}
	time.Sleep(last.RetryAfter + 50*time.Millisecond)
	wantAllowed(t, allow(t, l, "k", 1, window), 0)
}

// testSlidingWindow: requests leave the window one by one, at the time each was made plus the
// window — not all at once at a fixed boundary — and Retry-After says when the next leaves.
func testSlidingWindow(t *testing.T, l domain.RateLimiter) {
	window := 1500 * time.Millisecond
	start := time.Now()
	wantAllowed(t, allow(t, l, "slide", 2, window), 1)
	time.Sleep(500 * time.Millisecond)
	secondAt := time.Now()
	wantAllowed(t, allow(t, l, "slide", 2, window), 0)
	r := allow(t, l, "slide", 2, window)
	wantRefused(t, r, window)
	// The first request leaves at start+window: Retry-After points there, not at the second's.
	if limit := window - time.Since(start) + 100*time.Millisecond; r.RetryAfter > limit {
		t.Fatalf("Retry-After = %v, want at most %v (when the first request leaves)", r.RetryAfter, limit)
	}
	time.Sleep(r.RetryAfter + 50*time.Millisecond)
	if time.Since(secondAt) >= window-100*time.Millisecond {
		t.Skip("the machine is too slow to tell a sliding window from a fixed one")
	}
	// The first request has left, the second has not: exactly one more is allowed.
	wantAllowed(t, allow(t, l, "slide", 2, window), 0)
	wantRefused(t, allow(t, l, "slide", 2, window), window)
}

func testKeysIndependent(t *testing.T, l domain.RateLimiter) {
	window := time.Minute
	wantAllowed(t, allow(t, l, "user:1", 1, window), 0)
	wantRefused(t, allow(t, l, "user:1", 1, window), window)
	wantAllowed(t, allow(t, l, "user:2", 1, window), 0)
	wantAllowed(t, allow(t, l, "ip:127.0.0.1", 1, window), 0)
}

// testKeysLiteral: keys with glob or separator characters are compared byte for byte.
func testKeysLiteral(t *testing.T, l domain.RateLimiter) {
	window := time.Minute
	keys := []string{"a*", "a?", "a[b]", "a\\", "a:b", "ip:[::1]:80", strings.Repeat("x", 300), "ünïcode"}
	for _, k := range keys {
		wantAllowed(t, allow(t, l, k, 1, window), 0)
	}
	for _, k := range keys {
		wantRefused(t, allow(t, l, k, 1, window), window)
	}
	wantAllowed(t, allow(t, l, "a", 1, window), 0)
}

// testLimitLowered: a key that was under a higher limit is held to a lower one at once.
func testLimitLowered(t *testing.T, l domain.RateLimiter) {
	window := time.Minute
	for i := range 5 {
		wantAllowed(t, allow(t, l, "plan", 10, window), 10-i-1)
	}
	wantRefused(t, allow(t, l, "plan", 3, window), window)
	wantAllowed(t, allow(t, l, "plan", 10, window), 4)
}

func testInvalidArguments(t *testing.T, l domain.RateLimiter) {
	ctx := context.Background()
	for _, tc := range []struct {
		limit  int
		window time.Duration
	}{{0, time.Minute}, {-1, time.Minute}, {1, 0}, {1, -time.Second}} {
		if r, err := l.Allow(ctx, "bad", tc.limit, tc.window); err == nil {
			t.Errorf("Allow(limit %d, window %v) = %+v, want an error", tc.limit, tc.window, r)
		}
	}
}

// testConcurrent: many goroutines racing on one key admit exactly the limit.
func testConcurrent(t *testing.T, l domain.RateLimiter) {
	const (
		limit      = 100
		goroutines = 20
		each       = 15
	)
	window := time.Minute
	var allowed atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range each {
				r, err := l.Allow(context.Background(), "hot", limit, window)
				if err != nil {
					errs <- fmt.Errorf("goroutine %d: %w", g, err)
					return
				}
				if r.Allowed {
					allowed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n := allowed.Load(); n != limit {
		t.Fatalf("%d of %d concurrent requests allowed, want exactly %d", n, goroutines*each, limit)
	}
}

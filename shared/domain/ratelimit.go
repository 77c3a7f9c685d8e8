package domain

import (
	"context"
	"time"
)

// RateLimiter counts requests per key in a sliding window, so a burst at the edge of a fixed
// window can never let twice the limit through. It is implemented on Redis for the cloud,
// where every function instance must share one count, and in process for the embedded stack;
// both pass the same conformance suite (shared/ratelimittest).
type RateLimiter interface {
	// Allow records one request under key when fewer than limit requests were allowed under
	// it in the window ending now, and says so. A refused request is not counted, so a client
	// that keeps knocking does not extend its own wait. limit and window must be positive.
	Allow(ctx context.Context, key string, limit int, window time.Duration) (RateLimit, error)
}

// RateLimit is a RateLimiter's decision, with what the X-RateLimit-* and Retry-After
// headers report.
type RateLimit struct {
	Allowed   bool
	Limit     int // the limit the decision was made against
	Remaining int // requests still allowed in the window after this one; 0 when refused
	// RetryAfter is how long until the oldest counted request leaves the window, i.e. the
	// earliest time a refused request can succeed; 0 when allowed.
	RetryAfter time.Duration
}

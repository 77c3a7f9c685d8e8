// Package memlimit is the in-process domain.RateLimiter of the embedded stack, where one
// process serves every request and running Redis would be one more thing to install.
//
// It keeps an exact sliding log per key: the times of the requests it allowed within the
// window. A key's log never holds more than its limit, so memory is bounded by the number of
// active keys times their limits; keys whose newest request has left the window are swept.
// Keys are spread over shards, each with its own mutex, so concurrent requests for different
// keys rarely wait for each other.
package memlimit

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.RateLimiter = (*Limiter)(nil)

const (
	shardCount = 32
	// sweepInterval is how often a shard drops the logs of idle keys.
	sweepInterval = time.Minute
)

// Limiter is a domain.RateLimiter in process memory. It is safe for concurrent use.
type Limiter struct {
	now    func() time.Time
	seed   maphash.Seed
	shards [shardCount]shard
}

type shard struct {
	mu        sync.Mutex
	logs      map[string]*log
	lastSweep time.Time
}

// log is the allowed requests of one key, oldest first: times[head:] are live.
type log struct {
	times  []time.Time
	head   int
	window time.Duration // the window of the latest call, for sweeping
}

// New returns an empty Limiter on the wall clock.
func New() *Limiter { return NewWithClock(time.Now) }

// NewWithClock returns an empty Limiter on the given clock, so tests can move time without
// sleeping. now must be safe for concurrent use.
func NewWithClock(now func() time.Time) *Limiter {
	l := &Limiter{now: now, seed: maphash.MakeSeed()}
	for i := range l.shards {
		l.shards[i].logs = map[string]*log{}
	}
	return l
}

// Allow implements domain.RateLimiter.
func (l *Limiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (domain.RateLimit, error) {
	if limit <= 0 || window <= 0 {
		return domain.RateLimit{}, fmt.Errorf("memlimit: limit (%d) and window (%v) must be positive", limit, window)
	}
	if err := ctx.Err(); err != nil {
		return domain.RateLimit{}, fmt.Errorf("memlimit: %w", err)
	}
	now := l.now()
	s := &l.shards[maphash.String(l.seed, key)%shardCount]
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Sub(s.lastSweep) >= sweepInterval {
		s.sweep(now)
	}
	lg := s.logs[key]
	if lg == nil {
		lg = &log{}
		s.logs[key] = lg
	}
	lg.window = window
	lg.expire(now.Add(-window))
	live := len(lg.times) - lg.head
	if live >= limit {
		// A limit lowered since the key was last seen leaves more than limit entries; the
		// request must wait until enough of them leave, i.e. for the (live-limit+1)th oldest.
		oldest := lg.times[lg.head+live-limit]
		return domain.RateLimit{Limit: limit, RetryAfter: max(oldest.Add(window).Sub(now), time.Nanosecond)}, nil
	}
	lg.times = append(lg.times, now)
	return domain.RateLimit{Allowed: true, Limit: limit, Remaining: limit - live - 1}, nil
}

// expire drops the entries at or before cutoff, compacting the slice once half of it is dead
// so a busy key's log does not grow.
func (lg *log) expire(cutoff time.Time) {
	for lg.head < len(lg.times) && !lg.times[lg.head].After(cutoff) {
		lg.head++
	}
	if lg.head > 0 && lg.head >= len(lg.times)/2 {
		n := copy(lg.times, lg.times[lg.head:])
		lg.times = lg.times[:n]
		lg.head = 0
	}
}

// sweep deletes the logs whose every entry has left its window.
func (s *shard) sweep(now time.Time) {
	s.lastSweep = now
	for k, lg := range s.logs {
		if len(lg.times) == 0 || !lg.times[len(lg.times)-1].After(now.Add(-lg.window)) {
			delete(s.logs, k)
		}
	}
}

// Keys returns how many keys the limiter holds a log for, so tests can check that idle keys
// are swept.
func (l *Limiter) Keys() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.logs)
		s.mu.Unlock()
	}
	return n
}

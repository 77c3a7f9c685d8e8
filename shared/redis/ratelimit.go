package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.RateLimiter = (*RateLimiter)(nil)

// rateLimitPrefix namespaces the limiter's keys, apart from the cache's.
const rateLimitPrefix = "ratelimit:"

// slidingLog is one atomic sliding-log step on a sorted set of request times (microseconds,
// Redis's own clock, so function instances with skewed clocks agree): drop what left the
// window, count, and add this request if the count is under the limit. The set expires with
// the window, so an idle key costs nothing.
//
// KEYS[1] the set; ARGV[1] limit; ARGV[2] window in microseconds; ARGV[3] a unique member.
// Returns {allowed 0|1, remaining, retry-after in microseconds}.
var slidingLog = goredis.NewScript(`
local key = KEYS[1]
local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local count = redis.call('ZCARD', key)
if count < limit then
  redis.call('ZADD', key, now, ARGV[3])
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, limit - count - 1, 0}
end
local nth = redis.call('ZRANGE', key, count - limit, count - limit, 'WITHSCORES')
local retry = tonumber(nth[2]) + window - now
if retry < 1 then retry = 1 end
return {0, 0, retry}
`)

// RateLimiter is a domain.RateLimiter on Redis, shared by every function instance that talks
// to the same server. It is safe for concurrent use.
type RateLimiter struct {
	client *goredis.Client
}

// NewRateLimiter returns a RateLimiter on the cache's connection pool, so a function that
// has a Redis cache needs no second pool for its limits. Closing the cache closes it too.
func NewRateLimiter(c *Cache) *RateLimiter {
	return &RateLimiter{client: c.client}
}

// Allow implements domain.RateLimiter with one script call (EVALSHA, loading the script on
// first use).
func (l *RateLimiter) Allow(ctx context.Context, key string, limit int, window time.Duration) (domain.RateLimit, error) {
	if limit <= 0 || window <= 0 {
		return domain.RateLimit{}, fmt.Errorf("redis: rate limit: limit (%d) and window (%v) must be positive", limit, window)
	}
	var id [8]byte
	_, _ = rand.Read(id[:])
	res, err := slidingLog.Run(ctx, l.client, []string{rateLimitPrefix + key},
		limit, max(window.Microseconds(), 1), hex.EncodeToString(id[:])).Int64Slice()
	if err != nil {
		return domain.RateLimit{}, fmt.Errorf("redis: rate limit %q: %w", key, err)
	}
	if len(res) != 3 {
		return domain.RateLimit{}, fmt.Errorf("redis: rate limit %q: script returned %d values", key, len(res))
	}
	return domain.RateLimit{
		Allowed:    res[0] == 1,
		Limit:      limit,
		Remaining:  int(res[1]),
		RetryAfter: time.Duration(res[2]) * time.Microsecond,
	}, nil
}

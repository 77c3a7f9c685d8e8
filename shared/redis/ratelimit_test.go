package redis_test

import (
	"context"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ratelimittest"
	"github.com/vibecode/vibecode/shared/redis"
)

func TestRateLimiter_Conformance(t *testing.T) {
	ratelimittest.Run(t, func(t *testing.T) domain.RateLimiter {
		c, _ := newCache(t)
		return redis.NewRateLimiter(c)
	})
}

// TestRateLimiter_KeyExpires checks on the server that a key's set expires with its window,
// so limits on anonymous addresses do not accumulate in a shared Redis.
func TestRateLimiter_KeyExpires(t *testing.T) {
	ctx := context.Background()
	c, url := newCache(t)
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opt)
	t.Cleanup(func() { raw.Close() })

	l := redis.NewRateLimiter(c)
	if _, err := l.Allow(ctx, "ip:10.0.0.1", 5, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	ttl, err := raw.PTTL(ctx, "ratelimit:ip:10.0.0.1").Result()
	if err != nil || ttl <= 0 || ttl > 300*time.Millisecond {
		t.Fatalf("PTTL = %v, %v; want (0, 300ms]", ttl, err)
	}
	time.Sleep(500 * time.Millisecond)
	if n, err := raw.Exists(ctx, "ratelimit:ip:10.0.0.1").Result(); err != nil || n != 0 {
		t.Fatalf("EXISTS after the window = %d, %v; want 0", n, err)
	}
}

package redis_test

import (
	"context"
	"errors"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vibecode/vibecode/shared/cachetest"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/redis"
	"github.com/vibecode/vibecode/shared/testserver"
)

func TestMain(m *testing.M) {
	os.Exit(testserver.Main(m))
}

func newCache(tb testing.TB) (*redis.Cache, string) {
	tb.Helper()
	url := testserver.Redis(tb)
	c, err := redis.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := c.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return c, url
}

func TestCache_Conformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) domain.Cache {
		c, _ := newCache(t)
		return c
	})
}

// TestCache_SetTTLOnServer checks the TTL Redis actually holds, which the conformance suite
// can only observe by waiting.
func TestCache_SetTTLOnServer(t *testing.T) {
	ctx := context.Background()
	c, url := newCache(t)
	opt, err := goredis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	raw := goredis.NewClient(opt)
	t.Cleanup(func() { raw.Close() })

	for _, tc := range []struct {
		ttl      time.Duration
		min, max time.Duration
	}{
		{1500 * time.Millisecond, time.Second, 1500 * time.Millisecond},
		{domain.TTLMedium, domain.TTLMedium - time.Minute, domain.TTLMedium},
		{domain.TTLEmbedding, domain.TTLEmbedding - time.Minute, domain.TTLEmbedding},
		{time.Microsecond, 0, time.Millisecond}, // rounded up to Redis's 1 ms, not "no expiry"
	} {
		key := "ttl:" + tc.ttl.String()
		if err := c.Set(ctx, key, []byte("v"), tc.ttl); err != nil {
			t.Fatalf("Set(ttl %v): %v", tc.ttl, err)
		}
		got, err := raw.PTTL(ctx, key).Result()
		if err != nil {
			t.Fatalf("PTTL: %v", err)
		}
		// PTTL is -2 for a key that already expired, which a 1 ms TTL may have.
		if got == -2*time.Nanosecond || got == -2*time.Millisecond {
			got = 0
		}
		if got < tc.min || got > tc.max {
			t.Errorf("Set(ttl %v): PTTL = %v, want in [%v, %v]", tc.ttl, got, tc.min, tc.max)
		}
	}
}

func TestNew_Unreachable(t *testing.T) {
	// A port that was free a moment ago; nothing listens there.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	c, err := redis.New(ctx, "redis://:s3cret@"+addr+"/3")
	if err == nil {
		c.Close()
		t.Fatalf("New(%s) succeeded with nothing listening", addr)
	}
	msg := err.Error()
	if !strings.HasPrefix(msg, "redis: ping "+addr+" db 3: ") {
		t.Errorf("error = %q, want it to start with %q", msg, "redis: ping "+addr+" db 3: ")
	}
	if strings.Contains(msg, "s3cret") {
		t.Errorf("error %q leaks the password", msg)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %q does not wrap ECONNREFUSED", msg)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("New took %v to fail on a refused connection", d)
	}
}

func TestNew_BadURL(t *testing.T) {
	for _, url := range []string{"http://localhost:6379", "redis://localhost:6379/notanumber", "::"} {
		c, err := redis.New(context.Background(), url)
		if err == nil {
			c.Close()
			t.Fatalf("New(%q) succeeded", url)
		}
		if !strings.HasPrefix(err.Error(), "redis: parse url: ") {
			t.Errorf("New(%q) error = %q, want a redis: parse url: prefix", url, err)
		}
	}
}

func TestCache_ErrorsAreReturned(t *testing.T) {
	ctx := context.Background()
	c, err := redis.New(ctx, testserver.Redis(t))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, ok, err := c.Get(ctx, "k"); err == nil || ok || !errors.Is(err, goredis.ErrClosed) {
		t.Errorf("Get after Close = %v, %v; want a wrapped redis.ErrClosed", ok, err)
	}
	for name, err := range map[string]error{
		"Set":          c.Set(ctx, "k", []byte("v"), time.Minute),
		"Delete":       c.Delete(ctx, "k"),
		"DeletePrefix": c.DeletePrefix(ctx, "k"),
		"Ping":         c.Ping(ctx),
	} {
		if err == nil || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("%s after Close = %v, want a redis: error", name, err)
		}
	}
}

func BenchmarkCache_GetSet(b *testing.B) {
	ctx := context.Background()
	c, _ := newCache(b)
	keys := make([]string, 1024)
	for i := range keys {
		keys[i] = "ws:bench:" + strconv.Itoa(i)
	}
	value := make([]byte, 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		k := keys[i%len(keys)]
		if err := c.Set(ctx, k, value, time.Minute); err != nil {
			b.Fatal(err)
		}
		if _, ok, err := c.Get(ctx, k); err != nil || !ok {
			b.Fatalf("Get = %v, %v", ok, err)
		}
		i++
	}
}

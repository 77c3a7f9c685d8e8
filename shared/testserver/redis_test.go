package testserver_test

import (
	"context"
	"net/url"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/vibecode/vibecode/shared/testserver"
)

// TestMain is in postgres_test.go; there can be only one per package.

func TestRedis(t *testing.T) {
	ctx := context.Background()
	urlA, urlB := testserver.Redis(t), testserver.Redis(t)
	if urlA == urlB {
		t.Fatalf("Redis returned the same URL twice: %s", urlA)
	}
	for _, raw := range []string{urlA, urlB} {
		u, err := url.Parse(raw)
		if err != nil || u.Scheme != "redis" || u.Hostname() != "127.0.0.1" {
			t.Fatalf("Redis returned %q, want redis://127.0.0.1:<port>/<db>", raw)
		}
	}
	connect := func(raw string) *goredis.Client {
		t.Helper()
		opt, err := goredis.ParseURL(raw)
		if err != nil {
			t.Fatalf("parse %s: %v", raw, err)
		}
		c := goredis.NewClient(opt)
		t.Cleanup(func() { c.Close() })
		return c
	}
	a, b := connect(urlA), connect(urlB)

	for _, c := range []*goredis.Client{a, b} {
		n, err := c.DBSize(ctx).Result()
		if err != nil {
			t.Fatalf("DBSIZE: %v", err)
		}
		if n != 0 {
			t.Fatalf("fresh database has %d keys, want 0", n)
		}
	}
	if err := a.Set(ctx, "k", "in a", time.Minute).Err(); err != nil {
		t.Fatalf("SET: %v", err)
	}
	if got, err := a.Get(ctx, "k").Result(); err != nil || got != "in a" {
		t.Fatalf("GET in a = %q, %v; want %q", got, err, "in a")
	}
	if err := b.Get(ctx, "k").Err(); err != goredis.Nil {
		t.Fatalf("GET in b = %v, want redis.Nil: databases are not isolated", err)
	}

	// The server is throwaway: it must never write snapshots or an append-only file.
	cfg, err := a.ConfigGet(ctx, "*").Result()
	if err != nil {
		t.Fatalf("CONFIG GET: %v", err)
	}
	for k, want := range map[string]string{"save": "", "appendonly": "no", "bind": "127.0.0.1", "databases": "10000"} {
		if cfg[k] != want {
			t.Errorf("config %s = %q, want %q", k, cfg[k], want)
		}
	}
}

func TestRedis_ManyDatabases(t *testing.T) {
	seen := make(map[string]bool)
	for range 50 {
		u := testserver.Redis(t)
		if seen[u] {
			t.Fatalf("Redis returned %s twice", u)
		}
		seen[u] = true
	}
}

// Package redis is the domain.Cache of the cloud deployments, backed by Redis through
// github.com/redis/go-redis/v9.
//
// Values are stored as plain Redis strings with a millisecond TTL, so a cache shared by many
// function instances stays consistent and expires entries on its own.
package redis

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Cache = (*Cache)(nil)

// batchSize is the SCAN COUNT hint and the most keys sent in one UNLINK, which keeps every
// command short enough not to stall a busy server.
const batchSize = 1000

// Cache is a domain.Cache on one Redis server (or a primary with replicas behind one
// address). It is safe for concurrent use; the underlying client pools connections.
type Cache struct {
	client *goredis.Client
}

// New connects to the Redis server at url (redis://[user:password@]host:port/db or
// rediss:// for TLS, with go-redis's query options such as dial_timeout) and pings it, so a
// wrong address fails at start-up rather than on the first request.
func New(ctx context.Context, url string) (*Cache, error) {
	opt, err := goredis.ParseURL(url)
	if err != nil {
		// The URL may hold a password, so it is not repeated here.
		return nil, fmt.Errorf("redis: parse url: %w", err)
	}
	client := goredis.NewClient(opt)
	if err := client.Ping(ctx).Err(); err != nil {
		_ = client.Close()
		return nil, fmt.Errorf("redis: ping %s db %d: %w", opt.Addr, opt.DB, err)
	}
	return &Cache{client: client}, nil
}

// Get returns the value under key and true, or nil and false when the key is absent or has
// expired.
func (c *Cache) Get(ctx context.Context, key string) ([]byte, bool, error) {
	b, err := c.client.Get(ctx, key).Bytes()
	if errors.Is(err, goredis.Nil) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("redis: get %q: %w", key, err)
	}
	return b, true, nil
}

// Set stores value under key for ttl (SET key value PX|EX), replacing any previous value
// and TTL. A ttl that is not positive is an error rather than "never expire", because an
// immortal entry in a shared Redis is never reclaimed and is almost always a forgotten
// setting. TTLs below a millisecond are rounded up to one.
func (c *Cache) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("redis: set %q: ttl %v is not positive", key, ttl)
	}
	// go-redis sends PX for sub-second precision and EX otherwise; both mean the same.
	if err := c.client.Set(ctx, key, value, max(ttl, time.Millisecond)).Err(); err != nil {
		return fmt.Errorf("redis: set %q: %w", key, err)
	}
	return nil
}

// Delete removes the keys; absent keys are ignored. It uses UNLINK, which frees large values
// in the background instead of blocking the server.
func (c *Cache) Delete(ctx context.Context, keys ...string) error {
	for len(keys) > 0 {
		n := min(len(keys), batchSize)
		if err := c.client.Unlink(ctx, keys[:n]...).Err(); err != nil {
			return fmt.Errorf("redis: unlink %d keys: %w", n, err)
		}
		keys = keys[n:]
	}
	return nil
}

// DeletePrefix removes every key that starts with prefix, matched literally: glob
// metacharacters in prefix are escaped. It walks the keyspace with SCAN MATCH (never KEYS,
// which blocks the server) and UNLINKs each page; keys written while it runs may survive,
// as with any cache invalidation racing a write. SCAN sees one node only, so a Redis Cluster
// would need the scan repeated on every primary.
func (c *Cache) DeletePrefix(ctx context.Context, prefix string) error {
	match := escapeGlob(prefix) + "*"
	var cursor uint64
	for {
		keys, next, err := c.client.Scan(ctx, cursor, match, batchSize).Result()
		if err != nil {
			return fmt.Errorf("redis: scan %q: %w", match, err)
		}
		if err := c.Delete(ctx, keys...); err != nil {
			return err
		}
		if next == 0 {
			return nil
		}
		cursor = next
	}
}

// Ping checks that the server answers; readiness probes call it.
func (c *Cache) Ping(ctx context.Context) error {
	if err := c.client.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("redis: ping: %w", err)
	}
	return nil
}

// Close closes the connection pool. The cache must not be used afterwards.
func (c *Cache) Close() error {
	if err := c.client.Close(); err != nil {
		return fmt.Errorf("redis: close: %w", err)
	}
	return nil
}

// escapeGlob backslash-escapes the characters Redis glob patterns treat specially, so
// SCAN MATCH compares s byte for byte.
func escapeGlob(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); i++ { // bytes, not runes: keys need not be UTF-8
		switch s[i] {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// Package lru is the in-process domain.Cache of the embedded default, where running Redis
// would be one more thing to install.
//
// It is a plain least-recently-used list plus a map, guarded by one mutex: the embedded
// default serves one user, so contention is low and a dependency would buy nothing.
// Entries carry their own TTL and expired entries are dropped lazily when they are read,
// overwritten or evicted.
package lru

import (
	"container/list"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Cache = (*Cache)(nil)

// Cache is a bounded in-process byte cache with per-entry TTLs. It is safe for concurrent use.
// It bounds the number of entries, not their size, so maxEntries must be chosen with the
// largest cached values in mind.
type Cache struct {
	mu    sync.Mutex
	max   int
	now   func() time.Time
	order *list.List               // of *entry; front is the most recently used
	items map[string]*list.Element // key -> element of order
}

type entry struct {
	key     string
	value   []byte
	expires time.Time
}

// New returns an empty cache that holds at most maxEntries entries, evicting the least
// recently used one to make room. It panics if maxEntries is not positive, because a cache
// that can hold nothing is a configuration mistake best caught at start-up.
func New(maxEntries int) *Cache {
	return NewWithClock(maxEntries, time.Now)
}

// NewWithClock is New with the clock used for TTLs injected, so tests can expire entries
// without sleeping. now must be safe for concurrent use.
func NewWithClock(maxEntries int, now func() time.Time) *Cache {
	if maxEntries < 1 {
		panic(fmt.Sprintf("lru: maxEntries must be positive, got %d", maxEntries))
	}
	return &Cache{
		max:   maxEntries,
		now:   now,
		order: list.New(),
		items: make(map[string]*list.Element),
	}
}

// Get returns a copy of the value under key and true, or nil and false when the key is
// absent or expired. A hit makes the entry the most recently used.
func (c *Cache) Get(_ context.Context, key string) ([]byte, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[key]
	if !ok {
		return nil, false, nil
	}
	e := el.Value.(*entry)
	if !c.now().Before(e.expires) {
		c.remove(el)
		return nil, false, nil
	}
	c.order.MoveToFront(el)
	return clone(e.value), true, nil
}

// Set stores a copy of value under key for ttl, replacing any previous value and TTL, and
// evicts the least recently used entry when the cache is full. A ttl that is not positive is
// an error: it is almost always a forgotten setting, and Redis rejects it too.
func (c *Cache) Set(_ context.Context, key string, value []byte, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("lru: set %q: ttl %v is not positive", key, ttl)
	}
	v := clone(value)
	c.mu.Lock()
	defer c.mu.Unlock()
	expires := c.now().Add(ttl)
	if el, ok := c.items[key]; ok {
		e := el.Value.(*entry)
		e.value, e.expires = v, expires
		c.order.MoveToFront(el)
		return nil
	}
	c.items[key] = c.order.PushFront(&entry{key: key, value: v, expires: expires})
	for c.order.Len() > c.max {
		c.remove(c.order.Back())
	}
	return nil
}

// Delete removes the keys; absent keys are ignored.
func (c *Cache) Delete(_ context.Context, keys ...string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, k := range keys {
		if el, ok := c.items[k]; ok {
			c.remove(el)
		}
	}
	return nil
}

// DeletePrefix removes every key that starts with prefix, compared byte for byte. It scans
// all keys, which is fine at in-process sizes.
func (c *Cache) DeletePrefix(_ context.Context, prefix string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, el := range c.items {
		if strings.HasPrefix(k, prefix) {
			c.remove(el)
		}
	}
	return nil
}

// Ping always succeeds: an in-process cache is up whenever the process is.
func (c *Cache) Ping(context.Context) error {
	return nil
}

// Len returns the number of entries held, including expired ones not yet dropped; it is
// for metrics and tests.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}

// remove drops el from both the list and the map; c.mu must be held.
func (c *Cache) remove(el *list.Element) {
	c.order.Remove(el)
	delete(c.items, el.Value.(*entry).key)
}

// clone copies b into a new, never-nil slice, so an empty value stays a hit with an empty
// (not nil) value and callers never share bytes with the cache.
func clone(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}

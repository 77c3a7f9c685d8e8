package domain

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The seed's cache TTL classes. Pick the class by how stale the value may be, not by how
// expensive it is to compute.
const (
	TTLShort     = time.Minute         // listings and search results that change with every write
	TTLMedium    = 5 * time.Minute     // records that rarely change: workspaces, AI responses
	TTLLong      = 30 * time.Minute    // derived data keyed by content: file metadata by hash
	TTLEmbedding = 30 * 24 * time.Hour // embeddings keyed by content hash: never stale
)

// Cache is a byte cache with per-entry TTLs and prefix invalidation, implemented by Redis for
// the cloud and an in-process LRU for the embedded default. A cache is an optimisation: a
// miss or an error must never change an answer, only its speed.
type Cache interface {
	// Get returns the value and true, or nil and false on a miss.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores value under key for ttl.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Delete removes the keys; absent keys are not an error.
	Delete(ctx context.Context, keys ...string) error
	// DeletePrefix removes every key that starts with prefix (per-workspace invalidation).
	DeletePrefix(ctx context.Context, prefix string) error
	// Ping checks that the cache answers; readiness probes call it.
	Ping(ctx context.Context) error
}

// WorkspaceCachePrefix is the prefix of every cache key that belongs to a workspace, so one
// DeletePrefix call invalidates all of them when the workspace's files change.
func WorkspaceCachePrefix(workspaceID string) string {
	return "ws:" + workspaceID + ":"
}

// CacheKey returns a workspace-scoped cache key, e.g. CacheKey(id, "files") = "ws:<id>:files".
func CacheKey(workspaceID, name string) string {
	return WorkspaceCachePrefix(workspaceID) + name
}

// Cached is cache-aside for JSON values: it returns the cached value under key when there is
// one, else calls load, caches its result for ttl and returns it. Cache errors are not
// returned (a broken cache only costs speed); they are reported to onErr when it is non-nil.
func Cached[T any](ctx context.Context, c Cache, key string, ttl time.Duration, onErr func(error), load func() (T, error)) (T, error) {
	report := func(err error) {
		if onErr != nil && err != nil {
			onErr(fmt.Errorf("cache %q: %w", key, err))
		}
	}
	if b, ok, err := c.Get(ctx, key); err != nil {
		report(err)
	} else if ok {
		var v T
		if err := json.Unmarshal(b, &v); err == nil {
			return v, nil
		}
		report(fmt.Errorf("undecodable entry, reloading"))
	}
	v, err := load()
	if err != nil {
		return v, err
	}
	if b, err := json.Marshal(v); err != nil {
		report(err)
	} else {
		report(c.Set(ctx, key, b, ttl))
	}
	return v, nil
}

package lru_test

import (
	"context"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/cachetest"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lru"
)

func TestCache_Conformance(t *testing.T) {
	cachetest.Run(t, func(t *testing.T) domain.Cache {
		return lru.New(10_000)
	})
}

// fakeClock is a settable clock for NewWithClock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
}

func mustSet(t *testing.T, c *lru.Cache, key, value string, ttl time.Duration) {
	t.Helper()
	if err := c.Set(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// present reports which of keys are hits, in order; note that hits refresh recency.
func present(t *testing.T, c *lru.Cache, keys ...string) []bool {
	t.Helper()
	out := make([]bool, len(keys))
	for i, k := range keys {
		v, ok, err := c.Get(context.Background(), k)
		if err != nil {
			t.Fatalf("Get(%q): %v", k, err)
		}
		if ok && string(v) != k {
			t.Fatalf("Get(%q) = %q, want %q", k, v, k)
		}
		out[i] = ok
	}
	return out
}

func wantPresent(t *testing.T, c *lru.Cache, want map[string]bool) {
	t.Helper()
	for k, w := range want {
		if got := present(t, c, k)[0]; got != w {
			t.Errorf("%q present = %v, want %v", k, got, w)
		}
	}
}

func TestCache_EvictsLeastRecentlyUsed(t *testing.T) {
	c := lru.New(3)
	for _, k := range []string{"a", "b", "c"} {
		mustSet(t, c, k, k, time.Hour)
	}
	present(t, c, "a") // recency, most recent first: a c b
	mustSet(t, c, "d", "d", time.Hour)
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
	// d a c; b was the least recently used.
	if got := present(t, c, "b"); got[0] {
		t.Fatalf("b survived; want it evicted as the least recently used")
	}
	present(t, c, "x")                 // a miss must not disturb the order: d a c
	mustSet(t, c, "c", "c", time.Hour) // an overwrite refreshes recency: c d a
	mustSet(t, c, "e", "e", time.Hour) // evicts a: e c d
	wantPresent(t, c, map[string]bool{"a": false, "b": false, "c": true, "d": true, "e": true})
	if c.Len() != 3 {
		t.Fatalf("Len = %d, want 3", c.Len())
	}
}

func TestCache_MaxEntriesOne(t *testing.T) {
	c := lru.New(1)
	mustSet(t, c, "a", "a", time.Hour)
	mustSet(t, c, "b", "b", time.Hour)
	wantPresent(t, c, map[string]bool{"a": false, "b": true})
}

func TestCache_TTL(t *testing.T) {
	clock := &fakeClock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	c := lru.NewWithClock(10, clock.Now)
	mustSet(t, c, "a", "a", 10*time.Second)
	mustSet(t, c, "b", "b", 20*time.Second)
	mustSet(t, c, "r", "r", 10*time.Second)

	clock.Advance(10*time.Second - time.Nanosecond)
	wantPresent(t, c, map[string]bool{"a": true, "b": true, "r": true})
	mustSet(t, c, "r", "r", 10*time.Second) // an overwrite restarts the TTL

	clock.Advance(time.Nanosecond) // exactly at a's expiry: expired
	wantPresent(t, c, map[string]bool{"a": false, "b": true, "r": true})
	if c.Len() != 2 {
		t.Fatalf("Len = %d after reading an expired entry, want 2 (dropped lazily)", c.Len())
	}

	clock.Advance(10 * time.Second)
	wantPresent(t, c, map[string]bool{"b": false, "r": false})
	if c.Len() != 0 {
		t.Fatalf("Len = %d, want 0", c.Len())
	}
}

func TestCache_ExpiredEntriesStillCountUntilTouched(t *testing.T) {
	// Expiry is lazy, so an expired entry occupies a slot until it is read or evicted; it is
	// then the first to go if it is also the least recently used.
	clock := &fakeClock{now: time.Unix(0, 0)}
	c := lru.NewWithClock(2, clock.Now)
	mustSet(t, c, "old", "old", time.Second)
	mustSet(t, c, "new", "new", time.Hour)
	clock.Advance(2 * time.Second)
	if c.Len() != 2 {
		t.Fatalf("Len = %d, want 2", c.Len())
	}
	mustSet(t, c, "newer", "newer", time.Hour)
	wantPresent(t, c, map[string]bool{"old": false, "new": true, "newer": true})
}

func TestNew_PanicsOnNonPositiveSize(t *testing.T) {
	for _, n := range []int{0, -1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d) did not panic", n)
				}
			}()
			lru.New(n)
		}()
	}
}

func benchKeys(n int) []string {
	keys := make([]string, n)
	for i := range keys {
		keys[i] = "ws:bench:" + strconv.Itoa(i)
	}
	return keys
}

func BenchmarkCache_Get(b *testing.B) {
	ctx := context.Background()
	keys := benchKeys(1024)
	c := lru.New(len(keys))
	value := make([]byte, 256)
	for _, k := range keys {
		if err := c.Set(ctx, k, value, time.Hour); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok, _ := c.Get(ctx, keys[i%len(keys)]); !ok {
			b.Fatal("miss")
		}
		i++
	}
}

func BenchmarkCache_Set(b *testing.B) {
	ctx := context.Background()
	keys := benchKeys(4096)
	c := lru.New(1024) // smaller than the key set, so most Sets also evict
	value := make([]byte, 256)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if err := c.Set(ctx, keys[i%len(keys)], value, time.Hour); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

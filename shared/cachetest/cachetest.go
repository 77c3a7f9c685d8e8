// Package cachetest is the conformance suite every domain.Cache implementation must pass.
//
// Each backend's tests call Run with a constructor for a fresh, empty cache; the suite then
// checks the behaviour the rest of VibeCode relies on (binary-safe values, TTL expiry,
// literal prefix invalidation, concurrency), so the in-process LRU of the embedded default
// and Redis in the cloud cannot drift apart.
package cachetest

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Run runs the whole conformance suite. newCache returns an empty cache; it is called once
// per subtest and must release the cache itself (t.Cleanup), because domain.Cache has no
// Close. The cache must hold at least 2,000 entries without evicting.
func Run(t *testing.T, newCache func(t *testing.T) domain.Cache) {
	tests := []struct {
		name string
		fn   func(t *testing.T, c domain.Cache)
	}{
		{"GetMiss", testGetMiss},
		{"SetGet", testSetGet},
		{"ValuesAreCopied", testValuesAreCopied},
		{"Overwrite", testOverwrite},
		{"NonPositiveTTLIsRejected", testNonPositiveTTL},
		{"TTLExpiry", testTTLExpiry},
		{"Delete", testDelete},
		{"DeletePrefix", testDeletePrefix},
		{"DeletePrefixGlobMetacharacters", testDeletePrefixGlob},
		{"DeletePrefixEmptyRemovesAll", testDeletePrefixEmpty},
		{"Concurrent", testConcurrent},
		{"Ping", func(t *testing.T, c domain.Cache) {
			if err := c.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newCache(t))
		})
	}
}

func set(t *testing.T, c domain.Cache, key string, value []byte, ttl time.Duration) {
	t.Helper()
	if err := c.Set(context.Background(), key, value, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// wantValue fails unless key holds exactly want.
func wantValue(t *testing.T, c domain.Cache, key string, want []byte) {
	t.Helper()
	got, ok, err := c.Get(context.Background(), key)
	switch {
	case err != nil:
		t.Fatalf("Get(%q): %v", key, err)
	case !ok:
		t.Fatalf("Get(%q): miss, want %q", key, want)
	case !bytes.Equal(got, want):
		t.Fatalf("Get(%q) = %q, want %q", key, got, want)
	}
}

// wantMiss fails unless key is absent, and checks that a miss returns a nil value.
func wantMiss(t *testing.T, c domain.Cache, key string) {
	t.Helper()
	got, ok, err := c.Get(context.Background(), key)
	switch {
	case err != nil:
		t.Fatalf("Get(%q): %v", key, err)
	case ok:
		t.Fatalf("Get(%q) = %q, want a miss", key, got)
	case got != nil:
		t.Fatalf("Get(%q) missed but returned %q, want nil", key, got)
	}
}

func testGetMiss(t *testing.T, c domain.Cache) {
	wantMiss(t, c, "absent")
	wantMiss(t, c, "")
}

func testSetGet(t *testing.T, c domain.Cache) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := map[string][]byte{
		"text":      []byte("hello, world"),
		"nul":       {0, 'a', 0, 0, 'b', 0},
		"allbytes":  all,
		"invalid8":  {0xff, 0xfe, 0xc3, 0x28},
		"large":     bytes.Repeat([]byte("0123456789abcdef"), 64<<10), // 1 MiB
		"ws:w1:x":   []byte(`{"json":true}`),
		"unicode ✓": []byte("ünïcödé"),
	}
	for k, v := range values {
		set(t, c, k, v, time.Minute)
	}
	for k, v := range values {
		wantValue(t, c, k, v)
	}

	// An empty value is a hit, not a miss: "cached, and it is empty" must differ from "not cached".
	for _, v := range [][]byte{{}, nil} {
		set(t, c, "empty", v, time.Minute)
		got, ok, err := c.Get(context.Background(), "empty")
		if err != nil || !ok || len(got) != 0 {
			t.Fatalf("Get(empty) after Set(%#v) = %q, %v, %v; want empty hit", v, got, ok, err)
		}
	}
}

func testValuesAreCopied(t *testing.T, c domain.Cache) {
	v := []byte("original")
	set(t, c, "k", v, time.Minute)
	copy(v, "MUTATED!")
	wantValue(t, c, "k", []byte("original"))

	got, _, err := c.Get(context.Background(), "k")
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	copy(got, "MUTATED!")
	wantValue(t, c, "k", []byte("original"))
}

func testOverwrite(t *testing.T, c domain.Cache) {
	set(t, c, "k", []byte("first value, longer"), time.Minute)
	set(t, c, "k", []byte("second"), time.Minute)
	wantValue(t, c, "k", []byte("second"))
	set(t, c, "k", []byte{}, time.Minute)
	got, ok, err := c.Get(context.Background(), "k")
	if err != nil || !ok || len(got) != 0 {
		t.Fatalf("Get after overwrite with empty = %q, %v, %v; want empty hit", got, ok, err)
	}
}

// testNonPositiveTTL pins that a zero or negative TTL is an error rather than "never expire":
// a zero TTL is almost always a forgotten configuration value, and an immortal entry in a
// shared Redis would never be reclaimed.
func testNonPositiveTTL(t *testing.T, c domain.Cache) {
	for _, ttl := range []time.Duration{0, -time.Second} {
		if err := c.Set(context.Background(), "k", []byte("v"), ttl); err == nil {
			t.Errorf("Set with ttl %v: no error", ttl)
		}
	}
	wantMiss(t, c, "k")
}

func testTTLExpiry(t *testing.T, c domain.Cache) {
	const short = 1500 * time.Millisecond
	start := time.Now()
	set(t, c, "short", []byte("s"), short)
	set(t, c, "long", []byte("l"), time.Hour)
	set(t, c, "renewed", []byte("r1"), short)
	set(t, c, "renewed", []byte("r2"), time.Hour) // an overwrite replaces the TTL

	// Only assert "still there" when the machine was quick enough that it must be.
	if time.Since(start) < short/2 {
		wantValue(t, c, "short", []byte("s"))
	}

	deadline := start.Add(short + 10*time.Second)
	for {
		_, ok, err := c.Get(context.Background(), "short")
		if err != nil {
			t.Fatalf("Get(short): %v", err)
		}
		if !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry with ttl %v still present after %v", short, time.Since(start))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if elapsed := time.Since(start); elapsed < short-100*time.Millisecond {
		t.Fatalf("entry with ttl %v expired after only %v", short, elapsed)
	}
	wantMiss(t, c, "short")
	wantValue(t, c, "long", []byte("l"))
	wantValue(t, c, "renewed", []byte("r2"))
}

func testDelete(t *testing.T, c domain.Cache) {
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d"} {
		set(t, c, k, []byte(k), time.Minute)
	}
	if err := c.Delete(ctx, "a", "absent", "c", "a"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	wantMiss(t, c, "a")
	wantMiss(t, c, "c")
	wantValue(t, c, "b", []byte("b"))
	wantValue(t, c, "d", []byte("d"))

	if err := c.Delete(ctx); err != nil {
		t.Fatalf("Delete with no keys: %v", err)
	}
	if err := c.Delete(ctx, "only-absent"); err != nil {
		t.Fatalf("Delete of an absent key: %v", err)
	}
	wantValue(t, c, "b", []byte("b"))
}

func testDeletePrefix(t *testing.T, c domain.Cache) {
	ctx := context.Background()
	// More keys than one Redis SCAN page (COUNT 1000), so pagination is exercised.
	const n = 1200
	prefix := domain.WorkspaceCachePrefix("a")
	for i := range n {
		set(t, c, fmt.Sprintf("%s%d", prefix, i), []byte("v"), time.Minute)
	}
	set(t, c, prefix, []byte("prefix itself"), time.Minute)
	keep := []string{"ws:ab:x", "ws:b:x", "ws:a", "xws:a:1", "WS:A:1", "ws:b:ws:a:1"}
	for _, k := range keep {
		set(t, c, k, []byte(k), time.Minute)
	}

	if err := c.DeletePrefix(ctx, prefix); err != nil {
		t.Fatalf("DeletePrefix: %v", err)
	}
	wantMiss(t, c, prefix)
	for i := range n {
		wantMiss(t, c, fmt.Sprintf("%s%d", prefix, i))
	}
	for _, k := range keep {
		wantValue(t, c, k, []byte(k))
	}

	if err := c.DeletePrefix(ctx, "nothing:matches:"); err != nil {
		t.Fatalf("DeletePrefix with no matches: %v", err)
	}
	for _, k := range keep {
		wantValue(t, c, k, []byte(k))
	}
}

// testDeletePrefixGlob checks that the prefix is matched literally: a backend that passes it to
// a glob matcher (Redis SCAN MATCH) unescaped would delete the "glob" keys below too.
func testDeletePrefixGlob(t *testing.T, c domain.Cache) {
	ctx := context.Background()
	prefix := `g:[ab]*?\:`
	gone := []string{prefix, prefix + "1", prefix + "*", prefix + `[x]\`}
	keep := []string{
		"g:a--:1",   // [ab] as a class, * and ? as wildcards, \: as an escaped ':'
		"g:bxyz:1",  // likewise
		`g:[ab]*?:`, // the backslash dropped
		`g:[ab]*?\`, // one byte short of the prefix
		`g:[ab]x?\:`,
		`g:\[ab]*?\:`,
	}
	for _, k := range append(gone, keep...) {
		set(t, c, k, []byte(k), time.Minute)
	}
	for _, k := range append(gone, keep...) {
		wantValue(t, c, k, []byte(k)) // such keys also round-trip
	}

	if err := c.DeletePrefix(ctx, prefix); err != nil {
		t.Fatalf("DeletePrefix(%q): %v", prefix, err)
	}
	for _, k := range gone {
		wantMiss(t, c, k)
	}
	for _, k := range keep {
		wantValue(t, c, k, []byte(k))
	}

	// A lone metacharacter as the whole prefix.
	for _, p := range []string{"*", "?", "[", "]", `\`} {
		set(t, c, p+"x", []byte("v"), time.Minute)
		set(t, c, "x"+p, []byte("v"), time.Minute)
		if err := c.DeletePrefix(ctx, p); err != nil {
			t.Fatalf("DeletePrefix(%q): %v", p, err)
		}
		wantMiss(t, c, p+"x")
		wantValue(t, c, "x"+p, []byte("v"))
	}
	for _, k := range keep {
		wantValue(t, c, k, []byte(k))
	}
}

// testDeletePrefixEmpty pins the literal reading of the contract: every key starts with "".
func testDeletePrefixEmpty(t *testing.T, c domain.Cache) {
	keys := []string{"a", "ws:a:1", "*", ""}
	for _, k := range keys {
		set(t, c, k, []byte("v"), time.Minute)
	}
	if err := c.DeletePrefix(context.Background(), ""); err != nil {
		t.Fatalf(`DeletePrefix(""): %v`, err)
	}
	for _, k := range keys {
		wantMiss(t, c, k)
	}
}

func testConcurrent(t *testing.T, c domain.Cache) {
	ctx := context.Background()
	const workers, rounds = 16, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			own := fmt.Sprintf("own:%d", w)
			for i := range rounds {
				want := fmt.Appendf(nil, "%d:%d", w, i)
				if err := c.Set(ctx, own, want, time.Minute); err != nil {
					t.Errorf("Set(%q): %v", own, err)
					return
				}
				if err := c.Set(ctx, "shared", want, time.Minute); err != nil {
					t.Errorf("Set(shared): %v", err)
					return
				}
				got, ok, err := c.Get(ctx, own)
				if err != nil || !ok || !bytes.Equal(got, want) {
					t.Errorf("Get(%q) = %q, %v, %v; want %q", own, got, ok, err, want)
					return
				}
				// Another worker may just have deleted "shared"; if it is there it must be
				// one whole write, never a torn mix of two.
				got, ok, err = c.Get(ctx, "shared")
				var gw, gi int
				if err != nil || ok && (!validWrite(got, &gw, &gi) || gw >= workers || gi >= rounds) {
					t.Errorf("Get(shared) = %q, %v, %v; want some worker's write", got, ok, err)
					return
				}
				if i%50 == 0 {
					if err := c.Delete(ctx, "shared"); err != nil {
						t.Errorf("Delete(shared): %v", err)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	for w := range workers {
		wantValue(t, c, fmt.Sprintf("own:%d", w), fmt.Appendf(nil, "%d:%d", w, rounds-1))
	}
}

// validWrite reports whether b has the form "<worker>:<round>" and parses it.
func validWrite(b []byte, w, i *int) bool {
	n, err := fmt.Sscanf(string(b), "%d:%d", w, i)
	return err == nil && n == 2 && string(b) == fmt.Sprintf("%d:%d", *w, *i)
}

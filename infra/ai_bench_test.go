package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/aigateway/aigatewaytest"
)

// benchAIEnv is the configuration of the AI benchmarks: limits and budgets out of the way,
// since they measure throughput and latency, not refusals.
var benchAIEnv = map[string]string{
	"AI_RATE_LIMIT_USER": "10000000", "AI_RATE_LIMIT_PRO": "10000000", "AI_USER_DAILY_BUDGET_USD": "-1",
	"MAX_BODY_BYTES": "65536",
}

// firstLine posts body to url and returns the time until the first line starting with
// prefix arrived; it then reads the response to its end.
func firstLine(tb testing.TB, hc *http.Client, url, token, prefix string, body []byte, header ...string) time.Duration {
	start := time.Now()
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := hc.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		tb.Fatalf("POST %s = %d: %s", url, resp.StatusCode, b)
	}
	rd := bufio.NewReader(resp.Body)
	var d time.Duration
	for {
		line, err := rd.ReadString('\n')
		if d == 0 && strings.HasPrefix(line, prefix) {
			d = time.Since(start)
		}
		if err != nil {
			if d == 0 {
				tb.Fatalf("no %q line in the answer from %s", prefix, url)
			}
			return d
		}
	}
}

// BenchmarkAI_FirstToken measures what the whole local stack adds before the first token of
// a chat answer — gateway routing, auth, rate limit, budget, the AI gateway and SSE — against
// posting the same chat-completions request straight to the fake provider on loopback. The two
// are interleaved per iteration; it reports p50/p99 of each and of the difference.
func BenchmarkAI_FirstToken(b *testing.B) {
	for _, name := range []string{"embedded", "postgres+redis"} {
		b.Run(name, func(b *testing.B) {
			fake := aigatewaytest.New(b, aigatewaytest.Reply("tok", "en"))
			base := aiStack(b, backendEnvs()[name](b), fake, benchAIEnv)
			c := signup(b, base, "bench-ai@example.com")
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 10}}
			direct, _ := json.Marshal(map[string]any{"model": "gpt-4o", "stream": true, "max_completion_tokens": 1024,
				"stream_options": map[string]any{"include_usage": true}, "messages": []map[string]any{{"role": "user", "content": "benchmark prompt"}}})
			viaStack, _ := json.Marshal(chatBody("benchmark prompt"))
			runDirect := func() time.Duration {
				return firstLine(b, hc, fake.URL+"/chat/completions", "sk-test", "data: ", direct)
			}
			runStack := func() time.Duration {
				return firstLine(b, hc, base+"/api/ai/chat", c.token, "event: delta", viaStack, "Cache-Control", "no-store")
			}
			for range 20 {
				runDirect()
				runStack()
			}
			var dl, sl, over []time.Duration
			b.ResetTimer()
			for i := range b.N {
				var d, s time.Duration
				if i%2 == 0 {
					d, s = runDirect(), runStack()
				} else {
					s, d = runStack(), runDirect()
				}
				dl, sl, over = append(dl, d), append(sl, s), append(over, s-d)
			}
			b.StopTimer()
			reportPercentiles(b, "direct", dl)
			reportPercentiles(b, "stack", sl)
			reportPercentiles(b, "overhead", over)
		})
	}
}

func reportPercentiles(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(s[len(s)/2]), name+"-p50-µs")
	b.ReportMetric(us(s[min(len(s)-1, len(s)*99/100)]), name+"-p99-µs")
}

// raiseFileLimit lifts the soft limit on open files to what n concurrent streams need (each
// holds four descriptors on loopback: both ends of the client's connection and of the
// upstream one), up to the hard limit; it fails the test if that is not enough.
func raiseFileLimit(t testing.TB, n int) {
	t.Helper()
	need := uint64(4*n + 512)
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("getrlimit: %v", err)
	}
	if lim.Cur >= need {
		return
	}
	if lim.Max < need {
		t.Fatalf("open-file hard limit %d is below the %d that %d streams need", lim.Max, need, n)
	}
	old := lim.Cur
	lim.Cur = need
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		t.Fatalf("setrlimit: %v", err)
	}
	t.Cleanup(func() {
		lim.Cur = old
		_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	})
}

// TestAI_ConcurrentStreams holds 2,000 chat streams open at once through the local stack
// against a fake provider on loopback: every answer's first token is streamed, then the
// provider holds all of them mid-answer until the 2,000th stream is open, then finishes them
// together. Every stream must end with its done event and the whole answer, with zero errors,
// within the time bound.
func TestAI_ConcurrentStreams(t *testing.T) {
	const n = 2000
	if testing.Short() {
		t.Skip("holds 2,000 streams; skipped with -short")
	}
	raiseFileLimit(t, n)
	fake := aigatewaytest.New(t, aigatewaytest.Reply("one ", "two ", "three"))
	fake.FirstSent = make(chan struct{}, n)
	fake.Hold = make(chan struct{})
	fake.Delay = 20 * time.Millisecond
	base := aiStack(t, map[string]string{"VIBECODE_DATA_DIR": t.TempDir()}, fake, benchAIEnv)
	c := signup(t, base, "many@example.com")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	allOpen := make(chan time.Duration, 1)
	start := time.Now()
	go func() { // release the answers once every stream is open mid-answer at once
		for range n {
			select {
			case <-fake.FirstSent:
			case <-ctx.Done():
				return
			}
		}
		allOpen <- time.Since(start)
		close(fake.Hold)
	}()

	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	var (
		wg     sync.WaitGroup
		errs   = make(chan error, n)
		open   atomic.Int64
		peak   atomic.Int64
		events atomic.Int64
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body, _ := json.Marshal(chatBody(fmt.Sprintf("stream %d", i)))
			req, _ := http.NewRequestWithContext(ctx, "POST", base+"/api/ai/chat", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+c.token)
			req.Header.Set("Content-Type", "application/json")
			resp, err := hc.Do(req)
			if err != nil {
				errs <- fmt.Errorf("stream %d: %w", i, err)
				return
			}
			defer resp.Body.Close()
			cur := open.Add(1)
			defer open.Add(-1)
			for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
			}
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				errs <- fmt.Errorf("stream %d: status %d: %s", i, resp.StatusCode, b)
				return
			}
			got := readEvents(t, resp.Body)
			events.Add(int64(len(got)))
			var text strings.Builder
			for _, e := range got {
				if e.name == "delta" {
					text.WriteString(e.data["delta"].(string))
				}
			}
			if len(got) == 0 || got[len(got)-1].name != "done" || text.String() != "one two three" {
				errs <- fmt.Errorf("stream %d: events %v", i, got)
			}
		}()
	}
	wg.Wait()
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	if len(all) > 0 {
		t.Fatalf("%d of %d streams failed; first: %v", len(all), n, errors.Join(all[:min(3, len(all))]...))
	}
	if fake.Served() != n {
		t.Fatalf("provider served %d requests, want %d", fake.Served(), n)
	}
	select {
	case d := <-allOpen:
		t.Logf("%d streams open at once after %v (client side peak %d); %d events, zero errors, all done in %v",
			n, d.Round(time.Millisecond), peak.Load(), events.Load(), time.Since(start).Round(time.Millisecond))
	default:
		t.Fatal("the streams were never all open at once")
	}
}

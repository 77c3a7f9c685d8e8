package aigateway_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/aigateway/aigatewaytest"
	"github.com/vibecode/vibecode/shared/domain"
)

// BenchmarkGateway_FirstToken measures what the gateway adds before the first token: each
// iteration asks the fake provider on loopback once directly through the openai adapter and
// once through Gateway.Stream (validation, budget check, routing, cache lookup, usage record
// at the end; cache bypassed so every request goes upstream), interleaved so both see the
// same machine load. It reports p50 and p99 time to first token of each, and the p50/p99 of
// the per-iteration difference.
func BenchmarkGateway_FirstToken(b *testing.B) {
	ts := &transports{}
	srv := aigatewaytest.New(b, aigatewaytest.Reply("tok", "en"))
	p := openAIProvider(b, ts, "alpha", srv, testModels("alpha", 1, 10))
	g, _, _ := newGateway(b, aigateway.Options{UserBudgetUSD: 1e9}, p) // budget checked, never reached
	ctx := context.Background()
	msgs := []domain.ChatMessage{{Role: "user", Content: "benchmark prompt"}}

	drain := func(recv func() (domain.ChatEvent, error)) {
		for {
			if _, err := recv(); err != nil {
				if !errors.Is(err, io.EOF) {
					b.Fatal(err)
				}
				return
			}
		}
	}
	direct := func() time.Duration {
		start := time.Now()
		st, err := p.ChatStream(ctx, domain.ChatRequest{Model: "alpha-strong", Messages: msgs, MaxTokens: 1024})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := st.Recv(); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		drain(st.Recv)
		st.Close()
		return d
	}
	viaGateway := func() time.Duration {
		start := time.Now()
		s, err := g.Stream(ctx, aigateway.Request{UserID: "bench", Kind: aigateway.KindChat, Messages: msgs, NoCache: true, NoStore: true})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := s.Recv(); err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		drain(s.Recv)
		s.Close()
		return d
	}
	for range 20 { // warm the connection pools
		direct()
		viaGateway()
	}
	var dl, gl, over []time.Duration
	b.ResetTimer()
	for i := range b.N {
		var d, gw time.Duration
		if i%2 == 0 {
			d, gw = direct(), viaGateway()
		} else {
			gw, d = viaGateway(), direct()
		}
		dl, gl, over = append(dl, d), append(gl, gw), append(over, gw-d)
	}
	b.StopTimer()
	reportPercentiles(b, "direct", dl)
	reportPercentiles(b, "gateway", gl)
	reportPercentiles(b, "overhead", over)
}

// reportPercentiles reports the p50 and p99 of ds in microseconds as <name>-p50-µs and
// <name>-p99-µs.
func reportPercentiles(b *testing.B, name string, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	us := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
	b.ReportMetric(us(s[len(s)/2]), fmt.Sprintf("%s-p50-µs", name))
	b.ReportMetric(us(s[min(len(s)-1, len(s)*99/100)]), fmt.Sprintf("%s-p99-µs", name))
}

package collab_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/workspace-vm/collab"
	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

// BenchmarkHub_FanOut holds 1,000 clients on 100 documents (10 each) on one hub over
// loopback, with production settings (every update fsync'd before it is relayed, files
// written back to disk). In each round one client of every document sends an update that
// is relayed to the other 9, and the fan-out latency (send to receipt, per copy) is recorded.
// Rounds are b.N per document:
//
//   - paced: each document gets an update every 200 ms (a typist's rate with y-monaco), the
//     documents staggered over the interval: 500 updates/s in, 4,500 frames/s out.
//
//   - burst: every document sends at the same moment and the next round starts once all
//     900 copies arrived: the most the hub does with 100 concurrent fsyncs per round.
//
//     go test ./workspace-vm/collab -run '^$' -bench FanOut -benchtime 50x
func BenchmarkHub_FanOut(b *testing.B) {
	b.Run("paced", func(b *testing.B) { benchFanOut(b, 200*time.Millisecond) })
	b.Run("burst", func(b *testing.B) { benchFanOut(b, 0) })
}

func benchFanOut(b *testing.B, interval time.Duration) {
	const docs, perDoc = 100, 10
	raiseFileLimit(b, 4*docs*perDoc)
	e := newBenchEnv(b)

	// The updates: a writer appending a line at a time. Every document gets the same
	// sequence (documents are independent), so a frame's bytes identify its round.
	w := yjs.NewDoc(yjs.RandomClientID())
	rounds := b.N
	frames := make([][]byte, rounds)
	round := make(map[string]int, rounds)
	text := ""
	for i := range rounds {
		text += fmt.Sprintf("line %d of the benchmark document\n", i)
		u, err := w.SetText("content", text)
		if err != nil {
			b.Fatal(err)
		}
		frames[i] = syncMsg(2, u)
		round[string(frames[i])] = i
	}

	sendAt := make([][]atomic.Int64, docs)
	for d := range sendAt {
		sendAt[d] = make([]atomic.Int64, rounds)
	}
	var (
		arrived sync.WaitGroup // every copy of every round
		roundWG atomic.Pointer[sync.WaitGroup]
		mu      sync.Mutex
		lat     = make([]time.Duration, 0, rounds*docs*(perDoc-1))
	)
	arrived.Add(rounds * docs * (perDoc - 1))
	conns := make([][]*websocket.Conn, docs)
	var readers, joined, dialWG sync.WaitGroup
	dialSem := make(chan struct{}, 16)
	for d := range docs {
		conns[d] = make([]*websocket.Conn, perDoc)
		for c := range perDoc {
			dialWG.Add(1)
			dialSem <- struct{}{}
			go func() {
				defer dialWG.Done()
				defer func() { <-dialSem }()
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				conn, _, err := websocket.Dial(ctx, e.url(fmt.Sprintf("bench/doc%03d.txt", d), ""), nil)
				if err != nil {
					b.Error(err)
					return
				}
				conn.SetReadLimit(64 << 20)
				_ = conn.Write(ctx, websocket.MessageBinary, []byte{0, 0, 1, 0}) // SyncStep1, as a client does
				conns[d][c] = conn
				if c == 0 {
					return // the sender of this document; it reads nothing
				}
				readers.Add(1)
				joined.Add(1)
				go func() {
					defer readers.Done()
					synced := false
					var local []time.Duration
					defer func() { mu.Lock(); lat = append(lat, local...); mu.Unlock() }()
					for {
						_, f, err := conn.Read(context.Background())
						if err != nil {
							return
						}
						if !synced && len(f) >= 2 && f[0] == 0 && f[1] == 1 {
							synced = true // the SyncStep2: this client has joined its document
							joined.Done()
						}
						if len(f) < 2 || f[0] != 0 || f[1] != 2 {
							continue
						}
						i, ok := round[string(f)]
						if !ok {
							continue
						}
						local = append(local, time.Duration(time.Now().UnixNano()-sendAt[d][i].Load()))
						arrived.Done()
						if wg := roundWG.Load(); wg != nil {
							wg.Done()
						}
					}
				}()
			}()
		}
	}
	dialWG.Wait()
	if b.Failed() {
		b.FailNow()
	}
	joined.Wait()

	send := func(d, i int) {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		sendAt[d][i].Store(time.Now().UnixNano())
		if err := conns[d][0].Write(ctx, websocket.MessageBinary, frames[i]); err != nil {
			b.Error(err)
		}
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime(b)
	if interval > 0 {
		var senders sync.WaitGroup
		for d := range docs {
			senders.Add(1)
			go func() {
				defer senders.Done()
				first := start.Add(interval * time.Duration(d) / docs)
				for i := range rounds {
					time.Sleep(time.Until(first.Add(interval * time.Duration(i))))
					send(d, i)
				}
			}()
		}
		senders.Wait()
	} else {
		for i := range rounds {
			wg := new(sync.WaitGroup)
			wg.Add(docs * (perDoc - 1))
			roundWG.Store(wg)
			for d := range docs {
				send(d, i)
			}
			if !waitTimeout(wg, deadline) {
				b.Fatalf("round %d: not every copy arrived", i)
			}
		}
	}
	if !waitTimeout(&arrived, deadline) {
		b.Fatal("not every copy arrived")
	}
	elapsed, cpu := time.Since(start), cpuTime(b)-cpu0
	b.StopTimer()

	for _, cs := range conns {
		for _, c := range cs {
			c.CloseNow()
		}
	}
	readers.Wait()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)-1].Microseconds())/1000, "max-ms")
	b.ReportMetric(float64(rounds*docs)/elapsed.Seconds(), "updates/s")
	// CPU of the whole process (hub and the 1,000 clients) per update relayed to 9 clients:
	// a figure that does not depend on what else runs on the machine.
	b.ReportMetric(float64(cpu.Microseconds())/float64(rounds*docs), "cpu-µs/update")
	b.ReportMetric(0, "ns/op")
}

// cpuTime is the process's user+system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func waitTimeout(wg *sync.WaitGroup, d time.Duration) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// newBenchEnv is newEnv for benchmarks: production defaults, logs discarded.
func newBenchEnv(b *testing.B) *env {
	b.Helper()
	h, err := collab.New(collab.Options{StateDir: b.TempDir(), WorkspaceDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	e := &env{}
	e.hub.Store(h)
	e.srv = newServer(e)
	b.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		defer cancel()
		_ = h.Close(ctx)
	})
	return e
}

// raiseFileLimit lifts the soft RLIMIT_NOFILE to at least n (within the hard limit): each
// client costs two descriptors on loopback.
func raiseFileLimit(b *testing.B, n uint64) {
	b.Helper()
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		b.Fatal(err)
	}
	if lim.Cur >= n {
		return
	}
	lim.Cur = min(max(n, lim.Cur), lim.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil || lim.Cur < n {
		b.Skipf("RLIMIT_NOFILE %d is below the %d descriptors this benchmark needs (%v)", lim.Cur, n, err)
	}
}

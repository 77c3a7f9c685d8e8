package lifecycle_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/postgres"
	"github.com/vibecode/vibecode/shared/sqlite"
	"github.com/vibecode/vibecode/shared/testserver"
	"github.com/vibecode/vibecode/shared/ticket"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// BenchmarkSweep measures one sweep over 10,000 running workspaces on each backend: the
// candidate query, the batched claim and the batched outcome (the provider's stops are
// instant fakes, so db-ms/op is the database work the issue bounds at 1 s). "1pct-idle" is
// the usual minute (100 workspaces due); "all-idle" the worst case, all 10,000 stopped in one
// run; cpu-ms/op is this process's CPU time (the whole database work with SQLite). Each
// iteration adds 10,000 fresh records, so later iterations also carry the stopped
// records of earlier ones, as a real table does.
func BenchmarkSweep(b *testing.B) {
	backends := map[string]func(b *testing.B) domain.Store{
		"sqlite": func(b *testing.B) domain.Store {
			s, err := sqlite.Open(context.Background(), b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
		"postgres": func(b *testing.B) domain.Store {
			s, err := postgres.Open(context.Background(), testserver.Postgres(b))
			if err != nil {
				b.Fatal(err)
			}
			return s
		},
	}
	for _, name := range []string{"sqlite", "postgres"} {
		for _, due := range []int{100, 10000} {
			label := "1pct-idle"
			if due == 10000 {
				label = "all-idle"
			}
			b.Run(name+"/"+label, func(b *testing.B) {
				st := backends[name](b)
				defer st.Close()
				benchSweep(b, st, 10000, due)
			})
		}
	}
}

func benchSweep(b *testing.B, st domain.Store, n, due int) {
	ctx := context.Background()
	clk := newClock()
	_, priv, _ := ticket.GenerateKey()
	prov := newFakeProvider("http://127.0.0.1:1")
	svc, err := lifecycle.New(st, prov, slog.New(slog.NewTextHandler(io.Discard, nil)),
		lifecycle.Options{TicketKey: priv, Now: clk.Now, SweepConcurrency: 64})
	if err != nil {
		b.Fatal(err)
	}
	var dbTotal, cpuTotal time.Duration
	round := 0
	for b.Loop() {
		b.StopTimer()
		round++
		now := clk.Now()
		states := make([]*domain.VMState, n)
		for i := range states {
			active := now.Add(-time.Minute)
			deadline := now.Add(29 * time.Minute)
			if i < due {
				active, deadline = now.Add(-31*time.Minute), now.Add(-time.Minute)
			}
			states[i] = &domain.VMState{WorkspaceID: fmt.Sprintf("ws-%03d-%05d", round, i), State: domain.VMRunning,
				Provider: "fake", InstanceID: fmt.Sprintf("i-%d-%d", round, i), AgentURL: "http://10.0.0.1:7070",
				StateChangedAt: now, StartedAt: &active, LastActivityAt: &active, LastHeartbeatAt: &now,
				LastClientAt: &active, Clients: 1, Deadline: &deadline}
		}
		if _, err := st.PutVMStates(ctx, states); err != nil {
			b.Fatal(err)
		}
		cpu0 := cpuTime()
		b.StartTimer()
		rep, err := svc.Sweep(ctx)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpuTotal += cpuTime() - cpu0
		if rep.Due != due || rep.Stopped != due {
			b.Fatalf("sweep: %+v, want %d stopped", rep, due)
		}
		dbTotal += rep.DBTime
		b.StartTimer()
	}
	b.ReportMetric(float64(dbTotal.Microseconds())/1000/float64(b.N), "db-ms/op")
	// CPU time of this process during the sweep: with SQLite that is the database's work
	// itself, and unlike wall time it does not grow when other processes share the cores.
	b.ReportMetric(float64(cpuTotal.Microseconds())/1000/float64(b.N), "cpu-ms/op")
}

// cpuTime returns the CPU time (user + system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

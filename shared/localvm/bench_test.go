package localvm_test

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/localvm"
	"github.com/vibecode/vibecode/shared/sqlite"
	"github.com/vibecode/vibecode/shared/ticket"
)

// BenchmarkResume measures a local resume through the lifecycle service: a stopped
// workspace's start until its agent answers /healthz (process start, port, health poll, the
// store's compare-and-sets). It uses the test agent, or the binary VIBECODE_AGENT_BIN names.
func BenchmarkResume(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	u := &domain.User{ID: domain.NewID(), Email: "b@example.com", Role: domain.RoleUser}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w"}
	if err := st.CreateUser(ctx, u); err != nil {
		b.Fatal(err)
	}
	if err := st.CreateWorkspace(ctx, w); err != nil {
		b.Fatal(err)
	}
	bin := fakeAgentBin
	if v := os.Getenv("VIBECODE_AGENT_BIN"); v != "" {
		bin = v
	}
	p := localvm.New(localvm.Options{DataDir: b.TempDir(), AgentBin: bin, Files: st})
	defer p.Close()
	_, priv, _ := ticket.GenerateKey()
	svc, err := lifecycle.New(st, p, slog.New(slog.NewTextHandler(io.Discard, nil)),
		lifecycle.Options{TicketKey: priv, ControlPlaneURL: "http://127.0.0.1:1"})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := svc.Start(ctx, w, u); err != nil { // the first start materialises the files
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		if _, err := svc.Stop(ctx, w.ID, domain.StopUser); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := svc.Start(ctx, w, u)
		if err != nil || !res.Started {
			b.Fatalf("resume: %+v, %v", res, err)
		}
	}
}

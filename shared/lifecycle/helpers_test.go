package lifecycle_test

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/sqlite"
	"github.com/vibecode/vibecode/shared/ticket"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeAgent is an agent that answers /healthz with the status it is set to.
type fakeAgent struct {
	url    string
	status atomic.Int32
}

func newFakeAgent(t *testing.T) *fakeAgent {
	a := &fakeAgent{}
	a.status.Store(http.StatusOK)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			http.NotFound(w, r)
			return
		}
		w.WriteHeader(int(a.status.Load()))
	}))
	t.Cleanup(srv.Close)
	a.url = srv.URL
	return a
}

// fakeProvider records its calls and which workspaces' VMs run; hooks replace a step.
type fakeProvider struct {
	agentURL string

	mu      sync.Mutex
	running map[string]string // workspace → instance
	starts  int
	stops   int
	specs   []domain.VMSpec
	stopIDs []string

	startHook func(ctx context.Context, spec domain.VMSpec) error
	waitHook  func(ctx context.Context) error
	stopHook  func(ctx context.Context) error
}

func newFakeProvider(agentURL string) *fakeProvider {
	return &fakeProvider{agentURL: agentURL, running: map[string]string{}}
}

func (p *fakeProvider) Name() string { return "fake" }

func (p *fakeProvider) Start(ctx context.Context, spec domain.VMSpec) (domain.VMInstance, error) {
	if p.startHook != nil {
		if err := p.startHook(ctx, spec); err != nil {
			return domain.VMInstance{}, err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.starts++
	p.specs = append(p.specs, spec)
	id := spec.InstanceID
	if id == "" {
		id = "i-" + spec.WorkspaceID[:8]
	}
	p.running[spec.WorkspaceID] = id
	return domain.VMInstance{ID: id}, nil
}

func (p *fakeProvider) WaitRunning(ctx context.Context, workspaceID string, inst domain.VMInstance) (string, error) {
	if p.waitHook != nil {
		if err := p.waitHook(ctx); err != nil {
			return "", err
		}
	}
	return p.agentURL, nil
}

func (p *fakeProvider) Stop(ctx context.Context, workspaceID string, inst domain.VMInstance) error {
	if p.stopHook != nil {
		if err := p.stopHook(ctx); err != nil {
			return err
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.stops++
	p.stopIDs = append(p.stopIDs, inst.ID)
	delete(p.running, workspaceID)
	return nil
}

func (p *fakeProvider) counts() (starts, stops, running int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts, p.stops, len(p.running)
}

// env is a service over a real embedded store, a fake provider, a fake agent and a fake clock.
type env struct {
	t     *testing.T
	svc   *lifecycle.Service
	store *sqlite.Store
	prov  *fakeProvider
	agent *fakeAgent
	clock *clock
	pub   ed25519.PublicKey
	user  *domain.User
	ws    *domain.Workspace
	wrap  *hookStore
}

// hookStore lets a test act between the sweeper's query and its claim, or corrupt a record.
type hookStore struct {
	lifecycle.Store
	afterDue func()
	override func(*domain.VMState)
}

func (h *hookStore) DueVMStates(ctx context.Context, now time.Time, limit int) ([]*domain.VMState, error) {
	due, err := h.Store.DueVMStates(ctx, now, limit)
	if h.afterDue != nil {
		h.afterDue()
	}
	return due, err
}

func (h *hookStore) VMState(ctx context.Context, id string) (*domain.VMState, error) {
	v, err := h.Store.VMState(ctx, id)
	if err == nil && h.override != nil {
		h.override(v)
	}
	return v, err
}

func newEnv(t *testing.T, tweak func(*lifecycle.Options)) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	pub, priv, err := ticket.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, store: st, clock: newClock(), pub: pub}
	e.agent = newFakeAgent(t)
	e.prov = newFakeProvider(e.agent.url)
	opts := lifecycle.Options{
		TicketKey:       priv,
		Now:             e.clock.Now,
		ControlPlaneURL: "http://control.example",
		PollInterval:    5 * time.Millisecond,
		StartTimeout:    5 * time.Second,
		StopTimeout:     5 * time.Second,
	}
	if tweak != nil {
		tweak(&opts)
	}
	e.wrap = &hookStore{Store: st}
	e.svc, err = lifecycle.New(e.wrap, e.prov, slog.New(slog.NewTextHandler(io.Discard, nil)), opts)
	if err != nil {
		t.Fatal(err)
	}
	e.user, e.ws = e.mkWorkspace("ada@example.com")
	return e
}

func (e *env) mkWorkspace(email string) (*domain.User, *domain.Workspace) {
	e.t.Helper()
	ctx := context.Background()
	now := e.clock.Now()
	u := &domain.User{ID: domain.NewID(), Email: email, Name: "Ada", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateUser(ctx, u); err != nil {
		e.t.Fatal(err)
	}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	if err := e.store.CreateWorkspace(ctx, w); err != nil {
		e.t.Fatal(err)
	}
	return u, w
}

func (e *env) start() *lifecycle.StartResult {
	e.t.Helper()
	res, err := e.svc.Start(context.Background(), e.ws, e.user)
	if err != nil {
		e.t.Fatalf("Start: %v", err)
	}
	return res
}

func (e *env) status() *lifecycle.Status {
	e.t.Helper()
	st, err := e.svc.Status(context.Background(), e.ws.ID)
	if err != nil {
		e.t.Fatalf("Status: %v", err)
	}
	return st
}

func (e *env) wantState(state, reason string) *lifecycle.Status {
	e.t.Helper()
	st := e.status()
	if st.State != state || st.StopReason != reason {
		e.t.Fatalf("state, reason = %q, %q (%s), want %q, %q", st.State, st.StopReason, st.StopDetail, state, reason)
	}
	return st
}

// token returns the agent token the provider was given at the last start.
func (e *env) token() string {
	e.prov.mu.Lock()
	defer e.prov.mu.Unlock()
	return e.prov.specs[len(e.prov.specs)-1].Agent.Token
}

func (e *env) heartbeat(hb domain.Heartbeat) *lifecycle.HeartbeatReply {
	e.t.Helper()
	r, err := e.svc.Heartbeat(context.Background(), e.ws.ID, e.token(), hb)
	if err != nil {
		e.t.Fatalf("Heartbeat: %v", err)
	}
	return r
}

func (e *env) sweep() lifecycle.SweepReport {
	e.t.Helper()
	rep, err := e.svc.Sweep(context.Background())
	if err != nil {
		e.t.Fatalf("Sweep: %v", err)
	}
	return rep
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func tp(t time.Time) *time.Time { return &t }

var errBoom = errors.New("boom")

func fmtPhases(ps []lifecycle.Phase) string { return fmt.Sprint(ps) }

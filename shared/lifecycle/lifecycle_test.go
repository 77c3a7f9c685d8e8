package lifecycle_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/ticket"
)

func TestService_StartStopResume(t *testing.T) {
	e := newEnv(t, nil)
	if st := e.status(); st.State != domain.VMStopped || st.AgentURL != "" {
		t.Fatalf("new workspace status = %+v", st)
	}

	res := e.start()
	if !res.Started || res.AgentURL != e.agent.url || res.Status.State != domain.VMRunning {
		t.Fatalf("start = %+v", res)
	}
	var names []string
	for _, p := range res.Phases {
		names = append(names, p.Name)
		if p.MS < 0 {
			t.Fatalf("phase %s took %d ms", p.Name, p.MS)
		}
	}
	if strings.Join(names, ",") != "provisioning,booting,agent_ready" {
		t.Fatalf("phases = %s", fmtPhases(res.Phases))
	}
	// The tickets verify with the public key the agent was given, one capability each.
	v := ticket.NewVerifier(e.pub)
	spec := e.prov.specs[0]
	if spec.Agent.TicketPublicKey != ticket.EncodePublicKey(e.pub) || spec.Agent.ControlPlaneURL != "http://control.example" ||
		spec.Agent.Token == "" || spec.Agent.WorkspaceID != e.ws.ID || spec.InstanceID != "" {
		t.Fatalf("agent config = %+v", spec)
	}
	for tok, capability := range map[string]string{res.Tickets.Terminal: ticket.CapTerminal, res.Tickets.Collab: ticket.CapCollab} {
		c, err := v.Verify(tok, e.ws.ID, time.Now())
		if err != nil || c.UserID != e.user.ID || len(c.Caps) != 1 || c.Caps[0] != capability {
			t.Fatalf("ticket for %s: %+v, %v", capability, c, err)
		}
	}
	st := e.wantState(domain.VMRunning, "")
	if st.AgentURL != e.agent.url || st.StopAt == nil || !st.StopAt.Equal(e.clock.Now().Add(3*time.Minute)) {
		t.Fatalf("running status = %+v", st)
	}

	// Starting a running workspace starts nothing and hands out fresh tickets.
	again := e.start()
	if again.Started || len(again.Phases) != 0 || again.AgentURL != e.agent.url || again.Tickets.Terminal == "" {
		t.Fatalf("second start = %+v", again)
	}
	if starts, _, _ := e.prov.counts(); starts != 1 {
		t.Fatalf("provider starts = %d, want 1", starts)
	}

	st, err := e.svc.Stop(context.Background(), e.ws.ID, domain.StopUser)
	if err != nil {
		t.Fatal(err)
	}
	if st.State != domain.VMStopped || st.StopReason != domain.StopUser || st.StoppedAt == nil || st.AgentURL != "" {
		t.Fatalf("after stop: %+v", st)
	}
	// Stopping again is a no-op.
	if _, err := e.svc.Stop(context.Background(), e.ws.ID, domain.StopUser); err != nil {
		t.Fatal(err)
	}
	if _, stops, running := e.prov.counts(); stops != 1 || running != 0 {
		t.Fatalf("provider stops, running = %d, %d, want 1, 0", stops, running)
	}

	// A resume hands the provider the instance to resume and a new agent token; the old
	// token no longer authenticates heartbeats.
	oldToken := e.token()
	e.start()
	if spec := e.prov.specs[1]; spec.InstanceID != "i-"+e.ws.ID[:8] || spec.Agent.Token == oldToken {
		t.Fatalf("resume spec = %+v", spec)
	}
	_, err = e.svc.Heartbeat(context.Background(), e.ws.ID, oldToken, domain.Heartbeat{})
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.svc.Heartbeat(context.Background(), e.ws.ID, "", domain.Heartbeat{})
	wantCode(t, err, domain.EUNAUTHORIZED)
	_, err = e.svc.Heartbeat(context.Background(), "missing", e.token(), domain.Heartbeat{})
	wantCode(t, err, domain.ENOTFOUND)
	_, err = e.svc.Heartbeat(context.Background(), e.ws.ID, e.token(), domain.Heartbeat{TerminalClients: -1})
	wantCode(t, err, domain.EINVALID)
}

func TestService_ConcurrentStartsStartOneVM(t *testing.T) {
	e := newEnv(t, nil)
	release := make(chan struct{})
	e.prov.startHook = func(ctx context.Context, _ domain.VMSpec) error {
		<-release
		return nil
	}
	const n = 8
	var wg sync.WaitGroup
	results := make([]*lifecycle.StartResult, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = e.svc.Start(context.Background(), e.ws, e.user)
		}()
	}
	// Everyone is in: one claimed the start, the others wait for it.
	for e.status().State != domain.VMStarting {
		time.Sleep(time.Millisecond)
	}
	if st := e.status(); st.Phase != domain.PhaseProvisioning {
		t.Fatalf("phase while provisioning = %q", st.Phase)
	}
	close(release)
	wg.Wait()
	started := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("start %d: %v", i, errs[i])
		}
		if results[i].AgentURL != e.agent.url {
			t.Fatalf("start %d: agent URL %q", i, results[i].AgentURL)
		}
		if results[i].Started {
			started++
		}
	}
	if starts, _, _ := e.prov.counts(); starts != 1 || started != 1 {
		t.Fatalf("provider starts = %d, answers that started = %d, want 1 and 1", starts, started)
	}
}

func TestService_StopDuringStart(t *testing.T) {
	for _, step := range []string{"provisioning", "booting"} {
		t.Run(step, func(t *testing.T) {
			e := newEnv(t, nil)
			entered, release := make(chan struct{}), make(chan struct{})
			hook := func(ctx context.Context) error {
				close(entered)
				<-release
				return nil
			}
			if step == "provisioning" {
				e.prov.startHook = func(ctx context.Context, _ domain.VMSpec) error { return hook(ctx) }
			} else {
				e.prov.waitHook = hook
			}
			errc := make(chan error, 1)
			go func() {
				_, err := e.svc.Start(context.Background(), e.ws, e.user)
				errc <- err
			}()
			<-entered
			st, err := e.svc.Stop(context.Background(), e.ws.ID, domain.StopUser)
			if err != nil {
				t.Fatalf("Stop during start: %v", err)
			}
			if st.State != domain.VMStopped || st.StopReason != domain.StopUser {
				t.Fatalf("stop during start answered %+v", st)
			}
			close(release)
			wantCode(t, <-errc, domain.ECONFLICT)
			e.wantState(domain.VMStopped, domain.StopUser)
			if _, _, running := e.prov.counts(); running != 0 {
				t.Fatalf("%d VMs left running after a stop during start", running)
			}
			// It starts again normally.
			e.prov.startHook, e.prov.waitHook = nil, nil
			e.start()
			e.wantState(domain.VMRunning, "")
		})
	}
}

func TestService_FailedStarts(t *testing.T) {
	cases := map[string]func(e *env){
		"never healthy": func(e *env) { e.agent.status.Store(http.StatusServiceUnavailable) },
		"provider error": func(e *env) {
			e.prov.startHook = func(context.Context, domain.VMSpec) error { return errBoom }
		},
		"provider times out": func(e *env) {
			e.prov.waitHook = func(ctx context.Context) error { <-ctx.Done(); return ctx.Err() }
		},
	}
	for name, breakIt := range cases {
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, func(o *lifecycle.Options) { o.StartTimeout = 300 * time.Millisecond })
			breakIt(e)
			_, err := e.svc.Start(context.Background(), e.ws, e.user)
			wantCode(t, err, domain.EUNAVAILABLE)
			st := e.wantState(domain.VMFailed, domain.StopFailed)
			if st.StopDetail == "" || !strings.Contains(domain.ErrorMessage(err), st.StopDetail) {
				t.Fatalf("detail %q, error %q", st.StopDetail, domain.ErrorMessage(err))
			}
			if _, _, running := e.prov.counts(); running != 0 {
				t.Fatalf("%d VMs left running after a failed start", running)
			}
			// Fixed, it can be started again.
			e.agent.status.Store(http.StatusOK)
			e.prov.startHook, e.prov.waitHook = nil, nil
			e.start()
			e.wantState(domain.VMRunning, "")
		})
	}
}

func TestService_StopFailureIsRetried(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.prov.stopHook = func(context.Context) error { return errBoom }
	_, err := e.svc.Stop(context.Background(), e.ws.ID, domain.StopUser)
	wantCode(t, err, domain.EUNAVAILABLE)
	e.wantState(domain.VMStopping, domain.StopUser)
	// Not due yet; then due once the retry deadline passes.
	if rep := e.sweep(); rep.Due != 0 {
		t.Fatalf("sweep before the retry deadline: %+v", rep)
	}
	e.prov.stopHook = nil
	e.clock.Advance(6 * time.Second)
	rep := e.sweep()
	if rep.Stopped != 1 || rep.Reasons[domain.StopUser] != 1 {
		t.Fatalf("retry sweep: %+v", rep)
	}
	e.wantState(domain.VMStopped, domain.StopUser)
}

func TestService_FailedCleanupIsRetried(t *testing.T) {
	e := newEnv(t, func(o *lifecycle.Options) { o.StartTimeout = 200 * time.Millisecond })
	e.agent.status.Store(http.StatusInternalServerError)
	e.prov.stopHook = func(context.Context) error { return errBoom }
	_, err := e.svc.Start(context.Background(), e.ws, e.user)
	wantCode(t, err, domain.EUNAVAILABLE)
	e.wantState(domain.VMFailed, domain.StopFailed)
	if _, _, running := e.prov.counts(); running != 1 {
		t.Fatal("the fake's stop was supposed to fail")
	}
	e.prov.stopHook = nil
	e.clock.Advance(10 * time.Second)
	if rep := e.sweep(); rep.Stopped != 1 {
		t.Fatalf("cleanup sweep: %+v", rep)
	}
	e.wantState(domain.VMFailed, domain.StopFailed)
	if _, _, running := e.prov.counts(); running != 0 {
		t.Fatal("the failed start's VM still runs after the cleanup sweep")
	}
}

func TestService_UnknownState(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.wrap.override = func(v *domain.VMState) { v.State = "hibernating" }
	_, err := e.svc.Status(context.Background(), e.ws.ID)
	wantCode(t, err, domain.EINTERNAL)
	_, err = e.svc.Start(context.Background(), e.ws, e.user)
	wantCode(t, err, domain.EINTERNAL)
	_, err = e.svc.Stop(context.Background(), e.ws.ID, domain.StopUser)
	wantCode(t, err, domain.EINTERNAL)
	e.wrap.override = nil
	e.wantState(domain.VMRunning, "")
}

func TestService_Keepalive(t *testing.T) {
	e := newEnv(t, nil)
	_, err := e.svc.Keepalive(context.Background(), e.ws.ID, time.Hour)
	wantCode(t, err, domain.ECONFLICT) // not running
	e.start()
	_, err = e.svc.Keepalive(context.Background(), e.ws.ID, 5*time.Hour)
	wantCode(t, err, domain.EINVALID)
	if !strings.Contains(domain.ErrorMessage(err), "4h0m0s") {
		t.Fatalf("message %q does not name the cap", domain.ErrorMessage(err))
	}
	_, err = e.svc.Keepalive(context.Background(), e.ws.ID, 0)
	wantCode(t, err, domain.EINVALID)

	st, err := e.svc.Keepalive(context.Background(), e.ws.ID, 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if !st.KeepaliveUntil.Equal(e.clock.Now().Add(2*time.Hour)) || !st.StopAt.Equal(*st.KeepaliveUntil) {
		t.Fatalf("keepalive status = %+v", st)
	}
	// The agent keeps reporting (no clients, no activity): the keepalive holds.
	for range 23 {
		e.clock.Advance(5 * time.Minute)
		e.heartbeat(domain.Heartbeat{})
		e.sweep()
	}
	e.wantState(domain.VMRunning, "")
	e.clock.Advance(6 * time.Minute)
	e.heartbeat(domain.Heartbeat{})
	rep := e.sweep()
	if rep.Stopped != 1 || rep.Reasons[domain.StopKeepaliveExpired] != 1 {
		t.Fatalf("sweep after the keepalive: %+v", rep)
	}
	e.wantState(domain.VMStopped, domain.StopKeepaliveExpired)
}

func TestSweep_IdleWithClients(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	// A client stays connected and types now and then for an hour: never stopped.
	for range 12 {
		e.clock.Advance(5 * time.Minute)
		r := e.heartbeat(domain.Heartbeat{LastInputAt: tp(e.clock.Now().Add(-time.Minute)), TerminalClients: 1})
		if r.Warning || r.State != domain.VMRunning {
			t.Fatalf("heartbeat reply while active: %+v", r)
		}
		if rep := e.sweep(); rep.Stopped != 0 {
			t.Fatalf("an active workspace was stopped: %+v", rep)
		}
	}
	last := e.clock.Now().Add(-time.Minute)
	// Then the tab stays open, idle: no activity, heartbeats continue.
	var warned bool
	for range 5 {
		e.clock.Advance(5 * time.Minute)
		r := e.heartbeat(domain.Heartbeat{LastInputAt: &last, CollabClients: 1})
		if r.Warning {
			warned = true
			if r.StopReason != domain.StopIdle || !r.StopAt.Equal(last.Add(30*time.Minute)) {
				t.Fatalf("warning = %+v", r)
			}
		}
		if rep := e.sweep(); rep.Stopped != 0 {
			t.Fatalf("stopped %s after the last activity", e.clock.Now().Sub(last))
		}
	}
	if !warned {
		t.Fatal("no heartbeat reply warned before the idle stop")
	}
	e.clock.Advance(5 * time.Minute)
	e.heartbeat(domain.Heartbeat{LastInputAt: &last, CollabClients: 1})
	if rep := e.sweep(); rep.Stopped != 1 || rep.Reasons[domain.StopIdle] != 1 {
		t.Fatalf("sweep after 31 idle minutes: %+v", rep)
	}
	st := e.wantState(domain.VMStopped, domain.StopIdle)
	if !strings.Contains(st.StopDetail, "30m0s") {
		t.Fatalf("detail = %q", st.StopDetail)
	}
	// The stopped agent's heartbeat learns it is stopped.
	if r := e.heartbeat(domain.Heartbeat{}); r.State != domain.VMStopped || !r.Warning {
		t.Fatalf("reply after the stop: %+v", r)
	}
}

func TestSweep_NoClients(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.clock.Advance(10 * time.Minute)
	e.heartbeat(domain.Heartbeat{LastOutputAt: tp(e.clock.Now()), TerminalClients: 2})
	e.clock.Advance(20 * time.Second)
	// The tab closes: three minutes after, with nothing happening, the workspace stops.
	e.heartbeat(domain.Heartbeat{})
	e.clock.Advance(2 * time.Minute)
	if rep := e.sweep(); rep.Stopped != 0 {
		t.Fatalf("stopped 2m20s after the last client: %+v", rep)
	}
	e.clock.Advance(time.Minute)
	if rep := e.sweep(); rep.Stopped != 1 || rep.Reasons[domain.StopIdleNoClients] != 1 {
		t.Fatalf("sweep 3m20s after the last client: %+v", rep)
	}
	e.wantState(domain.VMStopped, domain.StopIdleNoClients)
}

func TestSweep_AgentLost(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.heartbeat(domain.Heartbeat{LastInputAt: tp(e.clock.Now()), TerminalClients: 1})
	e.clock.Advance(3*time.Minute + time.Second)
	if rep := e.sweep(); rep.Reasons[domain.StopAgentLost] != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	e.wantState(domain.VMStopped, domain.StopAgentLost)
}

func TestSweep_ActivityDuringSweepWins(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.clock.Advance(31 * time.Minute)
	// The sweeper has read its candidates when the agent reports fresh input.
	e.wrap.afterDue = func() {
		e.wrap.afterDue = nil
		e.heartbeat(domain.Heartbeat{LastInputAt: tp(e.clock.Now()), TerminalClients: 1})
	}
	rep := e.sweep()
	if rep.Due != 1 || rep.Claimed != 0 || rep.Stopped != 0 {
		t.Fatalf("sweep: %+v", rep)
	}
	e.wantState(domain.VMRunning, "")
	if _, stops, _ := e.prov.counts(); stops != 0 {
		t.Fatal("the provider was asked to stop an active workspace")
	}
}

func TestSweep_Preempted(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	r := e.heartbeat(domain.Heartbeat{Preempted: true, TerminalClients: 1})
	if r.State != domain.VMStopping || !r.Warning || r.StopReason != domain.StopPreempted {
		t.Fatalf("reply to a preempted heartbeat: %+v", r)
	}
	if rep := e.sweep(); rep.Reasons[domain.StopPreempted] != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	e.wantState(domain.VMStopped, domain.StopPreempted)
	e.start()
	e.wantState(domain.VMRunning, "")
}

func TestSweep_PreemptedThenStartedBeforeSweep(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	e.heartbeat(domain.Heartbeat{Preempted: true})
	// The user starts again before any sweep: the start finishes the stop, then starts.
	res := e.start()
	if !res.Started {
		t.Fatalf("start after preemption: %+v", res)
	}
	if _, stops, running := e.prov.counts(); stops != 1 || running != 1 {
		t.Fatalf("stops, running = %d, %d", stops, running)
	}
}

func TestSweep_DeletedWorkspace(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	if err := e.store.DeleteWorkspace(context.Background(), e.ws.ID); err != nil {
		t.Fatal(err)
	}
	if r := e.heartbeat(domain.Heartbeat{}); r.State != domain.VMStopping || r.StopReason != domain.StopDeleted {
		t.Fatalf("reply: %+v", r)
	}
	if rep := e.sweep(); rep.Reasons[domain.StopDeleted] != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	if _, err := e.store.VMState(context.Background(), e.ws.ID); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("record after the deleted workspace's VM stopped: %v", err)
	}
	if _, _, running := e.prov.counts(); running != 0 {
		t.Fatal("the deleted workspace's VM still runs")
	}
}

func TestSweep_AbandonedStart(t *testing.T) {
	e := newEnv(t, nil)
	// A start whose owner died after claiming the record (a crashed function instance).
	now := e.clock.Now()
	abandoned := &domain.VMState{WorkspaceID: e.ws.ID, State: domain.VMStarting, Phase: domain.PhaseBooting,
		Provider: "fake", StateChangedAt: now, StartedAt: tp(now), Deadline: tp(now.Add(5 * time.Second))}
	if err := e.store.PutVMState(context.Background(), abandoned); err != nil {
		t.Fatal(err)
	}
	e.prov.running[e.ws.ID] = "i-unrecorded"
	if rep := e.sweep(); rep.Due != 0 {
		t.Fatalf("swept a start before its deadline: %+v", rep)
	}
	e.clock.Advance(6 * time.Second)
	if rep := e.sweep(); rep.Reasons[domain.StopStartTimeout] != 1 {
		t.Fatalf("sweep: %+v", rep)
	}
	e.wantState(domain.VMStopped, domain.StopStartTimeout)
	if _, _, running := e.prov.counts(); running != 0 {
		t.Fatal("the abandoned start's VM was orphaned")
	}
}

func TestSweep_ManyAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	const n = 50
	wss := []*domain.Workspace{e.ws}
	for i := range n - 1 {
		_, w := e.mkWorkspace("u" + string(rune('a'+i%26)) + string(rune('a'+i/26)) + "@example.com")
		wss = append(wss, w)
	}
	for _, w := range wss {
		if _, err := e.svc.Start(context.Background(), w, e.user); err != nil {
			t.Fatal(err)
		}
	}
	e.clock.Advance(4 * time.Minute) // no clients ever connected; the agents are silent too
	rep := e.sweep()
	if rep.Due != n || rep.Stopped != n || rep.Reasons[domain.StopIdleNoClients] != n {
		t.Fatalf("sweep: %+v", rep)
	}
	if _, _, running := e.prov.counts(); running != 0 {
		t.Fatalf("%d still running", running)
	}
}

func TestService_StartReplacesADeadAgent(t *testing.T) {
	e := newEnv(t, nil)
	e.start()
	// The agent died without a word (a restarted local stack killed it): no heartbeats, and
	// /healthz does not answer 200.
	e.clock.Advance(2 * time.Minute)
	e.agent.status.Store(http.StatusBadGateway)
	done := make(chan *lifecycle.StartResult, 1)
	go func() {
		res, err := e.svc.Start(context.Background(), e.ws, e.user)
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// The start stops the dead VM and starts a new one, which must become healthy.
	for {
		if starts, _, _ := e.prov.counts(); starts == 2 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	e.agent.status.Store(http.StatusOK)
	res := <-done
	if res == nil || !res.Started {
		t.Fatalf("start over a dead agent = %+v", res)
	}
	if _, stops, running := e.prov.counts(); stops != 1 || running != 1 {
		t.Fatalf("stops, running = %d, %d", stops, running)
	}
	// With a recent heartbeat, a start does not probe the agent at all.
	e.heartbeat(domain.Heartbeat{})
	e.agent.status.Store(http.StatusBadGateway)
	if again := e.start(); again.Started {
		t.Fatal("a start with a recent heartbeat restarted the VM")
	}
}

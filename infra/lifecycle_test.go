package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/ticket"
)

// lcAgentBin returns the agent binary the lifecycle tests run: VIBECODE_TEST_AGENT_BIN when
// set (the real agent), else the test agent from shared/localvm/testdata, built once.
var lcAgentBin = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("VIBECODE_TEST_AGENT_BIN"); bin != "" {
		return bin, nil
	}
	dir, err := os.MkdirTemp("", "lifecycle-agent")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "fakeagent")
	out, err := exec.Command("go", "build", "-o", bin, "../shared/localvm/testdata/fakeagent").CombinedOutput()
	if err != nil {
		return "", &buildError{err: err, out: string(out)}
	}
	return bin, nil
})

type buildError struct {
	err error
	out string
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }

// lcStack starts the local stack with the agents' control plane URL pointing at itself (the
// agents send their heartbeats there), tiny idle timeouts and a fast sweeper, and returns its
// base URL.
func lcStack(t *testing.T, env map[string]string) string {
	t.Helper()
	bin, err := lcAgentBin()
	if err != nil {
		t.Fatalf("build the test agent: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	base := "http://" + ln.Addr().String()
	_, priv, err := ticket.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	all := map[string]string{
		"BCRYPT_COST": "4", "ADMIN_EMAILS": "admin@example.com", "VIBECODE_DATA_DIR": t.TempDir(), "VIBECODE_AGENT_BIN": bin, "CONTROL_PLANE_URL": base,
		"TICKET_PRIVATE_KEY": ticket.EncodePrivateKey(priv),
		"IDLE_TIMEOUT":       "4s", "IDLE_TIMEOUT_NO_CLIENTS": "1500ms", "STOP_WARNING": "1s",
		"AGENT_HEARTBEAT_INTERVAL": "200ms", "AGENT_LOST_AFTER": "30s", "SWEEP_INTERVAL": "100ms",
		"START_TIMEOUT": "30s", "STOP_TIMEOUT": "10s",
	}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	h, closeFn, err := newStack(context.Background(), cfg, "../template.yaml", log)
	if err != nil {
		t.Fatalf("newStack: %v", err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		if err := closeFn(); err != nil {
			t.Errorf("close the stack: %v", err)
		}
	})
	return base
}

// agentDo sends a request to the test agent and returns its status and body.
func agentDo(t *testing.T, method, url string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// lcWait polls cond every 50 ms for up to 30 s.
func lcWait(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestLifecycle is the end-to-end test on the local stack: a workspace starts through the
// API on a real agent process, is used, is stopped by the sweeper for idleness with the reason
// recorded, and resumes with its terminal scrollback and files intact; other users cannot
// touch it, and bad input is refused.
func TestLifecycle(t *testing.T) {
	for name, env := range backendEnvs() {
		t.Run(name, func(t *testing.T) {
			e := env(t)
			delete(e, "VIBECODE_DATA_DIR")
			testLifecycle(t, lcStack(t, e))
		})
	}
}

func testLifecycle(t *testing.T, base string) {
	owner := signup(t, base, "owner@example.com")
	other := signup(t, base, "other@example.com")
	ws := str(owner.expect(201, "POST", "/api/workspaces", map[string]any{"name": "lc"}).json(t), "id")
	owner.expect(201, "PUT", "/api/workspaces/"+ws+"/files/src/main.go", "package main\n", "Content-Type", "application/octet-stream")
	p := "/api/workspaces/" + ws

	if st := owner.expect(200, "GET", p+"/status", nil).json(t); str(st, "state") != "stopped" {
		t.Fatalf("status before the first start: %v", st)
	}
	// Another user's workspace is not found, whatever the verb.
	for _, r := range [][2]string{{"POST", "/start"}, {"POST", "/stop"}, {"GET", "/status"}} {
		if code := other.expect(404, r[0], p+r[1], nil).errCode(t); code != "not_found" {
			t.Fatalf("%s %s by another user: %s", r[0], r[1], code)
		}
	}
	other.expect(404, "POST", p+"/keepalive", map[string]any{"seconds": 60})
	// A keepalive needs a running workspace.
	owner.expect(409, "POST", p+"/keepalive", map[string]any{"seconds": 60})

	// Start: the agent runs, with the workspace's files and the tickets' public key.
	r := owner.expect(200, "POST", p+"/start", nil).json(t)
	agent := str(r, "agent_url")
	phases, _ := r["phases"].([]any)
	tickets, _ := r["tickets"].(map[string]any)
	if r["started"] != true || agent == "" || len(phases) != 3 || str(tickets, "terminal") == "" || str(tickets, "collab") == "" {
		t.Fatalf("start = %v", r)
	}
	if code, body := agentDo(t, "GET", agent+"/file?path=src/main.go"); code != 200 || body != "package main\n" {
		t.Fatalf("the agent's workspace file: %d %q", code, body)
	}
	if code, body := agentDo(t, "GET", agent+"/env?name=JWT_SECRET"); code != 200 || body != "" {
		t.Fatalf("the agent sees JWT_SECRET: %d %q", code, body)
	}
	// A second start returns the same agent without starting anything.
	if again := owner.expect(200, "POST", p+"/start", nil).json(t); again["started"] != false || str(again, "agent_url") != agent {
		t.Fatalf("second start = %v", again)
	}

	// Keepalive beyond the cap is refused with the cap; the agent's token is not a user's.
	if m := owner.expect(400, "POST", p+"/keepalive", map[string]any{"seconds": 5 * 3600}).json(t); !strings.Contains(str(m["error"].(map[string]any), "message"), "4h0m0s") {
		t.Fatalf("keepalive over the cap: %v", m)
	}
	owner.expect(400, "POST", p+"/keepalive", map[string]any{"seconds": -1})
	owner.expect(400, "POST", p+"/keepalive", map[string]any{"hours": 1})
	owner.expect(404, "POST", p+"/heartbeat", map[string]any{})
	(&client{t: t, base: base}).expect(401, "POST", p+"/heartbeat", map[string]any{})
	(&client{t: t, base: base}).expect(404, "POST", p+"/heartbeat", map[string]any{}, "Authorization", "Bearer not-the-token")

	// Use it: a client connects and types, over and over, for longer than the no-client
	// timeout; the sweeper (every 100 ms) never stops it.
	if code, body := agentDo(t, "POST", agent+"/clients?n=1"); code != 200 || !strings.Contains(body, `"running"`) {
		t.Fatalf("heartbeat through the agent: %d %s", code, body)
	}
	for i := range 8 {
		if code, body := agentDo(t, "POST", agent+"/type?text="+string(rune('a'+i))); code != 200 || !strings.Contains(body, `"running"`) {
			t.Fatalf("typing: %d %s", code, body)
		}
		time.Sleep(300 * time.Millisecond)
	}
	st := owner.expect(200, "GET", p+"/status", nil).json(t)
	if str(st, "state") != "running" || st["last_activity_at"] == nil || str(st, "stop_at") == "" {
		t.Fatalf("status while used: %v", st)
	}

	// The client leaves: the sweeper stops the workspace and says why.
	agentDo(t, "POST", agent+"/clients?n=0")
	lcWait(t, "the idle stop", func() bool {
		return str(owner.expect(200, "GET", p+"/status", nil).json(t), "state") == "stopped"
	})
	st = owner.expect(200, "GET", p+"/status", nil).json(t)
	if str(st, "stop_reason") != "idle_no_clients" || str(st, "stop_detail") == "" || str(st, "agent_url") != "" {
		t.Fatalf("status after the idle stop: %v", st)
	}
	if code, _ := agentDo(t, "GET", agent+"/healthz"); code == 200 {
		t.Fatal("the agent still answers after the idle stop")
	}

	// Resume: a new agent process over the same state and files.
	r = owner.expect(200, "POST", p+"/start", nil).json(t)
	agent = str(r, "agent_url")
	if r["started"] != true {
		t.Fatalf("resume = %v", r)
	}
	if code, body := agentDo(t, "GET", agent+"/scrollback"); code != 200 || body != "abcdefgh" {
		t.Fatalf("scrollback after resume: %d %q", code, body)
	}
	if code, body := agentDo(t, "GET", agent+"/boots"); code != 200 || body != "2" {
		t.Fatalf("boots after resume: %d %q", code, body)
	}
	if code, body := agentDo(t, "GET", agent+"/file?path=src/main.go"); code != 200 || body != "package main\n" {
		t.Fatalf("file after resume: %d %q", code, body)
	}
	owner.expect(200, "POST", p+"/keepalive", map[string]any{"seconds": 3600})

	// The owner stops it.
	st = owner.expect(200, "POST", p+"/stop", nil).json(t)
	if str(st, "state") != "stopped" || str(st, "stop_reason") != "user" {
		t.Fatalf("stop = %v", st)
	}
	owner.expect(200, "POST", p+"/stop", nil)

	// The sweep route is for service accounts and admins only (Cloud Scheduler on GCP).
	owner.expect(403, "POST", "/api/lifecycle/sweep", nil)
	(&client{t: t, base: base}).expect(401, "POST", "/api/lifecycle/sweep", nil)
	admin := signup(t, base, "admin@example.com")
	if rep := admin.expect(200, "POST", "/api/lifecycle/sweep", nil).json(t); rep["due"] == nil || rep["reasons"] == nil {
		t.Fatalf("sweep report = %v", rep)
	}
}

package agent_test

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/ticket"
	"github.com/vibecode/vibecode/workspace-vm/agent"
	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

const (
	wait       = 30 * time.Second
	workspace  = "ws1"
	ideOrigin  = "http://ide.test"
	adminToken = "0123456789abcdef0123456789abcdef"
)

type env struct {
	t        *testing.T
	priv     ed25519.PrivateKey
	pub      ed25519.PublicKey
	dir      string
	stateDir string
	hub      agent.CollabHub
	terms    *terminal.Manager
	srv      *agent.Server
	http     *httptest.Server
	skew     atomic.Int64 // added to the agent's clock
}

func quiet() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newEnv(t *testing.T, hub agent.CollabHub) *env {
	t.Helper()
	pub, priv, err := ticket.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, priv: priv, pub: pub, dir: t.TempDir(), stateDir: filepath.Join(t.TempDir(), "state"), hub: hub}
	e.start()
	t.Cleanup(e.stop)
	return e
}

func (e *env) start() {
	e.t.Helper()
	act := agent.NewActivity()
	terms, err := terminal.NewManager(terminal.Options{
		Dir: e.dir, StateDir: e.stateDir, Shell: "/bin/bash", Logger: quiet(), Activity: act.Touch,
		Env: []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + e.dir, "LANG=C.UTF-8"},
	})
	if err != nil {
		e.t.Fatal(err)
	}
	e.terms = terms
	cfg := config.Agent{WorkspaceID: workspace, AllowedOrigins: []string{ideOrigin}, AdminToken: adminToken}
	e.srv = agent.New(cfg, agent.Deps{Terminals: terms, Collab: e.hub, Tickets: ticket.NewVerifier(e.pub), Activity: act, Logger: quiet(),
		Now: func() time.Time { return time.Now().Add(time.Duration(e.skew.Load())) }})
	e.http = httptest.NewServer(e.srv)
}

func (e *env) stop() {
	if e.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := e.srv.Shutdown(ctx); err != nil {
		e.t.Errorf("Shutdown: %v", err)
	}
	e.http.CloseClientConnections()
	e.http.Close()
	e.srv = nil
}

func (e *env) ticket(ws string, ttl time.Duration, caps ...string) string {
	e.t.Helper()
	s, err := ticket.NewIssuer(e.priv).Issue(ticket.Claims{UserID: "u1", WorkspaceID: ws, Caps: caps, Name: "Ada"}, ttl)
	if err != nil {
		e.t.Fatal(err)
	}
	return s
}

func (e *env) wsURL(path, tk string) string {
	u := "ws" + strings.TrimPrefix(e.http.URL, "http") + path
	if tk != "" {
		sep := "?"
		if strings.Contains(path, "?") {
			sep = "&"
		}
		u += sep + "ticket=" + url.QueryEscape(tk)
	}
	return u
}

// dial opens a WebSocket; it returns the HTTP status when the upgrade is refused.
func (e *env) dial(path, tk, origin string) (*wsClient, int) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	h := http.Header{}
	if origin != "" {
		h.Set("Origin", origin)
	}
	conn, resp, err := websocket.Dial(ctx, e.wsURL(path, tk), &websocket.DialOptions{HTTPHeader: h})
	if err != nil {
		if resp == nil {
			e.t.Fatalf("dial %s: %v", path, err)
		}
		return nil, resp.StatusCode
	}
	c := &wsClient{t: e.t, conn: conn, done: make(chan struct{})}
	e.t.Cleanup(func() { _ = conn.CloseNow() })
	go c.read()
	return c, http.StatusSwitchingProtocols
}

type wsClient struct {
	t    *testing.T
	conn *websocket.Conn
	mu   sync.Mutex
	out  strings.Builder
	hell *terminal.Hello
	err  error
	done chan struct{}
}

func (c *wsClient) read() {
	defer close(c.done)
	for {
		_, b, err := c.conn.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.err = err
			c.mu.Unlock()
			return
		}
		switch b[0] {
		case terminal.OpOutput:
			c.out.Write(b[1:])
		case terminal.OpHello:
			var h terminal.Hello
			_ = json.Unmarshal(b[1:], &h)
			c.hell = &h
		}
		c.mu.Unlock()
	}
}

func (c *wsClient) input(s string) {
	c.t.Helper()
	if err := c.conn.Write(context.Background(), websocket.MessageBinary, append([]byte{terminal.OpInput}, s...)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *wsClient) waitOutput(s string) {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		c.mu.Lock()
		ok := strings.Contains(c.out.String(), s)
		c.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("timed out waiting for %q", s)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *wsClient) hello() terminal.Hello {
	c.t.Helper()
	deadline := time.Now().Add(wait)
	for {
		c.mu.Lock()
		h := c.hell
		c.mu.Unlock()
		if h != nil {
			return *h
		}
		if time.Now().After(deadline) {
			c.t.Fatal("no hello")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *wsClient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatal("not closed")
	}
	return websocket.CloseStatus(c.err)
}

func (e *env) get(path, bearer, tk string) (int, map[string]any) {
	e.t.Helper()
	u := e.http.URL + path
	if tk != "" {
		u += "?ticket=" + url.QueryEscape(tk)
	}
	req, _ := http.NewRequest(http.MethodGet, u, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body
}

func TestServer_Healthz(t *testing.T) {
	e := newEnv(t, nil)
	if code, body := e.get("/healthz", "", ""); code != 200 || body["status"] != "ok" {
		t.Fatalf("healthz = %d %v", code, body)
	}
}

// TestServer_TerminalAuth: every refusal happens before the upgrade, with 401 or 403.
func TestServer_TerminalAuth(t *testing.T) {
	e := newEnv(t, nil)
	_, otherPriv, _ := ticket.GenerateKey()
	forged, _ := ticket.NewIssuer(otherPriv).Issue(ticket.Claims{UserID: "u1", WorkspaceID: workspace, Caps: []string{"terminal"}}, 0)
	expired := e.ticket(workspace, time.Second, ticket.CapTerminal)
	cases := []struct {
		name, tk, origin string
		want             int
	}{
		{"no ticket", "", "", http.StatusUnauthorized},
		{"garbage", "x.y.z", "", http.StatusUnauthorized},
		{"forged", forged, "", http.StatusUnauthorized},
		{"wrong workspace", e.ticket("ws2", 0, ticket.CapTerminal), "", http.StatusUnauthorized},
		{"collab-only ticket", e.ticket(workspace, 0, ticket.CapCollab), "", http.StatusForbidden},
		{"bad origin", e.ticket(workspace, 0, ticket.CapTerminal), "http://evil.test", http.StatusForbidden},
		{"null origin", e.ticket(workspace, 0, ticket.CapTerminal), "null", http.StatusForbidden},
		{"good, IDE origin", e.ticket(workspace, 0, ticket.CapTerminal), ideOrigin, http.StatusSwitchingProtocols},
		{"good, no origin", e.ticket(workspace, 0, ticket.CapTerminal), "", http.StatusSwitchingProtocols},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, code := e.dial("/terminals/auth", tc.tk, tc.origin)
			if code != tc.want {
				t.Fatalf("status %d, want %d", code, tc.want)
			}
			if c != nil {
				_ = c.conn.Close(websocket.StatusNormalClosure, "")
			}
		})
	}
	t.Run("expired", func(t *testing.T) {
		e.skew.Store(int64(time.Minute))
		defer e.skew.Store(0)
		if _, code := e.dial("/terminals/auth", expired, ""); code != http.StatusUnauthorized {
			t.Fatalf("expired ticket: %d", code)
		}
	})
	if _, code := e.dial("/terminals/bad.id", e.ticket(workspace, 0, ticket.CapTerminal), ""); code != http.StatusBadRequest {
		t.Errorf("bad id: %d", code)
	}
}

func TestServer_Terminals(t *testing.T) {
	e := newEnv(t, nil)
	a, _ := e.dial("/terminals/one", e.ticket(workspace, 0, ticket.CapTerminal), ideOrigin)
	b, _ := e.dial("/terminals/two", e.ticket(workspace, 0, ticket.CapTerminal), ideOrigin)
	a.input("echo one$((1+1))\r")
	b.input("echo two$((2+2))\r")
	a.waitOutput("one2")
	b.waitOutput("two4")
	if h := a.hello(); h.ReadOnly || h.Session != "one" {
		t.Errorf("hello = %+v", h)
	}
	sized, _ := e.dial("/terminals/sized?cols=90&rows=20", e.ticket(workspace, 0, ticket.CapTerminal), "")
	if h := sized.hello(); h.Cols != 90 || h.Rows != 20 {
		t.Errorf("sized hello = %+v", h)
	}

	v, _ := e.dial("/terminals/one", e.ticket(workspace, 0, ticket.CapTerminalRead), ideOrigin)
	if h := v.hello(); !h.ReadOnly {
		t.Errorf("viewer hello = %+v", h)
	}
	v.waitOutput("one2")
	v.input("echo nope\r")
	if code := v.closeStatus(); code != terminal.CloseForbidden {
		t.Errorf("viewer typing: %d", code)
	}

	code, body := e.get("/terminals", "", e.ticket(workspace, 0, ticket.CapTerminalRead))
	if code != 200 || len(body["terminals"].([]any)) != 3 {
		t.Errorf("list = %d %v", code, body)
	}
	if code, _ := e.get("/terminals", e.ticket(workspace, 0, ticket.CapTerminal), ""); code != 200 {
		t.Errorf("list with bearer ticket = %d", code)
	}
	if code, _ := e.get("/terminals", "", ""); code != http.StatusUnauthorized {
		t.Errorf("list without ticket = %d", code)
	}
	if code, _ := e.get("/terminals", "", e.ticket(workspace, 0, ticket.CapCollab)); code != http.StatusForbidden {
		t.Errorf("list with a collab ticket = %d", code)
	}
}

func TestServer_Stats(t *testing.T) {
	hub := &fakeHub{stats: agent.CollabStats{Documents: 3, Clients: 5}}
	e := newEnv(t, hub)
	if code, _ := e.get("/stats", "", ""); code != http.StatusUnauthorized {
		t.Errorf("stats without credentials = %d", code)
	}
	if code, _ := e.get("/stats", "not-the-admin-token-but-long-enough", ""); code != http.StatusUnauthorized {
		t.Errorf("stats with a wrong token = %d", code)
	}
	code, body := e.get("/stats", adminToken, "")
	if code != 200 || body["sessions"] != 0.0 || body["documents"] != 3.0 || body["collabClients"] != 5.0 || body["lastActivityAt"] != nil {
		t.Fatalf("idle stats = %d %v", code, body)
	}
	c, _ := e.dial("/terminals/s", e.ticket(workspace, 0, ticket.CapTerminal), "")
	c.hello()
	// An open, idle terminal is not activity.
	if _, body := e.get("/stats", adminToken, ""); body["clients"] != 1.0 || body["sessions"] != 1.0 {
		t.Fatalf("stats = %v", body)
	}
	c.input("echo act$((1+1))\r")
	c.waitOutput("act2")
	code, body = e.get("/stats", "", e.ticket(workspace, 0, ticket.CapCollabRead))
	if code != 200 {
		t.Fatalf("stats with a ticket = %d", code)
	}
	last := body["lastActivity"].(map[string]any)
	if last[terminal.ActivityInput] == nil || last[terminal.ActivityOutput] == nil || body["lastActivityAt"] == nil {
		t.Errorf("activity after typing: %v", body)
	}
}

// fakeHub records what the agent hands it.
type fakeHub struct {
	mu     sync.Mutex
	docs   []string
	users  []agent.CollabUser
	stats  agent.CollabStats
	closed bool
}

func (h *fakeHub) Serve(w http.ResponseWriter, r *http.Request, doc string, user agent.CollabUser) {
	h.mu.Lock()
	h.docs, h.users = append(h.docs, doc), append(h.users, user)
	h.mu.Unlock()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	_ = conn.Close(websocket.StatusNormalClosure, "bye")
}

func (h *fakeHub) Stats() agent.CollabStats { h.mu.Lock(); defer h.mu.Unlock(); return h.stats }

func (h *fakeHub) Close(context.Context) error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	return nil
}

func TestServer_Collab(t *testing.T) {
	t.Run("no hub", func(t *testing.T) {
		e := newEnv(t, nil)
		if _, code := e.dial("/collab/a.txt", e.ticket(workspace, 0, ticket.CapCollab), ""); code != http.StatusServiceUnavailable {
			t.Errorf("status %d, want 503", code)
		}
	})
	hub := &fakeHub{}
	e := newEnv(t, hub)
	for _, tc := range []struct {
		path, tk, origin string
		want             int
	}{
		{"/collab/src/main.go", e.ticket(workspace, 0, ticket.CapCollab), ideOrigin, 101},
		{"/collab/README.md", e.ticket(workspace, 0, ticket.CapCollabRead), "", 101},
		{"/collab/x.go", e.ticket(workspace, 0, ticket.CapTerminal), "", http.StatusForbidden},
		{"/collab/x.go", e.ticket("ws2", 0, ticket.CapCollab), "", http.StatusUnauthorized},
		{"/collab/x.go", e.ticket(workspace, 0, ticket.CapCollab), "http://evil.test", http.StatusForbidden},
		{"/collab/a%00b", e.ticket(workspace, 0, ticket.CapCollab), "", http.StatusBadRequest},
		{"/collab/a%5Cb", e.ticket(workspace, 0, ticket.CapCollab), "", http.StatusBadRequest},
	} {
		c, code := e.dial(tc.path, tc.tk, tc.origin)
		if code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.path, code, tc.want)
		}
		if c != nil {
			c.closeStatus()
		}
	}
	hub.mu.Lock()
	defer hub.mu.Unlock()
	want := []agent.CollabUser{{ID: "u1", Name: "Ada"}, {ID: "u1", Name: "Ada", ReadOnly: true}}
	if strings.Join(hub.docs, ",") != "src/main.go,README.md" || len(hub.users) != 2 || hub.users[0] != want[0] || hub.users[1] != want[1] {
		t.Errorf("hub got %v %v", hub.docs, hub.users)
	}
}

// TestServer_ShutdownAndRestart: SIGTERM's path closes terminals with 4503 and the hub; a new
// server over the same state dir gives the scrollback back in a fresh shell in the same cwd.
func TestServer_ShutdownAndRestart(t *testing.T) {
	hub := &fakeHub{}
	e := newEnv(t, hub)
	work := t.TempDir()
	c, _ := e.dial("/terminals/keep", e.ticket(workspace, 0, ticket.CapTerminal), "")
	c.input("cd " + work + " && echo KEPT$((40+2))\r")
	c.waitOutput("KEPT42")

	e.stop()
	if code := c.closeStatus(); code != terminal.CloseShuttingDown {
		t.Errorf("close on shutdown = %d, want %d", code, terminal.CloseShuttingDown)
	}
	hub.mu.Lock()
	closed := hub.closed
	hub.mu.Unlock()
	if !closed {
		t.Error("hub not closed")
	}

	e.start()
	d, _ := e.dial("/terminals/keep", e.ticket(workspace, 0, ticket.CapTerminal), "")
	if h := d.hello(); !h.Restored {
		t.Errorf("hello = %+v", h)
	}
	d.waitOutput("KEPT42")
	d.input("echo [$(pwd)]\r")
	d.waitOutput("[" + work + "]")
}

func TestServer_ShuttingDownRefusesSockets(t *testing.T) {
	e := newEnv(t, nil)
	srv := e.srv
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, code := e.dial("/terminals/x", e.ticket(workspace, 0, ticket.CapTerminal), ""); code != http.StatusServiceUnavailable {
		t.Errorf("socket during shutdown: %d", code)
	}
	if code, _ := e.get("/healthz", "", ""); code != http.StatusServiceUnavailable {
		t.Errorf("healthz during shutdown: %d", code)
	}
}

func TestServer_CORS(t *testing.T) {
	e := newEnv(t, nil)
	req, _ := http.NewRequest(http.MethodOptions, e.http.URL+"/terminals", nil)
	req.Header.Set("Origin", ideOrigin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != ideOrigin {
		t.Errorf("preflight = %d %v", resp.StatusCode, resp.Header)
	}
	req.Header.Set("Origin", "http://evil.test")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("evil preflight = %d", resp.StatusCode)
	}
}

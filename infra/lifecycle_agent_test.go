package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// realAgentBin builds the workspace agent (./workspace-vm) once for the tests.
var realAgentBin = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "lifecycle-real-agent")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "agent")
	out, err := exec.Command("go", "build", "-o", bin, "../workspace-vm").CombinedOutput()
	if err != nil {
		return "", &buildError{err: err, out: string(out)}
	}
	return bin, nil
})

// termConn is a terminal WebSocket of the real agent, read into one buffer.
type termConn struct {
	t     *testing.T
	c     *websocket.Conn
	mu    sync.Mutex
	out   bytes.Buffer
	hello map[string]any
	done  chan struct{}
}

// openTerminal connects to terminal id of the agent with a ticket and reads until closed.
func openTerminal(t *testing.T, agentURL, id, ticket string) *termConn {
	t.Helper()
	u := strings.Replace(agentURL, "http://", "ws://", 1) + "/terminals/" + id + "?ticket=" + url.QueryEscape(ticket)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, u, nil)
	if err != nil {
		t.Fatalf("dial %s: %v", id, err)
	}
	c.SetReadLimit(1 << 20)
	tc := &termConn{t: t, c: c, done: make(chan struct{})}
	go func() {
		defer close(tc.done)
		for {
			_, msg, err := c.Read(context.Background())
			if err != nil || len(msg) == 0 {
				return
			}
			tc.mu.Lock()
			switch msg[0] {
			case 0x00: // output
				tc.out.Write(msg[1:])
			case 0x02: // hello
				_ = json.Unmarshal(msg[1:], &tc.hello)
			}
			tc.mu.Unlock()
		}
	}()
	return tc
}

func (tc *termConn) input(s string) {
	tc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := tc.c.Write(ctx, websocket.MessageBinary, append([]byte{0x00}, s...)); err != nil {
		tc.t.Fatalf("input: %v", err)
	}
}

func (tc *termConn) waitOutput(want string) {
	tc.t.Helper()
	lcWait(tc.t, "terminal output "+want, func() bool {
		tc.mu.Lock()
		defer tc.mu.Unlock()
		return strings.Contains(tc.out.String(), want)
	})
}

func (tc *termConn) close() {
	_ = tc.c.Close(websocket.StatusNormalClosure, "")
	<-tc.done
}

// TestLifecycle_RealAgent runs the done-when scenario with the real agent: a workspace starts
// through the API, a terminal is used (its files are there), the client leaves and the sweeper
// stops the idle workspace with the reason recorded (the agent's heartbeats carry its
// activity and client count), and the resumed workspace's terminal replays its scrollback.
func TestLifecycle_RealAgent(t *testing.T) {
	bin, err := realAgentBin()
	if err != nil {
		t.Fatalf("build the agent: %v", err)
	}
	base := lcStack(t, map[string]string{"VIBECODE_AGENT_BIN": bin})
	owner := signup(t, base, "real@example.com")
	ws := str(owner.expect(201, "POST", "/api/workspaces", map[string]any{"name": "real"}).json(t), "id")
	owner.expect(201, "PUT", "/api/workspaces/"+ws+"/files/notes/todo.txt", "write the lifecycle\n", "Content-Type", "application/octet-stream")
	p := "/api/workspaces/" + ws

	r := owner.expect(200, "POST", p+"/start", nil).json(t)
	agent, tickets := str(r, "agent_url"), r["tickets"].(map[string]any)
	term := openTerminal(t, agent, "main", str(tickets, "terminal"))
	term.input("cat notes/todo.txt; echo lifecycle-$((6*7))\n")
	term.waitOutput("write the lifecycle")
	term.waitOutput("lifecycle-42")
	// The agent reports the terminal's activity and its client: the workspace stays up.
	lcWait(t, "a heartbeat with a client", func() bool {
		st := owner.expect(200, "GET", p+"/status", nil).json(t)
		return st["clients"] == float64(1)
	})
	term.close()

	lcWait(t, "the idle stop", func() bool {
		return str(owner.expect(200, "GET", p+"/status", nil).json(t), "state") == "stopped"
	})
	if st := owner.expect(200, "GET", p+"/status", nil).json(t); str(st, "stop_reason") != "idle_no_clients" {
		t.Fatalf("status after the idle stop: %v", st)
	}

	r = owner.expect(200, "POST", p+"/start", nil).json(t)
	if r["started"] != true {
		t.Fatalf("resume = %v", r)
	}
	agent, tickets = str(r, "agent_url"), r["tickets"].(map[string]any)
	term = openTerminal(t, agent, "main", str(tickets, "terminal"))
	defer term.close()
	term.waitOutput("lifecycle-42") // the scrollback came back
	term.mu.Lock()
	restored := term.hello["restored"]
	term.mu.Unlock()
	if restored != true {
		t.Fatalf("hello after resume = %v, want restored", term.hello)
	}
	term.input("cat notes/todo.txt\n")
	term.waitOutput("write the lifecycle\r\n")
	owner.expect(200, "POST", p+"/stop", nil)
}

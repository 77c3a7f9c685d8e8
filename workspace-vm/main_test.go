package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/shared/ticket"
	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

const wait = 60 * time.Second

type agentProc struct {
	cmd      *exec.Cmd
	addr     string
	stateDir string
	issuer   *ticket.Issuer
}

// startAgent builds the static binary (CGO_ENABLED=0, as deployed) and runs it on a free port.
func startAgent(tb testing.TB) *agentProc {
	tb.Helper()
	bin := filepath.Join(tb.TempDir(), "agent")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build: %v\n%s", err, out)
	}
	pub, priv, err := ticket.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	work, state := tb.TempDir(), tb.TempDir()
	cmd := exec.Command(bin)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + work, "SHELL=/bin/bash",
		"AGENT_ADDR=127.0.0.1:0", "WORKSPACE_ID=ws1", "WORKSPACE_DIR=" + work, "AGENT_STATE_DIR=" + state,
		"TICKET_PUBLIC_KEY=" + ticket.EncodePublicKey(pub), "AGENT_ADMIN_TOKEN=" + strings.Repeat("a", 32),
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	// The agent logs its address as JSON: {"msg":"agent listening","addr":"127.0.0.1:NNNN",…}.
	lines := bufio.NewScanner(stderr)
	addr := make(chan string, 1)
	go func() {
		for lines.Scan() {
			var rec struct{ Msg, Addr string }
			if json.Unmarshal(lines.Bytes(), &rec) == nil && rec.Msg == "agent listening" {
				addr <- rec.Addr
			}
		}
	}()
	p := &agentProc{cmd: cmd, stateDir: state, issuer: ticket.NewIssuer(priv)}
	select {
	case p.addr = <-addr:
	case <-time.After(wait):
		tb.Fatal("agent did not start")
	}
	return p
}

func (p *agentProc) ticket(tb testing.TB, caps ...string) string {
	tb.Helper()
	s, err := p.issuer.Issue(ticket.Claims{UserID: "u", WorkspaceID: "ws1", Caps: caps}, 0)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func rssKB(tb testing.TB, pid int) int {
	tb.Helper()
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return n
		}
	}
	tb.Fatal("no VmRSS")
	return 0
}

// TestAgentBinary runs the real binary: health, a terminal, then SIGTERM saves the terminal,
// closes its socket with 4503 and exits 0.
func TestAgentBinary(t *testing.T) {
	p := startAgent(t)
	resp, err := http.Get("http://" + p.addr + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+p.addr+"/terminals/main?ticket="+url.QueryEscape(p.ticket(t, "terminal")), nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.Write(ctx, websocket.MessageBinary, append([]byte{terminal.OpInput}, "echo BIN$((4+4))\r"...)); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	for !strings.Contains(out.String(), "BIN8") {
		_, b, err := conn.Read(ctx)
		if err != nil {
			t.Fatalf("read: %v (output %q)", err, out.String())
		}
		if b[0] == terminal.OpOutput {
			out.Write(b[1:])
		}
	}

	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for {
		_, _, err := conn.Read(ctx)
		if err != nil {
			if code := websocket.CloseStatus(err); code != terminal.CloseShuttingDown {
				t.Errorf("close on SIGTERM = %d (%v), want %d", code, err, terminal.CloseShuttingDown)
			}
			break
		}
	}
	if err := p.cmd.Wait(); err != nil {
		t.Errorf("agent exit: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p.stateDir, "terminals", "main.json")); err != nil {
		t.Errorf("terminal state not saved: %v", err)
	}
}

// BenchmarkAgentIdleRSS reports the resident memory of the running binary: idle, and with
// one terminal open (the shell itself is a separate process and not counted).
func BenchmarkAgentIdleRSS(b *testing.B) {
	p := startAgent(b)
	b.ResetTimer()
	for range b.N {
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
	}
	time.Sleep(time.Second)
	b.ReportMetric(float64(rssKB(b, p.cmd.Process.Pid))/1024, "idle-RSS-MB")

	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws://"+p.addr+"/terminals/t?ticket="+url.QueryEscape(p.ticket(b, "terminal")), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.CloseNow()
	if err := conn.Write(ctx, websocket.MessageBinary, append([]byte{terminal.OpInput}, "echo R$((1+1))\r"...)); err != nil {
		b.Fatal(err)
	}
	var out strings.Builder
	for !strings.Contains(out.String(), "R2") {
		_, m, err := conn.Read(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if m[0] == terminal.OpOutput {
			out.Write(m[1:])
		}
	}
	b.ReportMetric(float64(rssKB(b, p.cmd.Process.Pid))/1024, "1-terminal-RSS-MB")
}

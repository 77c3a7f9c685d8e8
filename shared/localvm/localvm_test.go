package localvm_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/localvm"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// fakeAgentBin is the test agent (testdata/fakeagent), built once by TestMain.
var fakeAgentBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "localvm-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fakeAgentBin = filepath.Join(dir, "fakeagent")
	out, err := exec.Command("go", "build", "-o", fakeAgentBin, "./testdata/fakeagent").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build fake agent: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	return string(b)
}

// waitHealthy polls the agent's /healthz (the lifecycle service does this in production).
func waitHealthy(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent at %s never became healthy: %v", url, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func alive(pid int) bool { return syscall.Kill(pid, 0) == nil }

func pidOf(t *testing.T, p *localvm.Provider, ws string) int {
	t.Helper()
	_, state := p.Dirs(ws)
	b, err := os.ReadFile(filepath.Join(state, "agent.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

// storeWithFile returns a store holding one workspace with src/main.go.
func storeWithFile(t *testing.T) (*sqlite.Store, string) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	now := time.Now().UTC().Truncate(time.Second)
	u := &domain.User{ID: domain.NewID(), Email: "a@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	put(t, st, w.ID, "src/main.go", "package main\n")
	return st, w.ID
}

func put(t *testing.T, st *sqlite.Store, ws, path, content string) {
	t.Helper()
	f := &domain.File{WorkspaceID: ws, Path: path, Size: int64(len(content)), Hash: domain.HashContent([]byte(content)),
		Language: domain.LanguageOf(path), ModifiedAt: time.Now().UTC()}
	if _, err := st.PutFile(context.Background(), f, []byte(content), domain.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, p *localvm.Provider, ws string) string {
	t.Helper()
	ctx := context.Background()
	spec := domain.VMSpec{WorkspaceID: ws, Agent: domain.AgentConfig{WorkspaceID: ws, ControlPlaneURL: "http://127.0.0.1:1",
		Token: "tok", HeartbeatInterval: time.Hour}}
	inst, err := p.Start(ctx, spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	url, err := p.WaitRunning(ctx, ws, inst)
	if err != nil {
		t.Fatalf("WaitRunning: %v", err)
	}
	if url != inst.AgentURL || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("agent URL %q, instance %+v", url, inst)
	}
	waitHealthy(t, url)
	return url
}

func TestProvider_StartStopResume(t *testing.T) {
	st, ws := storeWithFile(t)
	t.Setenv("DATABASE_URL", "postgres://secret")
	p := localvm.New(localvm.Options{DataDir: t.TempDir(), AgentBin: fakeAgentBin, Files: st})
	t.Cleanup(func() { p.Close() })

	url := start(t, p, ws)
	if got := get(t, url+"/file?path=src/main.go"); got != "package main\n" {
		t.Fatalf("materialised file = %q", got)
	}
	if got := get(t, url+"/env?name=DATABASE_URL"); got != "" {
		t.Fatalf("the agent sees DATABASE_URL=%q", got)
	}
	if got := get(t, url+"/env?name=AGENT_TOKEN"); got != "tok" {
		t.Fatalf("agent token = %q", got)
	}
	if resp, err := http.Post(url+"/type?text=hello", "", nil); err == nil {
		resp.Body.Close() // the heartbeat fails (no control plane): the text is kept anyway
	}
	pid := pidOf(t, p, ws)

	if err := p.Stop(context.Background(), ws, domain.VMInstance{}); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatal("the agent still runs after Stop")
	}
	if err := p.Stop(context.Background(), ws, domain.VMInstance{}); err != nil {
		t.Fatalf("second Stop: %v", err)
	}

	// The store changes while stopped; the disk is the workspace's now and is not rewritten.
	put(t, st, ws, "src/main.go", "package changed\n")
	url = start(t, p, ws)
	if got := get(t, url+"/scrollback"); got != "hello" {
		t.Fatalf("scrollback after resume = %q, want hello", got)
	}
	if got := get(t, url+"/boots"); got != "2" {
		t.Fatalf("boots = %s, want 2", got)
	}
	if got := get(t, url+"/file?path=src/main.go"); got != "package main\n" {
		t.Fatalf("file after resume = %q", got)
	}
}

func TestProvider_StopFindsAgentOfPreviousRun(t *testing.T) {
	st, ws := storeWithFile(t)
	dir := t.TempDir()
	first := localvm.New(localvm.Options{DataDir: dir, AgentBin: fakeAgentBin, Files: st})
	start(t, first, ws)
	pid := pidOf(t, first, ws)
	t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

	// A new control plane (same data dir) stops it from its pid file.
	second := localvm.New(localvm.Options{DataDir: dir, AgentBin: fakeAgentBin, Files: st})
	if err := second.Stop(context.Background(), ws, domain.VMInstance{}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) && !isZombie(pid) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if alive(pid) && !isZombie(pid) {
		t.Fatal("the previous run's agent still runs")
	}
	// A stale pid file naming an unrelated process is ignored.
	_, state := second.Dirs(ws)
	if err := os.WriteFile(filepath.Join(state, "agent.pid"), []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := second.Stop(context.Background(), ws, domain.VMInstance{}); err != nil {
		t.Fatal(err)
	}
}

// isZombie reports whether pid has exited but not been reaped (its parent is the first
// provider's goroutine, which reaps it; until then kill(pid, 0) still succeeds).
func isZombie(pid int) bool {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return true
	}
	fields := strings.Fields(string(b))
	return len(fields) > 2 && fields[2] == "Z"
}

func script(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "agent.sh")
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestProvider_StubbornAgentIsKilled(t *testing.T) {
	_, ws := storeWithFile(t)
	bin := script(t, "trap '' TERM\nwhile true; do sleep 0.05; done")
	p := localvm.New(localvm.Options{DataDir: t.TempDir(), AgentBin: bin, StopGrace: 200 * time.Millisecond})
	inst, err := p.Start(context.Background(), domain.VMSpec{WorkspaceID: ws})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WaitRunning(context.Background(), ws, inst); err != nil {
		t.Fatal(err)
	}
	pid := pidOf(t, p, ws)
	if err := p.Stop(context.Background(), ws, inst); err != nil {
		t.Fatal(err)
	}
	if alive(pid) {
		t.Fatal("an agent that ignores SIGTERM survived Stop")
	}
}

func TestProvider_AgentThatExits(t *testing.T) {
	_, ws := storeWithFile(t)
	p := localvm.New(localvm.Options{DataDir: t.TempDir(), AgentBin: script(t, "echo 'bad config' >&2; exit 3")})
	inst, err := p.Start(context.Background(), domain.VMSpec{WorkspaceID: ws})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := p.WaitRunning(context.Background(), ws, inst)
		if err != nil {
			if !strings.Contains(err.Error(), "bad config") {
				t.Fatalf("error %q lacks the agent's log", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("WaitRunning never noticed the agent exited")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := p.Stop(context.Background(), ws, inst); err != nil {
		t.Fatal(err)
	}
	// Bad input: a workspace ID that could escape the data dir.
	if _, err := p.Start(context.Background(), domain.VMSpec{WorkspaceID: "../x"}); err == nil {
		t.Fatal("Start accepted ../x")
	}
}

func TestProvider_BuildsAgentOncePerSource(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go build")
	}
	src := t.TempDir()
	write := func(rel, content string) {
		t.Helper()
		p := filepath.Join(src, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("go.mod", "module github.com/vibecode/vibecode\n\ngo 1.26\n")
	write("go.sum", "")
	write("workspace-vm/main.go", "package main\n\nfunc main() {}\n")
	data := t.TempDir()
	p := localvm.New(localvm.Options{DataDir: data, SourceDir: src})
	if err := p.Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	bins, _ := filepath.Glob(filepath.Join(data, "bin", "vibecode-agent-*"))
	if len(bins) != 1 {
		t.Fatalf("binaries after the first build: %v", bins)
	}
	// A new provider (a restarted stack) reuses it; a source change builds a new one.
	if err := localvm.New(localvm.Options{DataDir: data, SourceDir: src}).Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again, _ := filepath.Glob(filepath.Join(data, "bin", "vibecode-agent-*")); len(again) != 1 {
		t.Fatalf("binaries after a rebuild of the same source: %v", again)
	}
	write("workspace-vm/main.go", "package main\n\nfunc main() { println() }\n")
	if err := localvm.New(localvm.Options{DataDir: data, SourceDir: src}).Prepare(context.Background()); err != nil {
		t.Fatal(err)
	}
	if again, _ := filepath.Glob(filepath.Join(data, "bin", "vibecode-agent-*")); len(again) != 2 {
		t.Fatalf("binaries after a source change: %v", again)
	}
	// A source tree whose agent does not compile is a clear error.
	write("workspace-vm/main.go", "package main\n\nfunc main() { nope() }\n")
	err := localvm.New(localvm.Options{DataDir: data, SourceDir: src}).Prepare(context.Background())
	if err == nil || !strings.Contains(err.Error(), "VIBECODE_AGENT_BIN") {
		t.Fatalf("build error = %v", err)
	}
}

// Package localvm is the embedded domain.VMProvider that `make run` uses: each workspace's
// "VM" is one agent process on this machine, with its own directory under the data dir
// (workspaces/<id>/files for the workspace's files, workspaces/<id>/state for the agent's
// terminal scrollback and documents). Stop ends the process (SIGTERM, then SIGKILL for the
// whole process group after a grace period); start runs it again over the same directories,
// so the agent restores what it saved. The directories are the disk that persists.
//
// The agent binary is VIBECODE_AGENT_BIN when set, else built once from ./workspace-vm with
// `go build` into the data dir and reused while the sources (workspace-vm/, shared/, go.mod,
// go.sum) hash the same. Agents get a minimal environment: the control plane's secrets
// (database URL, JWT secret, provider keys) never reach a workspace's shells.
package localvm

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.VMProvider = (*Provider)(nil)

// Name is the provider's name in VMState.Provider.
const Name = "local"

// materialisedMarker, in a workspace's state dir, records that its files were written out
// from the store; after that the agent keeps disk and store in step.
const materialisedMarker = ".materialised"

// Options configure the provider.
type Options struct {
	// DataDir holds workspaces/<id>/{files,state} and bin/ (the built agent).
	DataDir string
	// AgentBin is the agent binary; "" builds it from SourceDir/workspace-vm.
	AgentBin string
	// SourceDir is the module root to build the agent from; "" looks for the go.mod of
	// github.com/vibecode/vibecode from the working directory upwards.
	SourceDir string
	// Files, when set, is where a workspace's files are read from on its first start.
	Files domain.FileStore
	// StopGrace is how long an agent gets after SIGTERM before SIGKILL (default 5 s).
	StopGrace time.Duration
	// Log receives the provider's events; nil discards them.
	Log *slog.Logger
}

// Provider runs agents as local processes. It is safe for concurrent use.
type Provider struct {
	opts Options

	mu    sync.Mutex
	procs map[string]*proc // by workspace

	buildMu sync.Mutex
	bin     string
}

// proc is one running agent.
type proc struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited and been reaped
	log  string        // its log file
}

// New returns the provider.
func New(opts Options) *Provider {
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Provider{opts: opts, procs: map[string]*proc{}}
}

// Name returns "local".
func (p *Provider) Name() string { return Name }

// Dirs returns a workspace's files and state directories.
func (p *Provider) Dirs(workspaceID string) (files, state string) {
	base := filepath.Join(p.opts.DataDir, "workspaces", workspaceID)
	return filepath.Join(base, "files"), filepath.Join(base, "state")
}

// Start runs the workspace's agent: it writes out the workspace's files on the first start,
// then starts the agent process on a free loopback port. A leftover agent of the workspace
// (from a control plane that crashed) is stopped first, so two never share a directory.
func (p *Provider) Start(ctx context.Context, spec domain.VMSpec) (domain.VMInstance, error) {
	if strings.ContainsAny(spec.WorkspaceID, `/\.`) || spec.WorkspaceID == "" {
		return domain.VMInstance{}, fmt.Errorf("localvm: invalid workspace id %q", spec.WorkspaceID)
	}
	bin, err := p.agentBinary(ctx)
	if err != nil {
		return domain.VMInstance{}, err
	}
	filesDir, stateDir := p.Dirs(spec.WorkspaceID)
	for _, d := range []string{filesDir, stateDir} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return domain.VMInstance{}, fmt.Errorf("localvm: %w", err)
		}
	}
	if err := p.materialise(ctx, spec.WorkspaceID, filesDir, stateDir); err != nil {
		return domain.VMInstance{}, err
	}
	if err := p.Stop(ctx, spec.WorkspaceID, domain.VMInstance{}); err != nil {
		return domain.VMInstance{}, err
	}
	port, err := freePort()
	if err != nil {
		return domain.VMInstance{}, err
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	logPath := filepath.Join(stateDir, "agent.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return domain.VMInstance{}, fmt.Errorf("localvm: %w", err)
	}
	defer logFile.Close() // the child has its own descriptor

	// Not CommandContext: the agent must outlive the request that started it.
	cmd := exec.Command(bin)
	cmd.Dir = filesDir
	cmd.Env = append(agentEnv(), spec.Agent.Env()...)
	cmd.Env = append(cmd.Env,
		domain.EnvAgentAddr+"="+addr,
		domain.EnvAgentWorkspaceDir+"="+filesDir,
		domain.EnvAgentStateDir+"="+stateDir,
	)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Its own process group, so a stop can end the shells it spawned too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return domain.VMInstance{}, fmt.Errorf("localvm: start agent: %w", err)
	}
	pr := &proc{cmd: cmd, url: "http://" + addr, done: make(chan struct{}), log: logPath}
	go func() {
		_ = cmd.Wait() // reaps it: no zombies
		close(pr.done)
	}()
	if err := os.WriteFile(filepath.Join(stateDir, "agent.pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o600); err != nil {
		p.kill(pr.cmd.Process.Pid, pr.done)
		return domain.VMInstance{}, fmt.Errorf("localvm: %w", err)
	}
	p.mu.Lock()
	p.procs[spec.WorkspaceID] = pr
	p.mu.Unlock()
	p.opts.Log.InfoContext(ctx, "agent started", "workspace", spec.WorkspaceID, "pid", cmd.Process.Pid, "url", pr.url)
	return domain.VMInstance{ID: "local-" + spec.WorkspaceID, AgentURL: pr.url}, nil
}

// WaitRunning returns the agent's URL while its process lives; an agent that exited at once
// (a bad binary, a port taken) fails with the end of its log.
func (p *Provider) WaitRunning(ctx context.Context, workspaceID string, inst domain.VMInstance) (string, error) {
	p.mu.Lock()
	pr := p.procs[workspaceID]
	p.mu.Unlock()
	if pr == nil {
		return "", fmt.Errorf("localvm: no agent process for workspace %s", workspaceID)
	}
	select {
	case <-pr.done:
		return "", fmt.Errorf("localvm: the agent exited (%v): %s", pr.cmd.ProcessState, tail(pr.log, 2048))
	default:
		return pr.url, nil
	}
}

// Stop ends the workspace's agent: SIGTERM (the agent saves its state), then SIGKILL to its
// process group after the grace period. It finds an agent this provider did not start (a
// previous run's) by the pid file in its state dir, checking that the process really is that
// workspace's agent. Stopping when no agent runs is not an error.
func (p *Provider) Stop(ctx context.Context, workspaceID string, _ domain.VMInstance) error {
	p.mu.Lock()
	pr := p.procs[workspaceID]
	delete(p.procs, workspaceID)
	p.mu.Unlock()
	_, stateDir := p.Dirs(workspaceID)
	pidFile := filepath.Join(stateDir, "agent.pid")
	if pr != nil {
		p.kill(pr.cmd.Process.Pid, pr.done)
	} else if pid := readPid(pidFile); pid > 0 && isAgentOf(pid, workspaceID) {
		p.kill(pid, nil)
	}
	if err := os.Remove(pidFile); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("localvm: %w", err)
	}
	return nil
}

// Close stops every agent this provider started (the local stack calls it on shutdown).
func (p *Provider) Close() error {
	p.mu.Lock()
	ids := make([]string, 0, len(p.procs))
	for id := range p.procs {
		ids = append(ids, id)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	errs := make([]error, len(ids))
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = p.Stop(context.Background(), id, domain.VMInstance{})
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// kill sends SIGTERM to pid, waits up to the grace period for it to exit (on done for our
// children, by polling for others), then SIGKILLs its process group.
func (p *Provider) kill(pid int, done <-chan struct{}) {
	_ = syscall.Kill(pid, syscall.SIGTERM)
	exited := func() bool {
		if done != nil {
			select {
			case <-done:
				return true
			default:
				return false
			}
		}
		return syscall.Kill(pid, 0) != nil
	}
	deadline := time.Now().Add(p.opts.StopGrace)
	for !exited() && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	// The group too: shells the agent started must not outlive it.
	_ = syscall.Kill(-pid, syscall.SIGKILL)
	if done != nil {
		<-done
	}
}

// materialise writes the workspace's files from the store into dir on its first start.
func (p *Provider) materialise(ctx context.Context, workspaceID, dir, stateDir string) error {
	marker := filepath.Join(stateDir, materialisedMarker)
	if _, err := os.Stat(marker); err == nil || p.opts.Files == nil {
		return nil
	}
	files, err := p.opts.Files.ListFiles(ctx, workspaceID)
	if err != nil {
		return fmt.Errorf("localvm: list files: %w", err)
	}
	for _, f := range files {
		clean, err := domain.CleanFilePath(f.Path)
		if err != nil {
			continue // never write outside the workspace
		}
		_, content, err := p.opts.Files.FileContent(ctx, workspaceID, f.Path)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			continue // deleted meanwhile
		} else if err != nil {
			return fmt.Errorf("localvm: read %s: %w", f.Path, err)
		}
		target := filepath.Join(dir, filepath.FromSlash(clean))
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return fmt.Errorf("localvm: %w", err)
		}
		if err := os.WriteFile(target, content, 0o600); err != nil {
			return fmt.Errorf("localvm: %w", err)
		}
		if !f.ModifiedAt.IsZero() {
			_ = os.Chtimes(target, f.ModifiedAt, f.ModifiedAt)
		}
	}
	if err := os.WriteFile(marker, []byte(time.Now().UTC().Format(time.RFC3339)+"\n"), 0o600); err != nil {
		return fmt.Errorf("localvm: %w", err)
	}
	return nil
}

// agentEnv is the part of our environment an agent gets: what a shell needs, nothing secret.
func agentEnv() []string {
	var env []string
	for _, k := range []string{"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LC_ALL", "TERM", "TMPDIR", "TZ"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("localvm: find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func readPid(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return pid
}

// isAgentOf reports whether pid is an agent process of the workspace (by its environment),
// so a stale pid file can never make us signal an unrelated process.
func isAgentOf(pid int, workspaceID string) bool {
	env, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	return bytes.Contains(append([]byte{0}, env...), []byte("\x00"+domain.EnvAgentWorkspaceID+"="+workspaceID+"\x00"))
}

// tail returns up to n bytes from the end of a file.
func tail(path string, n int64) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Size() > n {
		_, _ = f.Seek(st.Size()-n, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return strings.TrimSpace(string(b))
}

// Prepare builds the agent binary if needed, so the first start does not wait for it. The
// local stack runs it in the background at start-up.
func (p *Provider) Prepare(ctx context.Context) error {
	_, err := p.agentBinary(ctx)
	return err
}

// agentBinary returns the agent binary, building it once per source hash.
func (p *Provider) agentBinary(ctx context.Context) (string, error) {
	if p.opts.AgentBin != "" {
		return p.opts.AgentBin, nil
	}
	p.buildMu.Lock()
	defer p.buildMu.Unlock()
	if p.bin != "" {
		if _, err := os.Stat(p.bin); err == nil {
			return p.bin, nil
		}
	}
	src := p.opts.SourceDir
	if src == "" {
		var err error
		if src, err = findModuleRoot(); err != nil {
			return "", err
		}
	}
	hash, err := sourceHash(src)
	if err != nil {
		return "", err
	}
	out := filepath.Join(p.opts.DataDir, "bin", "vibecode-agent-"+hash[:16])
	if _, err := os.Stat(out); err == nil {
		p.bin = out
		return out, nil
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", errors.New("localvm: the agent binary must be built but no go command is on PATH; set VIBECODE_AGENT_BIN")
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o700); err != nil {
		return "", fmt.Errorf("localvm: %w", err)
	}
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, goBin, "build", "-o", tmp, "./workspace-vm")
	cmd.Dir = src
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	p.opts.Log.InfoContext(ctx, "building the workspace agent", "source", src, "out", out)
	t0 := time.Now()
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("localvm: build the agent from %s/workspace-vm (or set VIBECODE_AGENT_BIN): %w: %s",
			src, err, strings.TrimSpace(stderr.String()))
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("localvm: %w", err)
	}
	p.opts.Log.InfoContext(ctx, "built the workspace agent", "ms", time.Since(t0).Milliseconds())
	p.bin = out
	return out, nil
}

// findModuleRoot returns the directory of VibeCode's go.mod, from the working directory up.
func findModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("localvm: %w", err)
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/vibecode/vibecode\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("localvm: VibeCode's sources are not in the working directory or above; set VIBECODE_AGENT_BIN")
		}
		dir = parent
	}
}

// sourceHash hashes what the agent is built from: go.mod, go.sum and the Go files under
// workspace-vm/ and shared/ (paths and contents).
func sourceHash(root string) (string, error) {
	var files []string
	for _, top := range []string{"workspace-vm", "shared"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && (d.Name() == "testdata" || d.Name() == "node_modules") {
				return filepath.SkipDir
			}
			if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
				files = append(files, path)
			}
			return nil
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return "", fmt.Errorf("localvm: hash sources: %w", err)
		}
	}
	sort.Strings(files)
	files = append([]string{filepath.Join(root, "go.mod"), filepath.Join(root, "go.sum")}, files...)
	h := sha256.New()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", fmt.Errorf("localvm: hash sources: %w", err)
		}
		rel, _ := filepath.Rel(root, f)
		fmt.Fprintf(h, "%s\x00%d\x00", rel, len(b))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

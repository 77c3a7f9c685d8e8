package terminal

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/coder/websocket"
	"github.com/creack/pty"
)

const (
	// batchMax is the largest output frame payload: big enough to amortise per-message costs
	// in the browser, small enough to interleave with other work.
	batchMax = 32 << 10
	// drainTimeout is how long output is still read after the shell exits (its last words,
	// or a background job still holding the terminal).
	drainTimeout = 250 * time.Millisecond
	// killGrace is how long a shell has between SIGHUP and SIGKILL.
	killGrace = 3 * time.Second
)

// session is one shell in one PTY.
type session struct {
	m         *Manager
	id        string
	createdAt time.Time
	cmd       *exec.Cmd
	ptmx      *os.File
	filter    *vtFilter // owned by the pump goroutine

	mu         sync.Mutex
	cols, rows int
	ring       *ring
	modes      modeSet
	dirty      bool // ring changed since the last save
	cwd        string
	clients    []*client
	primary    *client // the one client whose terminal answers queries
	exited     bool
	exitCode   int
	closing    bool // being ended by expiry or shutdown
	stopping   bool // ended by shutdown: keep the saved state
	graceTimer *time.Timer

	wake     chan struct{} // a client's queue shrank, or the clients changed
	exitCh   chan struct{} // closed when the shell has exited
	pumpDone chan struct{}
	inputMu  sync.Mutex

	saveMu sync.Mutex
	noSave bool // the saved state was deleted; never write it again
}

func (m *Manager) start(id string, a Attach, saved *savedState) (*session, error) {
	dir, cols, rows := m.opts.Dir, 80, 24
	if saved != nil {
		if fi, err := os.Stat(saved.Cwd); err == nil && fi.IsDir() {
			dir = saved.Cwd
		}
		if saved.Cols > 0 && saved.Rows > 0 {
			cols, rows = saved.Cols, saved.Rows
		}
	}
	if a.Cols > 0 || a.Rows > 0 {
		cols, rows = a.Cols, a.Rows
	}
	cols, rows = clampSize(cols, rows)

	cmd := exec.Command(m.opts.Shell)
	cmd.Dir = dir
	cmd.Env = shellEnv(m.opts.Env, id)
	ptmx, err := pty.StartWithSize(cmd, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)})
	if err != nil {
		return nil, err
	}
	s := &session{
		m: m, id: id, createdAt: time.Now(), cmd: cmd, ptmx: ptmx, filter: newVTFilter(),
		cols: cols, rows: rows, ring: newRing(m.opts.Scrollback), modes: defaultModes, cwd: dir,
		wake: make(chan struct{}, 1), exitCh: make(chan struct{}), pumpDone: make(chan struct{}),
	}
	if saved != nil {
		s.createdAt = saved.CreatedAt
		s.ring.Restore(saved.Scrollback, saved.Wrapped)
		s.ring.Write(restoreSuffix(modeSet(saved.Modes)))
		s.dirty = true
	}
	s.graceTimer = time.AfterFunc(m.opts.Grace, s.expire)
	m.sessionWG.Add(2)
	go s.pump()
	go s.waitExit()
	m.log.Info("terminal: shell started", "session", id, "pid", cmd.Process.Pid, "dir", dir, "restored", saved != nil)
	return s, nil
}

func shellEnv(base []string, id string) []string {
	env := make([]string, 0, len(base)+3)
	for _, kv := range base {
		if strings.HasPrefix(kv, "TERM=") || strings.HasPrefix(kv, "COLORTERM=") || strings.HasPrefix(kv, "VIBECODE_TERMINAL_ID=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "TERM=xterm-256color", "COLORTERM=truecolor", "VIBECODE_TERMINAL_ID="+id)
}

func (s *session) isExited() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

func (s *session) signalWake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// pump reads the PTY and fans the output out. It stops reading while every attached client is
// behind, so a flood (yes, cat of a huge file) blocks the program instead of filling memory;
// with no client attached it keeps reading into the ring.
func (s *session) pump() {
	defer s.m.sessionWG.Done()
	defer close(s.pumpDone)
	buf := make([]byte, 64<<10)
	for {
		s.waitForRoom()
		n, err := s.ptmx.Read(buf)
		if n > 0 {
			s.deliver(buf[:n])
		}
		if err != nil {
			return // EIO once the shell and its jobs have closed the terminal, or the drain deadline
		}
	}
}

func (s *session) waitForRoom() {
	for {
		s.mu.Lock()
		blocked := len(s.clients) > 0
		for _, c := range s.clients {
			if !c.behind() {
				blocked = false
				break
			}
		}
		s.mu.Unlock()
		if !blocked {
			return
		}
		select {
		case <-s.wake:
		case <-s.exitCh:
			return
		}
	}
}

func (s *session) deliver(p []byte) {
	full, filt := s.filter.Feed(p)
	s.m.activity(ActivityOutput, &s.m.lastOutput)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modes = s.filter.modes
	if len(filt) > 0 {
		s.ring.Write(filt)
		s.dirty = true
	}
	for i := 0; i < len(s.clients); {
		c := s.clients[i]
		data := filt
		if c == s.primary {
			data = full
		}
		if len(data) > 0 && !c.pushOutput(data) {
			s.m.log.Info("terminal: client too slow", "session", s.id, "user", c.user)
			s.removeLocked(c)
			c.closeWith(CloseTooSlow, "too slow", false)
			continue
		}
		i++
	}
}

// attach registers c and queues its hello and replay, atomically with respect to output, so
// the client sees every byte exactly once. retry means the session is being ended by expiry
// and the caller should resolve the id again.
func (s *session) attach(c *client, how attachHow) (code websocket.StatusCode, reason string, retry bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hello := Hello{
		Session: s.id, Cols: s.cols, Rows: s.rows, ReadOnly: c.readOnly,
		Created: how.created, Restored: how.restored,
		MaxFrame: s.m.opts.MaxFrame, Window: s.m.opts.Window,
	}
	if s.exited {
		code := s.exitCode
		hello.Exited, hello.ExitCode = true, &code
		c.queueControl(helloFrame(hello))
		c.queueReplay(buildReplay(s.ring.Bytes(), s.ring.Wrapped(), s.modes))
		c.queueControl(exitFrame(code))
		c.closeWith(CloseExited, "shell exited", true)
		return 0, "", false
	}
	if s.closing {
		if s.stopping {
			return CloseShuttingDown, "agent shutting down", false
		}
		return 0, "", true
	}
	if len(s.clients) >= s.m.opts.MaxClients {
		return CloseTooMany, "too many clients", false
	}
	s.graceTimer.Stop()
	hello.Clients = len(s.clients) + 1
	c.queueControl(helloFrame(hello))
	c.queueReplay(buildReplay(s.ring.Bytes(), s.ring.Wrapped(), s.modes))
	s.clients = append(s.clients, c)
	if s.primary == nil && !c.readOnly {
		s.primary = c
	}
	return 0, "", false
}

// detach removes c if it is still attached.
func (s *session) detach(c *client) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(c)
}

func (s *session) removeLocked(c *client) {
	i := -1
	for j, x := range s.clients {
		if x == c {
			i = j
			break
		}
	}
	if i < 0 {
		return
	}
	s.clients = append(s.clients[:i], s.clients[i+1:]...)
	if s.primary == c {
		s.primary = nil
		for j := len(s.clients) - 1; j >= 0; j-- {
			if !s.clients[j].readOnly {
				s.primary = s.clients[j]
				break
			}
		}
	}
	if len(s.clients) == 0 && !s.exited && !s.closing {
		s.graceTimer.Reset(s.m.opts.Grace)
	}
	s.signalWake()
}

// input writes p to the shell. The writing client becomes the one that answers queries: it is
// the one the user is typing in.
func (s *session) input(c *client, p []byte) {
	s.mu.Lock()
	if s.exited {
		s.mu.Unlock()
		return
	}
	s.primary = c
	s.mu.Unlock()
	s.m.activity(ActivityInput, &s.m.lastInput)

	s.inputMu.Lock()
	defer s.inputMu.Unlock()
	_ = s.ptmx.SetWriteDeadline(time.Now().Add(s.m.opts.InputTimeout))
	if _, err := s.ptmx.Write(p); err != nil {
		if errors.Is(err, os.ErrDeadlineExceeded) {
			s.m.log.Warn("terminal: shell is not reading input; dropped some", "session", s.id)
		}
	}
}

// resize sets the PTY size (clamped) and tells every client.
func (s *session) resize(cols, rows int) {
	cols, rows = clampSize(cols, rows)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.exited || (cols == s.cols && rows == s.rows) {
		return
	}
	if err := pty.Setsize(s.ptmx, &pty.Winsize{Cols: uint16(cols), Rows: uint16(rows)}); err != nil {
		return
	}
	s.cols, s.rows = cols, rows
	f := sizeFrame(cols, rows)
	for _, c := range s.clients {
		c.queueControl(f)
	}
}

// waitExit reaps the shell (so there is never a zombie), lets the pump drain the PTY, and
// reports the exit.
func (s *session) waitExit() {
	defer s.m.sessionWG.Done()
	_ = s.cmd.Wait()
	code := exitStatus(s.cmd.ProcessState)
	close(s.exitCh)
	_ = s.ptmx.SetReadDeadline(time.Now().Add(drainTimeout))
	<-s.pumpDone
	_ = s.ptmx.Close()

	s.mu.Lock()
	s.exited, s.exitCode = true, code
	s.graceTimer.Stop()
	clients := s.clients
	s.clients, s.primary = nil, nil
	closing := s.closing
	for _, c := range clients {
		c.queueControl(exitFrame(code))
		c.closeWith(CloseExited, "shell exited", true)
	}
	s.mu.Unlock()
	s.m.log.Info("terminal: shell exited", "session", s.id, "code", code)

	if closing {
		return // expiry deleted the state and forgot the session; shutdown keeps both
	}
	s.deleteState()
	// Keep the scrollback and status for a reconnect during the grace period.
	time.AfterFunc(s.m.opts.Grace, func() { s.m.forget(s) })
}

func exitStatus(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// expire ends a session nobody reattached to within the grace period.
func (s *session) expire() {
	s.m.mu.Lock()
	s.mu.Lock()
	if len(s.clients) > 0 || s.exited || s.closing {
		s.mu.Unlock()
		s.m.mu.Unlock()
		return
	}
	s.closing = true
	s.mu.Unlock()
	if s.m.sessions[s.id] == s {
		delete(s.m.sessions, s.id)
	}
	s.m.mu.Unlock()
	s.m.log.Info("terminal: grace period over; ending shell", "session", s.id)
	s.deleteState()
	s.kill()
}

// shutdown saves the session and ends it for an agent stop.
func (s *session) shutdown() {
	s.mu.Lock()
	if s.exited || s.closing {
		s.mu.Unlock()
		return
	}
	s.closing, s.stopping = true, true
	s.graceTimer.Stop()
	clients := append([]*client(nil), s.clients...)
	s.mu.Unlock()
	s.save(true)
	for _, c := range clients {
		c.closeWith(CloseShuttingDown, "agent shutting down", false)
	}
	s.kill()
	<-s.pumpDone
}

// kill hangs up the shell's process group, and kills it if it is still there after killGrace.
func (s *session) kill() {
	pid := s.cmd.Process.Pid
	_ = syscall.Kill(-pid, syscall.SIGHUP)
	s.m.sessionWG.Add(1)
	go func() {
		defer s.m.sessionWG.Done()
		t := time.NewTimer(killGrace)
		defer t.Stop()
		select {
		case <-s.exitCh:
		case <-t.C:
			_ = syscall.Kill(-pid, syscall.SIGKILL)
		}
	}()
}

func (s *session) info() Info {
	s.mu.Lock()
	defer s.mu.Unlock()
	in := Info{ID: s.id, Cols: s.cols, Rows: s.rows, Clients: len(s.clients), Cwd: s.cwd, CreatedAt: s.createdAt}
	switch {
	case s.exited:
		in.State = "exited"
		code := s.exitCode
		in.ExitCode = &code
	case len(s.clients) > 0:
		in.State = "running"
	default:
		in.State = "detached"
	}
	for _, c := range s.clients {
		in.Buffered += c.buffered()
	}
	return in
}

// save writes the scrollback and working directory to the state dir if they changed (or
// always, with force).
func (s *session) save(force bool) {
	st := s.m.store
	if st == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	if s.noSave {
		return
	}
	s.mu.Lock()
	if s.exited || (!force && !s.dirty) {
		s.mu.Unlock()
		return
	}
	state := savedState{
		ID: s.id, Cols: s.cols, Rows: s.rows, Modes: uint32(s.modes),
		Wrapped: s.ring.Wrapped(), CreatedAt: s.createdAt, Scrollback: s.ring.Bytes(),
	}
	s.dirty = false
	s.mu.Unlock()

	if cwd, err := os.Readlink("/proc/" + strconv.Itoa(s.cmd.Process.Pid) + "/cwd"); err == nil {
		s.mu.Lock()
		s.cwd = cwd
		s.mu.Unlock()
	}
	s.mu.Lock()
	state.Cwd = s.cwd
	s.mu.Unlock()
	if err := st.save(&state); err != nil {
		s.m.log.Error("terminal: save state", "session", s.id, "err", err)
		s.mu.Lock()
		s.dirty = true
		s.mu.Unlock()
	}
}

func (s *session) deleteState() {
	if s.m.store == nil {
		return
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()
	s.noSave = true
	if err := s.m.store.remove(s.id); err != nil {
		s.m.log.Error("terminal: delete state", "session", s.id, "err", err)
	}
}

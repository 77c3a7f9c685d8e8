// Package terminal runs the workspace agent's terminals: real shells in PTYs that survive
// dropped connections and agent restarts, served over a compact binary WebSocket framing
// (docs/protocols.md).
//
// A session is one shell in one PTY, keyed by an id the client chooses (or "new"). Its output
// goes into a scrollback ring and to every attached client through a bounded per-client
// queue, so one slow client never blocks the PTY or the others: while every client is behind
// the PTY is not read (the program blocks, as on a real terminal); a client that falls further
// behind than its buffer while another keeps up is closed with CloseTooSlow. A session nobody
// is attached to keeps running for a grace period, so a reconnect finds the same shell and its
// scrollback; scrollback and working directory are also saved to the state directory, so after
// an agent restart a reconnect gets a fresh shell in the same directory under the old
// scrollback.
package terminal

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// Activity kinds the manager reports through Options.Activity.
const (
	ActivityInput  = "terminal-input"
	ActivityOutput = "terminal-output"
)

// Options configure a Manager. Zero fields take the defaults documented on each.
type Options struct {
	// Dir is where new shells start (the workspace directory). Required.
	Dir string
	// StateDir is where scrollback and working directories are saved; empty disables saving.
	StateDir string
	// Shell is the shell to run; default /bin/bash, or /bin/sh where there is no bash.
	Shell string
	// Env is the shells' environment (TERM and COLORTERM are set on top); default none but
	// PATH, HOME and LANG of the agent. The caller removes secrets (config.ShellEnv).
	Env []string
	// Scrollback is each session's replay ring in bytes (default 256 KiB).
	Scrollback int
	// Grace is how long a session without clients keeps its shell, and how long an exited
	// session's scrollback and status stay available (default 5 min).
	Grace time.Duration
	// RestoreTTL is how long saved state waits for a reconnect after an agent restart
	// (default 7 days: a stopped VM may stay stopped over a holiday).
	RestoreTTL time.Duration
	// MaxSessions caps running sessions (default 32); MaxClients the clients of one
	// session (default 8).
	MaxSessions int
	MaxClients  int
	// ClientBuffer is how much output may wait for one client beyond its replay before it
	// is closed as too slow (default 1 MiB). HighWater is the queue length at which a client
	// counts as behind (default 256 KiB); the PTY is not read while every client is behind.
	ClientBuffer int
	HighWater    int
	// Window is the credit window for clients that send acks (default 256 KiB).
	Window int
	// MaxFrame bounds client frames, opcode included (default 64 KiB).
	MaxFrame int
	// BatchDelay is how long output may wait to be sent with more output (default 2 ms). It
	// applies only while output streams (the previous frame held 1 KiB or more): a keystroke's
	// echo goes out at once.
	BatchDelay time.Duration
	// PingInterval is how often clients are pinged (default 15 s); a client that does not
	// answer within the next interval is disconnected.
	PingInterval time.Duration
	// WriteTimeout bounds sending one frame to a client (default 30 s); a client that cannot
	// take a frame for that long is disconnected.
	WriteTimeout time.Duration
	// InputTimeout bounds writing input to a shell that is not reading it (default 10 s);
	// input that cannot be written in time is dropped so the client's flow-control frames
	// are still read.
	InputTimeout time.Duration
	// FlushInterval is how often changed scrollback is saved (default 10 s).
	FlushInterval time.Duration
	// Activity, if set, is called with ActivityInput or ActivityOutput (at most once a
	// second per kind), so an idle open terminal does not count as activity but typing and
	// output do.
	Activity func(kind string)
	// Logger receives operational messages (default slog.Default()).
	Logger *slog.Logger
}

func (o *Options) setDefaults() {
	def := func(p *int, v int) {
		if *p <= 0 {
			*p = v
		}
	}
	defd := func(p *time.Duration, v time.Duration) {
		if *p <= 0 {
			*p = v
		}
	}
	def(&o.Scrollback, 256<<10)
	def(&o.MaxSessions, 32)
	def(&o.MaxClients, 8)
	def(&o.ClientBuffer, 1<<20)
	def(&o.HighWater, 256<<10)
	def(&o.Window, 256<<10)
	def(&o.MaxFrame, 64<<10)
	defd(&o.Grace, 5*time.Minute)
	defd(&o.RestoreTTL, 7*24*time.Hour)
	defd(&o.BatchDelay, 2*time.Millisecond)
	defd(&o.PingInterval, 15*time.Second)
	defd(&o.WriteTimeout, 30*time.Second)
	defd(&o.InputTimeout, 10*time.Second)
	defd(&o.FlushInterval, 10*time.Second)
	if o.HighWater > o.ClientBuffer {
		o.HighWater = o.ClientBuffer
	}
	if o.Shell == "" {
		o.Shell = "/bin/bash"
		if _, err := os.Stat(o.Shell); err != nil {
			o.Shell = "/bin/sh"
		}
	}
	if o.Env == nil {
		for _, k := range []string{"PATH", "HOME", "LANG", "USER"} {
			if v, ok := os.LookupEnv(k); ok {
				o.Env = append(o.Env, k+"="+v)
			}
		}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Manager owns a workspace's terminal sessions. It is safe for concurrent use.
type Manager struct {
	opts  Options
	log   *slog.Logger
	store *store // nil without a state dir

	mu       sync.Mutex
	sessions map[string]*session // running and exited (until their grace ends)
	closed   bool

	conns     sync.WaitGroup // Serve calls in progress
	sessionWG sync.WaitGroup // session goroutines
	stop      chan struct{}
	flushDone chan struct{}

	lastInput, lastOutput atomic.Int64 // unix nanos of the last Activity report
}

// NewManager returns a Manager and starts its periodic save. Call Close to stop it.
func NewManager(opts Options) (*Manager, error) {
	if opts.Dir == "" {
		return nil, errors.New("terminal: Options.Dir is required")
	}
	if fi, err := os.Stat(opts.Dir); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("terminal: workspace dir %q is not a directory: %w", opts.Dir, err)
	}
	opts.setDefaults()
	m := &Manager{
		opts:      opts,
		log:       opts.Logger.With("component", "terminal"),
		sessions:  map[string]*session{},
		stop:      make(chan struct{}),
		flushDone: make(chan struct{}),
	}
	if opts.StateDir != "" {
		st, err := openStore(opts.StateDir, opts.RestoreTTL)
		if err != nil {
			return nil, err
		}
		m.store = st
	}
	go m.flushLoop()
	return m, nil
}

// ValidID reports whether id can name a session: 1–64 letters, digits, '-' or '_' ("new"
// asks the agent to choose one).
func ValidID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func newID() string {
	var b [8]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// Info describes a session for listings.
type Info struct {
	ID string `json:"id"`
	// State is running (clients attached), detached (none; the shell waits out the grace
	// period), exited, or restorable (saved by an earlier agent process; connecting starts a
	// fresh shell under the saved scrollback).
	State     string    `json:"state"`
	Cols      int       `json:"cols"`
	Rows      int       `json:"rows"`
	Clients   int       `json:"clients"`
	Cwd       string    `json:"cwd,omitempty"`
	ExitCode  *int      `json:"exitCode,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
	// Buffered is the output waiting in the session's client queues, in bytes.
	Buffered int `json:"buffered"`
}

// List returns the sessions, running ones first, by id.
func (m *Manager) List() []Info {
	m.mu.Lock()
	live := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		live = append(live, s)
	}
	m.mu.Unlock()
	out := make([]Info, 0, len(live))
	seen := map[string]bool{}
	for _, s := range live {
		out = append(out, s.info())
		seen[s.id] = true
	}
	if m.store != nil {
		for _, st := range m.store.list() {
			if !seen[st.ID] {
				out = append(out, Info{ID: st.ID, State: "restorable", Cols: st.Cols, Rows: st.Rows, Cwd: st.Cwd, CreatedAt: st.CreatedAt})
			}
		}
	}
	rank := map[string]int{"running": 0, "detached": 1, "exited": 2, "restorable": 3}
	sort.Slice(out, func(i, j int) bool {
		if rank[out[i].State] != rank[out[j].State] {
			return rank[out[i].State] < rank[out[j].State]
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Stats are the counts the agent reports for the lifecycle.
type Stats struct {
	Sessions int `json:"sessions"` // running shells
	Clients  int `json:"clients"`  // attached sockets
}

// Stats counts running sessions and attached clients.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	var st Stats
	for _, s := range m.sessions {
		s.mu.Lock()
		if !s.exited {
			st.Sessions++
		}
		st.Clients += len(s.clients)
		s.mu.Unlock()
	}
	return st
}

// Attach says who connects to which session.
type Attach struct {
	// ID is the session id: an existing or saved one to reattach, a fresh one to create,
	// or "new" for an id the agent chooses (sent back in the hello).
	ID string
	// UserID identifies the user in logs.
	UserID string
	// ReadOnly viewers cannot type or resize, and never start or restore a shell.
	ReadOnly bool
	// Cols and Rows size a shell this connection starts (0: 80×24, or the saved size).
	Cols, Rows int
}

// Serve runs one client connection until it ends, and closes conn with the code that says
// why. The caller has authenticated the client and accepted the WebSocket.
func (m *Manager) Serve(ctx context.Context, conn *websocket.Conn, a Attach) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		_ = conn.Close(CloseShuttingDown, "agent shutting down")
		return
	}
	m.conns.Add(1)
	m.mu.Unlock()
	defer m.conns.Done()

	// A session may expire between being found and being attached to; then the id is
	// resolved again (and names a new shell). Twice is plenty: expiry is rare.
	for range 3 {
		s, how, code, reason := m.resolve(a)
		if code != 0 {
			_ = conn.Close(code, reason)
			return
		}
		c := newClient(m, s, conn, a)
		code, reason, retry := s.attach(c, how)
		if retry {
			continue
		}
		if code != 0 {
			_ = conn.Close(code, reason)
			return
		}
		c.run(ctx)
		return
	}
	_ = conn.Close(CloseInternal, "terminal is being replaced; retry")
}

// how a connection came to its session.
type attachHow struct{ created, restored bool }

// resolve finds, restores or starts the session a names.
func (m *Manager) resolve(a Attach) (*session, attachHow, websocket.StatusCode, string) {
	id := a.ID
	if id == "new" {
		if a.ReadOnly {
			return nil, attachHow{}, CloseUnknownSession, "viewers cannot start a terminal"
		}
		id = newID()
	} else if !ValidID(id) {
		return nil, attachHow{}, CloseBadFrame, "bad session id"
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, attachHow{}, CloseShuttingDown, "agent shutting down"
	}
	if s, ok := m.sessions[id]; ok {
		return s, attachHow{}, 0, ""
	}
	if a.ReadOnly {
		return nil, attachHow{}, CloseUnknownSession, "no such terminal"
	}
	running := 0
	for _, s := range m.sessions {
		if !s.isExited() {
			running++
		}
	}
	if running >= m.opts.MaxSessions {
		return nil, attachHow{}, CloseTooMany, "too many terminals"
	}
	var saved *savedState
	if m.store != nil {
		st, err := m.store.load(id)
		if err != nil {
			m.log.Warn("terminal: saved state unreadable; starting afresh", "session", id, "err", err)
		}
		saved = st
	}
	s, err := m.start(id, a, saved)
	if err != nil {
		m.log.Error("terminal: start shell", "session", id, "err", err)
		return nil, attachHow{}, CloseInternal, "cannot start shell"
	}
	m.sessions[id] = s
	return s, attachHow{created: true, restored: saved != nil}, 0, ""
}

// forget removes s from the session map if it is still there (an id may be reused by a new
// session after s expired).
func (m *Manager) forget(s *session) {
	m.mu.Lock()
	if m.sessions[s.id] == s {
		delete(m.sessions, s.id)
	}
	m.mu.Unlock()
}

func (m *Manager) activity(kind string, last *atomic.Int64) {
	if m.opts.Activity == nil {
		return
	}
	now := time.Now().UnixNano()
	prev := last.Load()
	if now-prev < int64(time.Second) || !last.CompareAndSwap(prev, now) {
		return
	}
	m.opts.Activity(kind)
}

func (m *Manager) flushLoop() {
	defer close(m.flushDone)
	t := time.NewTicker(m.opts.FlushInterval)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
		}
		m.mu.Lock()
		list := make([]*session, 0, len(m.sessions))
		for _, s := range m.sessions {
			list = append(list, s)
		}
		m.mu.Unlock()
		for _, s := range list {
			s.save(false)
		}
	}
}

// Close shuts the manager down for an agent stop: it saves every session's scrollback and
// directory (fsync'd), closes every client with CloseShuttingDown, ends the shells and waits
// for all of it, or for ctx.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	list := make([]*session, 0, len(m.sessions))
	for _, s := range m.sessions {
		list = append(list, s)
	}
	m.mu.Unlock()
	close(m.stop)
	<-m.flushDone

	var wg sync.WaitGroup
	for _, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.shutdown()
		}()
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		m.conns.Wait()
		m.sessionWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("terminal: close: %w", ctx.Err())
	}
}

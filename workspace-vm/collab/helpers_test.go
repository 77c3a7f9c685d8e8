package collab_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/workspace-vm/agent"
	"github.com/vibecode/vibecode/workspace-vm/collab"
	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

// deadline bounds every wait: long enough for a loaded, shared machine, and never an
// assertion about speed.
const deadline = 30 * time.Second

// lib0 encoding, written out again here so the tests check the wire bytes independently of
// the package's encoder.
func varUint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

func varBytes(b, p []byte) []byte { return append(varUint(b, uint64(len(p))), p...) }

func syncMsg(sub uint64, payload []byte) []byte {
	return varBytes(varUint(varUint(nil, 0), sub), payload)
}

type awState struct {
	id    uint64
	clock uint64
	state string
}

func awarenessMsg(states ...awState) []byte {
	u := varUint(nil, uint64(len(states)))
	for _, s := range states {
		u = varUint(u, s.id)
		u = varUint(u, s.clock)
		u = varBytes(u, []byte(s.state))
	}
	return varBytes(varUint(nil, 1), u)
}

// reader decodes lib0 values in tests.
type reader struct {
	b   []byte
	err error
}

func (r *reader) uint() uint64 {
	var v uint64
	for i := 0; ; i++ {
		if len(r.b) == 0 || i > 8 {
			r.err = errors.New("truncated varUint")
			return 0
		}
		c := r.b[0]
		r.b = r.b[1:]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v
		}
	}
}

func (r *reader) bytes() []byte {
	n := r.uint()
	if r.err != nil || n > uint64(len(r.b)) {
		r.err = errors.New("truncated bytes")
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func parseAwareness(p []byte) ([]awState, error) {
	r := &reader{b: p}
	n := r.uint()
	var out []awState
	for i := uint64(0); i < n && r.err == nil; i++ {
		s := awState{id: r.uint(), clock: r.uint()}
		s.state = string(r.bytes())
		out = append(out, s)
	}
	return out, r.err
}

// tWriter sends log lines to the test's log.
type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

// env is a hub behind an HTTP server whose hub can be swapped (a restart keeps the URL).
type env struct {
	t      *testing.T
	opts   collab.Options
	hub    atomic.Pointer[collab.Hub]
	srv    *httptest.Server
	edits  atomic.Int64
	closed bool
}

func newEnv(t *testing.T, opts collab.Options) *env {
	t.Helper()
	if opts.StateDir == "" {
		opts.StateDir = t.TempDir()
	}
	if opts.WorkspaceDir == "" {
		opts.WorkspaceDir = t.TempDir()
	}
	if opts.FileWriteDelay == 0 {
		opts.FileWriteDelay = 20 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	if opts.FileReadDelay == 0 {
		opts.FileReadDelay = 20 * time.Millisecond
	}
	e := &env{t: t, opts: opts}
	e.opts.OnActivity = func(kind string) {
		if kind == "collab" {
			e.edits.Add(1)
		}
	}
	e.start()
	e.srv = newServer(e)
	t.Cleanup(func() {
		e.srv.CloseClientConnections()
		e.srv.Close()
		if !e.closed {
			e.close()
		}
	})
	return e
}

// newServer serves /collab/{doc} from the env's current hub; ?user= names the user and ?ro=1
// makes it read-only (what the agent takes from a ticket).
func newServer(e *env) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := strings.CutPrefix(r.URL.Path, "/collab/")
		if !ok {
			http.NotFound(w, r)
			return
		}
		user := agent.CollabUser{ID: r.URL.Query().Get("user"), ReadOnly: r.URL.Query().Get("ro") == "1"}
		e.hub.Load().Serve(w, r, doc, user)
	}))
}

func (e *env) start() {
	e.t.Helper()
	h, err := collab.New(e.opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.hub.Store(h)
	e.closed = false
}

func (e *env) close() {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := e.hub.Load().Close(ctx); err != nil {
		e.t.Errorf("Close: %v", err)
	}
	e.closed = true
}

// restart closes the hub and starts a new one over the same directories.
func (e *env) restart() {
	e.t.Helper()
	e.close()
	e.start()
}

func (e *env) url(doc string, query string) string {
	u := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/collab/" + doc
	if query != "" {
		u += "?" + query
	}
	return u
}

func (e *env) file(name string) string {
	return filepath.Join(e.opts.WorkspaceDir, filepath.FromSlash(name))
}

func (e *env) writeFile(name, content string) {
	e.t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.file(name)), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(e.file(name), []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// replaceFile writes a file the way editors and git's checkout do it safely: a temporary
// file renamed over the old one, so no reader ever sees it half-written.
func (e *env) replaceFile(name, content string) {
	e.t.Helper()
	tmp := e.file(name) + ".tmp-test"
	if err := os.WriteFile(tmp, []byte(content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Rename(tmp, e.file(name)); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) readFile(name string) string {
	b, err := os.ReadFile(e.file(name))
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

func (e *env) dialRaw(doc, query string) *websocket.Conn {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	c, _, err := websocket.Dial(ctx, e.url(doc, query), nil)
	if err != nil {
		e.t.Fatalf("dial %s: %v", doc, err)
	}
	c.SetReadLimit(64 << 20)
	e.t.Cleanup(func() { c.CloseNow() })
	return c
}

// peer is a y-websocket client written in Go: it keeps a Yjs document, answers the server's
// SyncStep1, applies what it receives, and records every frame.
type peer struct {
	t    *testing.T
	name string
	conn *websocket.Conn
	doc  *yjs.Doc

	mu        sync.Mutex
	frames    [][]byte
	synced    bool
	auth      []string
	awareness map[uint64]awState
	updates   int // Update messages received
	closeErr  error
	done      chan struct{}
}

func (e *env) dial(doc, query string) *peer {
	e.t.Helper()
	return e.dialWith(doc, query, yjs.NewDoc(yjs.RandomClientID()))
}

// dialWith connects with an existing document (a client coming back with offline edits).
func (e *env) dialWith(doc, query string, ydoc *yjs.Doc) *peer {
	e.t.Helper()
	p := &peer{t: e.t, name: doc, conn: e.dialRaw(doc, query), doc: ydoc, awareness: map[uint64]awState{}, done: make(chan struct{})}
	go p.readLoop()
	p.send(syncMsg(0, ydoc.EncodeStateVector()))
	return p
}

func (p *peer) send(frame []byte) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := p.conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
		p.t.Errorf("%s: write: %v", p.name, err)
	}
}

func (p *peer) readLoop() {
	defer close(p.done)
	for {
		_, b, err := p.conn.Read(context.Background())
		if err != nil {
			p.mu.Lock()
			p.closeErr = err
			p.mu.Unlock()
			return
		}
		p.mu.Lock()
		p.frames = append(p.frames, b)
		p.mu.Unlock()
		if err := p.handle(b); err != nil {
			p.t.Errorf("%s: bad frame % x: %v", p.name, b[:min(len(b), 16)], err)
		}
	}
}

func (p *peer) handle(b []byte) error {
	r := &reader{b: b}
	switch r.uint() {
	case 0:
		sub := r.uint()
		payload := r.bytes()
		if r.err != nil || len(r.b) != 0 {
			return fmt.Errorf("sync message: %v, %d trailing", r.err, len(r.b))
		}
		switch sub {
		case 0:
			u, err := p.doc.EncodeStateAsUpdate(payload)
			if err != nil {
				return err
			}
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			_ = p.conn.Write(ctx, websocket.MessageBinary, syncMsg(1, u))
		case 1, 2:
			if err := p.doc.ApplyUpdate(payload); err != nil {
				return err
			}
			p.mu.Lock()
			if sub == 1 {
				p.synced = true
			} else {
				p.updates++
			}
			p.mu.Unlock()
		default:
			return fmt.Errorf("sync sub-type %d", sub)
		}
	case 1:
		states, err := parseAwareness(r.bytes())
		if err != nil {
			return err
		}
		p.mu.Lock()
		for _, s := range states {
			p.awareness[s.id] = s
		}
		p.mu.Unlock()
	case 2:
		if r.uint() != 0 {
			return errors.New("unknown auth sub-type")
		}
		reason := r.bytes()
		p.mu.Lock()
		p.auth = append(p.auth, string(reason))
		p.mu.Unlock()
	default:
		return errors.New("unknown message type")
	}
	return nil
}

// edit replaces the text in the peer's document and sends the update, as y-monaco would.
func (p *peer) edit(text string) {
	p.t.Helper()
	u, err := p.doc.SetText("content", text)
	if err != nil {
		p.t.Fatal(err)
	}
	p.send(syncMsg(2, u))
}

func (p *peer) text() string { return p.doc.Text("content") }

func (p *peer) waitFor(what string, cond func() bool) {
	p.t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			p.t.Fatalf("%s: timed out waiting for %s (text %q)", p.name, what, p.text())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (p *peer) waitText(want string) {
	p.t.Helper()
	p.waitFor(fmt.Sprintf("text %q", want), func() bool { return p.text() == want })
}

func (p *peer) waitSynced() {
	p.t.Helper()
	p.waitFor("SyncStep2", func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.synced
	})
}

func (p *peer) awarenessOf(id uint64) (awState, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.awareness[id]
	return s, ok
}

// closeStatus waits for the connection to end and returns the close code the server sent.
func (p *peer) closeStatus() websocket.StatusCode {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(deadline):
		p.t.Fatalf("%s: connection not closed", p.name)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return websocket.CloseStatus(p.closeErr)
}

func (p *peer) close() {
	p.conn.Close(websocket.StatusNormalClosure, "")
	<-p.done
}

// rawCloseStatus reads from a raw connection until it closes and returns the close code.
func rawCloseStatus(t *testing.T, c *websocket.Conn) websocket.StatusCode {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	for {
		_, _, err := c.Read(ctx)
		if err != nil {
			if ctx.Err() != nil {
				t.Fatal("connection not closed")
			}
			return websocket.CloseStatus(err)
		}
	}
}

func waitUntil(t testing.TB, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

package terminal_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

// wait is the generous deadline for anything a test waits for: the machine is shared and
// slow at times; a healthy run takes a fraction of it.
const wait = 30 * time.Second

type harness struct {
	t        testing.TB
	m        *terminal.Manager
	srv      *httptest.Server
	dir      string
	stateDir string
	opts     terminal.Options
}

func testEnv(home string) []string {
	return []string{"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=" + home, "LANG=C.UTF-8", "PS1=$ "}
}

// newHarness starts a Manager behind an httptest server: /t/{id}?ro=1&cols=&rows=.
func newHarness(tb testing.TB, tweak func(*terminal.Options)) *harness {
	tb.Helper()
	dir := tb.TempDir()
	h := &harness{t: tb, dir: dir, stateDir: filepath.Join(tb.TempDir(), "state")}
	h.opts = terminal.Options{Dir: dir, StateDir: h.stateDir, Shell: "/bin/bash", Env: testEnv(dir), Logger: quietLogger()}
	if tweak != nil {
		tweak(&h.opts)
	}
	h.start()
	tb.Cleanup(h.stop)
	return h
}

func (h *harness) start() {
	h.t.Helper()
	m, err := terminal.NewManager(h.opts)
	if err != nil {
		h.t.Fatal(err)
	}
	h.m = m
	mux := http.NewServeMux()
	mux.HandleFunc("/t/{id}", func(w http.ResponseWriter, r *http.Request) {
		conn, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		q := r.URL.Query()
		cols, _ := strconv.Atoi(q.Get("cols"))
		rows, _ := strconv.Atoi(q.Get("rows"))
		m.Serve(r.Context(), conn, terminal.Attach{ID: r.PathValue("id"), UserID: "u", ReadOnly: q.Get("ro") == "1", Cols: cols, Rows: rows})
	})
	h.srv = httptest.NewServer(mux)
}

// stop shuts the manager down like an agent stop (state saved) and the server with it.
func (h *harness) stop() {
	if h.m == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := h.m.Close(ctx); err != nil {
		h.t.Errorf("Close: %v", err)
	}
	h.srv.CloseClientConnections()
	h.srv.Close()
	h.m = nil
}

// restart simulates an agent restart: a new Manager over the same state dir.
func (h *harness) restart() {
	h.t.Helper()
	h.stop()
	h.start()
}

// tclient is a test WebSocket client that records everything it receives.
type tclient struct {
	t    testing.TB
	conn *websocket.Conn

	mu       sync.Mutex
	out      bytes.Buffer // output payloads, replay included (the last 256 KiB after a flood)
	total    int64        // output payload bytes received
	replay   bytes.Buffer // output between replay markers
	inReplay bool
	replayed bool // the replay end marker arrived
	hello    *terminal.Hello
	ops      []byte // opcode of every frame, in order
	exit     *int
	sizes    [][2]int
	closeErr error
	done     chan struct{}
	changed  chan struct{}
}

func (h *harness) url(id string, query string) string {
	u := "ws" + strings.TrimPrefix(h.srv.URL, "http") + "/t/" + id
	if query != "" {
		u += "?" + query
	}
	return u
}

// dial connects and, unless noRead, starts reading in the background.
func (h *harness) dial(id, query string, noRead bool) *tclient {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, h.url(id, query), nil)
	if err != nil {
		h.t.Fatalf("dial %s: %v", id, err)
	}
	conn.SetReadLimit(1 << 20)
	c := &tclient{t: h.t, conn: conn, done: make(chan struct{}), changed: make(chan struct{}, 1)}
	h.t.Cleanup(func() { _ = conn.CloseNow() })
	if !noRead {
		go c.readLoop()
	}
	return c
}

func (c *tclient) readLoop() {
	defer close(c.done)
	for {
		typ, b, err := c.conn.Read(context.Background())
		c.mu.Lock()
		if err != nil {
			c.closeErr = err
			c.mu.Unlock()
			c.poke()
			return
		}
		if typ != websocket.MessageBinary || len(b) == 0 {
			c.closeErr = errors.New("bad frame from agent")
			c.mu.Unlock()
			c.poke()
			return
		}
		c.ops = append(c.ops, b[0])
		switch b[0] {
		case terminal.OpOutput:
			c.total += int64(len(b) - 1)
			c.out.Write(b[1:])
			if c.out.Len() > 1<<20 { // keep a tail: floods must not grow the test's memory
				tail := append([]byte(nil), c.out.Bytes()[c.out.Len()-256<<10:]...)
				c.out.Reset()
				c.out.Write(tail)
			}
			if c.inReplay {
				c.replay.Write(b[1:])
			}
		case terminal.OpHello:
			var hl terminal.Hello
			if err := json.Unmarshal(b[1:], &hl); err == nil {
				c.hello = &hl
			}
		case terminal.OpReplay:
			c.inReplay = b[1] == terminal.ReplayBegin
			c.replayed = b[1] == terminal.ReplayEnd
		case terminal.OpExit:
			code := int(int32(binary.BigEndian.Uint32(b[1:])))
			c.exit = &code
		case terminal.OpSize:
			c.sizes = append(c.sizes, [2]int{int(binary.BigEndian.Uint16(b[1:])), int(binary.BigEndian.Uint16(b[3:]))})
		}
		c.mu.Unlock()
		c.poke()
	}
}

func (c *tclient) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// until waits for cond (evaluated under the client's lock) or fails after the deadline.
func (c *tclient) until(what string, cond func(c *tclient) bool) {
	c.t.Helper()
	deadline := time.After(wait)
	for {
		c.mu.Lock()
		ok := cond(c)
		c.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-c.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			c.mu.Lock()
			out := c.out.String()
			c.mu.Unlock()
			if len(out) > 2000 {
				out = "…" + out[len(out)-2000:]
			}
			c.t.Fatalf("timed out waiting for %s; output so far: %q", what, out)
		}
	}
}

func (c *tclient) waitOutput(s string) {
	c.t.Helper()
	c.until("output "+strconv.Quote(s), func(c *tclient) bool { return strings.Contains(c.out.String(), s) })
}

func (c *tclient) waitReplay() {
	c.t.Helper()
	c.until("replay", func(c *tclient) bool { return c.replayed })
}

func (c *tclient) output() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.out.String()
}

func (c *tclient) send(frame ...byte) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	if err := c.conn.Write(ctx, websocket.MessageBinary, frame); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *tclient) input(s string) {
	c.t.Helper()
	c.send(append([]byte{terminal.OpInput}, s...)...)
}

func (c *tclient) resize(cols, rows int) {
	c.t.Helper()
	f := []byte{terminal.OpResize, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(f[1:], uint16(cols))
	binary.BigEndian.PutUint16(f[3:], uint16(rows))
	c.send(f...)
}

// closeStatus waits for the connection to end and returns the agent's close code.
func (c *tclient) closeStatus() websocket.StatusCode {
	c.t.Helper()
	select {
	case <-c.done:
	case <-time.After(wait):
		c.t.Fatal("connection did not close")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return websocket.CloseStatus(c.closeErr)
}

// drainStatus reads a client that was not reading until its connection ends.
func (c *tclient) drainStatus() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	for {
		if _, _, err := c.conn.Read(ctx); err != nil {
			return websocket.CloseStatus(err)
		}
	}
}

func quietLogger() *slog.Logger {
	if testing.Verbose() {
		return slog.Default()
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// zombies lists this process's defunct children.
func zombies(tb testing.TB) []string {
	tb.Helper()
	me := strconv.Itoa(os.Getpid())
	entries, _ := os.ReadDir("/proc")
	var out []string
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) > 1 && f[0] == "Z" && f[1] == me {
			out = append(out, s[:i+1])
		}
	}
	return out
}

package terminal_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

func TestManager_TwoTerminals(t *testing.T) {
	h := newHarness(t, nil)
	a := h.dial("a", "cols=100&rows=30", false)
	b := h.dial("b", "", false)
	a.input("echo A$((40+2))\r")
	b.input("echo B$((50+5))\r")
	a.waitOutput("A42")
	b.waitOutput("B55")
	if strings.Contains(a.output(), "B55") || strings.Contains(b.output(), "A42") {
		t.Fatal("output crossed sessions")
	}
	a.mu.Lock()
	hl := *a.hello
	ops := append([]byte(nil), a.ops[:2]...)
	a.mu.Unlock()
	if hl.Session != "a" || !hl.Created || hl.Restored || hl.Exited || hl.Cols != 100 || hl.Rows != 30 || hl.ReadOnly || hl.Clients != 1 || hl.Protocol != 1 {
		t.Errorf("hello = %+v", hl)
	}
	// Every connection starts: hello, replay begin, (replay…), replay end.
	if ops[0] != terminal.OpHello || ops[1] != terminal.OpReplay {
		t.Errorf("first frames = %v", ops)
	}
	if st := h.m.Stats(); st.Sessions != 2 || st.Clients != 2 {
		t.Errorf("stats = %+v", st)
	}
	n := h.dial("new", "", false)
	n.until("hello", func(c *tclient) bool { return c.hello != nil })
	n.mu.Lock()
	id := n.hello.Session
	n.mu.Unlock()
	if !terminal.ValidID(id) || id == "new" {
		t.Errorf("agent-chosen id %q", id)
	}
}

var pidRE = regexp.MustCompile(`PID=(\d+)\.`)

// shellPID asks the shell for its pid (the replay may hold older answers: wait for a new one).
func shellPID(tb testing.TB, c *tclient) string {
	tb.Helper()
	c.waitReplay()
	before := len(pidRE.FindAllString(c.output(), -1))
	c.input("echo PID=$$.\r")
	c.until("pid", func(c *tclient) bool { return len(pidRE.FindAllString(c.out.String(), -1)) > before })
	m := pidRE.FindAllStringSubmatch(c.output(), -1)
	return m[len(m)-1][1]
}

// TestManager_Reconnect drops a connection and resumes it: the same shell, the exact
// scrollback, and none of the terminal queries the program printed.
func TestManager_Reconnect(t *testing.T) {
	h := newHarness(t, nil)
	a := h.dial("r1", "", false)
	pid := shellPID(t, a)
	a.input(`printf 'exact:\001\002\342\234\223|%s\n' ok; printf 'Q\033[6n\033]11;?\007\033[cZ\n'` + "\r")
	// The one writable client is the one that answers queries: it gets them live.
	a.waitOutput("Q\x1b[6n\x1b]11;?\x07\x1b[cZ")
	_ = a.conn.CloseNow()

	b := h.dial("r1", "", false)
	b.waitReplay()
	b.mu.Lock()
	replay, hl := b.replay.String(), *b.hello
	b.mu.Unlock()
	if hl.Created || hl.Restored {
		t.Errorf("hello = %+v, want a reattach", hl)
	}
	for _, want := range []string{"exact:\x01\x02✓|ok", "QZ", "PID=" + pid + "."} {
		if !strings.Contains(replay, want) {
			t.Errorf("replay lacks %q: %q", want, replay)
		}
	}
	for _, bad := range []string{"\x1b[6n", "\x1b]11;?", "\x1b[c"} {
		if strings.Contains(replay, bad) {
			t.Errorf("replay contains query %q", bad)
		}
	}
	if got := shellPID(t, b); got != pid {
		t.Errorf("shell pid %s after reconnect, want %s (same shell)", got, pid)
	}
}

// TestManager_RestartRestores stops the agent (state saved) and starts a new one over the same
// state dir: the scrollback comes back in a fresh shell in the last directory.
func TestManager_RestartRestores(t *testing.T) {
	h := newHarness(t, nil)
	work := filepath.Join(t.TempDir(), "x y")
	if err := os.Mkdir(work, 0o755); err != nil {
		t.Fatal(err)
	}
	a := h.dial("p", "", false)
	pid := shellPID(t, a)
	a.input("cd '" + work + "' && echo SAVED-$((6*7)) && printf 'R\\033[6nS\\n'\r")
	a.waitOutput("SAVED-42")
	a.waitOutput("S\r\n")

	h.restart()
	if code := a.closeStatus(); code != terminal.CloseShuttingDown {
		t.Errorf("close code on shutdown = %d, want %d", code, terminal.CloseShuttingDown)
	}
	list := h.m.List()
	if len(list) != 1 || list[0].ID != "p" || list[0].State != "restorable" || list[0].Cwd != work {
		t.Fatalf("List after restart = %+v", list)
	}

	b := h.dial("p", "", false)
	b.waitReplay()
	b.mu.Lock()
	replay, hl := b.replay.String(), *b.hello
	b.mu.Unlock()
	if !hl.Created || !hl.Restored {
		t.Errorf("hello = %+v, want created+restored", hl)
	}
	if !strings.Contains(replay, "SAVED-42") || !strings.Contains(replay, "RS") || strings.Contains(replay, "\x1b[6n") {
		t.Errorf("restored replay = %q", replay)
	}
	b.input("echo P:$(pwd):Q\r")
	b.waitOutput("P:" + work + ":Q")
	if got := shellPID(t, b); got == pid {
		t.Error("same pid after restart: not a fresh shell?")
	}
}

func TestManager_ReadOnlyViewer(t *testing.T) {
	h := newHarness(t, nil)
	w := h.dial("s", "", false)
	w.input("echo W$((1+1))\r")
	w.waitOutput("W2")
	v := h.dial("s", "ro=1", false)
	v.waitOutput("W2") // replay
	v.mu.Lock()
	ro := v.hello.ReadOnly
	v.mu.Unlock()
	if !ro {
		t.Error("hello does not say read-only")
	}
	w.input("echo V$((3+4))\r")
	v.waitOutput("V7")

	v.input("echo typed-by-viewer\r")
	if code := v.closeStatus(); code != terminal.CloseForbidden {
		t.Errorf("viewer input: close %d, want %d", code, terminal.CloseForbidden)
	}
	v2 := h.dial("s", "ro=1", false)
	v2.waitReplay()
	v2.resize(50, 20)
	if code := v2.closeStatus(); code != terminal.CloseForbidden {
		t.Errorf("viewer resize: close %d, want %d", code, terminal.CloseForbidden)
	}
	// The writer never noticed, and the viewer's input never reached the shell.
	w.input("echo still$((2*4))\r")
	w.waitOutput("still8")
	if strings.Contains(w.output(), "typed-by-viewer") {
		t.Error("viewer input reached the shell")
	}
	for _, id := range []string{"nosuch", "new"} {
		if code := h.dial(id, "ro=1", false).closeStatus(); code != terminal.CloseUnknownSession {
			t.Errorf("viewer of %q: close %d, want %d", id, code, terminal.CloseUnknownSession)
		}
	}
}

func TestManager_Limits(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.MaxClients, o.MaxSessions = 2, 2 })
	a := h.dial("one", "", false)
	b := h.dial("one", "", false)
	a.waitReplay()
	b.waitReplay()
	if code := h.dial("one", "", false).closeStatus(); code != terminal.CloseTooMany {
		t.Errorf("third client: close %d, want %d", code, terminal.CloseTooMany)
	}
	h.dial("two", "", false).waitReplay()
	if code := h.dial("three", "", false).closeStatus(); code != terminal.CloseTooMany {
		t.Errorf("third session: close %d, want %d", code, terminal.CloseTooMany)
	}
	if code := h.dial("bad.id", "", false).closeStatus(); code != terminal.CloseBadFrame {
		t.Errorf("bad id: close %d, want %d", code, terminal.CloseBadFrame)
	}
	a.input("echo ok$((1+1))\r")
	b.waitOutput("ok2")
}

func TestManager_Resize(t *testing.T) {
	h := newHarness(t, nil)
	a := h.dial("z", "", false)
	other := h.dial("z", "", false)
	a.waitReplay()
	other.waitReplay()
	a.resize(100, 30)
	other.until("size notice", func(c *tclient) bool { return len(c.sizes) > 0 && c.sizes[len(c.sizes)-1] == [2]int{100, 30} })
	a.input("echo S:$(stty size):E\r")
	a.waitOutput("S:30 100:E")

	for _, tc := range []struct{ cols, rows, wantCols, wantRows int }{
		{0, 0, terminal.MinCols, terminal.MinRows},
		{65535, 65535, terminal.MaxCols, terminal.MaxRows},
		{100000 & 0xffff, 24, 34464 % 65536, 24}, // 100000 does not fit uint16: the client sends 34464
	} {
		wc, wr := tc.wantCols, tc.wantRows
		if wc > terminal.MaxCols {
			wc = terminal.MaxCols
		}
		a.resize(tc.cols, tc.rows)
		other.until("clamped size", func(c *tclient) bool { return len(c.sizes) > 0 && c.sizes[len(c.sizes)-1] == [2]int{wc, wr} })
	}
	a.resize(80, 24)
	a.input("echo T:$(stty size):E\r")
	a.waitOutput("T:24 80:E")

	a.send(terminal.OpResize, 0, 80, 0) // 3 bytes
	if code := a.closeStatus(); code != terminal.CloseBadFrame {
		t.Errorf("short resize: close %d, want %d", code, terminal.CloseBadFrame)
	}
	other.input("echo fine$((1+1))\r")
	other.waitOutput("fine2")
}

func TestManager_ExitCodes(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.Grace = time.Hour })
	for _, tc := range []struct {
		cmd  string
		code int
	}{{"exit 3", 3}, {"exit 0", 0}, {"kill -9 $$", 137}} {
		id := "e" + string(rune('a'+tc.code%26))
		c := h.dial(id, "", false)
		c.waitReplay()
		c.input(tc.cmd + "\r")
		if code := c.closeStatus(); code != terminal.CloseExited {
			t.Errorf("%s: close %d, want %d", tc.cmd, code, terminal.CloseExited)
		}
		c.mu.Lock()
		got := c.exit
		c.mu.Unlock()
		if got == nil || *got != tc.code {
			t.Errorf("%s: exit frame %v, want %d", tc.cmd, got, tc.code)
		}
		// Reconnecting within the grace period gets the scrollback and the status again.
		r := h.dial(id, "", false)
		if code := r.closeStatus(); code != terminal.CloseExited {
			t.Errorf("%s reconnect: close %d, want %d", tc.cmd, code, terminal.CloseExited)
		}
		r.mu.Lock()
		if r.hello == nil || !r.hello.Exited || r.hello.ExitCode == nil || *r.hello.ExitCode != tc.code || r.exit == nil || *r.exit != tc.code || !r.replayed {
			t.Errorf("%s reconnect: hello %+v exit %v", tc.cmd, r.hello, r.exit)
		}
		r.mu.Unlock()
	}
	if z := zombies(t); len(z) > 0 {
		t.Errorf("zombies: %v", z)
	}
	if st := h.m.Stats(); st.Sessions != 0 {
		t.Errorf("stats after exits = %+v", st)
	}
}

// TestManager_SlowClient runs yes with one client that reads and one that never does: memory
// stays bounded, the reader keeps getting output, the other is closed with 4408.
func TestManager_SlowClient(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) {
		o.ClientBuffer, o.HighWater = 256<<10, 64<<10
		o.WriteTimeout = 10 * time.Minute // the slow client must be told why, when it reads
	})
	fast := h.dial("y", "", false)
	fast.waitReplay()
	slow := h.dial("y", "", true)
	h.until(t, "two clients", func() bool { return h.m.Stats().Clients == 2 })

	fast.input("yes\r")
	h.until(t, "the slow client dropped", func() bool { return h.m.Stats().Clients == 1 })
	start := func() int64 { fast.mu.Lock(); defer fast.mu.Unlock(); return fast.total }()
	fast.until("8 MiB more output", func(c *tclient) bool { return c.total > start+8<<20 })
	for _, in := range h.m.List() {
		if in.Buffered > 256<<10+256<<10 {
			t.Errorf("session buffers %d bytes", in.Buffered)
		}
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	if ms.HeapAlloc > 64<<20 {
		t.Errorf("heap %d MiB while yes runs", ms.HeapAlloc>>20)
	}
	fast.input("\x03")
	fast.input("echo DONE$((2+3))\r")
	fast.waitOutput("DONE5")
	if code := slow.drainStatus(); code != terminal.CloseTooSlow {
		t.Errorf("slow client: close %d, want %d", code, terminal.CloseTooSlow)
	}
}

func (h *harness) until(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestManager_BadFrames sends each kind of malformed frame on its own connection beside a
// well-behaved one, which must not notice.
func TestManager_BadFrames(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.MaxFrame = 1024; o.MaxClients = 100 })
	good := h.dial("g", "", false)
	good.waitReplay()
	cases := map[string]func(c *tclient){
		"empty":            func(c *tclient) { c.send() },
		"unknown opcode":   func(c *tclient) { c.send(0x7f, 1, 2) },
		"text frame":       func(c *tclient) { _ = c.conn.Write(context.Background(), websocket.MessageText, []byte("\x00ls\r")) },
		"empty input":      func(c *tclient) { c.send(terminal.OpInput) },
		"long resize":      func(c *tclient) { c.send(terminal.OpResize, 0, 80, 0, 24, 0) },
		"pause payload":    func(c *tclient) { c.send(terminal.OpPause, 1) },
		"resume payload":   func(c *tclient) { c.send(terminal.OpResume, 1) },
		"short ack":        func(c *tclient) { c.send(terminal.OpAck, 0, 0, 1) },
		"oversized":        func(c *tclient) { c.send(append([]byte{terminal.OpInput}, make([]byte, 1024)...)...) },
		"hugely oversized": func(c *tclient) { c.send(append([]byte{terminal.OpInput}, make([]byte, 1<<20)...)...) },
	}
	for name, send := range cases {
		t.Run(name, func(t *testing.T) {
			c := h.dial("g", "", false)
			c.t = t
			c.waitReplay()
			send(c)
			if code := c.closeStatus(); code != terminal.CloseBadFrame {
				t.Errorf("close %d, want %d", code, terminal.CloseBadFrame)
			}
		})
	}
	// The largest allowed frame is fine.
	ok := h.dial("g", "", false)
	ok.waitReplay()
	ok.send(append([]byte{terminal.OpInput}, []byte("echo max"+strings.Repeat(" ", 1023-len("echo max")-len("$((1+1))\r"))+"$((1+1))\r")...)...)
	ok.waitOutput("max 2")
	good.input("echo undisturbed$((1+1))\r")
	good.waitOutput("undisturbed2")
}

// TestManager_FlowControl checks pause/resume and credit-based flow control.
func TestManager_FlowControl(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.Window = 4096 })
	c := h.dial("f", "", false)
	c.waitReplay()
	c.send(terminal.OpPause)
	c.input("echo PAUSED$((1+1))\r")
	h.until(t, "output queued while paused", func() bool { return h.m.List()[0].Buffered > 0 })
	time.Sleep(50 * time.Millisecond) // give a wrongly sent frame the chance to arrive
	if strings.Contains(c.output(), "PAUSED2") {
		t.Fatal("output arrived while paused")
	}
	c.send(terminal.OpResume)
	c.waitOutput("PAUSED2")

	// Credit: opt in with an ack of 0; output stops at about one window until acked.
	c.send(terminal.OpAck, 0, 0, 0, 0)
	before := func() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.total }()
	c.input("head -c 100000 /dev/zero | tr '\\0' x; echo END$((1+1))\r")
	h.until(t, "output waiting for credit", func() bool { return h.m.List()[0].Buffered > 0 })
	time.Sleep(50 * time.Millisecond)
	got := func() int64 { c.mu.Lock(); defer c.mu.Unlock(); return c.total }() - before
	if got > 4096+32<<10+4096 {
		t.Fatalf("received %d bytes beyond a 4096-byte window", got)
	}
	for !strings.Contains(c.output(), "END2") {
		c.send(terminal.OpAck, 0, 1, 0, 0) // 65536 bytes of credit
		time.Sleep(5 * time.Millisecond)
	}
}

// TestManager_QueryAnswerer: with two writable clients, only the one typing gets terminal
// queries (so only one terminal answers them).
func TestManager_QueryAnswerer(t *testing.T) {
	h := newHarness(t, nil)
	a := h.dial("q", "", false)
	b := h.dial("q", "", false)
	a.waitReplay()
	b.waitReplay()
	a.input("printf 'A\\033[6nB\\n'\r")
	a.waitOutput("A\x1b[6nB")
	b.waitOutput("AB")
	if strings.Contains(b.output(), "\x1b[6n") {
		t.Error("the idle client got the query too")
	}
	b.input("printf 'C\\033[6nD\\n'\r")
	b.waitOutput("C\x1b[6nD")
	a.waitOutput("CD")
	if strings.Contains(a.output(), "C\x1b[6nD") {
		t.Error("the client that stopped typing still gets queries")
	}
}

func TestManager_GraceExpiry(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.Grace = 200 * time.Millisecond })
	c := h.dial("g", "", false)
	pid := shellPID(t, c)
	_ = c.conn.CloseNow()
	h.until(t, "the detached session to expire", func() bool { return len(h.m.List()) == 0 })
	if _, err := os.Stat(filepath.Join(h.stateDir, "terminals", "g.json")); !os.IsNotExist(err) {
		t.Errorf("saved state survives expiry: %v", err)
	}
	d := h.dial("g", "", false)
	if got := shellPID(t, d); got == pid {
		t.Error("same shell after the grace period")
	}
	d.mu.Lock()
	if !d.hello.Created || d.hello.Restored {
		t.Errorf("hello after expiry = %+v", d.hello)
	}
	d.mu.Unlock()
	h.until(t, "no zombies", func() bool { return len(zombies(t)) == 0 })
}

// TestManager_Ping: a client that answers pings stays; one that reads nothing is dropped.
func TestManager_Ping(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.PingInterval = 100 * time.Millisecond })
	live := h.dial("p", "", false)
	live.waitReplay()
	h.dial("p", "", true)
	h.until(t, "two clients", func() bool { return h.m.Stats().Clients == 2 })
	h.until(t, "the silent client dropped", func() bool { return h.m.Stats().Clients == 1 })
	time.Sleep(500 * time.Millisecond) // several ping intervals
	live.input("echo alive$((1+1))\r")
	live.waitOutput("alive2")
}

func TestManager_ShellFailsToStart(t *testing.T) {
	h := newHarness(t, func(o *terminal.Options) { o.Shell = "/nonexistent/shell" })
	if code := h.dial("x", "", false).closeStatus(); code != terminal.CloseInternal {
		t.Errorf("close %d, want %d", code, terminal.CloseInternal)
	}
	if len(h.m.List()) != 0 {
		t.Error("a session was registered")
	}
}

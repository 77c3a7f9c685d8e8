package collab_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/workspace-vm/agent"
	"github.com/vibecode/vibecode/workspace-vm/collab"
	"github.com/vibecode/vibecode/workspace-vm/yjs"
)

func TestHub_Serve_Handshake(t *testing.T) {
	e := newEnv(t, collab.Options{})
	e.writeFile("src/main.go", "package main\n")

	c := e.dialRaw("src/main.go", "")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	// The server speaks first: its SyncStep1 (with its state vector), so the client uploads
	// what the server lacks.
	_, first, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < 3 || first[0] != 0 || first[1] != 0 {
		t.Fatalf("first frame % x, want a SyncStep1 (00 00 …)", first)
	}
	// Our SyncStep1 with an empty state vector is answered with a SyncStep2 holding the
	// whole document, seeded from the file on the server.
	if err := c.Write(ctx, websocket.MessageBinary, []byte{0, 0, 1, 0}); err != nil {
		t.Fatal(err)
	}
	_, second, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	r := &reader{b: second}
	if typ, sub := r.uint(), r.uint(); typ != 0 || sub != 1 {
		t.Fatalf("answer % x, want a SyncStep2 (00 01 …)", second[:4])
	}
	update := r.bytes()
	if r.err != nil || len(r.b) != 0 {
		t.Fatalf("SyncStep2 framing: %v, %d trailing bytes", r.err, len(r.b))
	}
	d := yjs.NewDoc(1)
	if err := d.ApplyUpdate(update); err != nil {
		t.Fatal(err)
	}
	if got := d.Text("content"); got != "package main\n" {
		t.Fatalf("served text %q, want the file's content", got)
	}

	// A client that already has everything gets a SyncStep2 with nothing in it.
	if err := c.Write(ctx, websocket.MessageBinary, syncMsg(0, d.EncodeStateVector())); err != nil {
		t.Fatal(err)
	}
	_, third, err := c.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(third, []byte{0, 1, 2, 0, 0}) {
		t.Fatalf("SyncStep2 for an up-to-date client % x, want 00 01 02 00 00", third)
	}
}

func TestHub_Serve_RelaysUpdates(t *testing.T) {
	e := newEnv(t, collab.Options{})
	a, b := e.dial("doc.txt", ""), e.dial("doc.txt", "")
	a.waitSynced()
	b.waitSynced()
	a.edit("hello")
	b.waitText("hello")
	b.edit("hello world")
	a.waitText("hello world")
	// Concurrent edits converge.
	a.edit("A: hello world")
	b.edit("hello world :B")
	a.waitFor("convergence", func() bool {
		return a.text() == b.text() && strings.Contains(a.text(), "A:") && strings.Contains(a.text(), ":B")
	})
	// Edits stored together (one fsync) are reported together.
	if got := e.edits.Load(); got < 1 {
		t.Errorf("OnActivity saw %d edits, want some", got)
	}
	// The sender does not get its own update back.
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.updates > 2 {
		t.Errorf("a received %d updates, want at most 2 (b's edits)", a.updates)
	}
}

func TestHub_Serve_UploadsOfflineEdits(t *testing.T) {
	e := newEnv(t, collab.Options{})
	a := e.dial("doc.txt", "")
	a.waitSynced()
	a.edit("v1")
	waitUntil(t, "v1 on disk", func() bool { return e.readFile("doc.txt") == "v1" })
	a.close()

	// Offline edit, then reconnect with the same document: the server's SyncStep1 makes the
	// client upload what the server lacks.
	if _, err := a.doc.SetText("content", "v1 + offline"); err != nil {
		t.Fatal(err)
	}
	before := e.edits.Load()
	a2 := e.dialWith("doc.txt", "", a.doc)
	a2.waitSynced()
	b := e.dial("doc.txt", "")
	b.waitText("v1 + offline")
	if e.edits.Load() == before {
		t.Error("uploading offline edits did not count as activity")
	}

	// A reconnect with nothing new is not activity and is not relayed.
	b.mu.Lock()
	updates := b.updates
	b.mu.Unlock()
	before = e.edits.Load()
	a3 := e.dialWith("doc.txt", "", a.doc)
	a3.waitSynced()
	a3.send(awarenessMsg(awState{id: 5, clock: 1, state: `{}`}))
	b.waitFor("awareness", func() bool { _, ok := b.awarenessOf(5); return ok })
	if e.edits.Load() != before {
		t.Error("a reconnect without edits, or awareness, counted as activity")
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.updates != updates {
		t.Errorf("a no-op reconnect relayed %d updates", b.updates-updates)
	}
}

func TestHub_Serve_ReadOnly(t *testing.T) {
	e := newEnv(t, collab.Options{})
	w := e.dial("doc.txt", "user=w")
	ro := e.dial("doc.txt", "user=r&ro=1")
	w.waitSynced()
	ro.waitSynced()
	w.edit("from writer")
	ro.waitText("from writer")

	ro.edit("from writer, changed by a viewer")
	ro.edit("again")
	ro.waitFor("permission denied", func() bool {
		ro.mu.Lock()
		defer ro.mu.Unlock()
		return len(ro.auth) > 0
	})
	// The viewer can still send awareness (its cursor).
	ro.send(awarenessMsg(awState{id: 77, clock: 1, state: `{"user":{"name":"viewer"}}`}))
	w.waitFor("viewer awareness", func() bool { _, ok := w.awarenessOf(77); return ok })
	// Its edits were neither relayed nor stored. (Its own document keeps them locally; a
	// real viewer's editor is read-only.)
	ro.mu.Lock()
	seen := ro.updates
	ro.mu.Unlock()
	w.edit("from writer 2")
	ro.waitFor("writer's second edit", func() bool { ro.mu.Lock(); defer ro.mu.Unlock(); return ro.updates > seen })
	if got := w.text(); got != "from writer 2" {
		t.Errorf("writer sees %q: the viewer's edit got through", got)
	}
	fresh := e.dial("doc.txt", "")
	fresh.waitSynced()
	if got := fresh.text(); got != "from writer 2" {
		t.Errorf("stored text %q: the viewer's edit was stored", got)
	}
	ro.mu.Lock()
	defer ro.mu.Unlock()
	if len(ro.auth) != 1 {
		t.Errorf("viewer got %d permission-denied messages, want 1", len(ro.auth))
	}
}

func TestHub_Serve_Awareness(t *testing.T) {
	e := newEnv(t, collab.Options{})
	a, b := e.dial("doc.txt", ""), e.dial("doc.txt", "")
	a.waitSynced()
	b.waitSynced()

	a.send(awarenessMsg(awState{id: 11, clock: 1, state: `{"user":{"name":"ann"}}`}))
	// Echoed to the sender (its keep-alive) and relayed to the other client.
	a.waitFor("own awareness echo", func() bool { s, ok := a.awarenessOf(11); return ok && s.clock == 1 })
	b.waitFor("a's awareness", func() bool { s, ok := b.awarenessOf(11); return ok && strings.Contains(s.state, "ann") })

	// A stale clock is ignored; a newer one replaces the state.
	a.send(awarenessMsg(awState{id: 11, clock: 1, state: `{"user":{"name":"stale"}}`}))
	a.send(awarenessMsg(awState{id: 11, clock: 2, state: `{"user":{"name":"ann2"}}`}))
	b.waitFor("newer awareness", func() bool { s, _ := b.awarenessOf(11); return s.clock == 2 })
	if s, _ := b.awarenessOf(11); strings.Contains(s.state, "stale") {
		t.Error("a stale awareness state was relayed")
	}

	// A late joiner gets the known states right away.
	late := e.dial("doc.txt", "")
	late.waitFor("known awareness", func() bool { s, ok := late.awarenessOf(11); return ok && strings.Contains(s.state, "ann2") })

	// Query awareness is answered with every known state.
	q := e.dialRaw("doc.txt", "")
	ctx, cancel := context.WithTimeout(context.Background(), deadline)
	defer cancel()
	if err := q.Write(ctx, websocket.MessageBinary, []byte{3}); err != nil {
		t.Fatal(err)
	}
	answered := 0
	for answered < 2 { // once on join, once for the query
		_, f, err := q.Read(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if f[0] == 1 {
			answered++
		}
	}

	// When a disconnects, everyone is told its state is gone: clock+1, null.
	a.close()
	for _, p := range []*peer{b, late} {
		p.waitFor("removal", func() bool { s, _ := p.awarenessOf(11); return s.state == "null" && s.clock == 3 })
	}
	// The same tab reconnecting announces its unchanged state with its old clock, below the
	// removal's: it is told of the removal (so a real client bumps its clock and announces
	// itself again), and the stale state is not relayed.
	again := e.dial("doc.txt", "")
	again.waitSynced()
	again.send(awarenessMsg(awState{id: 11, clock: 2, state: `{"user":{"name":"ann2"}}`}))
	again.waitFor("the removal, as a correction", func() bool { s, ok := again.awarenessOf(11); return ok && s.state == "null" && s.clock == 3 })
	again.send(awarenessMsg(awState{id: 11, clock: 4, state: `{"user":{"name":"ann3"}}`}))
	b.waitFor("the state announced again", func() bool { s, _ := b.awarenessOf(11); return s.clock == 4 && strings.Contains(s.state, "ann3") })
	again.close()
	b.waitFor("removal", func() bool { s, _ := b.awarenessOf(11); return s.state == "null" && s.clock == 5 })

	// And a joiner after that does not get it.
	after := e.dial("doc.txt", "")
	after.waitSynced()
	time.Sleep(50 * time.Millisecond)
	if _, ok := after.awarenessOf(11); ok {
		t.Error("a removed awareness state was sent to a new client")
	}
}

func TestHub_Serve_BadInput(t *testing.T) {
	e := newEnv(t, collab.Options{MaxMessageBytes: 64 << 10})
	good := e.dial("doc.txt", "")
	good.waitSynced()
	cases := []struct {
		name  string
		typ   websocket.MessageType
		frame []byte
		want  websocket.StatusCode
	}{
		{"unknown message type", websocket.MessageBinary, []byte{7, 0}, collab.CloseMalformed},
		{"auth from a client", websocket.MessageBinary, []byte{2, 0, 0}, collab.CloseMalformed},
		{"unknown sync type", websocket.MessageBinary, []byte{0, 9, 0}, collab.CloseMalformed},
		{"empty frame", websocket.MessageBinary, []byte{}, collab.CloseMalformed},
		{"endless varUint", websocket.MessageBinary, bytes.Repeat([]byte{0x80}, 12), collab.CloseMalformed},
		{"truncated payload", websocket.MessageBinary, []byte{0, 2, 10, 1, 2}, collab.CloseMalformed},
		{"trailing bytes", websocket.MessageBinary, []byte{0, 0, 1, 0, 99}, collab.CloseMalformed},
		{"text frame", websocket.MessageText, []byte("hello"), collab.CloseMalformed},
		{"awareness not JSON", websocket.MessageBinary, awarenessMsg(awState{id: 1, clock: 1, state: "{nope"}), collab.CloseMalformed},
		{"awareness count lies", websocket.MessageBinary, []byte{1, 2, 200, 1}, collab.CloseMalformed},
		{"garbage update", websocket.MessageBinary, syncMsg(2, []byte{5, 200, 1, 2, 3}), collab.CloseMalformed},
		{"garbage state vector", websocket.MessageBinary, syncMsg(0, []byte{9, 9}), collab.CloseMalformed},
		{"oversized", websocket.MessageBinary, syncMsg(2, make([]byte, 100<<10)), collab.CloseTooBig},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.dialRaw("doc.txt", "")
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			defer cancel()
			if err := c.Write(ctx, tc.typ, tc.frame); err != nil {
				t.Fatal(err)
			}
			if got := rawCloseStatus(t, c); got != tc.want {
				t.Fatalf("close code %d, want %d", got, tc.want)
			}
			// Nobody else was disturbed.
			text := fmt.Sprintf("still fine %d", i)
			good.edit(text)
			check := e.dial("doc.txt", "")
			check.waitText(text)
			check.close()
		})
	}
	t.Run("invalid document name", func(t *testing.T) {
		for _, doc := range []string{"../etc/passwd", "a//b", "a/./b", "%2Fabs"} {
			ctx, cancel := context.WithTimeout(context.Background(), deadline)
			_, resp, err := websocket.Dial(ctx, e.url(doc, ""), nil)
			cancel()
			if err == nil || resp == nil || resp.StatusCode != http.StatusBadRequest {
				t.Errorf("%s: err %v, response %v; want HTTP 400", doc, err, resp)
			}
		}
	})
	t.Run("binary file", func(t *testing.T) {
		e.writeFile("image.png", "\x89PNG\r\n\x1a\n\xff\xfe")
		c := e.dial("image.png", "")
		if got := c.closeStatus(); got != collab.CloseUnsupportedFile {
			t.Fatalf("close code %d, want %d", got, collab.CloseUnsupportedFile)
		}
	})
}

func TestHub_Serve_SlowClientIsClosed(t *testing.T) {
	e := newEnv(t, collab.Options{SendQueueBytes: 16 << 20, WriteTimeout: 2 * time.Second})
	a, b := e.dial("doc.txt", ""), e.dial("doc.txt", "")
	a.waitSynced()
	b.waitSynced()
	// A client that never reads.
	slow := e.dialRaw("doc.txt", "")
	waitUntil(t, "three clients", func() bool { return e.hub.Load().Stats().Clients == 3 })

	// Large awareness states (relayed to everyone, like updates, through the same queues)
	// fill the slow client's socket buffers and then its 16 MiB queue: 64 MiB in all.
	state := `{"pad":"` + strings.Repeat("x", 32<<10) + `"}`
	const n = 2000
	for i := 1; i <= n; i++ {
		a.send(awarenessMsg(awState{id: 42, clock: uint64(i), state: state}))
	}
	a.edit("after the flood")
	b.waitFor("every awareness update", func() bool { s, _ := b.awarenessOf(42); return s.clock == n })
	b.waitText("after the flood")
	waitUntil(t, "the slow client to be closed", func() bool { return e.hub.Load().Stats().Clients == 2 })
	if got := rawCloseStatus(t, slow); got != collab.CloseTooSlow && got != -1 {
		t.Errorf("slow client close code %d, want %d (or a dropped connection)", got, collab.CloseTooSlow)
	}
}

func TestHub_Durability(t *testing.T) {
	t.Run("acknowledged updates survive a crash", func(t *testing.T) {
		e := newEnv(t, collab.Options{})
		a, b := e.dial("doc.txt", ""), e.dial("doc.txt", "")
		a.waitSynced()
		b.waitSynced()
		text := ""
		for i := range 50 {
			text += fmt.Sprintf("line %d\n", i)
			a.edit(text)
		}
		b.waitText(text) // b saw every update: all were stored before they were relayed
		// The crash image: the state directory as it is now, with the hub still running.
		crashed := t.TempDir()
		copyDir(t, e.opts.StateDir, crashed)
		e2 := newEnv(t, collab.Options{StateDir: crashed})
		c := e2.dial("doc.txt", "")
		c.waitText(text)
	})
	t.Run("restart", func(t *testing.T) {
		e := newEnv(t, collab.Options{})
		a := e.dial("doc.txt", "")
		a.waitSynced()
		a.edit("before restart")
		waitUntil(t, "the file", func() bool { return e.readFile("doc.txt") == "before restart" })
		e.restart()
		if got := a.closeStatus(); got != collab.CloseShuttingDown {
			t.Errorf("close code on shutdown %d, want %d", got, collab.CloseShuttingDown)
		}
		b := e.dial("doc.txt", "")
		b.waitText("before restart")
		b.edit("after restart")
		waitUntil(t, "the file", func() bool { return e.readFile("doc.txt") == "after restart" })
	})
	t.Run("torn tail is truncated", func(t *testing.T) {
		for _, damage := range []string{"short record", "bad checksum", "garbage"} {
			t.Run(damage, func(t *testing.T) {
				e := newEnv(t, collab.Options{})
				a := e.dial("doc.txt", "")
				a.waitSynced()
				a.edit("one")
				a.edit("one two")
				waitUntil(t, "the file", func() bool { return e.readFile("doc.txt") == "one two" })
				e.close()
				log := onlyLog(t, e.opts.StateDir)
				good, err := os.ReadFile(log)
				if err != nil {
					t.Fatal(err)
				}
				// A third update, damaged as a crash mid-append would.
				third := append([]byte(nil), good...)
				u, err := a.doc.SetText("content", "one two three")
				if err != nil {
					t.Fatal(err)
				}
				rec := record(0, u)
				switch damage {
				case "short record":
					third = append(third, rec[:len(rec)-3]...)
				case "bad checksum":
					rec[5] ^= 0xff
					third = append(third, rec...)
				case "garbage":
					third = append(third, 0xde, 0xad)
				}
				if err := os.WriteFile(log, third, 0o600); err != nil {
					t.Fatal(err)
				}
				// Keep the file in step so the reload does not see an outside edit.
				e.start()
				b := e.dial("doc.txt", "")
				b.waitText("one two")
				st, err := os.Stat(log)
				if err != nil {
					t.Fatal(err)
				}
				if st.Size() != int64(len(good)) {
					t.Errorf("log is %d bytes after load, want the %d intact bytes", st.Size(), len(good))
				}
			})
		}
	})
}

func TestHub_Compaction(t *testing.T) {
	e := newEnv(t, collab.Options{CompactUpdates: 20})
	a := e.dial("doc.txt", "")
	a.waitSynced()
	text := ""
	for i := range 200 {
		text += fmt.Sprintf("line %d\n", i)
		a.edit(text)
	}
	b := e.dial("doc.txt", "")
	b.waitText(text)
	e.close()
	records := readLog(t, onlyLog(t, e.opts.StateDir))
	if len(records) > 40 {
		t.Errorf("log holds %d records after 200 edits with CompactUpdates 20", len(records))
	}
	// The compacted log yields the same document.
	d := yjs.NewDoc(1)
	for _, r := range records {
		if r.kind == 0 {
			if err := d.ApplyUpdate(r.payload); err != nil {
				t.Fatal(err)
			}
		}
	}
	if d.Text("content") != text {
		t.Errorf("compacted log replays to %q…", d.Text("content")[:20])
	}
	e.start()
	c := e.dial("doc.txt", "")
	c.waitText(text)
}

func TestHub_FileSync(t *testing.T) {
	e := newEnv(t, collab.Options{UnloadAfter: 50 * time.Millisecond})
	e.writeFile("pkg/a.go", "package a\n")
	if err := os.Chmod(e.file("pkg/a.go"), 0o751); err != nil {
		t.Fatal(err)
	}
	a, b := e.dial("pkg/a.go", ""), e.dial("pkg/a.go", "")
	a.waitText("package a\n") // seeded once, on the server
	b.waitText("package a\n")

	t.Run("edit reaches the file", func(t *testing.T) {
		a.edit("package a\n\nfunc A() {}\n")
		waitUntil(t, "the file", func() bool { return e.readFile("pkg/a.go") == "package a\n\nfunc A() {}\n" })
		st, err := os.Stat(e.file("pkg/a.go"))
		if err != nil {
			t.Fatal(err)
		}
		if st.Mode().Perm() != 0o751 {
			t.Errorf("mode %v after the write, want 0751 kept", st.Mode().Perm())
		}
		entries, _ := os.ReadDir(filepath.Dir(e.file("pkg/a.go")))
		if len(entries) != 1 {
			t.Errorf("directory holds %d entries, want just a.go (no temporary files left)", len(entries))
		}
	})
	t.Run("file change reaches the editors once", func(t *testing.T) {
		b.waitText("package a\n\nfunc A() {}\n")
		b.mu.Lock()
		before := b.updates
		b.mu.Unlock()
		// Written atomically: a writer that truncates first may be read half-way, and its
		// change then arrives as two updates (still converging to the same text).
		e.replaceFile("pkg/a.go", "package a\n\n// from the terminal\nfunc A() {}\n")
		for _, p := range []*peer{a, b} {
			p.waitText("package a\n\n// from the terminal\nfunc A() {}\n")
		}
		time.Sleep(200 * time.Millisecond) // room for an echo, if there were one
		if got := a.text(); got != "package a\n\n// from the terminal\nfunc A() {}\n" {
			t.Errorf("text after settling %q", got)
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		if n := b.updates - before; n != 1 {
			t.Errorf("b received %d updates for one file change, want 1", n)
		}
	})
	t.Run("edit made while unloaded is applied on load", func(t *testing.T) {
		a.close()
		b.close()
		waitUntil(t, "the document to unload", func() bool { return e.hub.Load().Stats().Documents == 0 })
		e.writeFile("pkg/a.go", "package a // checked out\n")
		c := e.dial("pkg/a.go", "")
		c.waitText("package a // checked out\n")
	})
	t.Run("new file", func(t *testing.T) {
		c := e.dial("new/dir/n.txt", "")
		c.waitSynced()
		if _, err := os.Stat(e.file("new/dir/n.txt")); !os.IsNotExist(err) {
			t.Errorf("opening a document created its file (%v)", err)
		}
		c.edit("created")
		waitUntil(t, "the new file", func() bool { return e.readFile("new/dir/n.txt") == "created" })
		e.writeFile("new/dir/n.txt", "created, then changed")
		c.waitText("created, then changed")
	})
}

func TestHub_UnloadsIdleDocuments(t *testing.T) {
	e := newEnv(t, collab.Options{UnloadAfter: 20 * time.Millisecond})
	for i := range 5 {
		p := e.dial(fmt.Sprintf("d%d.txt", i), "")
		p.waitSynced()
		p.edit(fmt.Sprintf("doc %d", i))
		p.close()
	}
	waitUntil(t, "every document unloaded", func() bool { return e.hub.Load().Stats() == agent.CollabStats{} })
	p := e.dial("d3.txt", "")
	p.waitText("doc 3")
	if st := e.hub.Load().Stats(); st.Documents != 1 || st.Clients != 1 {
		t.Errorf("Stats %+v, want 1 document and 1 client", st)
	}
}

// copyDir copies a directory tree of regular files.
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.Walk(from, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if info.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func onlyLog(t *testing.T, stateDir string) string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(stateDir, "docs", "*.ylog"))
	if len(logs) != 1 {
		t.Fatalf("%d logs in the state dir, want 1", len(logs))
	}
	return logs[0]
}

// A crash after the hub wrote the file (content C) but before it recorded the write, with an
// edit (D) stored after the write began: on load the file must be brought up to D, not taken
// for an outside edit that reverts D.
func TestHub_FileSync_UnfinishedWriteIsRedone(t *testing.T) {
	e := newEnv(t, collab.Options{})
	a := e.dial("f.txt", "")
	a.waitSynced()
	a.edit("B")
	waitUntil(t, "B on disk", func() bool { return e.readFile("f.txt") == "B" })
	a.close()
	e.close()

	log := onlyLog(t, e.opts.StateDir)
	b, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	toC, err := a.doc.SetText("content", "C")
	if err != nil {
		t.Fatal(err)
	}
	toD, err := a.doc.SetText("content", "D")
	if err != nil {
		t.Fatal(err)
	}
	sumC := sha256.Sum256([]byte("C"))
	b = append(b, record(0, toC)...)
	b = append(b, record(1, sumC[:])...) // about to write C
	b = append(b, record(0, toD)...)     // an edit stored while the write ran
	if err := os.WriteFile(log, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.writeFile("f.txt", "C") // the write landed; its "synced" marker did not

	e.start()
	c := e.dial("f.txt", "")
	c.waitText("D")
	waitUntil(t, "D on disk", func() bool { return e.readFile("f.txt") == "D" })
}

package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestFileSync_RealAgent runs the two-way file sync end to end: the local stack starts the
// real agent, a file saved through the API appears on the workspace disk (and one deleted
// through the API disappears), a file created, changed or deleted on disk follows in the API,
// neither direction echoes the other's write back, .git and binary files stay put, and
// changes made on both sides while the workspace was stopped are reconciled at the next
// start: the API's version keeps the path, the disk's edit is kept as a conflict copy.
func TestFileSync_RealAgent(t *testing.T) {
	bin, err := realAgentBin()
	if err != nil {
		t.Fatalf("build the agent: %v", err)
	}
	for name, env := range backendEnvs() {
		t.Run(name, func(t *testing.T) {
			e := env(t)
			data := t.TempDir()
			e["VIBECODE_AGENT_BIN"], e["VIBECODE_DATA_DIR"] = bin, data
			e["IDLE_TIMEOUT"], e["IDLE_TIMEOUT_NO_CLIENTS"] = "10m", "10m"
			testFileSync(t, lcStack(t, e), data)
		})
	}
}

func testFileSync(t *testing.T, base, data string) {
	owner := signup(t, base, "sync@example.com")
	ws := str(owner.expect(201, "POST", "/api/workspaces", map[string]any{"name": "sync"}).json(t), "id")
	p := "/api/workspaces/" + ws
	files := p + "/files/"
	put := func(path, content string, headers ...string) response {
		t.Helper()
		r := owner.do("PUT", files+path, content, append([]string{"Content-Type", "application/octet-stream"}, headers...)...)
		if r.status != 200 && r.status != 201 {
			t.Fatalf("PUT %s = %d: %s", path, r.status, r.body)
		}
		return r
	}
	put("notes/todo.txt", "v1\n")
	put("shared.txt", "shared v1\n")
	disk := filepath.Join(data, "workspaces", ws, "files")
	onDisk := func(rel string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(disk, filepath.FromSlash(rel)))
		return string(b), err == nil
	}
	writeDisk := func(rel, content string) {
		t.Helper()
		full := filepath.Join(disk, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	inAPI := func(rel string) (string, int) {
		r := owner.do("GET", files+rel, nil)
		return string(r.body), r.status
	}
	version := func(rel string) int {
		t.Helper()
		r := owner.expect(200, "GET", files+rel, nil)
		v, _ := strconv.Atoi(r.header.Get("X-File-Version"))
		return v
	}
	owner.expect(200, "POST", p+"/start", nil)

	// API → disk: a save in the IDE reaches the disk in about a second.
	t0 := time.Now()
	put("web/saved.go", "package web\n")
	lcWait(t, "web/saved.go on disk", func() bool { c, _ := onDisk("web/saved.go"); return c == "package web\n" })
	t.Logf("API → disk in %s", time.Since(t0).Round(time.Millisecond))
	etag := owner.expect(200, "GET", files+"shared.txt", nil).header.Get("ETag")
	put("shared.txt", "shared v2\n", "If-Match", etag)
	lcWait(t, "shared.txt v2 on disk", func() bool { c, _ := onDisk("shared.txt"); return c == "shared v2\n" })

	// Disk → API: created, changed, in a new directory.
	t0 = time.Now()
	writeDisk("term/made.txt", "made in a terminal\n")
	lcWait(t, "term/made.txt in the API", func() bool { c, s := inAPI("term/made.txt"); return s == 200 && c == "made in a terminal\n" })
	t.Logf("disk → API in %s", time.Since(t0).Round(time.Millisecond))
	writeDisk("notes/todo.txt", "v2 from the terminal\n")
	lcWait(t, "notes/todo.txt changed in the API", func() bool { c, _ := inAPI("notes/todo.txt"); return c == "v2 from the terminal\n" })

	// No echo: the agent's write to disk is not sent back, the API's copy of a disk change is
	// not written again, so versions stay where they are.
	time.Sleep(2500 * time.Millisecond)
	for rel, want := range map[string]int{"web/saved.go": 1, "shared.txt": 2, "term/made.txt": 1, "notes/todo.txt": 2} {
		if got := version(rel); got != want {
			t.Errorf("%s is at version %d, want %d: a sync write echoed", rel, got, want)
		}
	}

	// Deletes, both ways.
	owner.expect(204, "DELETE", files+"web/saved.go", nil)
	lcWait(t, "web/saved.go gone from disk", func() bool { _, ok := onDisk("web/saved.go"); return !ok })
	if err := os.Remove(filepath.Join(disk, "term", "made.txt")); err != nil {
		t.Fatal(err)
	}
	lcWait(t, "term/made.txt gone from the API", func() bool { _, s := inAPI("term/made.txt"); return s == 404 })

	// Never synchronised: .git either way, binary files from disk.
	writeDisk(".git/config", "[core]\n")
	writeDisk("image.bin", "\x00\x01\x02")
	put(".git/hooks/pre-commit", "#!/bin/sh\necho pwned\n")
	writeDisk("marker.txt", "after the skipped ones\n")
	lcWait(t, "marker.txt in the API", func() bool { _, s := inAPI("marker.txt"); return s == 200 })
	time.Sleep(1500 * time.Millisecond) // a few polls
	for _, rel := range []string{".git/config", "image.bin"} {
		if _, s := inAPI(rel); s != 404 {
			t.Errorf("%s reached the API (%d)", rel, s)
		}
	}
	if _, ok := onDisk(".git/hooks/pre-commit"); ok {
		t.Error("a .git file written through the API reached the disk")
	}

	// While stopped, both sides change: the disk (which persists) and the API.
	owner.expect(200, "POST", p+"/stop", nil)
	writeDisk("shared.txt", "shared: the disk's edit\n")
	writeDisk("offline-disk.txt", "written while stopped\n")
	if err := os.Remove(filepath.Join(disk, "marker.txt")); err != nil {
		t.Fatal(err)
	}
	etag = owner.expect(200, "GET", files+"shared.txt", nil).header.Get("ETag")
	put("shared.txt", "shared: the API's edit\n", "If-Match", etag)
	put("offline-api.txt", "saved while stopped\n")
	owner.expect(200, "POST", p+"/start", nil)

	lcWait(t, "offline-api.txt on disk", func() bool { c, _ := onDisk("offline-api.txt"); return c == "saved while stopped\n" })
	lcWait(t, "offline-disk.txt in the API", func() bool { c, _ := inAPI("offline-disk.txt"); return c == "written while stopped\n" })
	lcWait(t, "marker.txt deleted in the API", func() bool { _, s := inAPI("marker.txt"); return s == 404 })
	lcWait(t, "the API's shared.txt on disk", func() bool { c, _ := onDisk("shared.txt"); return c == "shared: the API's edit\n" })
	if c, _ := inAPI("shared.txt"); c != "shared: the API's edit\n" {
		t.Errorf("shared.txt in the API = %q: the API's edit was overwritten", c)
	}
	// The disk's edit is kept next to it, on disk and (as a new file) in the API.
	var copyPath string
	lcWait(t, "the conflict copy in the API", func() bool {
		list := owner.expect(200, "GET", p+"/files", nil).json(t)["files"].([]any)
		for _, f := range list {
			path := str(f.(map[string]any), "path")
			if strings.HasPrefix(path, "shared.conflict-") && strings.HasSuffix(path, ".txt") {
				copyPath = path
				c, _ := inAPI(path)
				return c == "shared: the disk's edit\n"
			}
		}
		return false
	})
	if c, _ := onDisk(copyPath); c != "shared: the disk's edit\n" {
		t.Errorf("conflict copy %s on disk = %q", copyPath, c)
	}

	// The file listing is what the agent polls: a conditional request is answered 304.
	r := owner.expect(200, "GET", p+"/files", nil)
	owner.expect(304, "GET", p+"/files", nil, "If-None-Match", r.header.Get("ETag"))
	put("poll.txt", "changes the listing\n")
	owner.expect(200, "GET", p+"/files", nil, "If-None-Match", r.header.Get("ETag"))
	owner.expect(200, "POST", p+"/stop", nil)
}

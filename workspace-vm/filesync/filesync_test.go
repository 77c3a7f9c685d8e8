package filesync_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/workspace-vm/filesync"
)

// deadline is how long a test waits for something that normally takes milliseconds; generous
// because the machine is shared.
const deadline = 30 * time.Second

// fakeReporter records the latest reported state per path and can be told to fail.
type fakeReporter struct {
	mu      sync.Mutex
	state   map[string]filesync.Change
	calls   int
	failFor int // fail this many calls first
	changed chan struct{}
}

func newFakeReporter() *fakeReporter {
	return &fakeReporter{state: make(map[string]filesync.Change), changed: make(chan struct{}, 1)}
}

func (f *fakeReporter) Report(_ context.Context, changes []filesync.Change) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failFor > 0 {
		f.failFor--
		return errors.New("control plane unavailable")
	}
	for _, c := range changes {
		f.state[c.Path] = c
	}
	select {
	case f.changed <- struct{}{}:
	default:
	}
	return nil
}

// waitFor polls cond (under the reporter's lock) until it holds or the deadline passes.
func (f *fakeReporter) waitFor(t *testing.T, what string, cond func(map[string]filesync.Change) bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for {
		f.mu.Lock()
		ok := cond(f.state)
		f.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(end) {
			f.mu.Lock()
			defer f.mu.Unlock()
			t.Fatalf("timed out waiting for %s; reported: %v", what, summary(f.state))
		}
		select {
		case <-f.changed:
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func summary(state map[string]filesync.Change) []string {
	var s []string
	for p, c := range state {
		if c.Deleted {
			s = append(s, p+" (deleted)")
		} else {
			s = append(s, p+"="+strings.TrimSpace(string(c.Content)))
		}
	}
	return s
}

func write(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func start(t *testing.T, opts filesync.Options) *filesync.Watcher {
	t.Helper()
	if opts.Debounce == 0 {
		opts.Debounce = 30 * time.Millisecond
	}
	w, err := filesync.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return w
}

func TestWatcher_ReportsChanges(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "a.txt", "a1")
	write(t, dir, "old/x.txt", "x")
	write(t, dir, "old/y/z.txt", "z")
	write(t, dir, ".git/HEAD", "ref")
	write(t, dir, "node_modules/m/index.js", "m")
	rep := newFakeReporter()
	start(t, filesync.Options{Dir: dir, Reporter: rep, MaxFileBytes: 1024})

	write(t, dir, "a.txt", "a2")
	write(t, dir, "b.txt", "b1")
	write(t, dir, "new/deep/er/c.txt", "c1") // directories created and filled at once
	write(t, dir, ".git/HEAD", "ref2")
	write(t, dir, "node_modules/m/index.js", "m2")
	write(t, dir, "vendor/v.go", "v")
	write(t, dir, "big.txt", strings.Repeat("x", 2048))
	write(t, dir, "bin.dat", "\x00\x01\x02")
	rep.waitFor(t, "a.txt, b.txt and new/deep/er/c.txt", func(s map[string]filesync.Change) bool {
		return string(s["a.txt"].Content) == "a2" && string(s["b.txt"].Content) == "b1" &&
			string(s["new/deep/er/c.txt"].Content) == "c1"
	})

	// Deletions, a directory removed whole, a directory renamed away, a temporary file that
	// came and went.
	if err := os.Remove(filepath.Join(dir, "a.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "new")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "tmp.swp", "t")
	if err := os.Remove(filepath.Join(dir, "tmp.swp")); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "moved/y/z.txt", "z2") // the renamed directory is still watched under its new name
	rep.waitFor(t, "deletions and the renamed tree", func(s map[string]filesync.Change) bool {
		return s["a.txt"].Deleted && s["new/deep/er/c.txt"].Deleted && s["old/x.txt"].Deleted &&
			s["old/y/z.txt"].Deleted && string(s["moved/y/z.txt"].Content) == "z2"
	})
	rep.mu.Lock()
	defer rep.mu.Unlock()
	for _, p := range []string{".git/HEAD", "node_modules/m/index.js", "vendor/v.go", "big.txt", "bin.dat", "tmp.swp"} {
		if c, ok := rep.state[p]; ok {
			t.Errorf("%s was reported (%+v); it should be skipped", p, c)
		}
	}
}

func TestWatcher_RetriesFailedReports(t *testing.T) {
	dir := t.TempDir()
	rep := newFakeReporter()
	rep.failFor = 3
	w := start(t, filesync.Options{Dir: dir, Reporter: rep, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	write(t, dir, "f.txt", "v1")
	rep.waitFor(t, "f.txt after three failures", func(s map[string]filesync.Change) bool {
		return string(s["f.txt"].Content) == "v1"
	})
	rep.mu.Lock()
	calls := rep.calls
	rep.mu.Unlock()
	if calls < 4 {
		t.Errorf("Report called %d times, want at least 4 (3 failures + success)", calls)
	}
	end := time.Now().Add(deadline)
	for w.Pending() != 0 {
		if time.Now().After(end) {
			t.Fatalf("Pending() = %d after success", w.Pending())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fakeAPI plays the control plane's file API.
type fakeAPI struct {
	mu       sync.Mutex
	files    map[string]string
	failNext int // answer this many requests with 503 first
	requests []string
}

func (a *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests = append(a.requests, r.Method+" "+r.URL.EscapedPath())
	if r.Header.Get("Authorization") != "Bearer vc_test_key" {
		http.Error(w, `{"error":{"code":"unauthorized"}}`, http.StatusUnauthorized)
		return
	}
	const prefix = "/api/workspaces/ws1/files/"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.Error(w, "workspace not found", http.StatusNotFound)
		return
	}
	if a.failNext > 0 {
		a.failNext--
		http.Error(w, "try later", http.StatusServiceUnavailable)
		return
	}
	p := strings.TrimPrefix(r.URL.Path, prefix)
	if strings.Contains(p, "refused") {
		http.Error(w, "bad path", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		a.files[p] = string(b)
		w.WriteHeader(http.StatusCreated)
	case http.MethodDelete:
		if _, ok := a.files[p]; !ok {
			http.Error(w, "file not found: "+p, http.StatusNotFound)
			return
		}
		delete(a.files, p)
		w.WriteHeader(http.StatusNoContent)
	default:
		w.WriteHeader(http.StatusMethodNotAllowed)
	}
}

func (a *fakeAPI) get(p string) (string, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c, ok := a.files[p]
	return c, ok
}

func TestHTTPReporter_Report(t *testing.T) {
	api := &fakeAPI{files: map[string]string{}}
	srv := httptest.NewServer(api)
	defer srv.Close()
	rep, err := filesync.NewHTTPReporter(filesync.HTTPReporterOptions{BaseURL: srv.URL + "/", WorkspaceID: "ws1", Credential: "vc_test_key"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	err = rep.Report(ctx, []filesync.Change{
		{Path: "src/café menu.md", Content: []byte("menu")},
		{Path: "refused/x", Content: []byte("never")}, // 400: logged and skipped
		{Path: "gone.txt", Deleted: true},             // 404 on delete: already gone
	})
	if err != nil {
		t.Fatalf("Report: %v", err)
	}
	if c, ok := api.get("src/café menu.md"); !ok || c != "menu" {
		t.Errorf("src/café menu.md = %q, %v", c, ok)
	}
	api.mu.Lock()
	if got := api.requests[0]; got != "PUT /api/workspaces/ws1/files/src/caf%C3%A9%20menu.md" {
		t.Errorf("first request %q", got)
	}
	api.failNext = 1
	api.mu.Unlock()

	if err := rep.Report(ctx, []filesync.Change{{Path: "src/café menu.md", Deleted: true}}); err == nil {
		t.Fatal("Report during a 503: no error, want one so the batch is retried")
	}
	if err := rep.Report(ctx, []filesync.Change{{Path: "src/café menu.md", Deleted: true}}); err != nil {
		t.Fatalf("retry: %v", err)
	}
	if _, ok := api.get("src/café menu.md"); ok {
		t.Error("file still there after DELETE")
	}

	bad, _ := filesync.NewHTTPReporter(filesync.HTTPReporterOptions{BaseURL: srv.URL, WorkspaceID: "ws1", Credential: "wrong"})
	if err := bad.Report(ctx, []filesync.Change{{Path: "a", Content: []byte("a")}}); err == nil {
		t.Error("401: no error, want one (a rotated key must not drop changes)")
	}
}

func TestHTTPReporter_WithWatcher(t *testing.T) {
	api := &fakeAPI{files: map[string]string{}, failNext: 2}
	srv := httptest.NewServer(api)
	defer srv.Close()
	rep, err := filesync.NewHTTPReporter(filesync.HTTPReporterOptions{BaseURL: srv.URL, WorkspaceID: "ws1", Credential: "vc_test_key"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	start(t, filesync.Options{Dir: dir, Reporter: rep, RetryMin: 20 * time.Millisecond, RetryMax: 100 * time.Millisecond})
	write(t, dir, "pkg/main.go", "package main\n")
	end := time.Now().Add(deadline)
	for {
		if c, ok := api.get("pkg/main.go"); ok && c == "package main\n" {
			break
		}
		if time.Now().After(end) {
			t.Fatal("pkg/main.go never reached the API")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := os.Remove(filepath.Join(dir, "pkg/main.go")); err != nil {
		t.Fatal(err)
	}
	for {
		if _, ok := api.get("pkg/main.go"); !ok {
			break
		}
		if time.Now().After(end) {
			t.Fatal("pkg/main.go never deleted through the API")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

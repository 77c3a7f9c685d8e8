package filesync_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/workspace-vm/filesync"
)

// memRemote is an in-memory control plane with the file API's preconditions.
type memRemote struct {
	mu      sync.Mutex
	files   map[string]*memFile
	writes  []string // "PUT p" / "DELETE p", the Syncer's writes
	failAll bool     // answer everything with a transient error
	// beforeWrite runs (unlocked) before a Put or Delete is decided: a concurrent writer.
	beforeWrite func(method, path string)
}

type memFile struct {
	content string
	version int64
}

func (m *memRemote) hook() func(method, path string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.beforeWrite
}

func (m *memRemote) setHook(h func(method, path string)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.beforeWrite = h
}

func (m *memRemote) version(p string) int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	if f, ok := m.files[p]; ok {
		return f.version
	}
	return 0
}

func newMemRemote() *memRemote { return &memRemote{files: map[string]*memFile{}} }

func (m *memRemote) meta(p string, f *memFile) filesync.RemoteFile {
	return filesync.RemoteFile{Path: p, Hash: domain.HashContent([]byte(f.content)), Version: f.version, Size: int64(len(f.content))}
}

func (m *memRemote) List(_ context.Context, etag string) ([]filesync.RemoteFile, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll {
		return nil, "", false, errors.New("control plane down")
	}
	var out []filesync.RemoteFile
	var tag strings.Builder
	for p, f := range m.files {
		out = append(out, m.meta(p, f))
	}
	slices.SortFunc(out, func(a, b filesync.RemoteFile) int { return strings.Compare(a.Path, b.Path) })
	for _, f := range out {
		fmt.Fprintf(&tag, "%s:%d;", f.Path, f.Version)
	}
	if etag != "" && etag == tag.String() {
		return nil, etag, false, nil
	}
	return out, tag.String(), true, nil
}

func (m *memRemote) Get(_ context.Context, p string) ([]byte, filesync.RemoteFile, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll {
		return nil, filesync.RemoteFile{}, errors.New("control plane down")
	}
	f, ok := m.files[p]
	if !ok {
		return nil, filesync.RemoteFile{}, domain.Errorf(domain.ENOTFOUND, "file not found: %s", p)
	}
	return []byte(f.content), m.meta(p, f), nil
}

func (m *memRemote) Put(_ context.Context, p string, content []byte, ifMatch string) (filesync.RemoteFile, error) {
	if hook := m.hook(); hook != nil {
		hook("PUT", p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll {
		return filesync.RemoteFile{}, errors.New("control plane down")
	}
	if strings.Contains(p, "refused") {
		return filesync.RemoteFile{}, domain.Errorf(domain.EINVALID, "bad path")
	}
	f, ok := m.files[p]
	switch {
	case ifMatch == "" && ok:
		return filesync.RemoteFile{}, domain.Errorf(domain.EPRECONDITION, "exists")
	case ifMatch != "" && (!ok || domain.HashContent([]byte(f.content)) != ifMatch):
		return filesync.RemoteFile{}, domain.Errorf(domain.EPRECONDITION, "changed")
	}
	m.writes = append(m.writes, "PUT "+p)
	return m.meta(p, m.set(p, string(content))), nil
}

func (m *memRemote) set(p, content string) *memFile {
	f, ok := m.files[p]
	if !ok {
		f = &memFile{}
		m.files[p] = f
	}
	f.content, f.version = content, f.version+1
	return f
}

func (m *memRemote) Delete(_ context.Context, p, ifMatch string) error {
	if hook := m.hook(); hook != nil {
		hook("DELETE", p)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failAll {
		return errors.New("control plane down")
	}
	f, ok := m.files[p]
	if !ok {
		return nil
	}
	if ifMatch != "" && domain.HashContent([]byte(f.content)) != ifMatch {
		return domain.Errorf(domain.EPRECONDITION, "changed")
	}
	m.writes = append(m.writes, "DELETE "+p)
	delete(m.files, p)
	return nil
}

// apiWrite changes the remote as a user of the API would (not a Syncer write).
func (m *memRemote) apiWrite(p, content string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.set(p, content)
}

func (m *memRemote) apiDelete(p string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.files, p)
}

func (m *memRemote) content(p string) (string, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	f, ok := m.files[p]
	if !ok {
		return "", false
	}
	return f.content, true
}

func (m *memRemote) syncerWrites() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.writes)
}

func readDisk(t *testing.T, dir, rel string) (string, bool) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
	if errors.Is(err, os.ErrNotExist) {
		return "", false
	} else if err != nil {
		t.Fatal(err)
	}
	return string(b), true
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	end := time.Now().Add(deadline)
	for !cond() {
		if time.Now().After(end) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// startSync runs a Syncer and its Watcher over dir, as the agent does.
func startSync(t *testing.T, dir string, remote filesync.Remote, state string) *filesync.Syncer {
	t.Helper()
	s, err := filesync.NewSyncer(filesync.SyncerOptions{Dir: dir, Remote: remote, StateFile: state,
		PollInterval: 20 * time.Millisecond, RetryMin: 10 * time.Millisecond, RetryMax: 50 * time.Millisecond,
		Now: func() time.Time { return time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	w, err := filesync.New(filesync.Options{Dir: dir, Reporter: s, AllDeletes: true, Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = w.Run(ctx) }()
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	select {
	case <-s.Ready():
	case <-time.After(deadline):
		t.Fatal("first synchronisation did not finish")
	}
	return s
}

func TestSyncer_BothWaysWithoutEcho(t *testing.T) {
	dir := t.TempDir()
	remote := newMemRemote()
	remote.apiWrite("api/first.go", "package api\n")
	write(t, dir, "disk/first.txt", "from disk")
	write(t, dir, "same.txt", "same")
	remote.apiWrite("same.txt", "same")
	startSync(t, dir, remote, "")

	// The first synchronisation copies each side's files to the other.
	if c, _ := readDisk(t, dir, "api/first.go"); c != "package api\n" {
		t.Fatalf("api/first.go on disk = %q", c)
	}
	if c, _ := remote.content("disk/first.txt"); c != "from disk" {
		t.Fatalf("disk/first.txt in the API = %q", c)
	}

	// API → disk: new, changed, deleted.
	remote.apiWrite("web/new.ts", "export {}\n")
	remote.apiWrite("api/first.go", "package api // v2\n")
	remote.apiDelete("same.txt")
	eventually(t, "the API's changes on disk", func() bool {
		a, _ := readDisk(t, dir, "web/new.ts")
		b, _ := readDisk(t, dir, "api/first.go")
		_, c := readDisk(t, dir, "same.txt")
		return a == "export {}\n" && b == "package api // v2\n" && !c
	})

	// Disk → API: new, changed, deleted.
	write(t, dir, "term/out.txt", "made in a terminal")
	write(t, dir, "web/new.ts", "export const x = 1\n")
	if err := os.Remove(filepath.Join(dir, "disk", "first.txt")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the disk's changes in the API", func() bool {
		a, _ := remote.content("term/out.txt")
		b, _ := remote.content("web/new.ts")
		_, c := remote.content("disk/first.txt")
		return a == "made in a terminal" && b == "export const x = 1\n" && !c
	})

	// Let several polls and reports pass: nothing the Syncer wrote comes back as a write.
	time.Sleep(300 * time.Millisecond)
	want := []string{"PUT disk/first.txt", "PUT term/out.txt", "PUT web/new.ts", "DELETE disk/first.txt"}
	got := remote.syncerWrites()
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the Syncer's writes = %v, want exactly %v (anything more is an echo)", got, want)
	}
	if v := remote.version("web/new.ts"); v != 2 {
		t.Errorf("web/new.ts version %d, want 2 (one API write, one disk write)", v)
	}
}

func TestSyncer_ConflictKeepsBoth(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "base.json")
	remote := newMemRemote()
	remote.apiWrite("a.go", "base\n")
	remote.apiWrite("gone-in-api.txt", "base\n")
	remote.apiWrite("gone-on-disk.txt", "base\n")
	remote.apiWrite("untouched.txt", "base\n")
	func() {
		// A first run establishes the base, then the agent stops.
		ctx, cancel := context.WithCancel(context.Background())
		s, err := filesync.NewSyncer(filesync.SyncerOptions{Dir: dir, Remote: remote, StateFile: state})
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { defer close(done); _ = s.Run(ctx) }()
		<-s.Ready()
		cancel()
		<-done
	}()
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no state saved: %v", err)
	}

	// While it is stopped, both sides change.
	write(t, dir, "a.go", "disk edit\n")
	remote.apiWrite("a.go", "api edit\n")
	write(t, dir, "gone-in-api.txt", "disk edit\n")
	remote.apiDelete("gone-in-api.txt")
	remote.apiWrite("gone-on-disk.txt", "api edit\n")
	if err := os.Remove(filepath.Join(dir, "gone-on-disk.txt")); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "untouched.txt")); err != nil {
		t.Fatal(err)
	}
	startSync(t, dir, remote, state)

	// Both edited: the API keeps the path, the disk's edit is moved aside and sent as a new file.
	if c, _ := readDisk(t, dir, "a.go"); c != "api edit\n" {
		t.Errorf("a.go on disk = %q, want the API's", c)
	}
	if c, _ := remote.content("a.go"); c != "api edit\n" {
		t.Errorf("a.go in the API = %q, want the API's", c)
	}
	const aside = "a.conflict-20261127T120000Z.go"
	if c, _ := readDisk(t, dir, aside); c != "disk edit\n" {
		t.Errorf("%s on disk = %q", aside, c)
	}
	eventually(t, "the conflict copy in the API", func() bool { c, _ := remote.content(aside); return c == "disk edit\n" })
	// An edit beats a delete, on either side.
	if c, _ := remote.content("gone-in-api.txt"); c != "disk edit\n" {
		t.Errorf("gone-in-api.txt in the API = %q, want the disk's edit back", c)
	}
	if c, _ := readDisk(t, dir, "gone-on-disk.txt"); c != "api edit\n" {
		t.Errorf("gone-on-disk.txt on disk = %q, want the API's edit back", c)
	}
	// A delete of an unchanged file is a delete (the saved base tells them apart).
	if _, ok := remote.content("untouched.txt"); ok {
		t.Error("untouched.txt deleted on disk is still in the API")
	}
}

func TestSyncer_ConcurrentAPIWriteIsNotOverwritten(t *testing.T) {
	dir := t.TempDir()
	remote := newMemRemote()
	remote.apiWrite("doc.md", "v1\n")
	startSync(t, dir, remote, "")

	// The IDE saves the file just as the agent sends the terminal's edit: the agent's
	// If-Match fails, the IDE's version stays and the terminal's edit is kept aside.
	var once sync.Once
	remote.setHook(func(method, p string) {
		if p == "doc.md" {
			once.Do(func() { remote.apiWrite("doc.md", "ide save\n") })
		}
	})
	write(t, dir, "doc.md", "terminal edit\n")
	eventually(t, "the IDE's save on disk", func() bool { c, _ := readDisk(t, dir, "doc.md"); return c == "ide save\n" })
	if c, _ := remote.content("doc.md"); c != "ide save\n" {
		t.Errorf("doc.md in the API = %q: the IDE's save was overwritten", c)
	}
	eventually(t, "the terminal's edit kept", func() bool {
		c, _ := remote.content("doc.conflict-20261127T120000Z.md")
		return c == "terminal edit\n"
	})

	// A delete on disk of a file the API changed meanwhile restores the API's version.
	var once2 sync.Once
	remote.setHook(func(method, p string) {
		if method == "DELETE" && p == "doc.md" {
			once2.Do(func() { remote.apiWrite("doc.md", "ide save 2\n") })
		}
	})
	if err := os.Remove(filepath.Join(dir, "doc.md")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "doc.md restored", func() bool { c, _ := readDisk(t, dir, "doc.md"); return c == "ide save 2\n" })
	if c, _ := remote.content("doc.md"); c != "ide save 2\n" {
		t.Errorf("doc.md in the API = %q", c)
	}
}

func TestSyncer_BadInputAndSkips(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	remote := newMemRemote()
	// Paths the disk must never get: not clean, inside .git, through a symbolic link out of
	// the workspace, a file where the disk has a directory.
	remote.apiWrite("../escape.txt", "x")
	remote.apiWrite("a//b.txt", "x")
	remote.apiWrite(".git/hooks/pre-commit", "#!/bin/sh\n")
	remote.apiWrite("link/evil.txt", "x")
	remote.apiWrite("adir", "x")
	remote.apiWrite("ok.txt", "fine")
	if err := os.Symlink(outside, filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "adir"), 0o755); err != nil {
		t.Fatal(err)
	}
	write(t, dir, "bin.dat", "\x00\x01")
	write(t, dir, "node_modules/m/index.js", "m")
	write(t, dir, "refused.txt", "the API refuses this path")
	startSync(t, dir, remote, "")

	if c, _ := readDisk(t, dir, "ok.txt"); c != "fine" {
		t.Fatalf("ok.txt = %q: one bad path stopped the others", c)
	}
	for _, p := range []string{".git/hooks/pre-commit", "a/b.txt"} {
		if _, ok := readDisk(t, dir, p); ok {
			t.Errorf("%s was written to disk", p)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "escape.txt")); err == nil {
		t.Error("../escape.txt was written outside the workspace")
	}
	if _, err := os.Stat(filepath.Join(outside, "evil.txt")); err == nil {
		t.Error("a file was written through a symbolic link out of the workspace")
	}
	if fi, err := os.Stat(filepath.Join(dir, "adir")); err != nil || !fi.IsDir() {
		t.Errorf("adir is no longer the disk's directory: %v", err)
	}
	for _, p := range []string{"bin.dat", "node_modules/m/index.js", "refused.txt"} {
		if _, ok := remote.content(p); ok {
			t.Errorf("%s reached the API", p)
		}
	}
	// Still working after all that.
	remote.apiWrite("later.txt", "later")
	eventually(t, "later.txt on disk", func() bool { c, _ := readDisk(t, dir, "later.txt"); return c == "later" })
}

func TestSyncer_RetriesWhileTheControlPlaneIsDown(t *testing.T) {
	dir := t.TempDir()
	remote := newMemRemote()
	remote.failAll = true
	remote.apiWrite("api.txt", "from the API")
	write(t, dir, "disk.txt", "from disk")
	s, err := filesync.NewSyncer(filesync.SyncerOptions{Dir: dir, Remote: remote, PollInterval: 20 * time.Millisecond,
		RetryMin: 10 * time.Millisecond, RetryMax: 40 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	time.Sleep(100 * time.Millisecond)
	select {
	case <-s.Ready():
		t.Fatal("ready while the control plane is down")
	default:
	}
	remote.mu.Lock()
	remote.failAll = false
	remote.mu.Unlock()
	<-s.Ready()
	if c, _ := readDisk(t, dir, "api.txt"); c != "from the API" {
		t.Errorf("api.txt = %q", c)
	}
	if c, _ := remote.content("disk.txt"); c != "from disk" {
		t.Errorf("disk.txt = %q", c)
	}
	cancel()
	<-done
}

func TestSyncer_UnreadableStateIsIgnored(t *testing.T) {
	dir := t.TempDir()
	state := filepath.Join(t.TempDir(), "base.json")
	if err := os.WriteFile(state, []byte("{torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	remote := newMemRemote()
	remote.apiWrite("x.txt", "api")
	write(t, dir, "x.txt", "disk")
	startSync(t, dir, remote, state)
	// Without a base both versions count as edits: nothing is lost.
	if c, _ := readDisk(t, dir, "x.txt"); c != "api" {
		t.Errorf("x.txt = %q", c)
	}
	if c, _ := readDisk(t, dir, "x.conflict-20261127T120000Z.txt"); c != "disk" {
		t.Errorf("conflict copy = %q", c)
	}
}

// TestSyncer_StateInsideWorkspaceIsNotSynced checks that the agent's state directory, when
// it lies inside the workspace (the defaults for an agent started by hand), and the
// temporary files of atomic writes are never synchronised, so saving the sync's own state
// cannot feed a loop.
func TestSyncer_StateInsideWorkspaceIsNotSynced(t *testing.T) {
	dir := t.TempDir()
	remote := newMemRemote()
	remote.apiWrite(".vibecode/agent/local/evil.json", "{}")
	skip := []string{".vibecode/agent/local"}
	s, err := filesync.NewSyncer(filesync.SyncerOptions{Dir: dir, Remote: remote, SkipPaths: skip,
		StateFile:    filepath.Join(dir, ".vibecode", "agent", "local", "filesync", "base.json"),
		PollInterval: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	w, err := filesync.New(filesync.Options{Dir: dir, Reporter: s, AllDeletes: true, SkipPaths: skip, Debounce: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = w.Run(ctx) }()
	go func() { defer wg.Done(); _ = s.Run(ctx) }()
	defer func() { cancel(); wg.Wait() }()
	<-s.Ready()
	write(t, dir, ".vibecode/agent/local/terminals/main.json", "{}")
	write(t, dir, ".main.go.vibecode-0011aabb.tmp", "half written")
	for i := range 5 {
		write(t, dir, "work.txt", fmt.Sprintf("edit %d", i))
		time.Sleep(60 * time.Millisecond)
	}
	eventually(t, "work.txt", func() bool { c, _ := remote.content("work.txt"); return c == "edit 4" })
	time.Sleep(200 * time.Millisecond)
	for _, w := range remote.syncerWrites() {
		if !strings.HasSuffix(w, " work.txt") {
			t.Errorf("unexpected write %s", w)
		}
	}
	if _, ok := readDisk(t, dir, ".vibecode/agent/local/evil.json"); ok {
		t.Error("the API wrote into the agent's state directory")
	}
	if _, err := os.Stat(filepath.Join(dir, ".vibecode", "agent", "local", "filesync", "base.json")); err != nil {
		t.Errorf("state not saved: %v", err)
	}
}

// Package filesync keeps a workspace directory tree and the control plane's copy of its files
// in step. Watcher watches the tree with inotify (via fsnotify), skips what is never
// synchronised (.git, node_modules, vendor, binaries, files over 10 MiB), coalesces bursts of
// events, and hands batches of changed paths to a Reporter, retrying with backoff: a change
// is only forgotten once reported (or refused for good, which is logged). Syncer is the
// Reporter the agent uses: it sends disk changes to the file API and polls the API for
// changes to write to the disk, deciding each path by a three-way comparison with the last
// state both sides held (docs/protocols.md, "Workspace file sync"). HTTPReporter is a plain
// one-way Reporter (disk → API with an API key or agent token, last write wins).
package filesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Change is the current state of one file: its content, or that it is gone.
type Change struct {
	Path    string // workspace-relative, slash-separated
	Deleted bool
	Content []byte // the whole content when not Deleted
}

// Reporter receives batches of changes. Report returns nil once every change is applied, or
// an error to have the whole batch retried later (so applying a change must be idempotent).
// A change that can never be applied should be logged and skipped, not returned as an error,
// or it would be retried forever.
type Reporter interface {
	Report(ctx context.Context, changes []Change) error
}

// Options configures a Watcher. Zero values take the documented defaults.
type Options struct {
	// Dir is the workspace directory to watch, recursively. Required.
	Dir string
	// Reporter receives the changes. Required.
	Reporter Reporter
	// Debounce is the quiet time after the last event before changes are reported, so a
	// checkout or a build is reported in a few batches, not per write. Default 300 ms.
	Debounce time.Duration
	// MaxDelay bounds how long a change waits while events keep coming. Default 2 s.
	MaxDelay time.Duration
	// MaxFileBytes: larger files are not reported (the control plane refuses them too).
	// Default 10 MiB.
	MaxFileBytes int64
	// SkipDirs are directory names never descended into. Default .git, node_modules, vendor.
	SkipDirs []string
	// SkipPaths are workspace-relative (slash-separated) paths never reported, nor anything
	// below them: the agent's state directory when it lies inside the workspace.
	SkipPaths []string
	// BatchBytes bounds the content in one Report call (a larger file goes alone). Default
	// 8 MiB.
	BatchBytes int64
	// BatchFiles bounds the changes in one Report call. Default 64.
	BatchFiles int
	// RetryMin and RetryMax bound the exponential backoff after a failed Report. Defaults
	// 500 ms and 30 s.
	RetryMin, RetryMax time.Duration
	// AllDeletes reports the deletion of every path that changed, also of files this
	// Watcher never reported (one the Syncer wrote and the user removed before the next
	// report, say): for a Reporter that knows which files the other side has, like Syncer.
	AllDeletes bool
	// Logger receives operational messages. Default: discard.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.Dir == "" {
		return errors.New("filesync: Options.Dir is required")
	}
	if o.Reporter == nil {
		return errors.New("filesync: Options.Reporter is required")
	}
	if o.Debounce <= 0 {
		o.Debounce = 300 * time.Millisecond
	}
	if o.MaxDelay <= 0 {
		o.MaxDelay = 2 * time.Second
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 10 << 20
	}
	if o.SkipDirs == nil {
		o.SkipDirs = []string{".git", "node_modules", "vendor"}
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = 8 << 20
	}
	if o.BatchFiles <= 0 {
		o.BatchFiles = 64
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// binarySniffBytes is how much of a file is searched for a NUL byte to call it binary, as
// git does.
const binarySniffBytes = 8000

// Watcher watches one workspace tree. Create it with New, then call Run.
type Watcher struct {
	opts Options
	root string // absolute
	log  *slog.Logger
	fs   *fsnotify.Watcher

	// Owned by Run (and New before it).
	watched map[string]bool     // watched directories, workspace-relative ("" is the root)
	known   map[string]struct{} // files believed to exist (found at start or reported)
	pending map[string]struct{} // paths to look at and report
	first   time.Time           // when the oldest pending change arrived
	retry   time.Time           // no report before this (backoff)
	backoff time.Duration

	mu       sync.Mutex
	nPending int
}

// New walks the tree and sets up the watches; changes made from then on are reported once Run
// runs. Files already there are not reported: the control plane imported them.
func New(opts Options) (*Watcher, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	root, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("filesync: %w", err)
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("filesync: start watcher: %w", err)
	}
	w := &Watcher{
		opts:    opts,
		root:    root,
		log:     opts.Logger,
		fs:      fw,
		watched: make(map[string]bool),
		known:   make(map[string]struct{}),
		pending: make(map[string]struct{}),
	}
	if err := w.addTree("", false); err != nil {
		fw.Close()
		return nil, err
	}
	return w, nil
}

// Pending returns how many paths wait to be reported (after failures, for instance).
func (w *Watcher) Pending() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.nPending
}

// Run reports changes until ctx is canceled, then stops watching. Changes still pending then
// are logged, not reported.
func (w *Watcher) Run(ctx context.Context) error {
	defer w.fs.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			if len(w.pending) > 0 {
				w.log.Warn("filesync: stopping with unreported changes", "paths", len(w.pending))
			}
			return nil
		case ev, ok := <-w.fs.Events:
			if !ok {
				return errors.New("filesync: watcher closed")
			}
			w.handle(ev)
			w.arm(timer)
		case err, ok := <-w.fs.Errors:
			if !ok {
				return errors.New("filesync: watcher closed")
			}
			if errors.Is(err, fsnotify.ErrEventOverflow) {
				// Events were lost: look at everything again.
				w.log.Warn("filesync: event queue overflowed; rescanning")
				for p := range w.known {
					w.mark(p)
				}
				if err := w.addTree("", true); err != nil {
					w.log.Error("filesync: rescan", "err", err)
				}
				w.arm(timer)
				continue
			}
			w.log.Warn("filesync: watcher error", "err", err)
		case <-timer.C:
			w.flush(ctx)
			w.arm(timer)
		}
	}
}

// arm sets the timer for the next report: Debounce after now, but no later than MaxDelay
// after the oldest pending change, and not before the backoff ends.
func (w *Watcher) arm(t *time.Timer) {
	if len(w.pending) == 0 {
		t.Stop()
		return
	}
	now := time.Now()
	at := now.Add(w.opts.Debounce)
	if limit := w.first.Add(w.opts.MaxDelay); limit.Before(at) {
		at = limit
	}
	if at.Before(w.retry) {
		at = w.retry
	}
	t.Reset(max(at.Sub(now), 0))
}

func (w *Watcher) mark(rel string) {
	if len(w.pending) == 0 {
		w.first = time.Now()
	}
	w.pending[rel] = struct{}{}
	w.setPending()
}

func (w *Watcher) setPending() {
	w.mu.Lock()
	w.nPending = len(w.pending)
	w.mu.Unlock()
}

func (w *Watcher) rel(abs string) (string, bool) {
	r, err := filepath.Rel(w.root, abs)
	if err != nil || r == "." || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(r), true
}

func (w *Watcher) skipped(rel string) bool {
	return skippedPath(rel, w.opts.SkipDirs, w.opts.SkipPaths)
}

// skippedPath reports whether rel is never synchronised: below a directory named in
// skipDirs, at or below one of skipPaths, or a temporary file of an atomic write (the collab
// hub's or the Syncer's, ".<name>.vibecode-<random>.tmp"), which is renamed over its target
// a moment later.
func skippedPath(rel string, skipDirs, skipPaths []string) bool {
	for _, seg := range strings.Split(rel, "/") {
		if slices.Contains(skipDirs, seg) {
			return true
		}
	}
	for _, p := range skipPaths {
		if rel == p || strings.HasPrefix(rel, p+"/") {
			return true
		}
	}
	base := path.Base(rel)
	return strings.HasPrefix(base, ".") && strings.Contains(base, ".vibecode-") && strings.HasSuffix(base, ".tmp")
}

func (w *Watcher) abs(rel string) string { return filepath.Join(w.root, filepath.FromSlash(rel)) }

func (w *Watcher) handle(ev fsnotify.Event) {
	rel, ok := w.rel(ev.Name)
	if !ok || w.skipped(rel) {
		return
	}
	switch {
	case ev.Has(fsnotify.Create):
		info, err := os.Lstat(ev.Name)
		if err == nil && info.IsDir() {
			// Files may have been created in it before the watch was added: add the
			// watches, then report everything found.
			if err := w.addTree(rel, true); err != nil {
				w.log.Warn("filesync: watch new directory", "dir", rel, "err", err)
			}
			return
		}
		w.mark(rel)
	case ev.Has(fsnotify.Write):
		w.mark(rel)
	case ev.Has(fsnotify.Remove), ev.Has(fsnotify.Rename):
		if w.watched[rel] {
			w.dropTree(rel)
			return
		}
		w.mark(rel)
	}
}

// addTree watches dir and every directory below it; with report, it marks the files found as
// changed.
func (w *Watcher) addTree(dir string, report bool) error {
	return filepath.WalkDir(w.abs(dir), func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // gone already
			}
			w.log.Debug("filesync: walk", "path", p, "err", err)
			if de != nil && de.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		rel, _ := w.rel(p)
		if de.IsDir() {
			if rel != "" && (slices.Contains(w.opts.SkipDirs, de.Name()) || skippedPath(rel, nil, w.opts.SkipPaths)) {
				return fs.SkipDir
			}
			if !w.watched[rel] {
				if err := w.fs.Add(p); err != nil {
					return fmt.Errorf("filesync: watch %s: %w", p, err)
				}
				w.watched[rel] = true
			}
			return nil
		}
		if !de.Type().IsRegular() {
			return nil
		}
		if report {
			w.mark(rel)
		} else {
			w.known[rel] = struct{}{}
		}
		return nil
	})
}

// dropTree forgets a removed or renamed-away directory: its files are marked (they will be
// reported deleted, or as changed if they are somehow still there), its watches removed.
func (w *Watcher) dropTree(dir string) {
	prefix := dir + "/"
	for p := range w.known {
		if strings.HasPrefix(p, prefix) {
			w.mark(p)
		}
	}
	for d := range w.watched {
		if d == dir || strings.HasPrefix(d, prefix) {
			_ = w.fs.Remove(w.abs(d))
			delete(w.watched, d)
		}
	}
}

// flush reports the pending changes in batches; what fails stays pending for a retry.
func (w *Watcher) flush(ctx context.Context) {
	if time.Now().Before(w.retry) || len(w.pending) == 0 {
		return
	}
	paths := make([]string, 0, len(w.pending))
	for p := range w.pending {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	var batch []Change
	var batchBytes int64
	send := func() bool {
		if len(batch) == 0 {
			return true
		}
		err := w.opts.Reporter.Report(ctx, batch)
		if err != nil {
			w.backoff = min(max(w.backoff*2, w.opts.RetryMin), w.opts.RetryMax)
			w.retry = time.Now().Add(w.backoff)
			w.log.Error("filesync: report failed; will retry", "changes", len(batch), "pending", len(w.pending), "retry_in", w.backoff, "err", err)
			return false
		}
		w.backoff = 0
		for _, c := range batch {
			delete(w.pending, c.Path)
			if c.Deleted {
				delete(w.known, c.Path)
			} else {
				w.known[c.Path] = struct{}{}
			}
		}
		w.setPending()
		batch, batchBytes = batch[:0], 0
		return true
	}
	for _, p := range paths {
		c, ok := w.look(p)
		if !ok {
			delete(w.pending, p)
			continue
		}
		if len(batch) > 0 && (len(batch) >= w.opts.BatchFiles || batchBytes+int64(len(c.Content)) > w.opts.BatchBytes) {
			if !send() {
				return
			}
		}
		batch = append(batch, c)
		batchBytes += int64(len(c.Content))
	}
	send()
	w.setPending()
}

// look returns the change to report for p, or false when there is nothing to report: a
// directory, a symbolic link, a file too large or binary, or a file that is gone and was
// never reported (a temporary file).
func (w *Watcher) look(p string) (Change, bool) {
	abs := w.abs(p)
	info, err := os.Lstat(abs)
	if errors.Is(err, fs.ErrNotExist) {
		_, known := w.known[p]
		return Change{Path: p, Deleted: true}, known || w.opts.AllDeletes
	}
	if err != nil {
		w.log.Warn("filesync: stat", "path", p, "err", err)
		return Change{}, false
	}
	if !info.Mode().IsRegular() {
		return Change{}, false
	}
	if info.Size() > w.opts.MaxFileBytes {
		w.log.Debug("filesync: skip large file", "path", p, "bytes", info.Size())
		return Change{}, false
	}
	f, err := os.Open(abs)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			_, known := w.known[p]
			return Change{Path: p, Deleted: true}, known || w.opts.AllDeletes
		}
		w.log.Warn("filesync: open", "path", p, "err", err)
		return Change{}, false
	}
	defer f.Close()
	content, err := io.ReadAll(io.LimitReader(f, w.opts.MaxFileBytes+1))
	if err != nil {
		w.log.Warn("filesync: read", "path", p, "err", err)
		return Change{}, false
	}
	if int64(len(content)) > w.opts.MaxFileBytes {
		return Change{}, false
	}
	if bytes.IndexByte(content[:min(len(content), binarySniffBytes)], 0) >= 0 {
		w.log.Debug("filesync: skip binary file", "path", p)
		return Change{}, false
	}
	return Change{Path: p, Content: content}, true
}

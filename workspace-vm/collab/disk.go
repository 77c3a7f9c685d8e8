package collab

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/fsnotify/fsnotify"
)

// errUnsupportedFile marks a workspace file that cannot be a document: not a regular file,
// not UTF-8 text, or too large.
var errUnsupportedFile = errors.New("collab: file cannot be edited collaboratively")

// fileMarkers are the file markers found in a log (see storage.go).
type fileMarkers struct {
	synced  *[32]byte // the content the file was last known to hold
	writing *[32]byte // a write begun after that and not known to have finished
}

func (m *fileMarkers) add(r record) {
	if len(r.payload) != 32 {
		return
	}
	h := [32]byte(r.payload)
	switch r.kind {
	case recFileWriting:
		m.writing = &h
	case recFileSynced:
		m.synced, m.writing = &h, nil
	}
}

// fileState is what a document knows of its file. Owned by the document goroutine.
type fileState struct {
	exists bool
	known  bool     // hash is the file's content as of the last read or write
	hash   [32]byte // SHA-256 of that content
	mode   fs.FileMode
	// Size, modification time and inode when last read or written: a stat that matches
	// means the file did not change, so the hub's own writes are not read back.
	size       int64
	mtime      time.Time
	ino        uint64
	dirty      bool // the document has edits the file does not have yet
	firstDirty time.Time
	writeArmed bool
	writeTimer *time.Timer
	writing    bool // a write is in flight (on its own goroutine)
	recheck    bool // the file changed on disk during that write: look again after it
	failures   int  // consecutive failed writes, for the retry backoff
}

// writeResult is how a file write, done off the document goroutine, reports back.
type writeResult struct {
	hash [32]byte
	info fs.FileInfo
	err  error
}

// markers returns the records that carry the file state over a compaction.
func (f *fileState) markers() []record {
	if !f.known {
		return nil
	}
	return []record{{kind: recFileSynced, payload: f.hash[:]}}
}

func (f *fileState) saw(info fs.FileInfo) {
	f.size, f.mtime, f.mode, f.ino = info.Size(), info.ModTime(), info.Mode(), inode(info)
}

// unchanged reports whether info describes the file as last read or written.
func (f *fileState) unchanged(info fs.FileInfo) bool {
	return f.exists && f.known && info.Size() == f.size && info.ModTime().Equal(f.mtime) && inode(info) == f.ino
}

func inode(info fs.FileInfo) uint64 {
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		return st.Ino
	}
	return 0
}

// reconcileOnLoad brings a freshly loaded document in step with its file. A new document is
// seeded from the file here, once, on the server: a client must never seed it (y-monaco would
// duplicate the content). A file changed while the document was unloaded (a git checkout)
// wins, as an update authored by the hub; a write the hub began but may not have finished
// before a crash is done again.
func (d *document) reconcileOnLoad(m fileMarkers) error {
	content, info, err := d.h.readFile(d.name)
	if errors.Is(err, fs.ErrNotExist) {
		// Keep what the document holds (the file was deleted while it was unloaded, or it is
		// a new file); the first edit creates the file.
		if m.synced != nil {
			d.file.known, d.file.hash = true, *m.synced
		}
		return nil
	}
	if err != nil {
		return err
	}
	d.file.exists = true
	d.file.saw(info)
	h := hashOf(content)
	text := d.y.Text(d.h.opts.TextName)
	// A write the hub began and a crash cut short leaves the old content, or, for a file the
	// hub was creating, an empty one (the data never reached the disk).
	unfinished := m.writing != nil && (*m.writing == h || (len(content) == 0 && m.synced == nil))
	if (m.synced != nil && *m.synced == h) || unfinished {
		d.file.known, d.file.hash = true, h
		d.file.dirty = hashOf([]byte(text)) != h
		return nil
	}
	var records []record
	if text != string(content) {
		update, err := d.y.SetText(d.h.opts.TextName, string(content))
		if err != nil {
			return fmt.Errorf("collab: seed %q from its file: %w", d.name, err)
		}
		records = append(records, record{kind: recUpdate, payload: update})
	}
	records = append(records, record{kind: recFileSynced, payload: h[:]})
	if err := d.log.append(records...); err != nil {
		return err
	}
	d.file.known, d.file.hash = true, h
	return nil
}

// scheduleWrite debounces writing the text to the file: FileWriteDelay after the last edit,
// but no later than FileWriteMaxDelay after the first unwritten one, so continuous typing is
// still saved every so often.
func (d *document) scheduleWrite() {
	if d.file.writeTimer == nil {
		return
	}
	now := time.Now()
	if !d.file.writeArmed {
		d.file.writeArmed, d.file.firstDirty = true, now
	}
	at := now.Add(d.h.opts.FileWriteDelay)
	if limit := d.file.firstDirty.Add(d.h.opts.FileWriteMaxDelay); limit.Before(at) {
		at = limit
	}
	d.file.writeTimer.Reset(max(at.Sub(now), 0))
}

func (d *document) retryWrite(delay time.Duration) {
	if d.file.writeTimer == nil {
		return
	}
	d.file.writeArmed, d.file.firstDirty = true, time.Now()
	d.file.writeTimer.Reset(delay)
}

// syncToDisk starts writing the document's text to its file if they differ. The log records
// the intent first, so a crash mid-write is told apart from an outside edit on the next
// load. The write itself runs on its own goroutine, so relaying edits never waits for the
// file system; written takes the result.
//
// The intent is not fsync'd on its own. If a crash loses it, it loses every later record
// too (they share one file, and every update is fsync'd), so the replayed text is exactly
// the text written, and a file that holds it is simply in step.
func (d *document) syncToDisk() {
	if !d.file.dirty || d.file.writing {
		return
	}
	text := []byte(d.y.Text(d.h.opts.TextName))
	h := hashOf(text)
	if d.file.exists && d.file.known && d.file.hash == h {
		d.file.dirty = false
		return
	}
	if err := d.log.write(record{kind: recFileWriting, payload: h[:]}); err != nil {
		d.fatal(err)
		return
	}
	d.file.writing, d.file.dirty = true, false
	mode, exists := d.file.mode, d.file.exists
	go func() {
		info, err := d.h.writeFile(d.name, text, mode, exists)
		d.writeDone <- writeResult{hash: h, info: info, err: err}
	}()
}

// written records the outcome of a file write.
func (d *document) written(r writeResult) {
	d.file.writing = false
	if r.err != nil {
		d.file.failures++
		d.file.dirty = true
		delay := min(d.h.opts.FileWriteDelay<<min(d.file.failures, 8), 30*time.Second)
		d.h.log.Warn("collab: write document to its file", "doc", d.name, "err", r.err, "retry_in", delay)
		d.retryWrite(delay)
		return
	}
	d.file.failures = 0
	d.file.exists, d.file.known, d.file.hash = true, true, r.hash
	d.file.saw(r.info)
	// Not fsync'd on its own: if it is lost, the "writing" marker before it still vouches
	// for this content on the next load.
	if err := d.log.write(record{kind: recFileSynced, payload: r.hash[:]}); err != nil {
		d.fatal(err)
		return
	}
	d.h.watch.add(d) // the directory may have just been created
	if d.file.recheck {
		d.file.recheck = false
		d.checkFile()
	}
	if d.file.dirty {
		d.scheduleWrite()
	}
	d.maybeCompact()
}

// flushFile finishes an in-flight write and writes pending edits, for an unload or Close.
func (d *document) flushFile() {
	for range 2 {
		if d.file.writing {
			d.written(<-d.writeDone)
		}
		if d.broken || !d.file.dirty {
			return
		}
		d.syncToDisk()
	}
	if d.file.writing {
		d.written(<-d.writeDone)
	}
}

// syncFromDisk applies a change made to the file outside the editor (a terminal, git): the
// minimal diff from the document's text to the file's, authored by the hub, stored and then
// relayed like any edit. The hub's own writes are recognised by their content and ignored,
// so nothing echoes.
func (d *document) syncFromDisk() {
	if d.file.writing {
		// The file may hold our own write, not yet recorded: look once it is.
		d.file.recheck = true
		return
	}
	content, info, err := d.h.readFile(d.name)
	if errors.Is(err, fs.ErrNotExist) {
		if d.file.exists {
			d.h.log.Info("collab: file deleted on disk; the document keeps its text", "doc", d.name)
		}
		d.file.exists = false
		return
	}
	if err != nil {
		d.h.log.Warn("collab: file changed on disk but cannot be applied", "doc", d.name, "err", err)
		return
	}
	d.file.saw(info)
	h := hashOf(content)
	if d.file.exists && d.file.known && d.file.hash == h {
		return
	}
	d.file.exists = true
	var records []record
	var update []byte
	if d.y.Text(d.h.opts.TextName) != string(content) {
		update, err = d.y.SetText(d.h.opts.TextName, string(content))
		if err != nil {
			d.h.log.Error("collab: apply file change", "doc", d.name, "err", err)
			return
		}
		records = append(records, record{kind: recUpdate, payload: update})
	}
	records = append(records, record{kind: recFileSynced, payload: h[:]})
	if err := d.log.append(records...); err != nil {
		d.fatal(err)
		return
	}
	d.file.known, d.file.hash, d.file.dirty = true, h, false
	if update != nil {
		d.broadcast(encodeSync(syncUpdate, update), nil)
	}
	d.maybeCompact()
}

// checkFile looks at the file after an event (and every few seconds, as the backstop for a
// missed event: a directory replaced under the watch): a stat, and a read only when the size,
// time or inode changed.
func (d *document) checkFile() {
	info, err := d.h.root.Stat(filepath.FromSlash(d.name))
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if d.file.exists {
			d.syncFromDisk()
		}
	case err != nil:
	case !d.file.unchanged(info):
		d.syncFromDisk()
	}
}

// readFile reads a workspace file that can be a document.
func (h *Hub) readFile(name string) ([]byte, fs.FileInfo, error) {
	f, err := h.root.Open(filepath.FromSlash(name))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("collab: stat %q: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %q is not a regular file", errUnsupportedFile, name)
	}
	if info.Size() > h.opts.MaxFileBytes {
		return nil, nil, fmt.Errorf("%w: %q is larger than %d bytes", errUnsupportedFile, name, h.opts.MaxFileBytes)
	}
	data, err := io.ReadAll(io.LimitReader(f, h.opts.MaxFileBytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("collab: read %q: %w", name, err)
	}
	if int64(len(data)) > h.opts.MaxFileBytes {
		return nil, nil, fmt.Errorf("%w: %q is larger than %d bytes", errUnsupportedFile, name, h.opts.MaxFileBytes)
	}
	if !utf8.Valid(data) {
		return nil, nil, fmt.Errorf("%w: %q is not UTF-8 text", errUnsupportedFile, name)
	}
	return data, info, nil
}

// writeFile replaces a workspace file's content atomically (a temporary file in the same
// directory, fsync, rename), keeping its permissions. A symbolic link is written through
// in place instead, so the link survives.
func (h *Hub) writeFile(name string, data []byte, mode fs.FileMode, exists bool) (fs.FileInfo, error) {
	native := filepath.FromSlash(name)
	dir, base := filepath.Split(native)
	perm := fs.FileMode(0o644)
	if exists {
		perm = mode.Perm()
	}
	if li, err := h.root.Lstat(native); err == nil && li.Mode()&fs.ModeSymlink != 0 {
		f, err := h.root.OpenFile(native, os.O_WRONLY|os.O_TRUNC, 0)
		if err != nil {
			return nil, fmt.Errorf("collab: open %q: %w", name, err)
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("collab: write %q: %w", name, err)
		}
		return h.root.Stat(native)
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := filepath.Join(dir, "."+base+".vibecode-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := h.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrNotExist) && dir != "" {
		if err := h.root.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("collab: create directory of %q: %w", name, err)
		}
		f, err = h.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	}
	if err != nil {
		return nil, fmt.Errorf("collab: create temporary file for %q: %w", name, err)
	}
	var info fs.FileInfo
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(perm)
	}
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		info, err = f.Stat() // the inode, size and time survive the rename
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = h.root.Rename(tmp, native)
	}
	if err != nil {
		_ = h.root.Remove(tmp)
		return nil, fmt.Errorf("collab: write %q: %w", name, err)
	}
	return info, nil
}

// watcher delivers file events to the loaded documents. It watches the directories that hold
// them (watching a file itself would lose it to the first rename-over).
type watcher struct {
	root string // the workspace, absolute
	log  *slog.Logger
	fs   *fsnotify.Watcher
	done chan struct{}

	mu     sync.Mutex
	dirs   map[string]int       // watched directory → documents in it
	files  map[string]*document // absolute file path → document
	docDir map[*document]string // the directory watched for each document
}

func newWatcher(root string, log *slog.Logger) (*watcher, error) {
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return nil, fmt.Errorf("collab: start file watcher: %w", err)
	}
	w := &watcher{
		root:   root,
		log:    log,
		fs:     fw,
		done:   make(chan struct{}),
		dirs:   make(map[string]int),
		files:  make(map[string]*document),
		docDir: make(map[*document]string),
	}
	go w.loop()
	return w, nil
}

func (w *watcher) path(d *document) string {
	return filepath.Join(w.root, filepath.FromSlash(d.name))
}

// add starts delivering events for d's file. Idempotent; a directory that does not exist yet
// is tried again on the next add (after the document creates it).
func (w *watcher) add(d *document) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.path(d)
	w.files[p] = d
	if _, ok := w.docDir[d]; ok {
		return
	}
	dir := filepath.Dir(p)
	if w.dirs[dir] == 0 {
		if err := w.fs.Add(dir); err != nil {
			w.log.Debug("collab: watch directory", "dir", dir, "err", err)
			return
		}
	}
	w.dirs[dir]++
	w.docDir[d] = dir
}

func (w *watcher) remove(d *document) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p := w.path(d)
	if w.files[p] == d {
		delete(w.files, p)
	}
	dir, ok := w.docDir[d]
	if !ok {
		return
	}
	delete(w.docDir, d)
	if w.dirs[dir]--; w.dirs[dir] <= 0 {
		delete(w.dirs, dir)
		_ = w.fs.Remove(dir)
	}
}

func (w *watcher) loop() {
	defer close(w.done)
	for {
		select {
		case ev, ok := <-w.fs.Events:
			if !ok {
				return
			}
			w.mu.Lock()
			d := w.files[ev.Name]
			w.mu.Unlock()
			if d != nil {
				select {
				case d.diskNotify <- struct{}{}:
				default:
				}
			}
		case err, ok := <-w.fs.Errors:
			if !ok {
				return
			}
			w.log.Warn("collab: file watcher", "err", err)
		}
	}
}

func (w *watcher) close() error {
	err := w.fs.Close()
	<-w.done
	if err != nil {
		return fmt.Errorf("collab: stop file watcher: %w", err)
	}
	return nil
}

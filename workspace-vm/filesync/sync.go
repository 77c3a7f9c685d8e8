package filesync

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
	"syscall"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// SyncerOptions configures a Syncer. Zero values take the documented defaults.
type SyncerOptions struct {
	// Dir is the workspace directory. Required.
	Dir string
	// Remote is the control plane's copy of the files. Required.
	Remote Remote
	// StateFile keeps the last state both sides agreed on across agent restarts (JSON,
	// written atomically). "" keeps it in memory only, so after a restart every difference
	// between disk and API is a conflict.
	StateFile string
	// PollInterval is how often the file listing is asked for (a 304 while nothing
	// changed). Default 1 s.
	PollInterval time.Duration
	// FullEvery is how often the listing is fetched whole even if its tag is unchanged, so
	// a path that could not be written before is tried again. Default 5 min.
	FullEvery time.Duration
	// MaxFileBytes: larger disk files are never sent (the API refuses them too). Default
	// 10 MiB.
	MaxFileBytes int64
	// SkipDirs are directory names that are never synchronised in either direction. Default
	// .git, node_modules, vendor.
	SkipDirs []string
	// SkipPaths are workspace-relative (slash-separated) paths never synchronised, nor
	// anything below them: the agent's state directory when it lies inside the workspace.
	SkipPaths []string
	// RetryMin and RetryMax bound the backoff after the control plane failed. Defaults
	// 500 ms and 30 s.
	RetryMin, RetryMax time.Duration
	// Now names conflict copies. Default time.Now.
	Now func() time.Time
	// Logger receives conflicts, refusals and failures. Default: discard.
	Logger *slog.Logger
}

func (o *SyncerOptions) setDefaults() error {
	if o.Dir == "" || o.Remote == nil {
		return errors.New("filesync: SyncerOptions needs Dir and Remote")
	}
	if o.PollInterval <= 0 {
		o.PollInterval = time.Second
	}
	if o.FullEvery <= 0 {
		o.FullEvery = 5 * time.Minute
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 10 << 20
	}
	if o.SkipDirs == nil {
		o.SkipDirs = []string{".git", "node_modules", "vendor"}
	}
	if o.RetryMin <= 0 {
		o.RetryMin = 500 * time.Millisecond
	}
	if o.RetryMax <= 0 {
		o.RetryMax = 30 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// baseEntry is the last version of a file that disk and API both held.
type baseEntry struct {
	Hash    string `json:"hash"`
	Version int64  `json:"version"`
}

// stateFile is the JSON layout of SyncerOptions.StateFile.
type stateFile struct {
	Format int                  `json:"format"`
	Files  map[string]baseEntry `json:"files"`
}

// Syncer keeps the workspace disk and the control plane's files in step, both ways. It is
// the Reporter of a Watcher (disk → API) and polls the API's file listing (API → disk).
//
// Every decision is a three-way comparison per path of the disk, the API and the base (the
// last content both held, kept in StateFile): a side that still holds the base has not
// changed, so the other side's version is copied to it. Writes carry the base as If-Match, so
// a change on the other side in the meantime is never overwritten. When both sides changed a
// file differently, the API's version keeps the path and the disk's is kept next to it as
// "<name>.conflict-<UTC time><ext>" (which is then synchronised as a new file); an edit
// always beats a delete. A write of the Syncer's own makes both sides equal to the new base,
// so nothing echoes back.
type Syncer struct {
	opts SyncerOptions
	root *os.Root
	log  *slog.Logger

	ready     chan struct{} // closed after the first full synchronisation
	readyOnce sync.Once

	// mu serialises the rounds: a report, a poll, the first synchronisation. Within a round
	// distinct paths may be worked on at once (syncWorkers), each path by one goroutine.
	mu   sync.Mutex
	etag string // of the listing the last complete poll applied; under mu

	bmu   sync.Mutex // guards base and dirty
	base  map[string]baseEntry
	dirty bool
}

// syncWorkers is how many paths one round works on at once: a first synchronisation of a
// fresh VM disk fetches every file, and each write waits for its fsync.
const syncWorkers = 8

var _ Reporter = (*Syncer)(nil)

// NewSyncer opens the workspace directory and loads the saved base.
func NewSyncer(opts SyncerOptions) (*Syncer, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("filesync: open workspace: %w", err)
	}
	s := &Syncer{opts: opts, root: root, log: opts.Logger, ready: make(chan struct{}), base: map[string]baseEntry{}}
	if opts.StateFile != "" {
		b, err := os.ReadFile(opts.StateFile)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			root.Close()
			return nil, fmt.Errorf("filesync: read state: %w", err)
		default:
			var st stateFile
			if err := json.Unmarshal(b, &st); err != nil || st.Format != 1 {
				// A torn or foreign file: start without a base (differences become
				// conflicts, which lose nothing).
				s.log.Warn("filesync: ignoring unreadable state file", "file", opts.StateFile, "err", err)
			} else if st.Files != nil {
				s.base = st.Files
			}
		}
	}
	return s, nil
}

// Ready is closed once the first full synchronisation has finished.
func (s *Syncer) Ready() <-chan struct{} { return s.ready }

// Run synchronises everything once (retrying until the control plane answers), then polls
// the API's listing every PollInterval until ctx ends. It saves the base as it goes and when
// it returns.
func (s *Syncer) Run(ctx context.Context) error {
	defer s.root.Close()
	defer s.save()
	var backoff time.Duration
	fail := func(what string, err error) time.Duration {
		backoff = min(max(backoff*2, s.opts.RetryMin), s.opts.RetryMax)
		s.log.Warn("filesync: "+what+" failed; will retry", "retry_in", backoff, "err", err)
		return backoff
	}
	for {
		err := s.fullSync(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		if !sleep(ctx, fail("first synchronisation", err)) {
			return nil
		}
	}
	s.readyOnce.Do(func() { close(s.ready) })
	s.save()
	backoff = 0
	lastFull := time.Now()
	wait := s.opts.PollInterval
	for {
		if !sleep(ctx, wait) {
			return nil
		}
		force := time.Since(lastFull) >= s.opts.FullEvery
		if err := s.Pull(ctx, force); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait = fail("polling the file listing", err)
			continue
		}
		if force {
			lastFull = time.Now()
		}
		backoff, wait = 0, s.opts.PollInterval
		s.save()
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Report implements Reporter: each path the watcher saw change on disk is compared with the
// base and sent to the API when it differs. It waits for the first full synchronisation.
func (s *Syncer) Report(ctx context.Context, changes []Change) error {
	select {
	case <-s.ready:
	case <-ctx.Done():
		return ctx.Err()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range changes {
		if !s.inScope(c.Path) {
			continue
		}
		// The change's content may be older than the disk now (the poller may have written
		// the file since the watcher read it): decide on the disk as it is.
		var assumed *RemoteFile
		if b, ok := s.baseOf(c.Path); ok {
			assumed = &RemoteFile{Path: c.Path, Hash: b.Hash, Version: b.Version}
		}
		if err := s.syncPath(ctx, c.Path, assumed, 0); err != nil {
			return err
		}
	}
	return nil
}

// Pull asks for the API's listing (a conditional request unless force) and brings every
// path the API changed since the base to the disk.
func (s *Syncer) Pull(ctx context.Context, force bool) error {
	s.mu.Lock()
	etag := s.etag
	s.mu.Unlock()
	if force {
		etag = ""
	}
	files, tag, changed, err := s.opts.Remote.List(ctx, etag)
	if err != nil || !changed {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	remote := s.index(files)
	var jobs []string
	for p, r := range remote {
		if b, ok := s.baseOf(p); !ok || b.Hash != r.Hash {
			jobs = append(jobs, p)
		}
	}
	for _, p := range s.basePaths() {
		if _, ok := remote[p]; !ok {
			jobs = append(jobs, p)
		}
	}
	if err := s.parallel(ctx, jobs, remote); err != nil {
		return err // keep the old tag: the next poll lists again
	}
	s.etag = tag
	return nil
}

// parallel runs syncPath for every path on up to syncWorkers goroutines and joins the
// errors.
func (s *Syncer) parallel(ctx context.Context, paths []string, remote map[string]*RemoteFile) error {
	work := make(chan string)
	errs := make([]error, len(paths))
	var wg sync.WaitGroup
	for range min(syncWorkers, len(paths)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				i, _ := slices.BinarySearch(paths, p)
				errs[i] = s.syncPath(ctx, p, remote[p], 0)
			}
		}()
	}
	slices.Sort(paths)
	for _, p := range paths {
		if ctx.Err() != nil {
			break
		}
		work <- p
	}
	close(work)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return err
	}
	return errors.Join(errs...)
}

// fullSync compares every path on either side (and in the base): the agent's start, when
// changes on either side may have been missed.
func (s *Syncer) fullSync(ctx context.Context) error {
	files, tag, _, err := s.opts.Remote.List(ctx, "")
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	remote := s.index(files)
	paths := map[string]bool{}
	for p := range remote {
		paths[p] = true
	}
	for _, p := range s.basePaths() {
		paths[p] = true
	}
	err = fs.WalkDir(s.root.FS(), ".", func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			s.log.Debug("filesync: walk", "path", p, "err", err)
			if de != nil && de.IsDir() && p != "." {
				return fs.SkipDir
			}
			return nil
		}
		if de.IsDir() {
			if p != "." && (slices.Contains(s.opts.SkipDirs, de.Name()) || skippedPath(p, nil, s.opts.SkipPaths)) {
				return fs.SkipDir
			}
			return nil
		}
		if de.Type().IsRegular() && s.inScope(p) {
			paths[p] = true
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("filesync: walk the workspace: %w", err)
	}
	all := make([]string, 0, len(paths))
	for p := range paths {
		all = append(all, p)
	}
	if err := s.parallel(ctx, all, remote); err != nil {
		return err
	}
	s.etag = tag
	return nil
}

// index keeps the listed files that may exist on disk, by path. A path the disk cannot hold
// (not clean) or that is never synchronised (.git, …) is left out.
func (s *Syncer) index(files []RemoteFile) map[string]*RemoteFile {
	out := make(map[string]*RemoteFile, len(files))
	for i := range files {
		f := &files[i]
		if clean, err := domain.CleanFilePath(f.Path); err != nil || clean != f.Path || !s.inScope(f.Path) {
			continue
		}
		out[f.Path] = f
	}
	return out
}

// inScope reports whether p is synchronised: not under a skipped directory or path, not a
// temporary file.
func (s *Syncer) inScope(p string) bool { return !skippedPath(p, s.opts.SkipDirs, s.opts.SkipPaths) }

// diskFile is what the disk holds at a path.
type diskFile struct {
	exists   bool   // a regular file
	other    bool   // something else: directory, symbolic link, device
	hash     string // of the whole content
	content  []byte // when it can be sent: not too large, not binary
	sendable bool
}

func (s *Syncer) readDisk(p string) (diskFile, error) {
	info, err := s.root.Lstat(p)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return diskFile{}, nil
	}
	if err != nil {
		return diskFile{}, err
	}
	if !info.Mode().IsRegular() {
		return diskFile{other: true}, nil
	}
	f, err := s.root.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return diskFile{}, nil
	} else if err != nil {
		return diskFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	var content []byte
	if info.Size() <= s.opts.MaxFileBytes {
		content, err = io.ReadAll(io.LimitReader(f, s.opts.MaxFileBytes+1))
		if err != nil {
			return diskFile{}, err
		}
		h.Write(content)
		if _, err := io.Copy(h, f); err != nil { // grew meanwhile
			return diskFile{}, err
		}
	} else if _, err := io.Copy(h, f); err != nil {
		return diskFile{}, err
	}
	d := diskFile{exists: true, hash: hex.EncodeToString(h.Sum(nil))}
	if content != nil && int64(len(content)) <= s.opts.MaxFileBytes &&
		!slices.Contains(content[:min(len(content), binarySniffBytes)], 0) {
		d.content, d.sendable = content, true
	}
	return d, nil
}

func hashOf(r *RemoteFile) string {
	if r == nil {
		return ""
	}
	return r.Hash
}

// maxRaces bounds how often one path is re-examined after the other side changed it during
// an operation; past it the path waits for the next round.
const maxRaces = 3

// syncPath brings one path to agreement, given the API's current metadata (nil: no such file
// in the API). It returns an error only for what should be retried (the control plane could
// not be reached); a refusal or a disk problem is logged and the path left as it is.
func (s *Syncer) syncPath(ctx context.Context, p string, r *RemoteFile, races int) error {
	d, err := s.readDisk(p)
	if err != nil {
		s.log.Warn("filesync: read", "path", p, "err", err)
		return nil
	}
	if d.other {
		s.log.Debug("filesync: not a regular file; left alone", "path", p)
		return nil
	}
	b, hasBase := s.baseOf(p)
	rh, dh, bh := hashOf(r), d.hash, ""
	if hasBase {
		bh = b.Hash
	}
	switch {
	case rh == dh: // the same on both sides (or on neither)
		s.setBase(p, r)
		return nil
	case dh == bh: // only the API changed: copy it to the disk
		return s.toDisk(ctx, p, r, dh, races)
	case rh == bh: // only the disk changed: send it
		return s.toAPI(ctx, p, r, d, races)
	}
	// Both changed, differently.
	switch {
	case r == nil: // deleted in the API, edited on disk: the edit wins
		return s.toAPI(ctx, p, nil, d, races)
	case !d.exists: // deleted on disk, edited in the API: the edit wins
		return s.toDisk(ctx, p, r, "", races)
	}
	aside, err := s.moveAside(p)
	if err != nil {
		s.log.Warn("filesync: conflict: could not keep the disk's version; left as it is", "path", p, "err", err)
		return nil
	}
	s.log.Warn("filesync: conflict: the file changed on disk and through the API; the API's version is kept, the disk's moved aside",
		"path", p, "disk_copy", aside)
	return s.toDisk(ctx, p, r, "", races)
}

// toDisk writes the API's file at p (or removes p when r is nil), provided the disk still
// holds expect ("" = nothing).
func (s *Syncer) toDisk(ctx context.Context, p string, r *RemoteFile, expect string, races int) error {
	if r == nil {
		if err := s.removeIf(p, expect); errors.Is(err, errDiskChanged) {
			return nil // the watcher reports the new disk state; it is decided then
		} else if err != nil {
			s.log.Warn("filesync: remove", "path", p, "err", err)
			return nil
		}
		s.setBase(p, nil)
		return nil
	}
	content, f, err := s.opts.Remote.Get(ctx, p)
	switch code := domain.ErrorCode(err); {
	case code == domain.ENOTFOUND:
		return s.again(ctx, p, races) // deleted meanwhile
	case code == domain.EINVALID || code == domain.ETOOLARGE:
		s.log.Warn("filesync: the control plane refused to serve a file", "path", p, "err", err)
		return nil
	case err != nil:
		return err
	}
	if err := s.writeIf(p, content, expect); errors.Is(err, errDiskChanged) {
		return nil
	} else if err != nil {
		s.log.Warn("filesync: write", "path", p, "err", err)
		return nil
	}
	s.setBase(p, &f)
	return nil
}

// toAPI sends the disk's state of p to the API, on condition that the API still holds r.
func (s *Syncer) toAPI(ctx context.Context, p string, r *RemoteFile, d diskFile, races int) error {
	var err error
	if !d.exists {
		if r == nil {
			s.setBase(p, nil)
			return nil
		}
		if err = s.opts.Remote.Delete(ctx, p, r.Hash); err == nil {
			s.setBase(p, nil)
			return nil
		}
	} else {
		if !d.sendable {
			s.log.Debug("filesync: binary or too large; not sent", "path", p)
			return nil
		}
		var f RemoteFile
		if f, err = s.opts.Remote.Put(ctx, p, d.content, hashOf(r)); err == nil {
			s.setBase(p, &f)
			return nil
		}
	}
	switch domain.ErrorCode(err) {
	case domain.EPRECONDITION: // the API changed meanwhile: look again with its version
		return s.again(ctx, p, races)
	case domain.EINVALID, domain.ETOOLARGE:
		s.log.Warn("filesync: the control plane refused a change; not sent", "path", p, "deleted", !d.exists, "err", err)
		return nil
	}
	return err
}

// again re-examines p with the API's current state, after it changed during an operation.
func (s *Syncer) again(ctx context.Context, p string, races int) error {
	if races >= maxRaces {
		return fmt.Errorf("filesync: %s keeps changing", p)
	}
	var r *RemoteFile
	switch _, f, err := s.opts.Remote.Get(ctx, p); domain.ErrorCode(err) {
	case "":
		r = &f
	case domain.ENOTFOUND:
	default:
		return err
	}
	return s.syncPath(ctx, p, r, races+1)
}

func (s *Syncer) baseOf(p string) (baseEntry, bool) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	b, ok := s.base[p]
	return b, ok
}

func (s *Syncer) basePaths() []string {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	out := make([]string, 0, len(s.base))
	for p := range s.base {
		out = append(out, p)
	}
	return out
}

func (s *Syncer) setBase(p string, r *RemoteFile) {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if r == nil {
		if _, ok := s.base[p]; ok {
			delete(s.base, p)
			s.dirty = true
		}
		return
	}
	e := baseEntry{Hash: r.Hash, Version: r.Version}
	if s.base[p] != e {
		s.base[p] = e
		s.dirty = true
	}
}

// errDiskChanged means the disk changed while the Syncer was about to write: the write was
// not made, the watcher reports the new state.
var errDiskChanged = errors.New("filesync: the file changed on disk meanwhile")

// diskHash returns the hash of the regular file at p, "" when there is none.
func (s *Syncer) diskHash(p string) (string, error) {
	d, err := s.readDisk(p)
	if err != nil {
		return "", err
	}
	if d.other {
		return "", errDiskChanged
	}
	return d.hash, nil
}

// writeIf writes content to p atomically (a temporary file in the same directory, fsync,
// rename; an existing file's permissions are kept) if the disk still holds expect there. The
// workspace root confines every operation: a symbolic link cannot lead it outside.
func (s *Syncer) writeIf(p string, content []byte, expect string) error {
	dir := path.Dir(p)
	if dir != "." {
		if err := s.root.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	mode := fs.FileMode(0o644)
	if info, err := s.root.Lstat(p); err == nil && info.Mode().IsRegular() {
		mode = info.Mode().Perm()
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	tmp := path.Join(dir, "."+path.Base(p)+".vibecode-sync-"+hex.EncodeToString(rnd[:])+".tmp")
	f, err := s.root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	_, err = f.Write(content)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		var cur string
		if cur, err = s.diskHash(p); err == nil && cur != expect {
			err = errDiskChanged
		}
	}
	if err == nil {
		err = s.root.Rename(tmp, p)
	}
	if err != nil {
		_ = s.root.Remove(tmp)
	}
	return err
}

// removeIf removes p if the disk still holds expect there.
func (s *Syncer) removeIf(p, expect string) error {
	cur, err := s.diskHash(p)
	if err != nil {
		return err
	}
	if cur != expect {
		return errDiskChanged
	}
	if cur == "" {
		return nil
	}
	err = s.root.Remove(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return err
}

// moveAside renames the disk's version of p to a free conflict name and returns it.
func (s *Syncer) moveAside(p string) (string, error) {
	dir, name := path.Split(p)
	ext := path.Ext(name)
	if ext == name { // ".env"
		ext = ""
	}
	stem := strings.TrimSuffix(name, ext)
	stamp := s.opts.Now().UTC().Format("20060102T150405Z")
	for i := 1; i < 100; i++ {
		suffix := ".conflict-" + stamp
		if i > 1 {
			suffix += fmt.Sprintf("-%d", i)
		}
		aside := dir + stem + suffix + ext
		if _, err := s.root.Lstat(aside); errors.Is(err, fs.ErrNotExist) {
			return aside, s.root.Rename(p, aside)
		}
	}
	return "", errors.New("no free conflict name")
}

// save writes the base to StateFile when it changed (temporary file, fsync, rename).
func (s *Syncer) save() {
	s.bmu.Lock()
	defer s.bmu.Unlock()
	if !s.dirty || s.opts.StateFile == "" {
		return
	}
	b, err := json.Marshal(stateFile{Format: 1, Files: s.base})
	if err == nil {
		err = writeFileAtomic(s.opts.StateFile, b)
	}
	if err != nil {
		s.log.Warn("filesync: save state", "file", s.opts.StateFile, "err", err)
		return
	}
	s.dirty = false
}

func writeFileAtomic(name string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o700); err != nil {
		return err
	}
	tmp := name + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		_ = os.Remove(tmp)
	}
	return err
}

// Package collab is the workspace agent's collaborative-editing hub: it speaks the y-websocket
// protocol (yjs/y-protocols sync and awareness) so the browser's yjs + y-websocket + y-monaco
// work unmodified, stores every update durably before it is broadcast, and keeps each
// document in step with its file in the workspace, in both directions.
//
// One document per workspace file; its name is the workspace-relative path. A document is
// loaded when its first client connects (storage first: nothing is served before the log has
// been read), and unloaded a short grace period after its last client leaves. Each loaded
// document is owned by one goroutine, which applies updates to a Yjs document (package
// yjs), appends them to the document's log with one fsync per batch, and only then relays
// them; slow clients are disconnected rather than allowed to hold anyone up.
package collab

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/workspace-vm/agent"
)

// Close codes the hub sends. 4000–4999 are private-use codes (RFC 6455 §7.4.2); y-websocket
// clients reconnect after any close and resynchronise, so a close never loses data that the
// client still holds.
const (
	// CloseMalformed: a frame that does not follow the y-websocket framing, an unknown
	// message type, a text frame, or an update the Yjs decoder refuses.
	CloseMalformed websocket.StatusCode = 4400
	// CloseTooBig: a message over Options.MaxMessageBytes.
	CloseTooBig websocket.StatusCode = 4413
	// CloseUnsupportedFile: the document's file is not UTF-8 text or over MaxFileBytes, so it
	// cannot be edited as a Y.Text.
	CloseUnsupportedFile websocket.StatusCode = 4415
	// CloseTooSlow: the client did not read its messages fast enough (its send queue
	// overflowed, a write timed out, or a ping went unanswered).
	CloseTooSlow websocket.StatusCode = 4408
	// CloseInternal: the document could not be loaded or stored; the client should retry.
	CloseInternal websocket.StatusCode = 4500
	// CloseShuttingDown: the agent is stopping; reconnect later.
	CloseShuttingDown websocket.StatusCode = 4503
)

// Options configures a Hub. Zero values take the documented defaults.
type Options struct {
	// StateDir holds the durable per-document update logs (in StateDir/docs). Required.
	StateDir string
	// WorkspaceDir is the directory whose files the documents mirror. Required.
	WorkspaceDir string
	// TextName is the name of the Y.Text holding a file's content; the browser must use the
	// same (ydoc.getText(TextName)). Default "content".
	TextName string
	// MaxMessageBytes is the largest WebSocket message accepted from a client; a larger one
	// closes the connection with CloseTooBig. It must hold a large document's SyncStep2 (a
	// client uploading its state), which is why it is far above coder/websocket's 32 KiB
	// default. Default 32 MiB: a MaxFileBytes file plus Yjs metadata.
	MaxMessageBytes int64
	// MaxFileBytes is the largest file that can be opened as a document. Default 10 MiB, the
	// control plane's file limit.
	MaxFileBytes int64
	// SendQueueFrames and SendQueueBytes bound each connection's queue of outgoing
	// messages; when either overflows, that connection is closed with CloseTooSlow instead of
	// dropping a frame or stalling the others. Defaults 4096 frames and 64 MiB.
	SendQueueFrames int
	SendQueueBytes  int64
	// WriteTimeout bounds one WebSocket write; a client that takes longer is too slow.
	// Default 15 s.
	WriteTimeout time.Duration
	// PingInterval is how often an idle connection is pinged to notice dead peers; a ping
	// unanswered within the interval closes the connection. Default 30 s.
	PingInterval time.Duration
	// CompactUpdates and CompactBytes bound a document's log: once it holds more records,
	// or grows past CompactBytes and twice its size after the last compaction, it is
	// replaced by a single update holding the whole state. Defaults 1,000 and 4 MiB.
	CompactUpdates int
	CompactBytes   int64
	// UnloadAfter is how long a document nobody has open stays loaded, so a reload of the
	// page does not re-read the log. Default 10 s.
	UnloadAfter time.Duration
	// FileWriteDelay debounces writing a document's text to its file: the write happens
	// this long after the last edit, and FileWriteMaxDelay after the first unwritten edit at
	// the latest. Defaults 200 ms and 1 s.
	FileWriteDelay    time.Duration
	FileWriteMaxDelay time.Duration
	// FileReadDelay debounces reading a file that changed on disk, so a file written in
	// several chunks is read once, whole. Default 100 ms.
	FileReadDelay time.Duration
	// OnActivity, if set, is called with "collab" when clients make real edits (once per
	// batch stored together; not for awareness, pings or reconnects), so the lifecycle can
	// tell an idle tab from work. It must not block.
	OnActivity func(kind string)
	// Logger receives operational messages. Default: discard.
	Logger *slog.Logger
}

func (o *Options) setDefaults() error {
	if o.StateDir == "" {
		return errors.New("collab: Options.StateDir is required")
	}
	if o.WorkspaceDir == "" {
		return errors.New("collab: Options.WorkspaceDir is required")
	}
	if o.TextName == "" {
		o.TextName = "content"
	}
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = 32 << 20
	}
	if o.MaxFileBytes <= 0 {
		o.MaxFileBytes = 10 << 20
	}
	if o.SendQueueFrames <= 0 {
		o.SendQueueFrames = 4096
	}
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = 64 << 20
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = 15 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 30 * time.Second
	}
	if o.CompactUpdates <= 0 {
		o.CompactUpdates = 1000
	}
	if o.CompactBytes <= 0 {
		o.CompactBytes = 4 << 20
	}
	if o.UnloadAfter <= 0 {
		o.UnloadAfter = 10 * time.Second
	}
	if o.FileWriteDelay <= 0 {
		o.FileWriteDelay = 200 * time.Millisecond
	}
	if o.FileWriteMaxDelay < o.FileWriteDelay {
		o.FileWriteMaxDelay = max(time.Second, o.FileWriteDelay)
	}
	if o.FileReadDelay <= 0 {
		o.FileReadDelay = 100 * time.Millisecond
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Hub serves the collaborative documents of one workspace; it is the agent's CollabHub. It is
// safe for concurrent use.
type Hub struct {
	opts    Options
	log     *slog.Logger
	docsDir string
	root    *os.Root // the workspace; file access cannot escape it, even through symlinks
	watch   *watcher

	ctx    context.Context // canceled by Close
	cancel context.CancelFunc

	mu      sync.Mutex
	closed  bool
	docs    map[string]*document
	clients map[*client]struct{}
	serving sync.WaitGroup // Serve calls in flight

	nClients atomic.Int64
}

var _ agent.CollabHub = (*Hub)(nil)

// New opens the hub's state directory and workspace and starts watching files.
func New(opts Options) (*Hub, error) {
	if err := opts.setDefaults(); err != nil {
		return nil, err
	}
	docsDir := filepath.Join(opts.StateDir, "docs")
	if err := os.MkdirAll(docsDir, 0o700); err != nil {
		return nil, fmt.Errorf("collab: create state dir: %w", err)
	}
	root, err := os.OpenRoot(opts.WorkspaceDir)
	if err != nil {
		return nil, fmt.Errorf("collab: open workspace: %w", err)
	}
	absWS, err := filepath.Abs(opts.WorkspaceDir)
	if err != nil {
		root.Close()
		return nil, fmt.Errorf("collab: workspace path: %w", err)
	}
	w, err := newWatcher(absWS, opts.Logger)
	if err != nil {
		root.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	h := &Hub{
		opts:    opts,
		log:     opts.Logger,
		docsDir: docsDir,
		root:    root,
		watch:   w,
		ctx:     ctx,
		cancel:  cancel,
		docs:    make(map[string]*document),
		clients: make(map[*client]struct{}),
	}
	go h.watchdog()
	return h, nil
}

// watchdog cuts off connections whose current write has taken longer than WriteTimeout.
func (h *Hub) watchdog() {
	t := time.NewTicker(min(time.Second, h.opts.WriteTimeout/4))
	defer t.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case now := <-t.C:
			cutoff := now.Add(-h.opts.WriteTimeout).UnixNano()
			h.mu.Lock()
			for c := range h.clients {
				c.cutIfStuck(cutoff)
			}
			h.mu.Unlock()
		}
	}
}

// Stats reports how many documents are loaded (open, or in their unload grace period) and
// how many clients are connected, for the agent's /stats.
func (h *Hub) Stats() agent.CollabStats {
	h.mu.Lock()
	docs := len(h.docs)
	h.mu.Unlock()
	return agent.CollabStats{Documents: docs, Clients: int(h.nClients.Load())}
}

// Serve upgrades the request to a WebSocket and serves document doc (a workspace-relative
// file path) to user until the connection ends. The caller has authenticated the user and
// checked the Origin header, so the upgrade itself does not check the origin again. A
// ReadOnly user receives everything but its document updates are dropped, never stored.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, doc string, user agent.CollabUser) {
	name, err := domain.CleanFilePath(doc)
	if err != nil {
		http.Error(w, "invalid document name: "+domain.ErrorMessage(err), http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		http.Error(w, "collaboration hub is shutting down", http.StatusServiceUnavailable)
		return
	}
	h.serving.Add(1)
	h.mu.Unlock()
	defer h.serving.Done()

	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		InsecureSkipVerify: true, // the agent checked Origin before calling Serve
		CompressionMode:    websocket.CompressionDisabled,
	})
	if err != nil {
		h.log.Debug("collab: websocket upgrade failed", "doc", name, "err", err)
		return
	}
	// The hub enforces MaxMessageBytes itself, to close with CloseTooBig.
	conn.SetReadLimit(-1)

	c := newClient(h, conn, user)
	if !h.addClient(c) {
		_ = conn.Close(CloseShuttingDown, "shutting down")
		return
	}
	defer h.removeClient(c)
	go c.writeLoop()
	go c.pingLoop()

	d, err := h.acquire(c.ctx, name)
	if err != nil {
		code, reason := CloseInternal, "document could not be loaded"
		switch {
		case errors.Is(err, errUnsupportedFile):
			code, reason = CloseUnsupportedFile, err.Error()
		case h.ctx.Err() != nil:
			code, reason = CloseShuttingDown, "shutting down"
		default:
			h.log.Error("collab: load document", "doc", name, "err", err)
		}
		c.fail(code, reason)
		<-c.writerDone
		return
	}
	c.doc = d
	if d.post(event{kind: evJoin, c: c}) {
		c.readLoop()
		d.post(event{kind: evLeave, c: c})
	}
	c.fail(websocket.StatusNormalClosure, "")
	<-c.writerDone
	h.release(d)
}

func (h *Hub) addClient(c *client) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.clients[c] = struct{}{}
	h.nClients.Add(1)
	return true
}

func (h *Hub) removeClient(c *client) {
	h.mu.Lock()
	delete(h.clients, c)
	h.mu.Unlock()
	h.nClients.Add(-1)
}

// acquire returns the loaded document name, loading it if needed, with a reference the
// caller gives back with release.
func (h *Hub) acquire(ctx context.Context, name string) (*document, error) {
	for {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, errors.New("collab: hub closed")
		}
		d := h.docs[name]
		if d == nil {
			d = newDocument(h, name)
			d.refs = 1
			h.docs[name] = d
			h.mu.Unlock()
			err := d.load()
			if err != nil {
				h.mu.Lock()
				delete(h.docs, name)
				h.mu.Unlock()
			}
			close(d.ready)
			if err != nil {
				return nil, err
			}
			return d, nil
		}
		if d.unloading {
			h.mu.Unlock()
			// Wait for the old instance to flush and close its log before reading it again.
			select {
			case <-d.stopped:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			h.mu.Lock()
			if h.docs[name] == d {
				delete(h.docs, name)
			}
			h.mu.Unlock()
			continue
		}
		d.refs++
		if d.unloadTimer != nil {
			d.unloadTimer.Stop()
			d.unloadTimer = nil
		}
		h.mu.Unlock()
		select {
		case <-d.ready:
		case <-ctx.Done():
			h.release(d)
			return nil, ctx.Err()
		}
		if d.loadErr != nil {
			h.release(d)
			continue // the loader removed it; try loading again
		}
		return d, nil
	}
}

// release gives back a reference; the last one schedules the unload.
func (h *Hub) release(d *document) {
	h.mu.Lock()
	defer h.mu.Unlock()
	d.refs--
	if d.refs > 0 || d.loadErr != nil || d.unloading {
		return
	}
	if h.closed {
		return // Close stops every document itself
	}
	d.unloadTimer = time.AfterFunc(h.opts.UnloadAfter, func() { h.unload(d) })
}

func (h *Hub) unload(d *document) {
	h.mu.Lock()
	if d.refs > 0 || d.unloading || h.docs[d.name] != d {
		h.mu.Unlock()
		return
	}
	d.unloading = true
	h.mu.Unlock()
	d.stop()
	h.mu.Lock()
	if h.docs[d.name] == d {
		delete(h.docs, d.name)
	}
	h.mu.Unlock()
}

// Close disconnects every client with CloseShuttingDown, writes pending file changes, closes
// the logs and stops watching files. Updates were stored as they arrived, so nothing is lost
// if ctx expires first; Close then returns ctx's error.
func (h *Hub) Close(ctx context.Context) error {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil
	}
	h.closed = true
	for c := range h.clients {
		c.fail(CloseShuttingDown, "shutting down")
	}
	h.mu.Unlock()

	served := make(chan struct{})
	go func() { h.serving.Wait(); close(served) }()
	var err error
	select {
	case <-served:
	case <-ctx.Done():
		err = fmt.Errorf("collab: close: waiting for connections: %w", ctx.Err())
	}
	h.cancel()

	h.mu.Lock()
	docs := make([]*document, 0, len(h.docs))
	for _, d := range h.docs {
		if d.unloadTimer != nil {
			d.unloadTimer.Stop()
		}
		d.unloading = true
		docs = append(docs, d)
	}
	h.mu.Unlock()
	for _, d := range docs {
		select {
		case <-d.ready:
			if d.loadErr == nil {
				d.stop()
			}
		case <-ctx.Done():
		}
	}
	h.mu.Lock()
	clear(h.docs)
	h.mu.Unlock()
	if werr := h.watch.close(); werr != nil && err == nil {
		err = werr
	}
	if rerr := h.root.Close(); rerr != nil && err == nil {
		err = fmt.Errorf("collab: close workspace: %w", rerr)
	}
	return err
}

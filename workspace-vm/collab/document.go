package collab

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"sync"
	"time"
)

// ydoc is what the hub needs of a Yjs document; *yjs.Doc provides it.
type ydoc interface {
	ApplyUpdate(update []byte) error
	EncodeStateAsUpdate(stateVector []byte) ([]byte, error)
	EncodeStateVector() []byte
	Text(name string) string
	SetText(name, content string) ([]byte, error)
}

type evKind int

const (
	evJoin evKind = iota
	evLeave
	evSyncStep1
	evUpdate
	evAwareness
	evQueryAwareness
)

// event is a message from a connection to its document's goroutine.
type event struct {
	kind      evKind
	c         *client
	payload   []byte // state vector (evSyncStep1) or update (evUpdate)
	handshake bool   // evUpdate: the client's SyncStep2, which may hold nothing new
	entries   []awarenessEntry
}

// staged is an update applied in memory and waiting for the next log append.
type staged struct {
	update  []byte
	from    *client // nil for the hub's own (file) updates
	changed bool    // the update changed the document (else it is stored, not relayed)
}

// maxBatch bounds how many events the document goroutine takes at once; their updates share
// one fsync (group commit).
const maxBatch = 256

// awarenessTimeout is how long an awareness state lives without renewal; clients renew every
// 15 s, and y-protocols drops states after 30 s.
const awarenessTimeout = 30 * time.Second

// document is one loaded document. Its fields below "owned by run" are used only by its
// goroutine (and by load, before that goroutine starts).
type document struct {
	h    *Hub
	name string

	// Guarded by h.mu.
	refs        int
	unloading   bool
	unloadTimer *time.Timer

	ready   chan struct{} // closed once load finished; loadErr tells how
	loadErr error

	events     chan event
	diskNotify chan struct{} // capacity 1: the file may have changed on disk
	writeDone  chan writeResult
	quit       chan struct{}
	quitOnce   sync.Once
	stopped    chan struct{}

	// Owned by run.
	y       ydoc
	log     *updateLog
	clients map[*client]struct{}
	aware   *awarenessSet
	staged  []staged
	file    fileState
	broken  bool
}

func newDocument(h *Hub, name string) *document {
	return &document{
		h:          h,
		name:       name,
		ready:      make(chan struct{}),
		events:     make(chan event, maxBatch),
		diskNotify: make(chan struct{}, 1),
		writeDone:  make(chan writeResult, 1),
		quit:       make(chan struct{}),
		stopped:    make(chan struct{}),
		clients:    make(map[*client]struct{}),
		aware:      newAwarenessSet(),
	}
}

// post hands an event to the document goroutine; false if the document has stopped.
func (d *document) post(ev event) bool {
	select {
	case d.events <- ev:
		return true
	case <-d.stopped:
		return false
	}
}

// stop ends the document goroutine after it wrote any pending file change and closed the log.
func (d *document) stop() {
	d.quitOnce.Do(func() { close(d.quit) })
	<-d.stopped
}

// load reads the log, replays it into a Yjs document, reconciles it with the file on disk
// (seeding a new document from the file, once, here on the server) and starts the document
// goroutine. Nothing is served before it returns.
func (d *document) load() (err error) {
	defer func() { d.loadErr = err }()
	l, records, cut, err := openLog(d.h.docsDir, d.name)
	if err != nil {
		return err
	}
	if cut > 0 {
		d.h.log.Warn("collab: cut a torn or corrupt tail off a document log", "doc", d.name, "bytes", cut)
	}
	defer func() {
		if err != nil {
			_ = l.close()
		}
	}()
	y := newYDoc()
	var markers fileMarkers
	for i, r := range records {
		switch r.kind {
		case recUpdate:
			if err := y.ApplyUpdate(r.payload); err != nil {
				return fmt.Errorf("collab: replay record %d of %q: %w", i, d.name, err)
			}
		default:
			markers.add(r)
		}
	}
	d.y, d.log = y, l
	if err := d.reconcileOnLoad(markers); err != nil {
		return err
	}
	d.h.watch.add(d)
	go d.run()
	return nil
}

func (d *document) run() {
	defer close(d.stopped)
	expiry := time.NewTicker(awarenessTimeout / 6)
	defer expiry.Stop()
	writeTimer := time.NewTimer(time.Hour)
	writeTimer.Stop()
	readTimer := time.NewTimer(time.Hour)
	readTimer.Stop()
	d.file.writeTimer = writeTimer
	if d.file.dirty {
		d.scheduleWrite()
	}
	batch := make([]event, 0, maxBatch)
	for {
		select {
		case ev := <-d.events:
			batch = append(batch[:0], ev)
		drain:
			for len(batch) < maxBatch {
				select {
				case ev := <-d.events:
					batch = append(batch, ev)
				default:
					break drain
				}
			}
			d.handle(batch)
		case <-d.diskNotify:
			readTimer.Reset(d.h.opts.FileReadDelay)
		case <-readTimer.C:
			d.checkFile()
		case <-writeTimer.C:
			d.file.writeArmed = false
			d.syncToDisk()
		case r := <-d.writeDone:
			d.written(r)
		case now := <-expiry.C:
			d.expireAwareness(now)
			d.checkFile()
		case <-d.quit:
			d.shutdown()
			return
		}
		if d.broken {
			d.shutdown()
			return
		}
	}
}

// shutdown writes a pending file change and releases the log and the file watch.
func (d *document) shutdown() {
	if !d.broken {
		d.flushFile()
	} else if d.file.writing {
		<-d.writeDone // let the write finish before the workspace is closed
	}
	d.h.watch.remove(d)
	if err := d.log.close(); err != nil {
		d.h.log.Error("collab: close log", "doc", d.name, "err", err)
	}
}

func (d *document) handle(batch []event) {
	for _, ev := range batch {
		if ev.kind == evUpdate {
			d.stage(ev)
			continue
		}
		d.commit()
		if d.broken {
			return
		}
		switch ev.kind {
		case evJoin:
			d.join(ev.c)
		case evLeave:
			d.leave(ev.c)
		case evSyncStep1:
			update, err := d.y.EncodeStateAsUpdate(ev.payload)
			if err != nil {
				ev.c.fail(CloseMalformed, "invalid state vector")
				continue
			}
			ev.c.enqueue(encodeSync(syncStep2, update))
		case evAwareness:
			accepted, corrections := d.aware.apply(ev.entries, ev.c, time.Now())
			if len(corrections) > 0 {
				ev.c.enqueue(encodeAwareness(encodeAwarenessUpdate(corrections)))
			}
			if len(accepted) > 0 {
				// To everyone, the sender included: its own echo is what keeps an otherwise
				// quiet client from timing out (30 s without a message).
				d.broadcast(encodeAwareness(encodeAwarenessUpdate(accepted)), nil)
			}
		case evQueryAwareness:
			if present := d.aware.present(); len(present) > 0 {
				ev.c.enqueue(encodeAwareness(encodeAwarenessUpdate(present)))
			}
		}
	}
	d.commit()
}

func (d *document) join(c *client) {
	d.clients[c] = struct{}{}
	// Our SyncStep1 carries our state vector, so the client's SyncStep2 answer holds just
	// what we lack: edits it made offline, or everything if we lost it.
	c.enqueue(encodeSync(syncStep1, d.y.EncodeStateVector()))
	if present := d.aware.present(); len(present) > 0 {
		c.enqueue(encodeAwareness(encodeAwarenessUpdate(present)))
	}
}

func (d *document) leave(c *client) {
	delete(d.clients, c)
	ids := make([]uint64, 0, len(c.awarenessIDs))
	for id := range c.awarenessIDs {
		ids = append(ids, id)
	}
	if removed := d.aware.remove(ids, time.Now()); len(removed) > 0 {
		d.broadcast(encodeAwareness(encodeAwarenessUpdate(removed)), nil)
	}
}

func (d *document) expireAwareness(now time.Time) {
	if removed := d.aware.remove(d.aware.outdated(now.Add(-awarenessTimeout)), now); len(removed) > 0 {
		d.broadcast(encodeAwareness(encodeAwarenessUpdate(removed)), nil)
	}
	d.aware.forget(now.Add(-10 * awarenessTimeout))
}

// broadcast queues frame for every client but except.
func (d *document) broadcast(frame []byte, except *client) {
	for c := range d.clients {
		if c != except {
			c.enqueue(frame)
		}
	}
}

// isEmptyUpdate reports a Yjs v1 update with no structs and no deletions: what a client with
// an empty document answers our SyncStep1 with.
func isEmptyUpdate(u []byte) bool { return bytes.Equal(u, []byte{0, 0}) }

// stage applies a client's update to the in-memory document; commit stores and relays it.
func (d *document) stage(ev event) {
	// No check of c.failed(): a client that sent an update and then closed is gone by the
	// time its update is handled, and the update must still be kept.
	c := ev.c
	if isEmptyUpdate(ev.payload) {
		return
	}
	var sv0 []byte
	var text0 string
	if ev.handshake {
		sv0, text0 = d.y.EncodeStateVector(), d.y.Text(d.h.opts.TextName)
	}
	if err := d.y.ApplyUpdate(ev.payload); err != nil {
		d.h.log.Warn("collab: refused an update", "doc", d.name, "user", c.user.ID, "err", err)
		c.fail(CloseMalformed, "invalid Yjs update")
		return
	}
	changed := true
	if ev.handshake {
		// A reconnecting client's SyncStep2 holds its whole delete set even when it has no
		// new edits: store it (it may hold deletions we lack), but only a real change is
		// relayed and counts as activity.
		changed = !bytes.Equal(sv0, d.y.EncodeStateVector()) || text0 != d.y.Text(d.h.opts.TextName)
	}
	d.staged = append(d.staged, staged{update: ev.payload, from: c, changed: changed})
}

// commit appends the staged updates to the log with one fsync, and only then relays them.
func (d *document) commit() {
	if len(d.staged) == 0 {
		return
	}
	records := make([]record, len(d.staged))
	for i, s := range d.staged {
		records[i] = record{kind: recUpdate, payload: s.update}
	}
	if err := d.log.append(records...); err != nil {
		d.fatal(err)
		return
	}
	edited := false
	for _, s := range d.staged {
		if !s.changed {
			continue
		}
		d.broadcast(encodeSync(syncUpdate, s.update), s.from)
		if s.from != nil {
			edited = true
		}
	}
	d.staged = d.staged[:0]
	if edited {
		d.file.dirty = true
		d.scheduleWrite()
		if d.h.opts.OnActivity != nil {
			d.h.opts.OnActivity("collab")
		}
	}
	d.maybeCompact()
}

// fatal handles a failed log write: the in-memory document now holds updates that are not
// stored, so it must not be served any longer. Every client is closed (they keep their
// edits and upload them again on reconnect, to a freshly loaded document).
func (d *document) fatal(err error) {
	d.h.log.Error("collab: document log failed; reloading the document", "doc", d.name, "err", err)
	d.h.mu.Lock()
	d.unloading = true
	if d.unloadTimer != nil {
		d.unloadTimer.Stop()
	}
	d.h.mu.Unlock()
	for c := range d.clients {
		c.fail(CloseInternal, "document storage failed; reconnect")
	}
	d.staged = d.staged[:0]
	d.broken = true
}

// maybeCompact replaces the log with one snapshot once it holds more than CompactUpdates
// records, or more than CompactBytes and twice its size after the last compaction (so a
// large document is not rewritten on every few edits).
func (d *document) maybeCompact() {
	l, o := d.log, d.h.opts
	if l.records <= o.CompactUpdates && (l.size <= o.CompactBytes || l.size <= 2*l.baseSize) {
		return
	}
	snapshot, err := d.y.EncodeStateAsUpdate(nil)
	if err != nil {
		d.h.log.Error("collab: compaction: encode state", "doc", d.name, "err", err)
		return
	}
	records := append([]record{{kind: recUpdate, payload: snapshot}}, d.file.markers()...)
	before := l.size
	if err := l.replace(records); err != nil {
		// The old log is intact (the rename did not happen); keep appending to it.
		d.h.log.Error("collab: compaction failed", "doc", d.name, "err", err)
		return
	}
	d.h.log.Debug("collab: compacted log", "doc", d.name, "from_bytes", before, "to_bytes", l.size)
}

// hashOf returns the SHA-256 of s, the identity of a file content.
func hashOf(s []byte) [32]byte { return sha256.Sum256(s) }

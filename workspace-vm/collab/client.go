package collab

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/workspace-vm/agent"
)

// client is one WebSocket connection to one document. Three goroutines serve it: the reader
// (Serve's own), which decodes frames and hands them to the document; the writer, which
// drains the bounded send queue; and the pinger.
type client struct {
	h    *Hub
	conn *websocket.Conn
	user agent.CollabUser
	doc  *document // set once the document is loaded

	// ctx is canceled when the client fails. It is never passed to conn.Read: canceling a
	// read context makes coder/websocket drop the connection without sending our close code.
	ctx    context.Context
	cancel context.CancelFunc

	// The send queue: a slice rather than a buffered channel, so an idle connection costs
	// nothing, bounded by SendQueueFrames and SendQueueBytes.
	qmu        sync.Mutex
	queue      [][]byte
	queued     int64         // bytes in queue
	wake       chan struct{} // capacity 1: the queue has frames
	writeSince atomic.Int64  // UnixNano when the write in progress began; 0 when idle
	failOnce   sync.Once
	code       websocket.StatusCode // set before cancel, read after ctx.Done
	reason     string
	writerDone chan struct{}
	deniedSent bool // reader goroutine only

	// Owned by the document goroutine: the awareness client ids this connection announced,
	// removed for everyone when it goes away.
	awarenessIDs map[uint64]struct{}
}

func newClient(h *Hub, conn *websocket.Conn, user agent.CollabUser) *client {
	ctx, cancel := context.WithCancel(h.ctx)
	return &client{
		h:            h,
		conn:         conn,
		user:         user,
		ctx:          ctx,
		cancel:       cancel,
		wake:         make(chan struct{}, 1),
		writerDone:   make(chan struct{}),
		awarenessIDs: make(map[uint64]struct{}),
	}
}

// fail closes the connection with code and reason (the first call wins). It never blocks:
// the writer goroutine sends the close frame.
func (c *client) fail(code websocket.StatusCode, reason string) {
	c.failOnce.Do(func() {
		// A close reason must fit in a control frame (123 bytes).
		if len(reason) > 120 {
			reason = reason[:120]
		}
		c.code, c.reason = code, reason
		c.cancel()
	})
}

func (c *client) failed() bool { return c.ctx.Err() != nil }

// enqueue queues a frame for the writer without ever blocking the caller (the document
// goroutine, which serves everyone). A full queue means the client cannot keep up: it is
// closed, and will resynchronise when it reconnects, rather than silently missing a frame.
func (c *client) enqueue(frame []byte) {
	if c.failed() {
		return
	}
	c.qmu.Lock()
	if len(c.queue) >= c.h.opts.SendQueueFrames || c.queued+int64(len(frame)) > c.h.opts.SendQueueBytes {
		c.qmu.Unlock()
		c.fail(CloseTooSlow, "too slow: send queue full")
		return
	}
	c.queue = append(c.queue, frame)
	c.queued += int64(len(frame))
	c.qmu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *client) writeLoop() {
	defer close(c.writerDone)
	var batch [][]byte
	for {
		select {
		case <-c.ctx.Done():
			c.closeConn()
			return
		case <-c.wake:
		}
		c.qmu.Lock()
		batch, c.queue = c.queue, batch[:0]
		c.qmu.Unlock()
		for i, frame := range batch {
			batch[i] = nil
			if c.failed() {
				break
			}
			// No context deadline per write (that costs a timer and a context per frame):
			// the hub's watchdog cuts off a write that takes longer than WriteTimeout.
			c.writeSince.Store(time.Now().UnixNano())
			err := c.conn.Write(context.Background(), websocket.MessageBinary, frame)
			c.writeSince.Store(0)
			c.qmu.Lock()
			c.queued -= int64(len(frame))
			c.qmu.Unlock()
			if err != nil {
				c.fail(websocket.StatusGoingAway, "")
			}
		}
	}
}

func (c *client) closeConn() {
	err := c.conn.Close(c.code, c.reason)
	if err != nil && !errors.Is(err, io.EOF) && websocket.CloseStatus(err) == -1 {
		c.h.log.Debug("collab: close", "err", err)
	}
}

// cutIfStuck checks whether a write has been in progress since before cutoff, and if so
// fails the client and drops the connection: a peer that stopped reading has let its socket
// buffers fill, so no close frame could get through anyway.
func (c *client) cutIfStuck(cutoff int64) {
	if since := c.writeSince.Load(); since != 0 && since < cutoff {
		c.fail(CloseTooSlow, "too slow: write timed out")
		_ = c.conn.CloseNow()
	}
}

// pingLoop pings the client so a peer that vanished without closing is noticed. Pongs are
// read by the reader goroutine.
func (c *client) pingLoop() {
	t := time.NewTicker(c.h.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-c.ctx.Done():
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), c.h.opts.PingInterval)
			err := c.conn.Ping(ctx)
			cancel()
			if err != nil {
				c.fail(CloseTooSlow, "ping not answered")
				return
			}
		}
	}
}

// readLoop decodes client frames until the connection ends or the client breaks a rule.
func (c *client) readLoop() {
	max := c.h.opts.MaxMessageBytes
	for {
		typ, r, err := c.conn.Reader(context.Background())
		if err != nil {
			return
		}
		data, err := io.ReadAll(io.LimitReader(r, max+1))
		if err != nil {
			return
		}
		if int64(len(data)) > max {
			c.fail(CloseTooBig, fmt.Sprintf("message larger than %d bytes", max))
			return
		}
		if typ != websocket.MessageBinary {
			c.fail(CloseMalformed, "text messages are not part of the y-websocket protocol")
			return
		}
		m, err := parseMessage(data)
		if err != nil {
			c.fail(CloseMalformed, err.Error())
			return
		}
		ev := event{c: c}
		switch m.typ {
		case msgSync:
			switch m.syncTyp {
			case syncStep1:
				ev.kind, ev.payload = evSyncStep1, m.payload
			default: // SyncStep2 (the reply to our SyncStep1) or Update
				if c.user.ReadOnly {
					if !c.deniedSent {
						c.deniedSent = true
						c.enqueue(encodePermissionDenied("read-only: your changes are not saved or shared"))
					}
					continue
				}
				ev.kind, ev.payload, ev.handshake = evUpdate, m.payload, m.syncTyp == syncStep2
			}
		case msgAwareness:
			entries, err := parseAwarenessUpdate(m.payload)
			if err != nil {
				c.fail(CloseMalformed, err.Error())
				return
			}
			ev.kind, ev.entries = evAwareness, entries
		case msgQueryAwareness:
			ev.kind = evQueryAwareness
		}
		if !c.doc.post(ev) {
			return
		}
		if c.failed() {
			return
		}
	}
}

package terminal

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// segment is one queued frame: buf[0] is the opcode. Output segments grow up to batchMax
// payload bytes while they wait, which is the batching.
type segment struct {
	buf    []byte
	output bool
}

// client is one WebSocket attached to a session.
type client struct {
	m        *Manager
	s        *session
	conn     *websocket.Conn
	user     string
	readOnly bool

	mu          sync.Mutex
	queue       []segment
	queued      int // output payload bytes in queue
	limit       int // most output bytes queue may hold: ClientBuffer plus the replay
	paused      bool
	credit      bool // the client sends acks; unacked is bounded by Window
	unacked     int
	closeCode   websocket.StatusCode
	closeReason string
	closeDrain  bool   // send what is queued before closing
	batching    bool   // the writer waits for a batch to fill (or BatchDelay)
	spare       []byte // a sent segment's buffer, for reuse

	notify     chan struct{} // the queue or the flow state changed
	done       chan struct{} // the reader has ended
	writerDone chan struct{}
	lastSend   time.Time // writer only
	lastSize   int       // writer only: payload of the last frame sent
}

// streamingSize is the frame size from which output counts as streaming, and is batched.
const streamingSize = 1024

func newClient(m *Manager, s *session, conn *websocket.Conn, a Attach) *client {
	return &client{
		m: m, s: s, conn: conn, user: a.UserID, readOnly: a.ReadOnly,
		limit:  m.opts.ClientBuffer,
		notify: make(chan struct{}, 1), done: make(chan struct{}), writerDone: make(chan struct{}),
	}
}

func (c *client) signal() {
	select {
	case c.notify <- struct{}{}:
	default:
	}
}

// pushOutput queues output; false means the client is too far behind and must go.
func (c *client) pushOutput(p []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCode != 0 {
		return true
	}
	if c.queued+len(p) > c.limit {
		return false
	}
	c.appendOutput(p)
	// A writer waiting for a batch to fill needs waking only once there is a full frame.
	if !c.batching || len(c.queue) > 1 {
		c.signal()
	}
	return true
}

func (c *client) appendOutput(p []byte) {
	c.queued += len(p)
	for len(p) > 0 {
		var last *segment
		if n := len(c.queue); n > 0 && c.queue[n-1].output && len(c.queue[n-1].buf)-1 < batchMax {
			last = &c.queue[n-1]
		} else {
			var buf []byte
			if c.spare != nil && len(p) > 512 {
				buf, c.spare = c.spare[:1], nil
			} else {
				buf = make([]byte, 1, 1+min(batchMax, max(len(p), 512)))
			}
			buf[0] = OpOutput
			c.queue = append(c.queue, segment{buf: buf, output: true})
			last = &c.queue[len(c.queue)-1]
		}
		n := min(len(p), batchMax-(len(last.buf)-1))
		last.buf = append(last.buf, p[:n]...)
		p = p[n:]
	}
}

// queueReplay queues the replay between its markers; it does not count against the buffer.
func (c *client) queueReplay(p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queue = append(c.queue, segment{buf: []byte{OpReplay, ReplayBegin}})
	c.limit += len(p)
	c.appendOutput(p)
	c.queue = append(c.queue, segment{buf: []byte{OpReplay, ReplayEnd}})
	c.signal()
}

func (c *client) queueControl(frame []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCode != 0 && !c.closeDrain {
		return
	}
	c.queue = append(c.queue, segment{buf: frame})
	c.signal()
}

// closeWith makes the writer close the socket with code: at once (dropping queued output), or
// after sending what is queued (drain). The first call wins.
func (c *client) closeWith(code websocket.StatusCode, reason string, drain bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closeCode != 0 {
		return
	}
	c.closeCode, c.closeReason, c.closeDrain = code, reason, drain
	if !drain {
		c.queue, c.queued = nil, 0
	}
	c.signal()
}

func (c *client) closing() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeCode != 0
}

// behind reports whether the client has HighWater or more output waiting.
func (c *client) behind() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued >= c.m.opts.HighWater
}

func (c *client) buffered() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.queued
}

// canSendLocked reports whether the head of the queue may go now.
func (c *client) canSendLocked() bool {
	if len(c.queue) == 0 {
		return false
	}
	if !c.queue[0].output || c.closeCode != 0 {
		return true
	}
	if c.paused {
		return false
	}
	return !c.credit || c.unacked < c.m.opts.Window
}

// run serves the connection: the reader runs here, the writer and the pinger beside it.
func (c *client) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go c.writeLoop(ctx)
	go c.pingLoop(ctx)
	c.readLoop(ctx)
	c.s.detach(c)
	close(c.done)
	<-c.writerDone
	cancel()
	_ = c.conn.CloseNow()
}

func (c *client) writeLoop(ctx context.Context) {
	defer close(c.writerDone)
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	readerGone := false
	for {
		c.mu.Lock()
		if c.closeCode != 0 && (!c.closeDrain || len(c.queue) == 0 || readerGone) {
			code, reason := c.closeCode, c.closeReason
			c.mu.Unlock()
			_ = c.conn.Close(code, reason)
			return
		}
		if readerGone {
			c.mu.Unlock()
			return
		}
		if !c.canSendLocked() {
			c.mu.Unlock()
			select {
			case <-c.notify:
			case <-c.done:
				readerGone = true
			}
			continue
		}
		seg := c.queue[0]
		// Batching: while output streams (the previous frame was a big one), a lone,
		// still-growing segment waits up to BatchDelay after the previous send for more.
		// Small output (a keystroke's echo) and output after a pause go at once.
		if seg.output && len(c.queue) == 1 && len(seg.buf)-1 < batchMax && c.closeCode == 0 && c.lastSize >= streamingSize {
			if wait := c.m.opts.BatchDelay - time.Since(c.lastSend); wait > 0 {
				c.batching = true
				c.mu.Unlock()
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-c.notify:
					timer.Stop()
				case <-c.done:
					timer.Stop()
					readerGone = true
				}
				c.mu.Lock()
				c.batching = false
				c.mu.Unlock()
				continue
			}
		}
		c.queue[0] = segment{}
		c.queue = c.queue[1:]
		if len(c.queue) == 0 {
			c.queue = nil // let the backing array go
		}
		if seg.output {
			n := len(seg.buf) - 1
			c.queued -= n
			if c.credit {
				c.unacked += n
			}
		}
		c.mu.Unlock()
		if seg.output {
			c.s.signalWake()
		}

		wctx, wcancel := context.WithTimeout(ctx, c.m.opts.WriteTimeout)
		err := c.conn.Write(wctx, websocket.MessageBinary, seg.buf)
		wcancel()
		c.lastSend, c.lastSize = time.Now(), len(seg.buf)-1
		if err != nil {
			_ = c.conn.CloseNow()
			return
		}
		if seg.output && cap(seg.buf) >= 1+batchMax {
			c.mu.Lock()
			c.spare = seg.buf
			c.mu.Unlock()
		}
	}
}

// pingLoop pings every PingInterval; a client that does not answer before the next ping is
// gone (or not reading), and is disconnected.
func (c *client) pingLoop(ctx context.Context) {
	t := time.NewTicker(c.m.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-c.done:
			return
		case <-ctx.Done():
			return
		}
		pctx, cancel := context.WithTimeout(ctx, c.m.opts.PingInterval)
		err := c.conn.Ping(pctx)
		cancel()
		if err != nil {
			if !c.closing() {
				c.m.log.Info("terminal: client did not answer ping", "session", c.s.id, "user", c.user)
				_ = c.conn.CloseNow()
			}
			return
		}
	}
}

func (c *client) readLoop(ctx context.Context) {
	buf := make([]byte, c.m.opts.MaxFrame+1)
	for {
		typ, r, err := c.conn.Reader(ctx)
		if err != nil {
			return
		}
		n, err := io.ReadFull(r, buf)
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = nil
		}
		if err != nil {
			return
		}
		switch {
		case n > c.m.opts.MaxFrame:
			c.closeWith(CloseBadFrame, "frame too large", false)
			return
		case typ != websocket.MessageBinary:
			c.closeWith(CloseBadFrame, "binary frames only", false)
			return
		}
		if code, reason := c.handle(buf[:n]); code != 0 {
			c.closeWith(code, reason, false)
			return
		}
	}
}

// handle applies one client frame, or says which close code it earns.
func (c *client) handle(f []byte) (websocket.StatusCode, string) {
	if len(f) == 0 {
		return CloseBadFrame, "empty frame"
	}
	op, p := f[0], f[1:]
	switch op {
	case OpInput:
		if len(p) == 0 {
			return CloseBadFrame, "empty input"
		}
		if c.readOnly {
			return CloseForbidden, "read-only"
		}
		c.s.input(c, p)
	case OpResize:
		if len(p) != 4 {
			return CloseBadFrame, "resize needs 4 bytes"
		}
		if c.readOnly {
			return CloseForbidden, "read-only"
		}
		c.s.resize(int(binary.BigEndian.Uint16(p)), int(binary.BigEndian.Uint16(p[2:])))
	case OpPause, OpResume:
		if len(p) != 0 {
			return CloseBadFrame, "pause and resume take no payload"
		}
		c.mu.Lock()
		c.paused = op == OpPause
		c.mu.Unlock()
		c.signal()
	case OpAck:
		if len(p) != 4 {
			return CloseBadFrame, "ack needs 4 bytes"
		}
		n := int(binary.BigEndian.Uint32(p))
		c.mu.Lock()
		c.credit = true
		c.unacked = max(0, c.unacked-n)
		c.mu.Unlock()
		c.signal()
	default:
		return CloseBadFrame, "unknown opcode"
	}
	return 0, ""
}

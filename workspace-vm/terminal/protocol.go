package terminal

import (
	"encoding/binary"
	"encoding/json"

	"github.com/coder/websocket"
)

// ProtocolVersion is sent in every hello; it changes only when the framing does.
const ProtocolVersion = 1

// Frames are WebSocket binary messages: one opcode byte, then a payload. docs/protocols.md
// is the reference; the byte-level tests in protocol_test.go keep it honest.

// Client-to-agent opcodes.
const (
	// OpInput carries keystrokes or pasted text (1..MaxFrame-1 bytes) for the shell.
	OpInput byte = 0x00
	// OpResize carries uint16 cols and uint16 rows, big-endian (exactly 4 bytes).
	OpResize byte = 0x01
	// OpPause asks the agent to stop sending output to this client (empty payload).
	OpPause byte = 0x02
	// OpResume undoes OpPause (empty payload).
	OpResume byte = 0x03
	// OpAck returns flow credit: uint32 big-endian count of output payload bytes the client
	// has processed since its previous ack (exactly 4 bytes). The first ack switches the client
	// to credit-based flow control; send an ack of 0 right after opening to opt in.
	OpAck byte = 0x04
)

// Agent-to-client opcodes.
const (
	// OpOutput carries terminal output bytes (the replay too).
	OpOutput byte = 0x00
	// OpExit carries the shell's exit status as an int32, big-endian; the agent then closes
	// with CloseExited. A shell killed by signal n reports 128+n, as shells do.
	OpExit byte = 0x01
	// OpHello is the first frame of every connection: a JSON Hello.
	OpHello byte = 0x02
	// OpReplay marks the scrollback replay: payload ReplayBegin before it and ReplayEnd after
	// it. A client should reset its terminal at ReplayBegin: the replay redraws from scratch.
	OpReplay byte = 0x03
	// OpSize carries the terminal's uint16 cols and uint16 rows, big-endian, whenever any
	// client changes them, so that every viewer can match.
	OpSize byte = 0x04
)

// Payloads of OpReplay.
const (
	ReplayBegin byte = 0x00
	ReplayEnd   byte = 0x01
)

// Close codes. 4000–4999 are the private range of RFC 6455; each names its cause so a client
// knows whether to reconnect (CloseTooSlow, CloseShuttingDown), fetch a new ticket
// (CloseUnauthorized) or give up (CloseBadFrame, CloseForbidden, CloseExited, …).
const (
	// CloseNormal: the client closed, or the agent closed a socket whose client asked.
	CloseNormal websocket.StatusCode = websocket.StatusNormalClosure
	// CloseBadFrame: a malformed frame: text instead of binary, empty, unknown opcode, wrong
	// payload length for its opcode, or larger than MaxFrame.
	CloseBadFrame websocket.StatusCode = 4400
	// CloseUnauthorized: reserved for a ticket refused after the upgrade. Today the agent
	// refuses bad tickets with HTTP 401 before upgrading, which browsers report as 1006.
	CloseUnauthorized websocket.StatusCode = 4401
	// CloseForbidden: a read-only viewer sent input or a resize.
	CloseForbidden websocket.StatusCode = 4403
	// CloseUnknownSession: a read-only viewer asked for a session that is not running
	// (viewers never start or restore shells).
	CloseUnknownSession websocket.StatusCode = 4404
	// CloseTooSlow: the client fell more than its buffer behind the output while another
	// client kept up; it may reconnect and gets the scrollback.
	CloseTooSlow websocket.StatusCode = 4408
	// CloseTooMany: the session has the maximum number of clients, or the agent the maximum
	// number of sessions.
	CloseTooMany websocket.StatusCode = 4409
	// CloseExited: the shell has exited (after OpExit); reconnecting to the id replays the
	// scrollback and the exit status again until the grace period ends.
	CloseExited websocket.StatusCode = 4410
	// CloseInternal: the agent could not start the shell or failed otherwise.
	CloseInternal websocket.StatusCode = 4500
	// CloseShuttingDown: the agent is stopping (SIGTERM, spot preemption, VM stop); the
	// terminal's scrollback and directory are saved, so reconnect later with the same id.
	CloseShuttingDown websocket.StatusCode = 4503
)

// Hello is the JSON payload of OpHello.
type Hello struct {
	Protocol int    `json:"protocol"`
	Session  string `json:"session"`
	Cols     int    `json:"cols"`
	Rows     int    `json:"rows"`
	ReadOnly bool   `json:"readOnly"`
	// Created is true when this connection started the shell, Restored when it started a
	// fresh shell under scrollback saved by an earlier agent process.
	Created  bool `json:"created"`
	Restored bool `json:"restored"`
	// Exited and ExitCode describe a shell that has already exited.
	Exited   bool `json:"exited"`
	ExitCode *int `json:"exitCode,omitempty"`
	// Clients is the number of clients attached, this one included.
	Clients int `json:"clients"`
	// MaxFrame is the largest client frame the agent accepts, opcode included.
	MaxFrame int `json:"maxFrame"`
	// Window is the credit window in bytes for clients that send OpAck.
	Window int `json:"window"`
}

// Size bounds. A resize outside them is clamped (not refused): a fit addon measuring a hidden
// element reports 0×0, and refusing it would cost the user their connection.
const (
	MinCols, MaxCols = 1, 1000
	MinRows, MaxRows = 1, 500
)

func clampSize(cols, rows int) (int, int) {
	return min(max(cols, MinCols), MaxCols), min(max(rows, MinRows), MaxRows)
}

func sizeFrame(cols, rows int) []byte {
	b := []byte{OpSize, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[1:], uint16(cols))
	binary.BigEndian.PutUint16(b[3:], uint16(rows))
	return b
}

func exitFrame(code int) []byte {
	b := []byte{OpExit, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(b[1:], uint32(int32(code)))
	return b
}

func helloFrame(h Hello) []byte {
	h.Protocol = ProtocolVersion
	b, _ := json.Marshal(h) // plain struct: cannot fail
	return append([]byte{OpHello}, b...)
}

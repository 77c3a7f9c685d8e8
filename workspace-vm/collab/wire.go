package collab

import (
	"errors"
	"fmt"
)

// The y-websocket message types (the first varUint of every WebSocket message).
const (
	msgSync           = 0
	msgAwareness      = 1
	msgAuth           = 2
	msgQueryAwareness = 3
)

// The sync sub-types (the second varUint of a sync message), as in y-protocols/sync.js.
const (
	syncStep1  = 0
	syncStep2  = 1
	syncUpdate = 2
)

// authPermissionDenied is the only auth sub-type y-protocols/auth.js defines.
const authPermissionDenied = 0

// errMalformed marks a message that does not follow the y-websocket framing.
var errMalformed = errors.New("malformed message")

// maxVarUintBytes bounds a lib0 varUint: lib0 writes JavaScript numbers up to 2^53, which take
// at most 8 bytes; anything longer is garbage, not a number.
const maxVarUintBytes = 8

// appendVarUint appends v in lib0's varUint encoding: 7 bits per byte, least significant
// first, the high bit set on every byte but the last.
func appendVarUint(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}

// appendVarBytes appends a lib0 varUint8Array: the length as a varUint, then the bytes.
func appendVarBytes(b, p []byte) []byte {
	b = appendVarUint(b, uint64(len(p)))
	return append(b, p...)
}

// decoder reads lib0-encoded values from a message; every method reports errMalformed when
// the message ends early or a value is out of range, never panics.
type decoder struct {
	buf []byte
	pos int
}

func (d *decoder) varUint() (uint64, error) {
	var v uint64
	for i := 0; i < maxVarUintBytes; i++ {
		if d.pos >= len(d.buf) {
			return 0, fmt.Errorf("%w: truncated varUint", errMalformed)
		}
		c := d.buf[d.pos]
		d.pos++
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, fmt.Errorf("%w: varUint longer than %d bytes", errMalformed, maxVarUintBytes)
}

// varBytes returns a sub-slice of the message (not a copy).
func (d *decoder) varBytes() ([]byte, error) {
	n, err := d.varUint()
	if err != nil {
		return nil, err
	}
	if n > uint64(len(d.buf)-d.pos) {
		return nil, fmt.Errorf("%w: byte array of %d bytes exceeds the message", errMalformed, n)
	}
	p := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return p, nil
}

func (d *decoder) done() error {
	if d.pos != len(d.buf) {
		return fmt.Errorf("%w: %d trailing bytes", errMalformed, len(d.buf)-d.pos)
	}
	return nil
}

// message is one decoded client message.
type message struct {
	typ     uint64 // msgSync, msgAwareness, msgQueryAwareness
	syncTyp uint64 // for msgSync: syncStep1, syncStep2 or syncUpdate
	payload []byte // state vector, update or awareness update; aliases the frame
}

// parseMessage decodes one client frame strictly: a known type, a complete body and no
// trailing bytes. The auth type is refused: only servers send it.
func parseMessage(frame []byte) (message, error) {
	d := decoder{buf: frame}
	typ, err := d.varUint()
	if err != nil {
		return message{}, err
	}
	m := message{typ: typ}
	switch typ {
	case msgSync:
		if m.syncTyp, err = d.varUint(); err != nil {
			return message{}, err
		}
		if m.syncTyp > syncUpdate {
			return message{}, fmt.Errorf("%w: unknown sync message type %d", errMalformed, m.syncTyp)
		}
		if m.payload, err = d.varBytes(); err != nil {
			return message{}, err
		}
	case msgAwareness:
		if m.payload, err = d.varBytes(); err != nil {
			return message{}, err
		}
	case msgQueryAwareness:
	default:
		return message{}, fmt.Errorf("%w: unknown message type %d", errMalformed, typ)
	}
	if err := d.done(); err != nil {
		return message{}, err
	}
	return m, nil
}

// encodeSync returns a sync message of the given sub-type carrying payload.
func encodeSync(syncTyp uint64, payload []byte) []byte {
	b := make([]byte, 0, len(payload)+12)
	b = appendVarUint(b, msgSync)
	b = appendVarUint(b, syncTyp)
	return appendVarBytes(b, payload)
}

// encodeAwareness returns an awareness message carrying an encoded awareness update.
func encodeAwareness(update []byte) []byte {
	b := make([]byte, 0, len(update)+6)
	b = appendVarUint(b, msgAwareness)
	return appendVarBytes(b, update)
}

// encodePermissionDenied returns the auth message y-websocket clients log as "Permission
// denied to access <url>" with the reason.
func encodePermissionDenied(reason string) []byte {
	b := appendVarUint(nil, msgAuth)
	b = appendVarUint(b, authPermissionDenied)
	return appendVarBytes(b, []byte(reason))
}

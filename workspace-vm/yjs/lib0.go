package yjs

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER. Yjs clocks, lengths
// and client ids are JS numbers, so anything larger cannot come from a real
// client; rejecting it also keeps clock arithmetic free of overflow.
const maxSafeInteger = 1<<53 - 1

// maxAnyDepth bounds the nesting of lib0 "any" values (arrays and objects in
// Y.Map/Y.Array values). Real documents nest a handful of levels; the bound
// keeps hostile input from recursing without limit.
const maxAnyDepth = 1000

var errUnexpectedEnd = errors.New("unexpected end of data")

// decoder reads the lib0 binary encoding used by the Yjs v1 update format.
// Every length read from the input is checked against the bytes that remain,
// so hostile lengths can never make it allocate more than the input size.
type decoder struct {
	buf []byte
	pos int
}

func (d *decoder) remaining() int { return len(d.buf) - d.pos }

func (d *decoder) errorf(format string, args ...any) error {
	return fmt.Errorf("at byte %d: %s", d.pos, fmt.Sprintf(format, args...))
}

func (d *decoder) readUint8() (byte, error) {
	if d.pos >= len(d.buf) {
		return 0, errUnexpectedEnd
	}
	b := d.buf[d.pos]
	d.pos++
	return b, nil
}

// readVarUint reads lib0's varUint: 7 bits per byte, little endian, high bit
// set while more bytes follow. Values above 2^53-1 are rejected like lib0 does.
func (d *decoder) readVarUint() (uint64, error) {
	var num uint64
	var shift uint
	for d.pos < len(d.buf) {
		b := d.buf[d.pos]
		d.pos++
		if shift >= 63 {
			if b&0x7f != 0 || shift >= 70 {
				return 0, d.errorf("varUint out of range")
			}
		} else {
			num |= uint64(b&0x7f) << shift
		}
		if b < 0x80 {
			if num > maxSafeInteger {
				return 0, d.errorf("varUint %d out of range", num)
			}
			return num, nil
		}
		shift += 7
	}
	return 0, errUnexpectedEnd
}

// readVarInt reads lib0's varInt (sign in bit 7 of the first byte). Only the
// any-decoder needs it, to validate and skip integers.
func (d *decoder) readVarInt() (int64, error) {
	b, err := d.readUint8()
	if err != nil {
		return 0, err
	}
	num := uint64(b & 0x3f)
	neg := b&0x40 != 0
	shift := uint(6)
	for b >= 0x80 {
		if b, err = d.readUint8(); err != nil {
			return 0, err
		}
		if shift >= 63 {
			if b&0x7f != 0 || shift >= 70 {
				return 0, d.errorf("varInt out of range")
			}
		} else {
			num |= uint64(b&0x7f) << shift
		}
		shift += 7
	}
	if num > maxSafeInteger {
		return 0, d.errorf("varInt out of range")
	}
	if neg {
		return -int64(num), nil
	}
	return int64(num), nil
}

// readBytes returns the next n bytes without copying.
func (d *decoder) readBytes(n uint64) ([]byte, error) {
	if n > uint64(d.remaining()) {
		return nil, errUnexpectedEnd
	}
	b := d.buf[d.pos : d.pos+int(n)]
	d.pos += int(n)
	return b, nil
}

// readVarBytes reads a varUint length and that many bytes (lib0 varUint8Array).
func (d *decoder) readVarBytes() ([]byte, error) {
	n, err := d.readVarUint()
	if err != nil {
		return nil, err
	}
	return d.readBytes(n)
}

// readVarString reads a lib0 varString and checks it is valid UTF-8, as lib0's
// fatal TextDecoder does. The returned bytes alias the input.
func (d *decoder) readVarString() ([]byte, error) {
	start := d.pos
	b, err := d.readVarBytes()
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(b) {
		d.pos = start
		return nil, d.errorf("string is not valid UTF-8")
	}
	return b, nil
}

// readAny validates one lib0 "any" value and returns its raw encoding (an
// alias of the input). Keeping the raw bytes makes re-encoding lossless.
func (d *decoder) readAny() ([]byte, error) {
	start := d.pos
	if err := d.skipAny(0); err != nil {
		return nil, err
	}
	return d.buf[start:d.pos], nil
}

func (d *decoder) skipAny(depth int) error {
	if depth > maxAnyDepth {
		return d.errorf("value nested deeper than %d levels", maxAnyDepth)
	}
	t, err := d.readUint8()
	if err != nil {
		return err
	}
	switch t {
	case 127, 126, 121, 120: // undefined, null, false, true
		return nil
	case 125: // integer
		_, err = d.readVarInt()
		return err
	case 124: // float32
		_, err = d.readBytes(4)
		return err
	case 123, 122: // float64, bigint64
		_, err = d.readBytes(8)
		return err
	case 119: // string
		_, err = d.readVarString()
		return err
	case 118: // object
		n, err := d.readVarUint()
		if err != nil {
			return err
		}
		if n > uint64(d.remaining()) {
			return errUnexpectedEnd
		}
		for i := uint64(0); i < n; i++ {
			if _, err := d.readVarString(); err != nil {
				return err
			}
			if err := d.skipAny(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case 117: // array
		n, err := d.readVarUint()
		if err != nil {
			return err
		}
		if n > uint64(d.remaining()) {
			return errUnexpectedEnd
		}
		for i := uint64(0); i < n; i++ {
			if err := d.skipAny(depth + 1); err != nil {
				return err
			}
		}
		return nil
	case 116: // Uint8Array
		_, err = d.readVarBytes()
		return err
	default:
		d.pos--
		return d.errorf("unknown value type %d", t)
	}
}

// encoder writes the lib0 binary encoding.
type encoder struct {
	buf []byte
}

func (e *encoder) writeUint8(b byte) { e.buf = append(e.buf, b) }

func (e *encoder) writeVarUint(n uint64) {
	for n >= 0x80 {
		e.buf = append(e.buf, byte(n)|0x80)
		n >>= 7
	}
	e.buf = append(e.buf, byte(n))
}

func (e *encoder) writeVarBytes(b []byte) {
	e.writeVarUint(uint64(len(b)))
	e.buf = append(e.buf, b...)
}

func (e *encoder) writeRaw(b []byte) { e.buf = append(e.buf, b...) }

// writeVarUTF16 writes UTF-16 code units as a lib0 varString (UTF-8), turning
// lone surrogates into U+FFFD exactly like the browser's TextEncoder.
func (e *encoder) writeVarUTF16(s []uint16) {
	n := utf8LenOfUTF16(s)
	e.writeVarUint(uint64(n))
	e.buf = appendUTF8FromUTF16(e.buf, s)
}

// addClock adds a length to a clock, failing when the result would leave the
// range of JavaScript's safe integers.
func addClock(clock, n uint64) (uint64, bool) {
	if n > maxSafeInteger || clock > maxSafeInteger-n {
		return 0, false
	}
	return clock + n, true
}

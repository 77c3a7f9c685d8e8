package terminal

// ring keeps the last size bytes of a session's (filtered) output for replays. It grows on
// demand up to size, so an idle or quiet terminal does not hold its whole budget.
type ring struct {
	size  int
	buf   []byte // len(buf) <= size; once full, start marks the oldest byte
	start int
	total int64 // bytes ever written, including any restored before this process
}

func newRing(size int) *ring { return &ring{size: size} }

// Write appends p, dropping the oldest bytes beyond size.
func (r *ring) Write(p []byte) {
	r.total += int64(len(p))
	if len(p) >= r.size {
		p = p[len(p)-r.size:]
		if cap(r.buf) < r.size {
			r.buf = make([]byte, r.size)
		}
		r.buf = r.buf[:r.size]
		copy(r.buf, p)
		r.start = 0
		return
	}
	if len(r.buf) < r.size {
		room := r.size - len(r.buf)
		n := min(room, len(p))
		if len(r.buf)+n > cap(r.buf) {
			grown := make([]byte, len(r.buf), min(r.size, max(2*cap(r.buf), len(r.buf)+n, 4096)))
			copy(grown, r.buf)
			r.buf = grown
		}
		r.buf = append(r.buf, p[:n]...)
		p = p[n:]
		if len(p) == 0 {
			return
		}
	}
	// Full: overwrite from start, wrapping.
	n := copy(r.buf[r.start:], p)
	if n < len(p) {
		copy(r.buf, p[n:])
	}
	r.start = (r.start + len(p)) % r.size
}

// Bytes returns a copy of the content, oldest first.
func (r *ring) Bytes() []byte {
	out := make([]byte, 0, len(r.buf))
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}

// Len is the number of bytes held.
func (r *ring) Len() int { return len(r.buf) }

// Wrapped reports whether output has been dropped from the front, so a replay may start in
// the middle of a line or an escape sequence.
func (r *ring) Wrapped() bool { return r.total > int64(len(r.buf)) }

// Restore fills an empty ring with scrollback saved by an earlier process; wrapped says whether
// that scrollback had already lost its beginning.
func (r *ring) Restore(b []byte, wrapped bool) {
	r.Write(b)
	if wrapped && r.total == int64(len(r.buf)) {
		r.total++
	}
}

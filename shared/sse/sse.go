// Package sse reads Server-Sent Events (text/event-stream) from AI providers with bounded
// memory. Providers that stream over SSE without an SDK we trust (Anthropic, Gemini) share it,
// so the limits that keep a broken or hostile upstream from growing our buffers live in one
// place.
package sse

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// ErrEventTooLong reports an SSE line or event over the reader's limit: a server that never
// sends a newline cannot grow our buffer without bound.
var ErrEventTooLong = errors.New("sse: line or event exceeds the size limit")

// ErrMalformed reports a line that is not Server-Sent Events.
var ErrMalformed = errors.New("sse: malformed stream")

// Event is one dispatched Server-Sent Event. Data is only valid until the next call to Next.
type Event struct {
	Event string
	Data  []byte
}

// Reader reads Server-Sent Events (text/event-stream) with bounded memory: a 4 KiB read
// buffer plus at most max bytes for the current line and event, grown only as needed, so
// thousands of concurrent streams cost little. It is strict where the spec is lenient: a line
// that is not a known field or a comment is an error, because a provider that answers garbage
// should fail fast rather than be read until a timeout.
type Reader struct {
	r    *bufio.Reader
	max  int
	line []byte
	data []byte
}

// NewReader returns a Reader over r that refuses lines and events longer than max bytes.
func NewReader(r io.Reader, max int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// readLine returns the next line without its terminator (\n or \r\n). A last line without a
// terminator is incomplete, so it is dropped and io.EOF returned: the SSE spec discards an
// unfinished event at the end of the stream.
func (s *Reader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(s.line)+len(frag) > s.max {
			return nil, s.tooLong()
		}
		s.line = append(s.line, frag...)
		switch {
		case err == nil:
			line := bytes.TrimSuffix(s.line[:len(s.line)-1], []byte("\r"))
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		default:
			return nil, err
		}
	}
}

func (s *Reader) tooLong() error {
	return fmt.Errorf("%w (line or event exceeds %d bytes)", ErrEventTooLong, s.max)
}

// Next returns the next event with data. Comments, id and retry fields are skipped; io.EOF
// ends the stream.
func (s *Reader) Next() (Event, error) {
	var ev Event
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			return Event{}, err
		}
		if len(line) == 0 { // blank line: dispatch
			if hasData {
				ev.Data = s.data
				return ev, nil
			}
			ev = Event{}
			continue
		}
		if line[0] == ':' { // comment, e.g. a keep-alive
			continue
		}
		field, value, _ := bytes.Cut(line, []byte(":"))
		value = bytes.TrimPrefix(value, []byte(" "))
		switch string(field) {
		case "event":
			ev.Event = string(value)
		case "data":
			if hasData {
				s.data = append(s.data, '\n')
			}
			if len(s.data)+len(value) > s.max {
				return Event{}, s.tooLong()
			}
			s.data = append(s.data, value...)
			hasData = true
		case "id", "retry":
		default:
			return Event{}, fmt.Errorf("%w: unexpected line %s", ErrMalformed, Snippet(line))
		}
	}
}

// Snippet quotes the start of b for an error message, so a garbage line from a provider is
// shown without flooding the log.
func Snippet(b []byte) string {
	const n = 64
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

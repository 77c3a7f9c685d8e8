package anthropic

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxEventBytes bounds one SSE line and one event's data. Anthropic's events are a few hundred
// bytes; anything near this is a broken or hostile upstream, and the bound is what keeps a
// server that never sends a newline from growing our buffer without limit.
const maxEventBytes = 1 << 20

// errEventTooLong reports an SSE line or event over maxEventBytes.
var errEventTooLong = fmt.Errorf("SSE line or event exceeds %d bytes", maxEventBytes)

// errMalformedSSE reports a line that is not Server-Sent Events.
var errMalformedSSE = errors.New("malformed SSE stream")

// sseEvent is one dispatched Server-Sent Event. Data is only valid until the next call to next.
type sseEvent struct {
	Event string
	Data  []byte
}

// sseReader reads Server-Sent Events (text/event-stream) with bounded memory: a 4 KiB read
// buffer plus at most maxEventBytes for the current line and event, grown only as needed, so
// thousands of concurrent streams cost little. It is strict where the spec is lenient: a line
// that is not a known field or a comment is an error, because a provider that answers garbage
// should fail fast rather than be read until a timeout.
type sseReader struct {
	r    *bufio.Reader
	max  int
	line []byte
	data []byte
}

func newSSEReader(r io.Reader, max int) *sseReader {
	return &sseReader{r: bufio.NewReaderSize(r, 4096), max: max}
}

// readLine returns the next line without its terminator (\n or \r\n). A last line without a
// terminator is incomplete, so it is dropped and io.EOF returned: the SSE spec discards an
// unfinished event at the end of the stream.
func (s *sseReader) readLine() ([]byte, error) {
	s.line = s.line[:0]
	for {
		frag, err := s.r.ReadSlice('\n')
		if len(s.line)+len(frag) > s.max {
			return nil, errEventTooLong
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

// next returns the next event with data. Comments, id and retry fields are skipped.
func (s *sseReader) next() (sseEvent, error) {
	var ev sseEvent
	s.data = s.data[:0]
	hasData := false
	for {
		line, err := s.readLine()
		if err != nil {
			return sseEvent{}, err
		}
		if len(line) == 0 { // blank line: dispatch
			if hasData {
				ev.Data = s.data
				return ev, nil
			}
			ev = sseEvent{}
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
				return sseEvent{}, errEventTooLong
			}
			s.data = append(s.data, value...)
			hasData = true
		case "id", "retry":
		default:
			return sseEvent{}, fmt.Errorf("%w: unexpected line %s", errMalformedSSE, snippet(line))
		}
	}
}

// snippet quotes the start of b for an error message.
func snippet(b []byte) string {
	const n = 64
	if len(b) > n {
		return fmt.Sprintf("%q…", b[:n])
	}
	return fmt.Sprintf("%q", b)
}

package openai

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// chatMaxEventBytes bounds one SSE line of a chat stream. A chunk is a few hundred bytes;
// anything near this is a broken or hostile upstream.
const chatMaxEventBytes = 1 << 20

// chatMaxErrorBody bounds how much of an error response we read.
const chatMaxErrorBody = 64 << 10

var (
	// errChatEventTooLong reports an SSE line over chatMaxEventBytes.
	errChatEventTooLong = fmt.Errorf("SSE line exceeds %d bytes", chatMaxEventBytes)
	// errChatMalformedSSE reports a line that is not Server-Sent Events.
	errChatMalformedSSE = errors.New("malformed SSE stream")
)

// chatMetaKey is the context key of the *chatResponseMeta a request carries.
type chatMetaKey struct{}

// chatResponseMeta records an upstream response's status and headers for the request whose
// context carries it; go-openai's errors do not include headers, and Retry-After is one.
type chatResponseMeta struct {
	status int
	header http.Header
}

// chatDoer is the HTTP client go-openai calls. Besides recording chatResponseMeta it puts
// bounds where go-openai has none:
//   - an error response's body is read up to chatMaxErrorBody, and closed (go-openai reads
//     it to the end and never closes it);
//   - a stream's body goes through chatSSEFilter, because go-openai reads lines with
//     bufio.Reader.ReadBytes (no length limit: a server that never sends a newline would grow
//     the buffer until the process dies) and collects every non-"data:" line in an error
//     buffer (up to 300 lines of any length).
type chatDoer struct {
	client *http.Client
}

// Do sends req; see chatDoer.
func (d chatDoer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.client.Do(req)
	if err != nil {
		return nil, err
	}
	if m, ok := req.Context().Value(chatMetaKey{}).(*chatResponseMeta); ok {
		m.status, m.header = resp.StatusCode, resp.Header
	}
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, chatMaxErrorBody))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	if strings.Contains(req.Header.Get("Accept"), "text/event-stream") {
		resp.Body = newChatSSEFilter(resp.Body)
	}
	return resp, nil
}

// chatSSEFilter passes a text/event-stream body through, line by line, keeping only what
// go-openai parses — "data:" lines and the blank lines between events — and failing with
// errChatEventTooLong or errChatMalformedSSE instead of letting a line grow without bound or
// garbage pile up. Comments (keep-alives) and event/id/retry fields are dropped. Memory: a
// 4 KiB read buffer plus the longest line seen, at most chatMaxEventBytes.
type chatSSEFilter struct {
	body io.ReadCloser
	r    *bufio.Reader
	line []byte
	out  []byte // the rest of the current line, to be read
	err  error
}

func newChatSSEFilter(body io.ReadCloser) *chatSSEFilter {
	return &chatSSEFilter{body: body, r: bufio.NewReaderSize(body, 4096)}
}

// Read implements io.Reader.
func (f *chatSSEFilter) Read(p []byte) (int, error) {
	for len(f.out) == 0 {
		if f.err != nil {
			return 0, f.err
		}
		f.out, f.err = f.nextLine()
	}
	n := copy(p, f.out)
	f.out = f.out[n:]
	return n, nil
}

// nextLine reads one line and returns what to pass on: the line with "\n", or nothing.
func (f *chatSSEFilter) nextLine() ([]byte, error) {
	f.line = f.line[:0]
	for {
		frag, err := f.r.ReadSlice('\n')
		if len(f.line)+len(frag) > chatMaxEventBytes {
			return nil, errChatEventTooLong
		}
		f.line = append(f.line, frag...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			// An unterminated last line is an incomplete event: dropped, as the SSE spec says.
			return nil, err
		}
		break
	}
	line := bytes.TrimSuffix(f.line[:len(f.line)-1], []byte("\r"))
	field, _, _ := bytes.Cut(line, []byte(":"))
	switch {
	case len(line) == 0:
		return []byte("\n"), nil
	case line[0] == ':':
		return nil, nil
	case string(field) == "data":
		return append(line, '\n'), nil
	case string(field) == "event" || string(field) == "id" || string(field) == "retry":
		return nil, nil
	}
	if len(line) > 64 {
		line = line[:64]
	}
	return nil, fmt.Errorf("%w: unexpected line %q", errChatMalformedSSE, line)
}

// Close closes the response body.
func (f *chatSSEFilter) Close() error {
	return f.body.Close()
}

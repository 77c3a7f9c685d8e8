package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/vibecode/vibecode/shared/sse"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// errClosed is what Recv returns after Close.
var errClosed = errors.New("anthropic: stream closed")

// streamEvent is the union of the Messages API stream events we read
// (https://docs.anthropic.com/en/docs/build-with-claude/streaming):
//
//	message_start        {"message":{"usage":{"input_tokens":25,"output_tokens":1}}}
//	content_block_delta  {"index":0,"delta":{"type":"text_delta","text":"Hello"}}
//	message_delta        {"delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":15}}
//	message_stop         {}
//	error                {"error":{"type":"overloaded_error","message":"Overloaded"}}
//
// content_block_start/stop and ping carry nothing we need; unknown event types are skipped,
// as Anthropic's versioning policy says new ones may appear.
type streamEvent struct {
	Type    string `json:"type"`
	Message struct {
		Usage usage `json:"usage"`
	} `json:"message"`
	Delta struct {
		Type       string `json:"type"`
		Text       string `json:"text"`
		StopReason string `json:"stop_reason"`
	} `json:"delta"`
	Usage usage `json:"usage"`
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

type usage struct {
	InputTokens              int `json:"input_tokens"`
	OutputTokens             int `json:"output_tokens"`
	CacheCreationInputTokens int `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int `json:"cache_read_input_tokens"`
}

// stream is a domain.ChatStream over one Messages API response. Recv is not safe for
// concurrent use (as the interface says); Close may race with it.
type stream struct {
	parent context.Context // the caller's context: its error is what Recv reports
	cancel context.CancelFunc
	body   io.ReadCloser
	sse    *sse.Reader

	closeOnce sync.Once
	closed    atomic.Bool

	usage  domain.Usage
	finish string
	err    error // terminal: io.EOF after the final event, or the failure

	stops   []string // applied here; see Provider.ChatStream
	held    string   // text held back because it may start a stop sequence
	emitted int      // bytes of text received, for the output estimate after a local stop
}

func newStream(parent context.Context, cancel context.CancelFunc, body io.ReadCloser, stops []string) *stream {
	return &stream{parent: parent, cancel: cancel, body: body, sse: sse.NewReader(body, maxEventBytes), stops: stops}
}

// Recv returns the next event; see domain.ChatEvent for the order.
func (s *stream) Recv() (domain.ChatEvent, error) {
	for s.err == nil {
		ev, err := s.sse.Next()
		if err != nil {
			return domain.ChatEvent{}, s.fail(s.readError(err))
		}
		var e streamEvent
		if err := json.Unmarshal(ev.Data, &e); err != nil {
			return domain.ChatEvent{}, s.fail(s.protocolError(fmt.Sprintf("event %q is not JSON: %s", ev.Event, sse.Snippet(ev.Data)), err))
		}
		if e.Type == "" {
			e.Type = ev.Event
		}
		switch e.Type {
		case "message_start":
			u := e.Message.Usage
			s.usage.InputTokens = u.InputTokens + u.CacheCreationInputTokens + u.CacheReadInputTokens
			s.usage.OutputTokens = u.OutputTokens
		case "content_block_delta":
			if e.Delta.Type != "text_delta" || e.Delta.Text == "" {
				continue // thinking, signature and tool-input deltas are not answer text
			}
			s.emitted += len(e.Delta.Text)
			text, stopped := s.applyStops(e.Delta.Text)
			if stopped {
				s.finish = domain.FinishStop
				// The provider reports output tokens only at the end; we hang up before then,
				// so estimate from the text received (about four bytes a token).
				s.usage.OutputTokens = max(s.usage.OutputTokens, (s.emitted+3)/4)
				s.terminate(io.EOF)
				if text == "" {
					return s.final(), nil
				}
				return domain.ChatEvent{Delta: text}, nil
			}
			if text != "" {
				return domain.ChatEvent{Delta: text}, nil
			}
		case "message_delta":
			if e.Delta.StopReason != "" {
				s.finish = finishReason(e.Delta.StopReason)
			}
			if e.Usage.OutputTokens > 0 {
				s.usage.OutputTokens = e.Usage.OutputTokens
			}
			if in := e.Usage.InputTokens + e.Usage.CacheCreationInputTokens + e.Usage.CacheReadInputTokens; in > 0 {
				s.usage.InputTokens = in
			}
		case "message_stop":
			if s.finish == "" {
				s.finish = domain.FinishStop
			}
			s.terminate(io.EOF)
			if s.held != "" {
				text := s.held
				s.held = ""
				return domain.ChatEvent{Delta: text}, nil
			}
			return s.final(), nil
		case "error":
			pe := &domain.ProviderError{Provider: "anthropic", Kind: domain.ProviderUnavailable,
				Type: e.Error.Type, Message: e.Error.Message}
			if k, ok := kindOfType(e.Error.Type); ok {
				pe.Kind = k
			}
			if pe.Kind == domain.ProviderInvalid && isContextWindow(pe.Message) {
				pe.Kind = domain.ProviderContextWindow
			}
			return domain.ChatEvent{}, s.fail(pe)
		}
	}
	if s.finish != "" && s.err == io.EOF {
		return s.final(), nil
	}
	return domain.ChatEvent{}, s.err
}

// final returns the final event once; after it Recv returns io.EOF.
func (s *stream) final() domain.ChatEvent {
	ev := domain.ChatEvent{FinishReason: s.finish, Usage: &domain.Usage{InputTokens: s.usage.InputTokens, OutputTokens: s.usage.OutputTokens}}
	s.finish = ""
	return ev
}

// applyStops appends text to what is held back and returns what can be sent now, cut before
// the first local stop sequence (stopped true). It holds back the longest tail that could
// still begin a stop sequence, cut at a rune boundary so no event splits a character.
func (s *stream) applyStops(text string) (string, bool) {
	if len(s.stops) == 0 {
		return text, false
	}
	buf := s.held + text
	cut, longest := -1, 0
	for _, stop := range s.stops {
		if i := strings.Index(buf, stop); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
		longest = max(longest, len(stop))
	}
	if cut >= 0 {
		s.held = ""
		return buf[:cut], true
	}
	keep := len(buf) - (longest - 1)
	if keep < 0 {
		keep = 0
	}
	for keep > 0 && keep < len(buf) && !utf8.RuneStart(buf[keep]) {
		keep--
	}
	s.held = buf[keep:]
	return buf[:keep], false
}

// readError turns a failure to read the next event into the error Recv reports.
func (s *stream) readError(err error) error {
	if cerr := s.parent.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return &domain.ProviderError{Provider: "anthropic", Kind: domain.ProviderUnavailable, Message: "stream timed out", Err: cerr}
		}
		return fmt.Errorf("anthropic: %w", cerr)
	}
	if s.closed.Load() {
		return errClosed
	}
	switch {
	case errors.Is(err, io.EOF):
		return s.protocolError("stream ended before message_stop", io.ErrUnexpectedEOF)
	case errors.Is(err, sse.ErrEventTooLong), errors.Is(err, sse.ErrMalformed):
		return s.protocolError(err.Error(), err)
	default:
		return &domain.ProviderError{Provider: "anthropic", Kind: domain.ProviderUnavailable, Message: "stream broken", Err: err}
	}
}

// protocolError is a stream that broke the Messages API's format: a provider fault, so the
// gateway may fall back (if no token was sent yet).
func (s *stream) protocolError(msg string, err error) error {
	return &domain.ProviderError{Provider: "anthropic", Kind: domain.ProviderUnavailable, Message: msg, Err: err}
}

// fail records err as terminal, releases the connection and returns err.
func (s *stream) fail(err error) error {
	s.terminate(err)
	return err
}

// terminate records the terminal state and releases the connection; the caller still must
// call Close, which is then a no-op.
func (s *stream) terminate(err error) {
	s.err = err
	s.release()
}

func (s *stream) release() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.body.Close()
	})
}

// Close aborts the stream and releases its connection. It is idempotent and may be called
// while Recv is blocked, which then returns an error.
func (s *stream) Close() error {
	s.closed.Store(true)
	s.release()
	return nil
}

// finishReason maps Anthropic's stop_reason to the domain's finish reasons.
func finishReason(r string) string {
	switch r {
	case "end_turn", "stop_sequence":
		return domain.FinishStop
	case "max_tokens", "model_context_window_exceeded":
		return domain.FinishLength
	case "refusal":
		return domain.FinishContentFilter
	case "tool_use":
		return domain.FinishToolCalls
	}
	return strings.ToLower(r)
}

package openai

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vibecode/vibecode/shared/domain"
)

// errChatClosed is what Recv returns after Close.
var errChatClosed = errors.New("openai: stream closed")

// chatChunk is what one streamed chunk, chat or FIM, contributes.
type chatChunk struct {
	text   string
	finish string
	usage  *goopenai.Usage
}

// chatStream is a domain.ChatStream over a go-openai stream. Chunks carry text, then one
// carries finish_reason, then (with include_usage) a chunk with no choices carries usage, then
// "data: [DONE]". Recv is not safe for concurrent use (as the interface says); Close may race
// with it.
type chatStream struct {
	c      *Chat
	parent context.Context // the caller's context: its error is what Recv reports
	cancel context.CancelFunc
	close  func() error
	recv   func() (chatChunk, error)

	closeOnce sync.Once
	closed    atomic.Bool

	usage  *domain.Usage
	finish string
	err    error // terminal: io.EOF after the final event, or the failure
}

func newChatStream(c *Chat, parent context.Context, cancel context.CancelFunc, close func() error, recv func() (chatChunk, error)) *chatStream {
	return &chatStream{c: c, parent: parent, cancel: cancel, close: close, recv: recv}
}

// Recv returns the next event; see domain.ChatEvent for the order.
func (s *chatStream) Recv() (domain.ChatEvent, error) {
	for s.err == nil {
		ch, err := s.recv()
		if errors.Is(err, io.EOF) && s.parent.Err() == nil && !s.closed.Load() {
			// go-openai reports "data: [DONE]" and a bare end of body alike; a finish_reason
			// tells a complete answer from a cut-off one.
			if s.finish == "" {
				return domain.ChatEvent{}, s.fail(s.c.protocolError("stream ended without a finish_reason", io.ErrUnexpectedEOF))
			}
			s.terminate(io.EOF)
			return domain.ChatEvent{FinishReason: s.finish, Usage: s.usage}, nil
		}
		if err != nil {
			return domain.ChatEvent{}, s.fail(s.readError(err))
		}
		if u := ch.usage; u != nil {
			s.usage = &domain.Usage{InputTokens: u.PromptTokens, OutputTokens: u.CompletionTokens}
		}
		if ch.finish != "" && ch.finish != string(goopenai.FinishReasonNull) {
			s.finish = chatFinishReason(ch.finish)
		}
		if ch.text != "" {
			return domain.ChatEvent{Delta: ch.text}, nil
		}
	}
	return domain.ChatEvent{}, s.err
}

// readError turns a failure to read the next chunk into the error Recv reports.
func (s *chatStream) readError(err error) error {
	if cerr := s.parent.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return &domain.ProviderError{Provider: s.c.name, Kind: domain.ProviderUnavailable, Message: "stream timed out", Err: cerr}
		}
		return fmt.Errorf("openai: %w", cerr)
	}
	if s.closed.Load() {
		return errChatClosed
	}
	var apiErr *goopenai.APIError
	switch {
	case errors.As(err, &apiErr): // data: {"error": {...}} in the middle of the stream
		return s.c.apiError(apiErr, nil)
	case errors.Is(err, errChatEventTooLong), errors.Is(err, errChatMalformedSSE),
		errors.Is(err, goopenai.ErrTooManyEmptyStreamMessages):
		return s.c.protocolError(err.Error(), err)
	case isJSONError(err):
		return s.c.protocolError("chunk is not JSON", err)
	default:
		return &domain.ProviderError{Provider: s.c.name, Kind: domain.ProviderUnavailable, Message: "stream broken", Err: err}
	}
}

// fail records err as terminal, releases the connection and returns err.
func (s *chatStream) fail(err error) error {
	s.terminate(err)
	return err
}

func (s *chatStream) terminate(err error) {
	s.err = err
	s.release()
}

func (s *chatStream) release() {
	s.closeOnce.Do(func() {
		s.cancel()
		s.close()
	})
}

// Close aborts the stream and releases its connection. It is idempotent and may be called
// while Recv is blocked, which then returns an error.
func (s *chatStream) Close() error {
	s.closed.Store(true)
	s.release()
	return nil
}

// chatFinishReason maps OpenAI's finish_reason to the domain's (they are its vocabulary, bar
// the deprecated function_call).
func chatFinishReason(r string) string {
	switch r {
	case "function_call":
		return domain.FinishToolCalls
	case "eos_token", "stop_sequence": // Hugging Face TGI
		return domain.FinishStop
	}
	return strings.ToLower(r)
}

package gemini

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

	"github.com/vibecode/vibecode/shared/domain"
)

// errClosed is what Recv returns after Close.
var errClosed = errors.New("gemini: stream closed")

// chunk is one event of streamGenerateContent?alt=sse: a GenerateContentResponse.
//
//	data: {"candidates":[{"content":{"parts":[{"text":"Hel"}],"role":"model"},"finishReason":"STOP"}],
//	       "usageMetadata":{"promptTokenCount":9,"candidatesTokenCount":3,"thoughtsTokenCount":0}}
//
// There is no end-of-stream sentinel: the last chunk has a finishReason (or a
// promptFeedback.blockReason) and the body ends. usageMetadata is cumulative, the last wins.
type chunk struct {
	Candidates []struct {
		Content struct {
			Parts []part `json:"parts"`
		} `json:"content"`
		FinishReason string `json:"finishReason"`
	} `json:"candidates"`
	PromptFeedback *struct {
		BlockReason string `json:"blockReason"`
	} `json:"promptFeedback"`
	UsageMetadata *struct {
		PromptTokenCount     int `json:"promptTokenCount"`
		CandidatesTokenCount int `json:"candidatesTokenCount"`
		ThoughtsTokenCount   int `json:"thoughtsTokenCount"`
	} `json:"usageMetadata"`
	Error *apiError `json:"error"`
}

// stream is a domain.ChatStream over one streamGenerateContent response. Recv is not safe for
// concurrent use (as the interface says); Close may race with it.
type stream struct {
	parent context.Context // the caller's context: its error is what Recv reports
	cancel context.CancelFunc
	body   io.ReadCloser
	sse    *sse.Reader

	closeOnce sync.Once
	closed    atomic.Bool

	usage  *domain.Usage
	finish string
	err    error // terminal: io.EOF after the final event, or the failure
}

func newStream(parent context.Context, cancel context.CancelFunc, body io.ReadCloser) *stream {
	return &stream{parent: parent, cancel: cancel, body: body, sse: sse.NewReader(body, maxEventBytes)}
}

// Recv returns the next event; see domain.ChatEvent for the order.
func (s *stream) Recv() (domain.ChatEvent, error) {
	for s.err == nil {
		ev, err := s.sse.Next()
		if errors.Is(err, io.EOF) && s.finish != "" && s.parent.Err() == nil && !s.closed.Load() {
			s.terminate(io.EOF)
			final := domain.ChatEvent{FinishReason: s.finish, Usage: s.usage}
			return final, nil
		}
		if err != nil {
			return domain.ChatEvent{}, s.fail(s.readError(err))
		}
		var c chunk
		if err := json.Unmarshal(ev.Data, &c); err != nil {
			return domain.ChatEvent{}, s.fail(protocolError(fmt.Sprintf("event is not JSON: %s", sse.Snippet(ev.Data)), err))
		}
		if c.Error != nil {
			return domain.ChatEvent{}, s.fail(classify(c.Error, 0))
		}
		if u := c.UsageMetadata; u != nil {
			s.usage = &domain.Usage{InputTokens: u.PromptTokenCount, OutputTokens: u.CandidatesTokenCount + u.ThoughtsTokenCount}
		}
		if c.PromptFeedback != nil && c.PromptFeedback.BlockReason != "" {
			s.finish = domain.FinishContentFilter // the prompt was blocked: no candidates follow
		}
		var text strings.Builder
		if len(c.Candidates) > 0 {
			cand := c.Candidates[0]
			for _, p := range cand.Content.Parts {
				if !p.Thought {
					text.WriteString(p.Text)
				}
			}
			if r := finishReason(cand.FinishReason); r != "" {
				s.finish = r
			}
		}
		if text.Len() > 0 {
			return domain.ChatEvent{Delta: text.String()}, nil
		}
	}
	return domain.ChatEvent{}, s.err
}

// readError turns a failure to read the next event into the error Recv reports.
func (s *stream) readError(err error) error {
	if cerr := s.parent.Err(); cerr != nil {
		if errors.Is(cerr, context.DeadlineExceeded) {
			return &domain.ProviderError{Provider: "gemini", Kind: domain.ProviderUnavailable, Message: "stream timed out", Err: cerr}
		}
		return fmt.Errorf("gemini: %w", cerr)
	}
	if s.closed.Load() {
		return errClosed
	}
	switch {
	case errors.Is(err, io.EOF):
		return protocolError("stream ended without a finishReason", io.ErrUnexpectedEOF)
	case errors.Is(err, sse.ErrEventTooLong), errors.Is(err, sse.ErrMalformed):
		return protocolError(err.Error(), err)
	default:
		return &domain.ProviderError{Provider: "gemini", Kind: domain.ProviderUnavailable, Message: "stream broken", Err: err}
	}
}

// protocolError is a stream that broke the API's format: a provider fault, so the gateway may
// fall back (if no token was sent yet).
func protocolError(msg string, err error) error {
	return &domain.ProviderError{Provider: "gemini", Kind: domain.ProviderUnavailable, Message: msg, Err: err}
}

// fail records err as terminal, releases the connection and returns err.
func (s *stream) fail(err error) error {
	s.terminate(err)
	return err
}

func (s *stream) terminate(err error) {
	s.err = err
	s.closeOnce.Do(func() {
		s.cancel()
		s.body.Close()
	})
}

// Close aborts the stream and releases its connection. It is idempotent and may be called
// while Recv is blocked, which then returns an error.
func (s *stream) Close() error {
	s.closed.Store(true)
	s.closeOnce.Do(func() {
		s.cancel()
		s.body.Close()
	})
	return nil
}

// finishReason maps Gemini's FinishReason enum to the domain's finish reasons; "" for none.
func finishReason(r string) string {
	switch r {
	case "", "FINISH_REASON_UNSPECIFIED":
		return ""
	case "STOP":
		return domain.FinishStop
	case "MAX_TOKENS":
		return domain.FinishLength
	case "SAFETY", "RECITATION", "BLOCKLIST", "PROHIBITED_CONTENT", "SPII", "IMAGE_SAFETY":
		return domain.FinishContentFilter
	}
	return strings.ToLower(r)
}

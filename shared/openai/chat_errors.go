package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vibecode/vibecode/shared/domain"
)

// classify turns an error from starting a go-openai stream into what ChatStream returns: the
// caller's cancellation as a wrapped context error, go-openai's own request validation as
// EINVALID, and every upstream failure as a *domain.ProviderError.
func (c *Chat) classify(ctx context.Context, err error, meta *chatResponseMeta) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("openai: %w", ctx.Err())
	}
	var reqErr *goopenai.RequestError
	var apiErr *goopenai.APIError
	var urlErr *url.Error
	switch {
	case errors.As(err, &reqErr): // an error status with a body that is not OpenAI's error JSON
		msg := strings.TrimSpace(string(reqErr.Body))
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		pe := &domain.ProviderError{Provider: c.name, Kind: domain.ProviderErrorKindForStatus(reqErr.HTTPStatusCode),
			Status: reqErr.HTTPStatusCode, Message: msg, RetryAfter: meta.retryAfter(), Err: reqErr}
		if pe.Kind == domain.ProviderInvalid && chatIsContextWindow("", msg) {
			pe.Kind = domain.ProviderContextWindow
		}
		return pe
	case errors.As(err, &apiErr):
		return c.apiError(apiErr, meta)
	case ctx.Err() != nil: // our deadline
		return &domain.ProviderError{Provider: c.name, Kind: domain.ProviderUnavailable, Message: "request timed out", Err: ctx.Err()}
	case errors.As(err, &urlErr): // no response: refused, DNS, TLS, header timeout
		return &domain.ProviderError{Provider: c.name, Kind: domain.ProviderUnavailable, Message: "request failed", Err: err}
	default: // go-openai refused the request before sending it
		return fmt.Errorf("openai: %w", domain.Errorf(domain.EINVALID, "%s rejected the request: %v", c.name, err))
	}
}

// apiError classifies OpenAI's error object, from an error response (HTTPStatusCode set) or
// from a "data: {"error": …}" chunk mid-stream (no status; meta nil).
func (c *Chat) apiError(e *goopenai.APIError, meta *chatResponseMeta) *domain.ProviderError {
	code := ""
	switch v := e.Code.(type) {
	case string:
		code = v
	case int: // vLLM sends the status as the code; go-openai also turns "code": null into 0
		if v != 0 {
			code = strconv.Itoa(v)
		}
	}
	pe := &domain.ProviderError{Provider: c.name, Status: e.HTTPStatusCode, Type: code, Message: e.Message, Err: e}
	if pe.Type == "" {
		pe.Type = e.Type
	}
	if meta != nil {
		pe.RetryAfter = meta.retryAfter()
	}
	switch {
	case e.HTTPStatusCode != 0:
		pe.Kind = domain.ProviderErrorKindForStatus(e.HTTPStatusCode)
	case code == "rate_limit_exceeded" || e.Type == "rate_limit_exceeded":
		pe.Kind = domain.ProviderRateLimited
	default: // a failure mid-stream: the provider broke off
		pe.Kind = domain.ProviderUnavailable
	}
	if (pe.Kind == domain.ProviderInvalid || e.HTTPStatusCode == 0) && chatIsContextWindow(code, e.Message) {
		pe.Kind = domain.ProviderContextWindow
	}
	return pe
}

// chatIsContextWindow recognises a context-window overflow: OpenAI's and Groq's code
// context_length_exceeded, and the messages of servers that send no code — "This model's
// maximum context length is 8192 tokens…" (OpenAI, DeepSeek, vLLM), "the request exceeds the
// available context size" (llama.cpp).
func chatIsContextWindow(code, msg string) bool {
	if code == "context_length_exceeded" {
		return true
	}
	m := strings.ToLower(msg)
	for _, s := range []string{"context_length_exceeded", "maximum context length", "context window", "context size", "context length"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}

// protocolError is a stream that broke the chat-completions format: a provider fault, so the
// gateway may fall back (if no token was sent yet).
func (c *Chat) protocolError(msg string, err error) error {
	return &domain.ProviderError{Provider: c.name, Kind: domain.ProviderUnavailable, Message: msg, Err: err}
}

// retryAfter reads how long the provider asked us to wait: OpenAI's retry-after-ms, else the
// standard Retry-After.
func (m *chatResponseMeta) retryAfter() time.Duration {
	if m == nil || m.header == nil {
		return 0
	}
	if ms, err := strconv.ParseFloat(strings.TrimSpace(m.header.Get("retry-after-ms")), 64); err == nil && ms > 0 {
		return min(time.Duration(ms*float64(time.Millisecond)), 24*time.Hour)
	}
	return domain.ParseRetryAfter(m.header.Get("retry-after"), time.Now())
}

// isJSONError reports whether err is a failure to decode a chunk.
func isJSONError(err error) bool {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	return errors.As(err, &syn) || errors.As(err, &typ)
}

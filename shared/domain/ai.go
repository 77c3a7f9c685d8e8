package domain

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Chat roles of a ChatMessage — not the user Roles of user.go, which say what a principal may
// do. They are the OpenAI vocabulary; adapters translate them (Anthropic takes system text as
// a top-level field, Gemini calls the assistant "model").
const (
	ChatRoleSystem    = "system"
	ChatRoleUser      = "user"
	ChatRoleAssistant = "assistant"
)

// Model tiers, the axis of the gateway's model-selection matrix: completion goes to a fast
// (cheap, low-latency) model, generation and review to a strong one.
const (
	TierFast   = "fast"
	TierStrong = "strong"
)

// Finish reasons every adapter normalises to, so the gateway can tell a complete answer from a
// cut-off one without knowing the provider. Reasons without an equivalent pass through in
// lower case (e.g. Gemini's "malformed_function_call").
const (
	FinishStop          = "stop"           // the model ended its turn or hit a stop sequence
	FinishLength        = "length"         // max tokens (or the context window) was reached
	FinishContentFilter = "content_filter" // the provider withheld or cut the output (safety, refusal, recitation)
	FinishToolCalls     = "tool_calls"     // the model asked for a tool
)

// ChatMessage is one turn of a conversation.
type ChatMessage struct {
	Role    string `json:"role"` // ChatRoleSystem, ChatRoleUser or ChatRoleAssistant
	Content string `json:"content"`
}

// ChatRequest asks a provider for a streamed chat completion. Model is the provider's model ID
// (ModelInfo.ID); MaxTokens 0 means the adapter's default for the model; a nil Temperature
// leaves the provider's default.
type ChatRequest struct {
	Model       string        `json:"model"`
	Messages    []ChatMessage `json:"messages"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
	Stop        []string      `json:"stop,omitempty"`
}

// Validate reports an EINVALID error for a request no provider could accept, so adapters
// refuse it before spending a network round trip and the gateway never falls back on it.
func (r *ChatRequest) Validate() error {
	if r.Model == "" {
		return Errorf(EINVALID, "model is required")
	}
	if r.MaxTokens < 0 {
		return Errorf(EINVALID, "max_tokens must not be negative")
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return Errorf(EINVALID, "temperature must be between 0 and 2")
	}
	conversation := 0
	for i, m := range r.Messages {
		switch m.Role {
		case ChatRoleSystem:
		case ChatRoleUser, ChatRoleAssistant:
			conversation++
		default:
			return Errorf(EINVALID, "message %d: role must be system, user or assistant", i)
		}
	}
	if conversation == 0 {
		return Errorf(EINVALID, "at least one user or assistant message is required")
	}
	return nil
}

// Usage counts the tokens of one request as the provider billed them. Output includes hidden
// reasoning ("thinking") tokens where the provider bills them as output.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
}

// ChatEvent is one step of a streamed answer. Adapters send events with a non-empty Delta, in
// order, then exactly one final event with FinishReason set and Usage when the provider
// reported it (nil otherwise), then io.EOF. A stream that ends any other way returns an error
// instead of the final event, so a cut-off answer is never mistaken for a complete one.
type ChatEvent struct {
	Delta        string `json:"delta,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
	Usage        *Usage `json:"usage,omitempty"`
}

// ChatStream is a streamed answer. Recv blocks for the next event and returns io.EOF after the
// final one; after an error it keeps returning that error. If the request's context ends,
// Recv returns an error that wraps the context's error. Close releases the connection; it is
// safe to call more than once and from another goroutine than Recv, and callers must call it
// even after io.EOF.
type ChatStream interface {
	Recv() (ChatEvent, error)
	Close() error
}

// ModelInfo describes a model a provider offers: what the router needs to pick one (tier,
// context size, fill-in-the-middle support) and to account for it (list prices in USD per
// million tokens). Adapters ship defaults; deployments override them in configuration when
// prices change.
type ModelInfo struct {
	ID               string  `json:"id"`
	Provider         string  `json:"provider"`
	ContextTokens    int     `json:"context_tokens"`
	MaxOutputTokens  int     `json:"max_output_tokens"`
	InputUSDPerMTok  float64 `json:"input_usd_per_mtok"`
	OutputUSDPerMTok float64 `json:"output_usd_per_mtok"`
	Tier             string  `json:"tier"` // TierFast or TierStrong
	FIM              bool    `json:"fim"`  // fill-in-the-middle through FIMProvider.Complete
}

// Cost returns what u costs on this model in USD at its list prices.
func (m ModelInfo) Cost(u Usage) float64 {
	return (float64(u.InputTokens)*m.InputUSDPerMTok + float64(u.OutputTokens)*m.OutputUSDPerMTok) / 1e6
}

// FindModel returns the model with the given ID from models, and whether there was one.
func FindModel(models []ModelInfo, id string) (ModelInfo, bool) {
	for _, m := range models {
		if m.ID == id {
			return m, true
		}
	}
	return ModelInfo{}, false
}

// ChatProvider is one upstream AI provider behind the gateway (OpenAI, Anthropic, Gemini, an
// OpenAI-compatible server, …). Adapters classify every upstream failure as a *ProviderError
// so the gateway can decide to fall back without knowing the provider.
type ChatProvider interface {
	// Name identifies the provider in configuration, logs and usage records ("openai", "groq", …).
	Name() string
	// Models lists the models the provider offers, with prices and limits.
	Models() []ModelInfo
	// ChatStream starts a streamed completion. An error here means no token was produced,
	// which is when the gateway can still fall back to the next provider.
	ChatStream(ctx context.Context, req ChatRequest) (ChatStream, error)
}

// FIMRequest asks for a fill-in-the-middle completion: the text that belongs between Prefix
// (before the cursor) and Suffix (after it). Inline completion uses it where the model was
// trained for it, which gives better edits than a chat prompt at a fraction of the tokens.
type FIMRequest struct {
	Model     string   `json:"model"`
	Prefix    string   `json:"prefix"`
	Suffix    string   `json:"suffix"`
	MaxTokens int      `json:"max_tokens,omitempty"`
	Stop      []string `json:"stop,omitempty"`
}

// Validate reports an EINVALID error for a request no provider could accept.
func (r *FIMRequest) Validate() error {
	switch {
	case r.Model == "":
		return Errorf(EINVALID, "model is required")
	case r.MaxTokens < 0:
		return Errorf(EINVALID, "max_tokens must not be negative")
	case r.Prefix == "" && r.Suffix == "":
		return Errorf(EINVALID, "prefix or suffix is required")
	}
	return nil
}

// FIMProvider is implemented by providers that offer fill-in-the-middle completion for the
// models whose ModelInfo.FIM is set. The stream follows the ChatStream contract.
type FIMProvider interface {
	// Complete streams the text between req.Prefix and req.Suffix; a model without FIM is
	// an EINVALID error.
	Complete(ctx context.Context, req FIMRequest) (ChatStream, error)
}

// ProviderErrorKind classifies an upstream failure by what the gateway should do about it.
type ProviderErrorKind string

// Provider error kinds. The first three are retryable on another provider (IsRetryable).
const (
	ProviderRateLimited   ProviderErrorKind = "rate_limited"   // 429: try elsewhere, cool down for RetryAfter
	ProviderUnavailable   ProviderErrorKind = "unavailable"    // 5xx, overload, refused connection, timeout, broken or garbled stream
	ProviderContextWindow ProviderErrorKind = "context_window" // the prompt does not fit this model; a larger one may take it
	ProviderAuth          ProviderErrorKind = "auth"           // 401/403: our key is missing, wrong or lacks access
	ProviderInvalid       ProviderErrorKind = "invalid"        // any other 4xx: the request itself is wrong
)

// ProviderError is an upstream AI provider's failure, classified. Message is the provider's own
// text and belongs in the log; users see the coded *Error it also unwraps to (ERATELIMIT,
// EUNAVAILABLE, ETOOLARGE or EINVALID), so httpapi maps it to a status like any other error.
type ProviderError struct {
	Provider   string            // the ChatProvider's Name
	Kind       ProviderErrorKind // what the gateway should do about it
	Status     int               // the upstream HTTP status; 0 when the failure came without one (connection error, mid-stream)
	Type       string            // the provider's error code or type when it sent one ("context_length_exceeded", "overloaded_error", "RESOURCE_EXHAUSTED")
	Message    string            // the provider's message, or a description of the transport failure
	RetryAfter time.Duration     // how long the provider asked us to wait (rate_limited); 0 if it did not say
	Err        error             // the underlying error, if any
}

// Error describes the failure for the log, e.g.
// "anthropic: unavailable (HTTP 529 overloaded_error): Overloaded".
func (e *ProviderError) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	b.WriteString(": ")
	b.WriteString(string(e.Kind))
	switch {
	case e.Status != 0 && e.Type != "":
		fmt.Fprintf(&b, " (HTTP %d %s)", e.Status, e.Type)
	case e.Status != 0:
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	case e.Type != "":
		fmt.Fprintf(&b, " (%s)", e.Type)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Err != nil {
		// Skip the cause when it only repeats the message (client libraries often embed it).
		if cause := e.Err.Error(); e.Message == "" || !strings.Contains(e.Message, cause) && !strings.Contains(cause, e.Message) {
			b.WriteString(": ")
			b.WriteString(cause)
		}
	}
	return b.String()
}

// Unwrap returns the underlying error and the coded *Error users may see, so errors.Is finds
// the cause (context.DeadlineExceeded, io.ErrUnexpectedEOF, …) and ErrorCode/ErrorMessage
// give the HTTP layer a code and a message that leaks nothing about our keys.
func (e *ProviderError) Unwrap() []error {
	coded := e.coded()
	if e.Err == nil {
		return []error{coded}
	}
	return []error{e.Err, coded}
}

func (e *ProviderError) coded() *Error {
	switch e.Kind {
	case ProviderRateLimited:
		return Errorf(ERATELIMIT, "the AI provider %s is rate limiting requests; retry later", e.Provider)
	case ProviderContextWindow:
		return Errorf(ETOOLARGE, "the prompt does not fit the model's context window")
	case ProviderAuth:
		return Errorf(EUNAVAILABLE, "the AI provider %s rejected the configured credentials", e.Provider)
	case ProviderInvalid:
		msg := e.Message
		if len(msg) > 200 {
			msg = msg[:200] + "…"
		}
		return Errorf(EINVALID, "the AI provider %s rejected the request: %s", e.Provider, msg)
	default:
		return Errorf(EUNAVAILABLE, "the AI provider %s is unavailable", e.Provider)
	}
}

// IsRetryable reports whether err is a provider failure another provider (or a larger model)
// may not have: rate limiting, unavailability and context-window overflow. The gateway falls
// back on these and gives up on everything else, including a cancelled request.
func IsRetryable(err error) bool {
	var pe *ProviderError
	if !errors.As(err, &pe) {
		return false
	}
	switch pe.Kind {
	case ProviderRateLimited, ProviderUnavailable, ProviderContextWindow:
		return true
	}
	return false
}

// ProviderErrorKindForStatus classifies an upstream HTTP error status. Adapters refine the
// result with the provider's error body (a context-window overflow is a 400 everywhere).
func ProviderErrorKindForStatus(status int) ProviderErrorKind {
	switch {
	case status == 429:
		return ProviderRateLimited
	case status == 401 || status == 403:
		return ProviderAuth
	case status == 408 || status >= 500:
		return ProviderUnavailable
	default:
		return ProviderInvalid
	}
}

// ParseRetryAfter reads a Retry-After header value — delay seconds (fractions tolerated) or an
// HTTP date — and returns the wait from now; 0 when the value is empty, invalid or past.
func ParseRetryAfter(value string, now time.Time) time.Duration {
	value = strings.TrimSpace(value)
	if value == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(value, 64); err == nil {
		switch {
		case !(secs > 0): // also NaN
			return 0
		case secs > 24*3600: // a provider asking for more than a day is broken; cap it
			return 24 * time.Hour
		}
		return time.Duration(secs * float64(time.Second))
	}
	if t, err := time.Parse(time.RFC1123, value); err == nil {
		if d := t.Sub(now); d > 0 {
			return d
		}
	}
	return 0
}

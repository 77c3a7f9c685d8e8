// Package anthropic implements domain.ChatProvider on Anthropic's Messages API with streaming.
//
// It is a small client on net/http rather than the official SDK
// (github.com/anthropics/anthropic-sdk-go): the SDK is ~150k lines whose go.mod pulls in AWS,
// Google Cloud, gRPC and OpenTelemetry modules for Bedrock and Vertex support we do not use,
// and its SSE decoder accepts lines of up to 32 MiB and accumulates an event's data without a
// bound. We need one endpoint, a bounded stream reader and exact error classification for the
// gateway's fallback — about 400 lines we control, tested against the real wire format.
package anthropic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// DefaultBaseURL is Anthropic's API endpoint.
const DefaultBaseURL = "https://api.anthropic.com"

// APIVersion is the anthropic-version header we speak. Newer versions may change the wire
// format, so it is pinned, not configurable.
const APIVersion = "2023-06-01"

// fallbackMaxTokens is sent as max_tokens (which Anthropic requires) for a model the
// configuration does not describe.
const fallbackMaxTokens = 4096

// Config configures a Provider.
type Config struct {
	APIKey  string             // required (ANTHROPIC_API_KEY)
	BaseURL string             // default DefaultBaseURL; a proxy or a test server
	Models  []domain.ModelInfo // default DefaultModels()
	// HTTPClient sends the requests. The default waits at most two minutes for response
	// headers and sets no overall timeout, because a stream may rightly run for minutes;
	// bound a request with its context.
	HTTPClient *http.Client
}

// DefaultModels returns the models a Provider offers when Config.Models is empty. Prices are
// Anthropic's list prices in USD per million tokens as of writing (late 2025); they change,
// so deployments override them in configuration rather than wait for a release.
func DefaultModels() []domain.ModelInfo {
	return []domain.ModelInfo{
		{ID: "claude-haiku-4-5", Provider: "anthropic", ContextTokens: 200_000, MaxOutputTokens: 64_000,
			InputUSDPerMTok: 1, OutputUSDPerMTok: 5, Tier: domain.TierFast},
		{ID: "claude-sonnet-4-5", Provider: "anthropic", ContextTokens: 200_000, MaxOutputTokens: 64_000,
			InputUSDPerMTok: 3, OutputUSDPerMTok: 15, Tier: domain.TierStrong},
	}
}

// Provider streams chat completions from Anthropic. It is safe for concurrent use.
type Provider struct {
	apiKey   string
	endpoint string // {base}/v1/messages
	models   []domain.ModelInfo
	client   *http.Client
}

var _ domain.ChatProvider = (*Provider)(nil)

// defaultHTTPClient bounds the wait for response headers only (see Config.HTTPClient).
var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: t}
}()

// New returns a Provider for cfg. Without an API key Anthropic is not configured, which is an
// EUNAVAILABLE error the wiring reports instead of registering the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.APIKey == "" {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "anthropic: no API key configured (set ANTHROPIC_API_KEY)")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, domain.Errorf(domain.EINVALID, "anthropic: base URL %q must be an absolute http(s) URL", base)
	}
	p := &Provider{
		apiKey:   cfg.APIKey,
		endpoint: strings.TrimRight(base, "/") + "/v1/messages",
		models:   cfg.Models,
		client:   cfg.HTTPClient,
	}
	if len(p.models) == 0 {
		p.models = DefaultModels()
	}
	if p.client == nil {
		p.client = defaultHTTPClient
	}
	return p, nil
}

// Name returns "anthropic".
func (p *Provider) Name() string { return "anthropic" }

// Models returns a copy of the configured models.
func (p *Provider) Models() []domain.ModelInfo {
	return append([]domain.ModelInfo(nil), p.models...)
}

// messagesRequest is the body of POST /v1/messages.
type messagesRequest struct {
	Model         string    `json:"model"`
	MaxTokens     int       `json:"max_tokens"`
	System        string    `json:"system,omitempty"`
	Messages      []message `json:"messages"`
	Stream        bool      `json:"stream"`
	StopSequences []string  `json:"stop_sequences,omitempty"`
	Temperature   *float64  `json:"temperature,omitempty"`
}

type message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// ChatStream starts a streamed completion. System messages become the top-level system field
// (Anthropic has no system role); consecutive messages of one role are merged, as the API
// would do; max_tokens, which Anthropic requires, defaults to the model's MaxOutputTokens;
// temperature is capped at 1, Anthropic's maximum. Stop sequences that are empty or only
// whitespace ("\n\n" is a common one for inline completion) are rejected by Anthropic, so they
// are not sent but applied to the streamed text here.
func (p *Provider) ChatStream(ctx context.Context, req domain.ChatRequest) (domain.ChatStream, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("anthropic: %w", err)
	}
	body := messagesRequest{Model: req.Model, MaxTokens: req.MaxTokens, Stream: true}
	if body.MaxTokens == 0 {
		body.MaxTokens = fallbackMaxTokens
		if m, ok := domain.FindModel(p.models, req.Model); ok && m.MaxOutputTokens > 0 {
			body.MaxTokens = m.MaxOutputTokens
		}
	}
	if req.Temperature != nil {
		t := min(*req.Temperature, 1)
		body.Temperature = &t
	}
	var system []string
	for _, m := range req.Messages {
		if m.Role == domain.ChatRoleSystem {
			system = append(system, m.Content)
			continue
		}
		if n := len(body.Messages); n > 0 && body.Messages[n-1].Role == m.Role {
			body.Messages[n-1].Content += "\n\n" + m.Content
			continue
		}
		body.Messages = append(body.Messages, message{Role: m.Role, Content: m.Content})
	}
	body.System = strings.Join(system, "\n\n")
	var localStops []string
	for _, s := range req.Stop {
		if strings.TrimSpace(s) == "" {
			if s != "" {
				localStops = append(localStops, s)
			}
			continue
		}
		body.StopSequences = append(body.StopSequences, s)
	}

	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("anthropic: encode request: %w", err)
	}
	sctx, cancel := context.WithCancel(ctx)
	hreq, err := http.NewRequestWithContext(sctx, http.MethodPost, p.endpoint, bytes.NewReader(payload))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("anthropic: build request: %w", err)
	}
	hreq.Header.Set("x-api-key", p.apiKey)
	hreq.Header.Set("anthropic-version", APIVersion)
	hreq.Header.Set("content-type", "application/json")
	hreq.Header.Set("accept", "text/event-stream")

	resp, err := p.client.Do(hreq)
	if err != nil {
		cancel()
		return nil, transportError(ctx, err)
	}
	if resp.StatusCode != http.StatusOK {
		defer cancel()
		return nil, statusError(resp)
	}
	return newStream(ctx, cancel, resp.Body, localStops), nil
}

// apiError is Anthropic's error object, in error responses and in a stream's error event:
// {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}.
type apiError struct {
	Error struct {
		Type    string `json:"type"`
		Message string `json:"message"`
	} `json:"error"`
}

// maxErrorBody bounds how much of an error response we read.
const maxErrorBody = 64 << 10

// statusError reads a non-200 response (and closes it) into a classified *ProviderError.
func statusError(resp *http.Response) error {
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	pe := &domain.ProviderError{
		Provider:   "anthropic",
		Kind:       domain.ProviderErrorKindForStatus(resp.StatusCode),
		Status:     resp.StatusCode,
		RetryAfter: domain.ParseRetryAfter(resp.Header.Get("retry-after"), time.Now()),
		Err:        err,
	}
	var ae apiError
	if json.Unmarshal(raw, &ae) == nil && ae.Error.Type != "" {
		pe.Type, pe.Message = ae.Error.Type, ae.Error.Message
	} else {
		pe.Message = strings.TrimSpace(string(raw))
		if len(pe.Message) > 512 {
			pe.Message = pe.Message[:512] + "…"
		}
	}
	if k, ok := kindOfType(pe.Type); ok && pe.Kind != domain.ProviderUnavailable {
		pe.Kind = k
	}
	if pe.Kind == domain.ProviderInvalid && isContextWindow(pe.Message) {
		pe.Kind = domain.ProviderContextWindow
	}
	return pe
}

// kindOfType classifies Anthropic's error types
// (https://docs.anthropic.com/en/api/errors), which is all we have for a mid-stream error.
func kindOfType(t string) (domain.ProviderErrorKind, bool) {
	switch t {
	case "overloaded_error", "api_error", "timeout_error":
		return domain.ProviderUnavailable, true
	case "rate_limit_error":
		return domain.ProviderRateLimited, true
	case "authentication_error", "permission_error":
		return domain.ProviderAuth, true
	case "invalid_request_error", "not_found_error", "request_too_large", "billing_error":
		return domain.ProviderInvalid, true
	}
	return "", false
}

// isContextWindow recognises Anthropic's context-overflow messages, both a 400
// invalid_request_error: "prompt is too long: 208656 tokens > 200000 maximum" and
// "input length and `max_tokens` exceed context limit: 178959 + 64000 > 200000, …".
func isContextWindow(msg string) bool {
	m := strings.ToLower(msg)
	return strings.Contains(m, "prompt is too long") ||
		strings.Contains(m, "exceed context limit") ||
		strings.Contains(m, "context window")
}

// transportError classifies a failure to get a response at all. A cancelled request is the
// caller's doing and stays a plain (wrapped) context error; everything else — refused
// connection, DNS, timeouts, our own deadline — is the provider being unavailable.
func transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("anthropic: %w", ctx.Err())
	}
	if cerr := ctx.Err(); cerr != nil {
		err = cerr
	}
	return &domain.ProviderError{Provider: "anthropic", Kind: domain.ProviderUnavailable, Message: "request failed", Err: err}
}

// Package gemini implements domain.ChatProvider on Google's native Gemini API
// (generativelanguage.googleapis.com, models.streamGenerateContent with alt=sse).
//
// It is a small net/http client rather than Google's Go SDK (google.golang.org/genai): we use
// one endpoint, and owning the stream reader is what lets us bound its memory and classify
// every failure for the gateway's fallback. The native API rather than Gemini's
// OpenAI-compatible endpoint (which shared/openai can also reach) because it reports thinking
// tokens, safety blocks and retry delays that the compatibility layer drops.
package gemini

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

// DefaultBaseURL is the Gemini API's endpoint (Google AI Studio keys).
const DefaultBaseURL = "https://generativelanguage.googleapis.com"

// Config configures a Provider.
type Config struct {
	APIKey  string             // required (GEMINI_API_KEY)
	BaseURL string             // default DefaultBaseURL; a proxy or a test server
	Models  []domain.ModelInfo // default DefaultModels()
	// HTTPClient sends the requests. The default waits at most two minutes for response
	// headers and sets no overall timeout, because a stream may rightly run for minutes;
	// bound a request with its context.
	HTTPClient *http.Client
}

// DefaultModels returns the models a Provider offers when Config.Models is empty. Prices are
// Google's list prices in USD per million tokens as of writing (late 2025), for prompts up to
// 200k tokens (2.5 Pro charges more above); they change, so deployments override them in
// configuration. Flash-Lite is the fast model because it does not think by default: with
// thinking, a small max-tokens budget can be spent before any text appears.
func DefaultModels() []domain.ModelInfo {
	return []domain.ModelInfo{
		{ID: "gemini-2.5-flash-lite", Provider: "gemini", ContextTokens: 1_048_576, MaxOutputTokens: 65_536,
			InputUSDPerMTok: 0.10, OutputUSDPerMTok: 0.40, Tier: domain.TierFast},
		{ID: "gemini-2.5-pro", Provider: "gemini", ContextTokens: 1_048_576, MaxOutputTokens: 65_536,
			InputUSDPerMTok: 1.25, OutputUSDPerMTok: 10, Tier: domain.TierStrong},
	}
}

// Provider streams chat completions from Gemini. It is safe for concurrent use.
type Provider struct {
	apiKey string
	base   string
	models []domain.ModelInfo
	client *http.Client
}

var _ domain.ChatProvider = (*Provider)(nil)

// defaultHTTPClient bounds the wait for response headers only (see Config.HTTPClient).
var defaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: t}
}()

// New returns a Provider for cfg. Without an API key Gemini is not configured, which is an
// EUNAVAILABLE error the wiring reports instead of registering the provider.
func New(cfg Config) (*Provider, error) {
	if cfg.APIKey == "" {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "gemini: no API key configured (set GEMINI_API_KEY)")
	}
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, domain.Errorf(domain.EINVALID, "gemini: base URL %q must be an absolute http(s) URL", base)
	}
	p := &Provider{apiKey: cfg.APIKey, base: strings.TrimRight(base, "/"), models: cfg.Models, client: cfg.HTTPClient}
	if len(p.models) == 0 {
		p.models = DefaultModels()
	}
	if p.client == nil {
		p.client = defaultHTTPClient
	}
	return p, nil
}

// Name returns "gemini".
func (p *Provider) Name() string { return "gemini" }

// Models returns a copy of the configured models.
func (p *Provider) Models() []domain.ModelInfo {
	return append([]domain.ModelInfo(nil), p.models...)
}

// generateRequest is the body of models.streamGenerateContent.
type generateRequest struct {
	Contents          []content         `json:"contents"`
	SystemInstruction *content          `json:"systemInstruction,omitempty"`
	GenerationConfig  *generationConfig `json:"generationConfig,omitempty"`
}

type content struct {
	Role  string `json:"role,omitempty"` // "user" or "model"
	Parts []part `json:"parts"`
}

type part struct {
	Text    string `json:"text"`
	Thought bool   `json:"thought,omitempty"` // a thought summary, not answer text
}

type generationConfig struct {
	MaxOutputTokens int      `json:"maxOutputTokens,omitempty"`
	Temperature     *float64 `json:"temperature,omitempty"`
	StopSequences   []string `json:"stopSequences,omitempty"`
}

// ChatStream starts a streamed completion. System messages become systemInstruction, the
// assistant's turns have the role "model", and consecutive messages of one role become parts
// of one turn. MaxTokens 0 sends the model's MaxOutputTokens (Gemini counts thinking tokens
// against it).
func (p *Provider) ChatStream(ctx context.Context, req domain.ChatRequest) (domain.ChatStream, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("gemini: %w", err)
	}
	var body generateRequest
	for _, m := range req.Messages {
		if m.Role == domain.ChatRoleSystem {
			if body.SystemInstruction == nil {
				body.SystemInstruction = &content{}
			}
			body.SystemInstruction.Parts = append(body.SystemInstruction.Parts, part{Text: m.Content})
			continue
		}
		role := "user"
		if m.Role == domain.ChatRoleAssistant {
			role = "model"
		}
		if n := len(body.Contents); n > 0 && body.Contents[n-1].Role == role {
			body.Contents[n-1].Parts = append(body.Contents[n-1].Parts, part{Text: m.Content})
			continue
		}
		body.Contents = append(body.Contents, content{Role: role, Parts: []part{{Text: m.Content}}})
	}
	gc := generationConfig{MaxOutputTokens: req.MaxTokens, Temperature: req.Temperature, StopSequences: req.Stop}
	if gc.MaxOutputTokens == 0 {
		if m, ok := domain.FindModel(p.models, req.Model); ok {
			gc.MaxOutputTokens = m.MaxOutputTokens
		}
	}
	if gc.MaxOutputTokens != 0 || gc.Temperature != nil || len(gc.StopSequences) > 0 {
		body.GenerationConfig = &gc
	}

	payload, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("gemini: encode request: %w", err)
	}
	model := strings.TrimPrefix(req.Model, "models/")
	endpoint := p.base + "/v1beta/models/" + url.PathEscape(model) + ":streamGenerateContent?alt=sse"
	sctx, cancel := context.WithCancel(ctx)
	hreq, err := http.NewRequestWithContext(sctx, http.MethodPost, endpoint, bytes.NewReader(payload))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("gemini: build request: %w", err)
	}
	hreq.Header.Set("x-goog-api-key", p.apiKey) // a header, not ?key=, so the key stays out of URLs in logs
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
	return newStream(ctx, cancel, resp.Body), nil
}

// apiError is Google's error object, the whole body of an error response and, mid-stream,
// the "error" member of an event:
//
//	{"error":{"code":429,"message":"…","status":"RESOURCE_EXHAUSTED",
//	  "details":[{"@type":"type.googleapis.com/google.rpc.RetryInfo","retryDelay":"32s"}]}}
type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
	Status  string `json:"status"`
	Details []struct {
		Type       string `json:"@type"`
		Reason     string `json:"reason"`     // google.rpc.ErrorInfo
		RetryDelay string `json:"retryDelay"` // google.rpc.RetryInfo, a protobuf Duration ("32s")
	} `json:"details"`
}

type errorBody struct {
	Error *apiError `json:"error"`
}

// maxErrorBody bounds how much of an error response we read.
const maxErrorBody = 64 << 10

// statusError reads a non-200 response (and closes it) into a classified *ProviderError.
func statusError(resp *http.Response) error {
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var ae *apiError
	var one errorBody
	var many []errorBody // some Google front ends wrap the error in an array
	if json.Unmarshal(raw, &one) == nil && one.Error != nil {
		ae = one.Error
	} else if json.Unmarshal(raw, &many) == nil && len(many) > 0 && many[0].Error != nil {
		ae = many[0].Error
	}
	if ae == nil {
		msg := strings.TrimSpace(string(raw))
		if len(msg) > 512 {
			msg = msg[:512] + "…"
		}
		ae = &apiError{Message: msg}
	}
	pe := classify(ae, resp.StatusCode)
	pe.Err = err
	if d := domain.ParseRetryAfter(resp.Header.Get("retry-after"), time.Now()); d > 0 {
		pe.RetryAfter = d
	}
	return pe
}

// classify turns Google's error object into a *ProviderError. status is the HTTP status, or 0
// for an error inside a stream, where the object's own code stands in for it.
func classify(ae *apiError, status int) *domain.ProviderError {
	pe := &domain.ProviderError{Provider: "gemini", Status: status, Type: ae.Status, Message: ae.Message}
	code := status
	if code == 0 {
		code = ae.Code
	}
	switch {
	case code != 0:
		pe.Kind = domain.ProviderErrorKindForStatus(code)
	case ae.Status == "RESOURCE_EXHAUSTED":
		pe.Kind = domain.ProviderRateLimited
	default: // a mid-stream failure without a code
		pe.Kind = domain.ProviderUnavailable
	}
	for _, d := range ae.Details {
		if d.Reason == "API_KEY_INVALID" {
			pe.Kind = domain.ProviderAuth // Gemini answers a bad key with 400, not 401
		}
		if dur, err := time.ParseDuration(d.RetryDelay); err == nil && dur > 0 {
			pe.RetryAfter = dur
		}
	}
	if pe.Kind == domain.ProviderInvalid {
		switch m := strings.ToLower(ae.Message); {
		case strings.Contains(m, "api key not valid"):
			pe.Kind = domain.ProviderAuth
		case isContextWindow(m):
			pe.Kind = domain.ProviderContextWindow
		}
	}
	return pe
}

// isContextWindow recognises Gemini's overflow message, a 400 INVALID_ARGUMENT:
// "The input token count (1200293) exceeds the maximum number of tokens allowed (1048576)."
func isContextWindow(lowerMsg string) bool {
	return strings.Contains(lowerMsg, "exceeds the maximum number of tokens") ||
		(strings.Contains(lowerMsg, "input token count") && strings.Contains(lowerMsg, "exceed"))
}

// transportError classifies a failure to get a response at all. A cancelled request is the
// caller's doing and stays a plain (wrapped) context error; everything else — refused
// connection, DNS, timeouts, our own deadline — is the provider being unavailable.
func transportError(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return fmt.Errorf("gemini: %w", ctx.Err())
	}
	if cerr := ctx.Err(); cerr != nil {
		err = cerr
	}
	return &domain.ProviderError{Provider: "gemini", Kind: domain.ProviderUnavailable, Message: "request failed", Err: err}
}

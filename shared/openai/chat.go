// Package openai adapts OpenAI's API and every server that speaks its wire format — Groq,
// DeepSeek, Ollama, LM Studio, vLLM, Gemini's compatibility endpoint — to the domain, through
// github.com/sashabaranov/go-openai. The chat side (chat*.go) implements domain.ChatProvider
// and domain.FIMProvider.
package openai

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strings"
	"time"

	goopenai "github.com/sashabaranov/go-openai"

	"github.com/vibecode/vibecode/shared/domain"
)

// ChatConfig configures a Chat provider. Name selects defaults for well-known providers:
//
//	name       base URL                          key   default models
//	openai     https://api.openai.com/v1         yes   gpt-4o-mini (fast), gpt-4o (strong)
//	groq       https://api.groq.com/openai/v1    yes   llama-3.1-8b-instant, llama-3.3-70b-versatile
//	deepseek   https://api.deepseek.com          yes   deepseek-chat (fast, FIM), deepseek-reasoner
//	ollama     http://localhost:11434/v1         no    none: list the models you pulled
//
// Any other name ("openai-compatible", "lmstudio", "vllm", …) needs BaseURL and Models.
type ChatConfig struct {
	Name    string             // the provider's name in routing, logs and usage records
	APIKey  string             // sent as a bearer token when set
	BaseURL string             // overrides the preset's, e.g. OPENAI_BASE_URL for a proxy
	Models  []domain.ModelInfo // overrides the preset's models (and their prices)
	// FIMBaseURL is where fill-in-the-middle /completions requests go when it differs from
	// BaseURL: DeepSeek serves FIM only under https://api.deepseek.com/beta, the preset's
	// default. When BaseURL is set and FIMBaseURL is not, FIM goes to BaseURL.
	FIMBaseURL string
	// HTTPClient sends the requests. The default waits at most two minutes for response
	// headers and sets no overall timeout, because a stream may rightly run for minutes;
	// bound a request with its context.
	HTTPClient *http.Client
}

// chatPreset is what a well-known provider name implies.
type chatPreset struct {
	baseURL    string
	fimBaseURL string
	keyEnv     string // the variable the key usually comes from, for the error message
	models     []domain.ModelInfo
}

// chatPresets returns the well-known providers. Prices are list prices in USD per million
// tokens (uncached input) as of writing (late 2025); they change, so deployments override
// them through ChatConfig.Models rather than wait for a release.
func chatPresets() map[string]chatPreset {
	return map[string]chatPreset{
		"openai": {baseURL: "https://api.openai.com/v1", keyEnv: "OPENAI_API_KEY", models: []domain.ModelInfo{
			{ID: "gpt-4o-mini", Provider: "openai", ContextTokens: 128_000, MaxOutputTokens: 16_384,
				InputUSDPerMTok: 0.15, OutputUSDPerMTok: 0.60, Tier: domain.TierFast},
			{ID: "gpt-4o", Provider: "openai", ContextTokens: 128_000, MaxOutputTokens: 16_384,
				InputUSDPerMTok: 2.50, OutputUSDPerMTok: 10, Tier: domain.TierStrong},
		}},
		"groq": {baseURL: "https://api.groq.com/openai/v1", keyEnv: "GROQ_API_KEY", models: []domain.ModelInfo{
			{ID: "llama-3.1-8b-instant", Provider: "groq", ContextTokens: 131_072, MaxOutputTokens: 131_072,
				InputUSDPerMTok: 0.05, OutputUSDPerMTok: 0.08, Tier: domain.TierFast},
			{ID: "llama-3.3-70b-versatile", Provider: "groq", ContextTokens: 131_072, MaxOutputTokens: 32_768,
				InputUSDPerMTok: 0.59, OutputUSDPerMTok: 0.79, Tier: domain.TierStrong},
		}},
		"deepseek": {baseURL: "https://api.deepseek.com", fimBaseURL: "https://api.deepseek.com/beta", keyEnv: "DEEPSEEK_API_KEY",
			models: []domain.ModelInfo{
				{ID: "deepseek-chat", Provider: "deepseek", ContextTokens: 128_000, MaxOutputTokens: 8_192,
					InputUSDPerMTok: 0.28, OutputUSDPerMTok: 0.42, Tier: domain.TierFast, FIM: true},
				{ID: "deepseek-reasoner", Provider: "deepseek", ContextTokens: 128_000, MaxOutputTokens: 65_536,
					InputUSDPerMTok: 0.28, OutputUSDPerMTok: 0.42, Tier: domain.TierStrong},
			}},
		"ollama": {baseURL: "http://localhost:11434/v1"},
	}
}

// DefaultChatModels returns the preset models for a well-known provider name, nil for others.
func DefaultChatModels(name string) []domain.ModelInfo {
	return chatPresets()[name].models
}

// Chat streams chat and fill-in-the-middle completions from one OpenAI-compatible provider.
// It is safe for concurrent use.
type Chat struct {
	name     string
	models   []domain.ModelInfo
	client   *goopenai.Client
	fim      *goopenai.Client
	maxIsNew bool // send max_completion_tokens (OpenAI itself) instead of max_tokens (everyone)
}

var (
	_ domain.ChatProvider = (*Chat)(nil)
	_ domain.FIMProvider  = (*Chat)(nil)
)

// chatDefaultHTTPClient bounds the wait for response headers only (see ChatConfig.HTTPClient).
var chatDefaultHTTPClient = func() *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	return &http.Client{Transport: t}
}()

// NewChat returns a Chat provider for cfg. A well-known provider without its API key is not
// configured, which is an EUNAVAILABLE error the wiring reports instead of registering it.
func NewChat(cfg ChatConfig) (*Chat, error) {
	if cfg.Name == "" {
		return nil, domain.Errorf(domain.EINVALID, "openai: provider name is required")
	}
	preset, known := chatPresets()[cfg.Name]
	if known && preset.keyEnv != "" && cfg.APIKey == "" {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "openai: no API key configured for %s (set %s)", cfg.Name, preset.keyEnv)
	}
	base := cfg.BaseURL
	if base == "" {
		base = preset.baseURL
	}
	if base == "" {
		return nil, domain.Errorf(domain.EINVALID, "openai: %s needs a base URL", cfg.Name)
	}
	fimBase := cfg.FIMBaseURL
	if fimBase == "" && cfg.BaseURL == "" {
		fimBase = preset.fimBaseURL
	}
	if fimBase == "" {
		fimBase = base // a custom base URL (a proxy, a test server) serves FIM too
	}
	for _, b := range []string{base, fimBase} {
		u, err := url.Parse(b)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return nil, domain.Errorf(domain.EINVALID, "openai: base URL %q must be an absolute http(s) URL", b)
		}
	}
	c := &Chat{name: cfg.Name, models: cfg.Models, maxIsNew: cfg.Name == "openai"}
	if len(c.models) == 0 {
		c.models = preset.models
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = chatDefaultHTTPClient
	}
	c.client = newChatClient(cfg.APIKey, base, hc)
	c.fim = newChatClient(cfg.APIKey, fimBase, hc)
	return c, nil
}

func newChatClient(key, base string, hc *http.Client) *goopenai.Client {
	cc := goopenai.DefaultConfig(key)
	cc.BaseURL = strings.TrimRight(base, "/")
	cc.HTTPClient = chatDoer{client: hc}
	return goopenai.NewClientWithConfig(cc)
}

// Name returns the configured provider name.
func (c *Chat) Name() string { return c.name }

// Models returns a copy of the configured models.
func (c *Chat) Models() []domain.ModelInfo {
	return append([]domain.ModelInfo(nil), c.models...)
}

// ChatStream starts a streamed chat completion (POST {base}/chat/completions, stream:true,
// stream_options.include_usage so the final chunk reports usage). MaxTokens 0 leaves the
// provider's default, which is the model's maximum.
func (c *Chat) ChatStream(ctx context.Context, req domain.ChatRequest) (domain.ChatStream, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	r := goopenai.ChatCompletionRequest{
		Model:         req.Model,
		Stop:          req.Stop,
		StreamOptions: &goopenai.StreamOptions{IncludeUsage: true},
	}
	for _, m := range req.Messages {
		r.Messages = append(r.Messages, goopenai.ChatCompletionMessage{Role: m.Role, Content: m.Content})
	}
	if c.maxIsNew {
		r.MaxCompletionTokens = req.MaxTokens
	} else {
		// Deprecated by OpenAI, but the one field every compatible server reads.
		//lint:ignore SA1019 max_completion_tokens is OpenAI-only; DeepSeek and older servers ignore it.
		r.MaxTokens = req.MaxTokens
	}
	if req.Temperature != nil {
		r.Temperature = chatTemperature(*req.Temperature)
	}
	sctx, cancel, meta := c.requestContext(ctx)
	st, err := c.client.CreateChatCompletionStream(sctx, r)
	if err != nil {
		cancel()
		return nil, c.classify(ctx, err, meta)
	}
	return newChatStream(c, ctx, cancel, st.Close, func() (chatChunk, error) {
		resp, err := st.Recv()
		if err != nil {
			return chatChunk{}, err
		}
		ch := chatChunk{usage: resp.Usage}
		if len(resp.Choices) > 0 {
			ch.text = resp.Choices[0].Delta.Content
			ch.finish = string(resp.Choices[0].FinishReason)
		}
		return ch, nil
	}), nil
}

// Complete starts a streamed fill-in-the-middle completion: POST {FIM base}/completions with
// prompt (the prefix) and suffix, the DeepSeek/OpenAI-compatible form, for models marked FIM.
// (Mistral's Codestral uses its own /v1/fim/completions and is not served here.)
func (c *Chat) Complete(ctx context.Context, req domain.FIMRequest) (domain.ChatStream, error) {
	if err := req.Validate(); err != nil {
		return nil, fmt.Errorf("openai: %w", err)
	}
	if m, ok := domain.FindModel(c.models, req.Model); !ok || !m.FIM {
		return nil, fmt.Errorf("openai: %w", domain.Errorf(domain.EINVALID, "model %q of %s does not support fill-in-the-middle", req.Model, c.name))
	}
	r := goopenai.CompletionRequest{
		Model:         req.Model,
		Prompt:        req.Prefix,
		Suffix:        req.Suffix,
		MaxTokens:     req.MaxTokens,
		Stop:          req.Stop,
		StreamOptions: &goopenai.StreamOptions{IncludeUsage: true},
	}
	sctx, cancel, meta := c.requestContext(ctx)
	st, err := c.fim.CreateCompletionStream(sctx, r)
	if err != nil {
		cancel()
		return nil, c.classify(ctx, err, meta)
	}
	return newChatStream(c, ctx, cancel, st.Close, func() (chatChunk, error) {
		resp, err := st.Recv()
		if err != nil {
			return chatChunk{}, err
		}
		ch := chatChunk{usage: resp.Usage}
		if len(resp.Choices) > 0 {
			ch.text = resp.Choices[0].Text
			ch.finish = resp.Choices[0].FinishReason
		}
		return ch, nil
	}), nil
}

// requestContext derives the context of one upstream request: cancellable by the stream's
// Close, and carrying the record chatDoer fills with the response status and headers, which
// go-openai does not expose on errors (we need Retry-After).
func (c *Chat) requestContext(ctx context.Context) (context.Context, context.CancelFunc, *chatResponseMeta) {
	meta := &chatResponseMeta{}
	sctx, cancel := context.WithCancel(context.WithValue(ctx, chatMetaKey{}, meta))
	return sctx, cancel, meta
}

// chatTemperature converts a temperature for go-openai, whose float32 field is omitempty: an
// explicit 0 (deterministic output, wanted for code) would be dropped and the provider's
// default of 1 used, so it is sent as the smallest positive float32 instead.
func chatTemperature(t float64) float32 {
	if t == 0 {
		return math.SmallestNonzeroFloat32
	}
	return float32(t)
}

package backend

import (
	"fmt"
	"sort"

	"github.com/vibecode/vibecode/shared/aigateway"
	"github.com/vibecode/vibecode/shared/anthropic"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/gemini"
	"github.com/vibecode/vibecode/shared/memlimit"
	"github.com/vibecode/vibecode/shared/openai"
	"github.com/vibecode/vibecode/shared/redis"
)

// Provider names the configuration knows, in the gateway's order of preference between models
// of equal price.
const (
	ProviderOpenAI           = "openai"
	ProviderAnthropic        = "anthropic"
	ProviderGemini           = "gemini"
	ProviderGroq             = "groq"
	ProviderDeepSeek         = "deepseek"
	ProviderOpenAICompatible = "openai-compatible"
	ProviderOllama           = "ollama"
)

// Providers returns the AI providers cfg configures, in order of preference, and the ones it
// does not configure with how to configure them. No provider at all is not an error (the AI
// endpoints then answer 503); a half-configured one is: a keyless OpenAI-compatible server or
// Ollama without its models in AI_MODELS, or AI_MODELS naming a provider nobody knows.
func Providers(cfg config.Config) ([]domain.ChatProvider, []aigateway.Unconfigured, error) {
	declared := map[string][]domain.ModelInfo{}
	for _, m := range cfg.AIModels {
		declared[m.Provider] = append(declared[m.Provider], domain.ModelInfo{
			ID: m.ID, Provider: m.Provider, ContextTokens: m.ContextTokens, MaxOutputTokens: m.MaxOutputTokens,
			InputUSDPerMTok: m.InputUSDPerMTok, OutputUSDPerMTok: m.OutputUSDPerMTok, Tier: m.Tier, FIM: m.FIM,
		})
	}
	known := map[string]bool{}
	var (
		providers    []domain.ChatProvider
		unconfigured []aigateway.Unconfigured
	)
	add := func(name, hint string, configured bool, open func() (domain.ChatProvider, error)) error {
		known[name] = true
		if !configured {
			unconfigured = append(unconfigured, aigateway.Unconfigured{Name: name, Hint: hint})
			return nil
		}
		p, err := open()
		if err != nil {
			return fmt.Errorf("backend: AI provider %s: %w", name, err)
		}
		providers = append(providers, p)
		return nil
	}
	chat := func(name, key, base string) func() (domain.ChatProvider, error) {
		return func() (domain.ChatProvider, error) {
			return openai.NewChat(openai.ChatConfig{Name: name, APIKey: key, BaseURL: base, Models: declared[name]})
		}
	}
	needModels := func(name, baseEnv string, open func() (domain.ChatProvider, error)) func() (domain.ChatProvider, error) {
		return func() (domain.ChatProvider, error) {
			if len(declared[name]) == 0 {
				return nil, fmt.Errorf("%s is set, so declare the server's models in AI_MODELS, e.g. "+
					`[{"provider":%q,"id":"qwen2.5-coder:7b","tier":"fast"}]`, baseEnv, name)
			}
			return open()
		}
	}
	compatible := cfg.OpenAIAPIKey == "" && cfg.OpenAIBaseURL != ""
	steps := []error{
		add(ProviderOpenAI, "set OPENAI_API_KEY", cfg.OpenAIAPIKey != "", chat(ProviderOpenAI, cfg.OpenAIAPIKey, cfg.OpenAIBaseURL)),
		add(ProviderAnthropic, "set ANTHROPIC_API_KEY", cfg.AnthropicAPIKey != "", func() (domain.ChatProvider, error) {
			return anthropic.New(anthropic.Config{APIKey: cfg.AnthropicAPIKey, BaseURL: cfg.AnthropicBaseURL, Models: declared[ProviderAnthropic]})
		}),
		add(ProviderGemini, "set GEMINI_API_KEY", cfg.GeminiAPIKey != "", func() (domain.ChatProvider, error) {
			return gemini.New(gemini.Config{APIKey: cfg.GeminiAPIKey, BaseURL: cfg.GeminiBaseURL, Models: declared[ProviderGemini]})
		}),
		add(ProviderGroq, "set GROQ_API_KEY", cfg.GroqAPIKey != "", chat(ProviderGroq, cfg.GroqAPIKey, "")),
		add(ProviderDeepSeek, "set DEEPSEEK_API_KEY", cfg.DeepSeekAPIKey != "", chat(ProviderDeepSeek, cfg.DeepSeekAPIKey, "")),
		add(ProviderOpenAICompatible, "set OPENAI_BASE_URL (and AI_MODELS) for any OpenAI-compatible server", compatible,
			needModels(ProviderOpenAICompatible, "OPENAI_BASE_URL", chat(ProviderOpenAICompatible, "", cfg.OpenAIBaseURL))),
		add(ProviderOllama, "set OLLAMA_BASE_URL and AI_MODELS", cfg.OllamaBaseURL != "",
			needModels(ProviderOllama, "OLLAMA_BASE_URL", chat(ProviderOllama, "", cfg.OllamaBaseURL))),
	}
	for _, err := range steps {
		if err != nil {
			return nil, nil, err
		}
	}
	var unknown []string
	for name := range declared {
		if !known[name] {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return nil, nil, fmt.Errorf("backend: AI_MODELS names unknown provider(s) %v; known: openai, anthropic, gemini, groq, deepseek, openai-compatible, ollama", unknown)
	}
	return providers, unconfigured, nil
}

// RateLimiter returns the rate limiter that goes with the opened cache: Redis when the cache
// is Redis, so every function instance shares one count, else the in-process limiter.
func RateLimiter(b *Backends) domain.RateLimiter {
	if c, ok := b.Cache.(*redis.Cache); ok {
		return redis.NewRateLimiter(c)
	}
	return memlimit.New()
}

package backend_test

import (
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
)

func cfgOf(t *testing.T, env map[string]string) config.Config {
	t.Helper()
	c, err := config.FromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func names(ps []domain.ChatProvider) string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name())
	}
	return strings.Join(out, ",")
}

func TestProviders(t *testing.T) {
	ps, un, err := backend.Providers(cfgOf(t, nil))
	if err != nil || len(ps) != 0 || len(un) != 7 {
		t.Fatalf("no configuration: %v providers, %v unconfigured, %v", names(ps), un, err)
	}
	if !strings.Contains(un[0].Hint, "OPENAI_API_KEY") {
		t.Fatalf("hint = %+v", un[0])
	}

	ps, un, err = backend.Providers(cfgOf(t, map[string]string{
		"OPENAI_API_KEY": "sk", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g", "GROQ_API_KEY": "q", "DEEPSEEK_API_KEY": "d",
		"OLLAMA_BASE_URL": "http://127.0.0.1:11434/v1",
		"AI_MODELS":       `[{"provider":"ollama","id":"qwen2.5-coder:7b","fim":true},{"provider":"anthropic","id":"claude-x","tier":"strong","input_usd_per_mtok":2}]`,
	}))
	if err != nil {
		t.Fatal(err)
	}
	if got := names(ps); got != "openai,anthropic,gemini,groq,deepseek,ollama" || len(un) != 1 || un[0].Name != "openai-compatible" {
		t.Fatalf("providers %s, unconfigured %+v", got, un)
	}
	// AI_MODELS replaces a provider's defaults.
	if m := ps[1].Models(); len(m) != 1 || m[0].ID != "claude-x" || m[0].InputUSDPerMTok != 2 {
		t.Fatalf("anthropic models = %+v", m)
	}
	if m := ps[0].Models(); len(m) == 0 || m[0].ID != "gpt-4o-mini" {
		t.Fatalf("openai keeps its defaults: %+v", m)
	}

	// A keyless base URL is any OpenAI-compatible server, which needs its models declared.
	ps, _, err = backend.Providers(cfgOf(t, map[string]string{"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1",
		"AI_MODELS": `[{"provider":"openai-compatible","id":"local"}]`}))
	if err != nil || names(ps) != "openai-compatible" {
		t.Fatalf("providers %s, %v", names(ps), err)
	}
	for _, env := range []map[string]string{
		{"OPENAI_BASE_URL": "http://127.0.0.1:8000/v1"},
		{"OLLAMA_BASE_URL": "http://127.0.0.1:11434/v1"},
		{"AI_MODELS": `[{"provider":"mistery","id":"m"}]`},
		{"OPENAI_API_KEY": "sk", "OPENAI_BASE_URL": "not a url"},
	} {
		if _, _, err := backend.Providers(cfgOf(t, env)); err == nil {
			t.Errorf("Providers(%v) accepted a half configuration", env)
		}
	}
}

package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/config"
)

func fromMap(m map[string]string) (config.Config, error) {
	return config.FromEnv(func(k string) string { return m[k] })
}

func TestFromEnv_AI(t *testing.T) {
	c, err := fromMap(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.AIRequestBudgetUSD != 0.5 || c.AIUserDailyBudgetUSD != 5 || c.AIRateLimitAnonymous != 10 || c.AIRateLimitUser != 100 ||
		c.AIRateLimitPro != 1000 || c.AIFirstTokenTimeout != 30*time.Second || c.OpenAIAPIKey != "" || c.AIModels != nil {
		t.Fatalf("defaults = %+v", c)
	}
	c, err = fromMap(map[string]string{
		"OPENAI_API_KEY": "sk-1", "OPENAI_BASE_URL": "http://127.0.0.1:9/v1", "ANTHROPIC_API_KEY": "a", "GEMINI_API_KEY": "g",
		"GROQ_API_KEY": "q", "DEEPSEEK_API_KEY": "d", "OLLAMA_BASE_URL": "http://localhost:11434/v1",
		"AI_MODELS":             `[{"provider":"ollama","id":"qwen2.5-coder:7b","fim":true},{"provider":"openai","id":"gpt-x","tier":"strong","context_tokens":1000,"input_usd_per_mtok":1.5}]`,
		"AI_REQUEST_BUDGET_USD": "0.1", "AI_USER_DAILY_BUDGET_USD": "-1", "AI_RATE_LIMIT_PRO": "5000",
	})
	if err != nil {
		t.Fatal(err)
	}
	if c.OpenAIAPIKey != "sk-1" || c.OpenAIBaseURL != "http://127.0.0.1:9/v1" || c.AnthropicAPIKey != "a" || c.GeminiAPIKey != "g" ||
		c.GroqAPIKey != "q" || c.DeepSeekAPIKey != "d" || c.OllamaBaseURL == "" || c.AIRequestBudgetUSD != 0.1 ||
		c.AIUserDailyBudgetUSD != -1 || c.AIRateLimitPro != 5000 {
		t.Fatalf("config = %+v", c)
	}
	want := []config.AIModel{
		{Provider: "ollama", ID: "qwen2.5-coder:7b", Tier: "fast", ContextTokens: 8192, MaxOutputTokens: 4096, FIM: true},
		{Provider: "openai", ID: "gpt-x", Tier: "strong", ContextTokens: 1000, MaxOutputTokens: 1000, InputUSDPerMTok: 1.5},
	}
	if len(c.AIModels) != 2 || c.AIModels[0] != want[0] || c.AIModels[1] != want[1] {
		t.Fatalf("AIModels = %+v", c.AIModels)
	}
	for env, bad := range map[string]string{
		"AI_MODELS":                `{"provider":"x"}`,
		"AI_REQUEST_BUDGET_USD":    "free",
		"AI_USER_DAILY_BUDGET_USD": "NaN",
		"AI_RATE_LIMIT_USER":       "0",
		"AI_FIRST_TOKEN_TIMEOUT":   "soon",
	} {
		if _, err := fromMap(map[string]string{env: bad}); err == nil || !strings.Contains(err.Error(), env) {
			t.Errorf("%s=%q: err = %v, want one naming the variable", env, bad, err)
		}
	}
	for _, bad := range []string{`[{"id":"m"}]`, `[{"provider":"p","id":"m","tier":"huge"}]`, `[{"provider":"p","id":"m","price":1}]`,
		`[{"provider":"p","id":"m","context_tokens":-1}]`} {
		if _, err := fromMap(map[string]string{"AI_MODELS": bad}); err == nil {
			t.Errorf("AI_MODELS=%s accepted", bad)
		}
	}
}

// Package config reads VibeCode's configuration from the environment, in one place.
//
// Every function, the local stack and the agent call FromEnv; nothing else reads environment
// variables. Unset means the embedded default, so `make run` needs no configuration at all.
package config

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is the whole configuration. The zero value is not usable; call FromEnv.
type Config struct {
	// Host and Port are where the local stack (or a standalone function) listens.
	// HOST (default 127.0.0.1) and PORT (default 8080).
	Host string
	Port int
	// DataDir holds the embedded database, its vector index and generated secrets.
	// VIBECODE_DATA_DIR, default ./.vibecode.
	DataDir string
	// DatabaseURL selects PostgreSQL when set (DATABASE_URL); unset means embedded SQLite.
	DatabaseURL string
	// RedisURL selects Redis as the cache when set (REDIS_URL); unset means an in-process LRU.
	RedisURL string
	// CacheEntries bounds the in-process LRU (VIBECODE_CACHE_ENTRIES, default 10000).
	CacheEntries int
	// JWTSecret signs access tokens (JWT_SECRET). When unset, a random secret is generated once
	// and kept in DataDir; deployed functions must set it (at least 32 bytes).
	JWTSecret string
	// AccessTokenTTL and RefreshTokenTTL (ACCESS_TOKEN_TTL default 15m, REFRESH_TOKEN_TTL default 720h).
	AccessTokenTTL  time.Duration
	RefreshTokenTTL time.Duration
	// BcryptCost is the password hashing cost (BCRYPT_COST, default 10; tests use 4).
	BcryptCost int
	// AdminEmails get the admin role when they sign up (ADMIN_EMAILS, comma-separated).
	AdminEmails []string
	// MaxBodyBytes bounds JSON request bodies (MAX_BODY_BYTES, default 1 MiB).
	MaxBodyBytes int64
	// MaxFileBytes bounds one file upload (MAX_FILE_BYTES, default 10 MiB).
	MaxFileBytes int64
	// LogLevel is debug, info, warn or error (LOG_LEVEL, default info).
	LogLevel slog.Level
	// MaxImportBytes bounds an uploaded project archive (MAX_IMPORT_BYTES, default 200 MiB).
	MaxImportBytes int64

	// Embeddings selects the embedder: "local" (default: no network, no key) or "openai"
	// (OpenAI, or any OpenAI-compatible server via EMBEDDINGS_BASE_URL).
	Embeddings string
	// EmbeddingsModel, EmbeddingsBaseURL and EmbeddingsAPIKey configure the "openai" embedder
	// (EMBEDDINGS_MODEL, EMBEDDINGS_BASE_URL, EMBEDDINGS_API_KEY falling back to OPENAI_API_KEY).
	EmbeddingsModel   string
	EmbeddingsBaseURL string
	EmbeddingsAPIKey  string

	// SQSQueueURL sends index jobs to SQS (SQS_QUEUE_URL); PubSubTopic to Pub/Sub
	// (PUBSUB_TOPIC, in project GOOGLE_CLOUD_PROJECT). Neither: the in-process queue.
	SQSQueueURL   string
	PubSubTopic   string
	PubSubProject string
	// IngestMaxAttempts is how many deliveries an index job gets before it is dead-lettered
	// (INGEST_MAX_ATTEMPTS, default 5); it must match the queue's redrive setting.
	IngestMaxAttempts int
	// IngestWorkers is the in-process queue's concurrency (INGEST_WORKERS, default 2).
	IngestWorkers int

	// AI providers (the ai function). A provider without its key is not configured; with none
	// configured the AI endpoints answer 503 saying how to configure one. OPENAI_BASE_URL points
	// the openai provider at a proxy or, without OPENAI_API_KEY, names any OpenAI-compatible
	// server ("openai-compatible", models from AI_MODELS); OLLAMA_BASE_URL likewise for Ollama.
	OpenAIAPIKey, OpenAIBaseURL       string
	AnthropicAPIKey, AnthropicBaseURL string
	GeminiAPIKey, GeminiBaseURL       string
	GroqAPIKey, DeepSeekAPIKey        string
	OllamaBaseURL                     string
	// AIModels declares models, or overrides a provider's default models and prices
	// (AI_MODELS, a JSON array; see AIModel).
	AIModels []AIModel
	// AIRequestBudgetUSD is the most one AI request may cost (AI_REQUEST_BUDGET_USD, default
	// 0.50); AIUserDailyBudgetUSD what one user may spend per UTC day (AI_USER_DAILY_BUDGET_USD,
	// default 5; negative: no budget).
	AIRequestBudgetUSD   float64
	AIUserDailyBudgetUSD float64
	// AI requests per minute per caller: anonymous by address, users, and pro (admin and
	// service accounts) (AI_RATE_LIMIT_ANONYMOUS 10, AI_RATE_LIMIT_USER 100, AI_RATE_LIMIT_PRO 1000).
	AIRateLimitAnonymous, AIRateLimitUser, AIRateLimitPro int
	// AIFirstTokenTimeout is how long a provider may take to start answering before the
	// gateway falls back to the next (AI_FIRST_TOKEN_TIMEOUT, default 30s).
	AIFirstTokenTimeout time.Duration

	// Lifecycle configures workspace VMs (see lifecycle.go).
	Lifecycle Lifecycle
}

// Addr returns Host:Port.
func (c Config) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.Port))
}

// FromEnv builds a Config from getenv (os.Getenv in production, a map in tests) and reports
// every invalid variable at once, naming it.
func FromEnv(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		Host:            p.str("HOST", "127.0.0.1"),
		Port:            p.int("PORT", 8080),
		DataDir:         p.str("VIBECODE_DATA_DIR", ".vibecode"),
		DatabaseURL:     p.str("DATABASE_URL", ""),
		RedisURL:        p.str("REDIS_URL", ""),
		CacheEntries:    p.int("VIBECODE_CACHE_ENTRIES", 10000),
		JWTSecret:       p.str("JWT_SECRET", ""),
		AccessTokenTTL:  p.duration("ACCESS_TOKEN_TTL", 15*time.Minute),
		RefreshTokenTTL: p.duration("REFRESH_TOKEN_TTL", 30*24*time.Hour),
		BcryptCost:      p.int("BCRYPT_COST", 10),
		AdminEmails:     p.list("ADMIN_EMAILS"),
		MaxBodyBytes:    int64(p.int("MAX_BODY_BYTES", 1<<20)),
		MaxFileBytes:    int64(p.int("MAX_FILE_BYTES", 10<<20)),
		LogLevel:        p.level("LOG_LEVEL", slog.LevelInfo),
		MaxImportBytes:  int64(p.int("MAX_IMPORT_BYTES", 200<<20)),

		Embeddings:        p.str("EMBEDDINGS", "local"),
		EmbeddingsModel:   p.str("EMBEDDINGS_MODEL", ""),
		EmbeddingsBaseURL: p.str("EMBEDDINGS_BASE_URL", ""),
		EmbeddingsAPIKey:  p.str("EMBEDDINGS_API_KEY", p.str("OPENAI_API_KEY", "")),

		SQSQueueURL:       p.str("SQS_QUEUE_URL", ""),
		PubSubTopic:       p.str("PUBSUB_TOPIC", ""),
		PubSubProject:     p.str("GOOGLE_CLOUD_PROJECT", ""),
		IngestMaxAttempts: p.int("INGEST_MAX_ATTEMPTS", 5),
		IngestWorkers:     p.int("INGEST_WORKERS", 2),
	}
	switch c.Embeddings {
	case "local":
	case "openai":
		if c.EmbeddingsAPIKey == "" && c.EmbeddingsBaseURL == "" {
			p.fail("EMBEDDINGS", "is openai but neither EMBEDDINGS_API_KEY/OPENAI_API_KEY nor EMBEDDINGS_BASE_URL is set")
		}
	default:
		p.fail("EMBEDDINGS", fmt.Sprintf("must be local or openai, not %q", c.Embeddings))
	}
	if c.PubSubTopic != "" && c.PubSubProject == "" {
		p.fail("PUBSUB_TOPIC", "needs GOOGLE_CLOUD_PROJECT")
	}
	if c.SQSQueueURL != "" && c.PubSubTopic != "" {
		p.fail("SQS_QUEUE_URL", "and PUBSUB_TOPIC are both set; choose one queue")
	}
	if c.IngestMaxAttempts < 1 || c.IngestWorkers < 1 {
		p.fail("INGEST_MAX_ATTEMPTS", "and INGEST_WORKERS must be at least 1")
	}
	if c.MaxImportBytes <= 0 {
		p.fail("MAX_IMPORT_BYTES", "must be positive")
	}
	if c.Port < 0 || c.Port > 65535 {
		p.fail("PORT", "must be between 0 and 65535")
	}
	if c.BcryptCost < 4 || c.BcryptCost > 31 {
		p.fail("BCRYPT_COST", "must be between 4 and 31")
	}
	if c.JWTSecret != "" && len(c.JWTSecret) < 32 {
		p.fail("JWT_SECRET", "must be at least 32 bytes")
	}
	if c.MaxBodyBytes <= 0 {
		p.fail("MAX_BODY_BYTES", "must be positive")
	}
	if c.MaxFileBytes <= 0 {
		p.fail("MAX_FILE_BYTES", "must be positive")
	}
	if c.CacheEntries <= 0 {
		p.fail("VIBECODE_CACHE_ENTRIES", "must be positive")
	}
	if abs, err := filepath.Abs(c.DataDir); err == nil {
		c.DataDir = abs
	}
	c.OpenAIAPIKey, c.OpenAIBaseURL = p.str("OPENAI_API_KEY", ""), p.str("OPENAI_BASE_URL", "")
	c.AnthropicAPIKey, c.AnthropicBaseURL = p.str("ANTHROPIC_API_KEY", ""), p.str("ANTHROPIC_BASE_URL", "")
	c.GeminiAPIKey, c.GeminiBaseURL = p.str("GEMINI_API_KEY", ""), p.str("GEMINI_BASE_URL", "")
	c.GroqAPIKey, c.DeepSeekAPIKey = p.str("GROQ_API_KEY", ""), p.str("DEEPSEEK_API_KEY", "")
	c.OllamaBaseURL = p.str("OLLAMA_BASE_URL", "")
	c.AIModels = p.aiModels("AI_MODELS")
	c.AIRequestBudgetUSD = p.float("AI_REQUEST_BUDGET_USD", 0.50)
	c.AIUserDailyBudgetUSD = p.float("AI_USER_DAILY_BUDGET_USD", 5)
	c.AIRateLimitAnonymous = p.int("AI_RATE_LIMIT_ANONYMOUS", 10)
	c.AIRateLimitUser = p.int("AI_RATE_LIMIT_USER", 100)
	c.AIRateLimitPro = p.int("AI_RATE_LIMIT_PRO", 1000)
	c.AIFirstTokenTimeout = p.duration("AI_FIRST_TOKEN_TIMEOUT", 30*time.Second)
	if c.AIRequestBudgetUSD <= 0 {
		p.fail("AI_REQUEST_BUDGET_USD", "must be positive")
	}
	if c.AIRateLimitAnonymous < 1 || c.AIRateLimitUser < 1 || c.AIRateLimitPro < 1 {
		p.fail("AI_RATE_LIMIT_ANONYMOUS", "AI_RATE_LIMIT_USER and AI_RATE_LIMIT_PRO must be at least 1")
	}
	c.Lifecycle = p.lifecycle(c)
	if len(p.errs) > 0 {
		return Config{}, fmt.Errorf("config: %s", strings.Join(p.errs, "; "))
	}
	return c, nil
}

type parser struct {
	getenv func(string) string
	errs   []string
}

func (p *parser) fail(name, msg string) { p.errs = append(p.errs, name+" "+msg) }

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) int(name string, def int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail(name, fmt.Sprintf("is not a whole number: %q", v))
		return def
	}
	return n
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(name, fmt.Sprintf("is not a positive duration like 15m: %q", v))
		return def
	}
	return d
}

func (p *parser) list(name string) []string {
	var out []string
	for _, s := range strings.Split(p.getenv(name), ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) level(name string, def slog.Level) slog.Level {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	var l slog.Level
	if err := l.UnmarshalText([]byte(v)); err != nil {
		p.fail(name, fmt.Sprintf("is not one of debug, info, warn, error: %q", v))
		return def
	}
	return l
}

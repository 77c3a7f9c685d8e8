// Command ai is the ai function: streamed chat, inline completion, the code workflows and
// RAG chat over a workspace, through one gateway over every configured AI provider. Like
// every HTTP function it runs on Lambda, Cloud Functions or as a plain server; shared/host
// picks by the environment. On AWS its streaming routes are served through the function's
// Function URL (response streaming), since an API Gateway HTTP API buffers responses.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
	"github.com/vibecode/vibecode/shared/httpapi"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "ai:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	h, closeFn, err := newHandler(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	return host.Serve(ctx, "ai", h, cfg, log)
}

// newHandler wires the function: backends and embedder from the configuration, then the AI
// API over them (providers, gateway and rate limiter are chosen by NewAIFromConfig).
func newHandler(ctx context.Context, cfg config.Config, log *slog.Logger) (http.Handler, func() error, error) {
	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	embedder, err := backend.Embedder(cfg)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	h, err := httpapi.NewAIFromConfig(b, embedder, cfg, log, httpapi.Options{})
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	return h, b.Close, nil
}

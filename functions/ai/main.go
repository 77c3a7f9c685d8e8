// Command ai is the ai function: streamed chat, inline completion, the code workflows and
// RAG chat over a workspace, through one gateway over every configured AI provider. Like
// every HTTP function it runs on Lambda, Cloud Functions or as a plain server; shared/host
// picks by the environment. On AWS its streaming routes are served through the function's
// Function URL (response streaming), since an API Gateway HTTP API buffers responses.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
	"github.com/vibecode/vibecode/shared/httpapi"
)

func main() { host.Main("ai", newHandler) }

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

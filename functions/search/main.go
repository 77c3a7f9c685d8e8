// Command search is the search function: semantic code search over a workspace and the
// state of its index. Like every HTTP function it runs on Lambda, Cloud Functions or as a
// plain server; shared/host picks by the environment.
package main

import (
	"context"
	"log/slog"
	"net/http"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/search"
)

func main() { host.Main("search", newHandler) }

// newHandler wires the function: backends and embedder from the configuration, then the
// search API over them.
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
	h, err := httpapi.NewSearchFromConfig(b, search.New(b.Store, embedder, b.Cache, log), cfg, log, httpapi.Options{})
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	return h, b.Close, nil
}

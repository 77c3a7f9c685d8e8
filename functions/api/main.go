// Command api is the api function: users, auth, workspaces, projects and files. The same
// binary runs as an AWS Lambda (provided.al2023, behind an API Gateway HTTP API), a Cloud
// Function, or a plain HTTP server; shared/host picks by the environment it finds.
package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
	"github.com/vibecode/vibecode/shared/httpapi"
)

func main() { host.Main("api", newHandler) }

// newHandler wires the function: backends from the configuration, the producer side of
// ingestion (SQS or Pub/Sub when configured, else an in-process queue and consumer), then
// the API over them.
func newHandler(ctx context.Context, cfg config.Config, log *slog.Logger) (http.Handler, func() error, error) {
	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	ing, stopIngest, err := backend.Ingestion(ctx, b, cfg, log)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	api, err := httpapi.NewFromConfig(b, cfg, log, httpapi.Options{OnFileChange: ing.FilesChanged})
	if err != nil {
		_ = stopIngest()
		_ = b.Close()
		return nil, nil, err
	}
	return api, func() error { return errors.Join(stopIngest(), b.Close()) }, nil
}

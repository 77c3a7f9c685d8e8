// Command infra is VibeCode's local stack: every function's handler behind one gateway that
// routes exactly as template.yaml routes them, on one port, over the embedded defaults (or
// PostgreSQL and Redis when DATABASE_URL and REDIS_URL are set). `make run` starts it.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/vibecode/vibecode/infra/gateway"
	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/search"
	"github.com/vibecode/vibecode/web"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "vibecode:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	tmpl, err := findTemplate(getenv("VIBECODE_TEMPLATE"))
	if err != nil {
		return err
	}
	h, closeFn, err := newStack(ctx, cfg, tmpl, log)
	if err != nil {
		return err
	}
	defer closeFn()
	fmt.Printf("VibeCode is running at http://%s/ (data in %s)\n", cfg.Addr(), cfg.DataDir)
	return host.ListenAndServe(ctx, cfg.Addr(), h, log)
}

// newStack builds the local stack's handler: the functions' handlers behind the gateway
// built from the template, and the embedded web IDE at / (every path outside /api/).
func newStack(ctx context.Context, cfg config.Config, templatePath string, log *slog.Logger) (http.Handler, func() error, error) {
	tmpl, err := os.ReadFile(templatePath)
	if err != nil {
		return nil, nil, fmt.Errorf("read template: %w", err)
	}
	routes, err := gateway.ParseTemplate(tmpl)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", templatePath, err)
	}
	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	fail := func(err error) (http.Handler, func() error, error) {
		_ = b.Close()
		return nil, nil, err
	}
	embedder, err := backend.Embedder(cfg)
	if err != nil {
		return fail(err)
	}
	// Ingestion runs in process: the API's file changes go to an in-memory queue whose
	// consumer is the same ingest service the IngestFunction runs in the cloud.
	ing, stopIngest, err := backend.Ingestion(ctx, b, cfg, log)
	if err != nil {
		return fail(err)
	}
	api, err := httpapi.NewFromConfig(b, cfg, log, httpapi.Options{OnFileChange: ing.FilesChanged})
	if err != nil {
		return fail(err)
	}
	searchAPI, err := httpapi.NewSearchFromConfig(b, search.New(b.Store, embedder, b.Cache, log), cfg, log, httpapi.Options{})
	if err != nil {
		return fail(err)
	}
	aiAPI, err := httpapi.NewAIFromConfig(b, embedder, cfg, log, httpapi.Options{})
	if err != nil {
		return fail(err)
	}
	lifecycleAPI, stopLifecycle, err := startLifecycle(b, cfg, log)
	if err != nil {
		return fail(err)
	}
	gw, err := gateway.New(routes, map[string]http.Handler{"ApiFunction": api, "SearchFunction": searchAPI, "AiFunction": aiAPI,
		"LifecycleFunction": lifecycleAPI})
	if err != nil {
		return fail(errors.Join(err, stopLifecycle()))
	}
	mux := http.NewServeMux()
	mux.Handle("/api/", gw)
	mux.Handle("/", web.Handler())
	closeAll := func() error { return errors.Join(stopLifecycle(), stopIngest(), b.Close()) }
	return httpapi.Middleware(log, mux), closeAll, nil
}

// findTemplate returns the template.yaml to route by: the given path, or the first
// template.yaml found walking up from the working directory (so `make run` and tests from a
// package directory both find the repository's).
func findTemplate(path string) (string, error) {
	if path != "" {
		return path, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		p := filepath.Join(dir, "template.yaml")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("template.yaml not found in the working directory or above; set VIBECODE_TEMPLATE")
		}
		dir = parent
	}
}

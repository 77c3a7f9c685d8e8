package host

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/vibecode/vibecode/shared/config"
)

// BuildFunc wires one function's handler from the configuration; the returned func releases
// what it opened.
type BuildFunc func(ctx context.Context, cfg config.Config, log *slog.Logger) (http.Handler, func() error, error)

// Main is the whole main of an HTTP function: it reads the configuration, logs JSON to
// stderr (what Lambda and Cloud Logging ingest), wires the handler with build, serves it
// where the process runs (Serve), and exits 1 with the reason if any step fails. Every
// functions/<name>/main.go is then just its wiring.
func Main(name string, build BuildFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, name, build)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}

func run(ctx context.Context, name string, build BuildFunc) error {
	cfg, err := config.FromEnv(os.Getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel})).With("function", name)
	h, closeFn, err := build(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeFn()
	return Serve(ctx, name, h, cfg, log)
}

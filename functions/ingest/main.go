// Command ingest is the ingestion consumer: it receives index jobs from SQS (as a Lambda
// with an SQS event source and partial batch failure reporting) or from Pub/Sub (as a Cloud
// Function on the topic's CloudEvents), and chunks, embeds and stores each file. On the local
// stack the same service consumes an in-process queue instead.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Getenv); err != nil {
		fmt.Fprintln(os.Stderr, "ingest:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, getenv func(string) string) error {
	cfg, err := config.FromEnv(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: cfg.LogLevel}))
	b, err := backend.Open(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer b.Close()
	svc, err := backend.Consumer(b, cfg, log)
	if err != nil {
		return err
	}
	// Follow-up jobs (a file that changed while it was indexed) go back to the same queue.
	q, closeQ, err := backend.Producer(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeQ()
	if q != nil {
		svc.SetQueue(q)
	}
	return serve(ctx, getenv, cfg, svc.Handle)
}

package backend

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vibecode/vibecode/shared/chunk"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/ingest"
	"github.com/vibecode/vibecode/shared/memqueue"
)

// Consumer returns the ingest service with everything a consumer needs (chunker, embedder);
// it enqueues follow-up jobs on queue, which may be nil on a consumer that cannot enqueue.
func Consumer(b *Backends, cfg config.Config, log *slog.Logger) (*ingest.Service, error) {
	embedder, err := Embedder(cfg)
	if err != nil {
		return nil, err
	}
	return ingest.New(b.Store, chunk.New(chunk.Options{}), embedder, b.Cache, nil,
		ingest.Options{MaxAttempts: cfg.IngestMaxAttempts, Logger: log}), nil
}

// Ingestion returns the ingest service an API uses to report file changes, with its queue:
// the cloud queue cfg names (a separate function consumes it), or else an in-process queue
// whose consumer runs here — what the local stack and a standalone server do. The returned
// func drains the in-process queue (bounded by a timeout) and releases the queue client.
func Ingestion(ctx context.Context, b *Backends, cfg config.Config, log *slog.Logger) (*ingest.Service, func() error, error) {
	q, closeQ, err := Producer(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	if q != nil {
		svc := ingest.New(b.Store, nil, nil, b.Cache, q, ingest.Options{MaxAttempts: cfg.IngestMaxAttempts, Logger: log})
		return svc, closeQ, nil
	}
	svc, err := Consumer(b, cfg, log)
	if err != nil {
		return nil, nil, err
	}
	mq := memqueue.New(svc.Handle, memqueue.Options{Workers: cfg.IngestWorkers, MaxAttempts: cfg.IngestMaxAttempts, Logger: log})
	svc.SetQueue(mq)
	stop := func() error {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return errors.Join(mq.Close(ctx), closeQ())
	}
	return svc, stop, nil
}

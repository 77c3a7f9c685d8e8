package main

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/lifecycle/providers"
	"github.com/vibecode/vibecode/shared/ticket"
)

// startLifecycle builds the lifecycle function's handler over the VM provider cfg selects
// (local agent processes by default) and runs its sweeper in process every
// cfg.Lifecycle.SweepInterval, as the Schedule event does in the cloud. The returned function
// stops the sweeper, then the agents the local provider started.
func startLifecycle(b *backend.Backends, cfg config.Config, log *slog.Logger) (*httpapi.LifecycleAPI, func() error, error) {
	if cfg.Lifecycle.TicketPrivateKey == "" && cfg.DatabaseURL != "" {
		// The deployed function requires TICKET_PRIVATE_KEY with PostgreSQL, because many
		// instances must sign alike. Here one process signs every ticket and stops its agents
		// when it exits, so a key of its own will do.
		_, priv, err := ticket.GenerateKey()
		if err != nil {
			return nil, nil, err
		}
		cfg.Lifecycle.TicketPrivateKey = ticket.EncodePrivateKey(priv)
	}
	ctx, cancel := context.WithCancel(context.Background())
	prov, closeProv, err := providers.FromConfig(ctx, cfg, b.Store, log)
	if err != nil {
		cancel()
		return nil, nil, err
	}
	api, err := httpapi.NewLifecycleFromConfig(b, prov, cfg, log, httpapi.Options{})
	if err != nil {
		cancel()
		return nil, nil, errors.Join(err, closeProv())
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sweepEvery(ctx, api.Service(), cfg.Lifecycle.SweepInterval, log)
	}()
	return api, func() error {
		cancel()
		<-done
		return closeProv()
	}, nil
}

// sweepEvery runs the sweeper every interval until ctx is done.
func sweepEvery(ctx context.Context, svc *lifecycle.Service, interval time.Duration, log *slog.Logger) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rep, err := svc.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("sweep failed", "err", err)
		case rep.Stopped > 0 || rep.Failed > 0:
			log.Info("sweep", "due", rep.Due, "stopped", rep.Stopped, "failed", rep.Failed, "reasons", rep.Reasons, "db_ms", rep.DBMS)
		}
	}
}

package httpapi

import (
	"crypto/ed25519"
	"errors"
	"log/slog"

	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
	"github.com/vibecode/vibecode/shared/ticket"
)

// TicketKey returns the key that signs agent tickets: TICKET_PRIVATE_KEY, or for the
// embedded default a key pair generated once and kept in the data dir (the local agents read
// its public half from there too). A shared database without TICKET_PRIVATE_KEY is an error:
// every function instance must sign with the same key.
func TicketKey(cfg config.Config) (ed25519.PrivateKey, error) {
	if cfg.Lifecycle.TicketPrivateKey != "" {
		return ticket.DecodePrivateKey(cfg.Lifecycle.TicketPrivateKey)
	}
	if cfg.DatabaseURL != "" {
		return nil, errors.New("httpapi: TICKET_PRIVATE_KEY is required when DATABASE_URL is set")
	}
	_, priv, err := ticket.LoadOrCreateKeyFiles(cfg.DataDir)
	return priv, err
}

// LifecycleOptions returns the lifecycle service options cfg describes.
func LifecycleOptions(cfg config.Config, key ed25519.PrivateKey, opts Options) lifecycle.Options {
	l := cfg.Lifecycle
	return lifecycle.Options{
		IdleTimeout:         l.IdleTimeout,
		NoClientsTimeout:    l.NoClientsTimeout,
		KeepaliveMax:        l.KeepaliveMax,
		StopWarning:         l.StopWarning,
		HeartbeatInterval:   l.HeartbeatInterval,
		AgentLostAfter:      l.AgentLostAfter,
		StartTimeout:        l.StartTimeout,
		StopTimeout:         l.StopTimeout,
		ControlPlaneURL:     l.ControlPlaneURL,
		AgentAllowedOrigins: l.AgentAllowedOrigins,
		TicketKey:           key,
		Now:                 opts.Now,
	}
}

// NewLifecycleFromConfig assembles the lifecycle function over opened backends and the VM
// provider cfg selects (the caller opens it: cloud SDKs stay out of the other functions).
func NewLifecycleFromConfig(b *backend.Backends, provider domain.VMProvider, cfg config.Config, log *slog.Logger, opts Options) (*LifecycleAPI, error) {
	authSvc, err := authFromConfig(b, cfg, opts)
	if err != nil {
		return nil, err
	}
	key, err := TicketKey(cfg)
	if err != nil {
		return nil, err
	}
	svc, err := lifecycle.New(b.Store, provider, log, LifecycleOptions(cfg, key, opts))
	if err != nil {
		return nil, err
	}
	return NewLifecycle(b.Store, b.Cache, authSvc, svc, log, withLimits(opts, cfg)), nil
}

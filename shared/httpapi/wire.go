package httpapi

import (
	"log/slog"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
)

// NewFromConfig assembles the API over opened backends as cfg describes. The api function's
// main and the local stack both call it, so the deployed function and `make run` are built
// the same way; opts carries what only the caller knows (the file-change hook).
func NewFromConfig(b *backend.Backends, cfg config.Config, log *slog.Logger, opts Options) (*API, error) {
	authSvc, err := auth.New(b.Store, auth.Options{
		Secret:      b.JWTSecret,
		AccessTTL:   cfg.AccessTokenTTL,
		RefreshTTL:  cfg.RefreshTokenTTL,
		BcryptCost:  cfg.BcryptCost,
		AdminEmails: cfg.AdminEmails,
		Now:         opts.Now,
	})
	if err != nil {
		return nil, err
	}
	opts.MaxBodyBytes, opts.MaxFileBytes = cfg.MaxBodyBytes, cfg.MaxFileBytes
	return New(b.Store, b.Cache, authSvc, log, opts), nil
}

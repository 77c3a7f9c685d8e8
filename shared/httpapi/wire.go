package httpapi

import (
	"log/slog"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/backend"
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/search"
)

// authFromConfig builds the auth service every function authenticates with.
func authFromConfig(b *backend.Backends, cfg config.Config, opts Options) (*auth.Service, error) {
	return auth.New(b.Store, auth.Options{
		Secret:      b.JWTSecret,
		AccessTTL:   cfg.AccessTokenTTL,
		RefreshTTL:  cfg.RefreshTokenTTL,
		BcryptCost:  cfg.BcryptCost,
		AdminEmails: cfg.AdminEmails,
		Now:         opts.Now,
	})
}

func withLimits(opts Options, cfg config.Config) Options {
	opts.MaxBodyBytes, opts.MaxFileBytes, opts.MaxImportBytes = cfg.MaxBodyBytes, cfg.MaxFileBytes, cfg.MaxImportBytes
	return opts
}

// NewFromConfig assembles the api function over opened backends as cfg describes. The
// function's main and the local stack both call it, so the deployed function and `make run`
// are built the same way; opts carries what only the caller knows (the file-change hook).
func NewFromConfig(b *backend.Backends, cfg config.Config, log *slog.Logger, opts Options) (*API, error) {
	authSvc, err := authFromConfig(b, cfg, opts)
	if err != nil {
		return nil, err
	}
	return New(b.Store, b.Cache, authSvc, log, withLimits(opts, cfg)), nil
}

// NewSearchFromConfig assembles the search function the same way.
func NewSearchFromConfig(b *backend.Backends, searchSvc *search.Service, cfg config.Config, log *slog.Logger, opts Options) (*SearchAPI, error) {
	authSvc, err := authFromConfig(b, cfg, opts)
	if err != nil {
		return nil, err
	}
	return NewSearch(b.Store, b.Cache, authSvc, searchSvc, log, withLimits(opts, cfg)), nil
}

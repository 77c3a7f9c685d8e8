// Package backend opens the database and cache that the configuration selects: PostgreSQL
// and Redis when DATABASE_URL and REDIS_URL are set, else the embedded SQLite store and an
// in-process LRU under the data dir. It is the part of wiring every entry point shares, so
// that the choice is made the same way everywhere.
package backend

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/postgres"
	"github.com/vibecode/vibecode/shared/redis"
)

// Backends are the opened dependencies. Close releases them.
type Backends struct {
	Store domain.Store
	Cache domain.Cache
	// JWTSecret is the configured secret, or the one generated and kept in the data dir.
	JWTSecret []byte
	closers   []func() error
}

// Close closes the cache and the store.
func (b *Backends) Close() error {
	var errs []error
	for i := len(b.closers) - 1; i >= 0; i-- {
		errs = append(errs, b.closers[i]())
	}
	return errors.Join(errs...)
}

// Open opens the backends cfg selects and logs which ones.
func Open(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *Backends, err error) {
	b := &Backends{}
	defer func() {
		if err != nil {
			_ = b.Close()
		}
	}()
	if cfg.DatabaseURL != "" {
		s, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return nil, err
		}
		b.Store, b.closers = s, append(b.closers, s.Close)
		log.Info("database: postgres")
	} else {
		s, err := openEmbedded(ctx, cfg.DataDir)
		if err != nil {
			return nil, err
		}
		b.Store, b.closers = s, append(b.closers, s.Close)
		log.Info("database: embedded sqlite", "dir", cfg.DataDir)
	}
	if cfg.RedisURL != "" {
		c, err := redis.New(ctx, cfg.RedisURL)
		if err != nil {
			return nil, err
		}
		b.Cache, b.closers = c, append(b.closers, c.Close)
		log.Info("cache: redis")
	} else {
		b.Cache = lru.New(cfg.CacheEntries)
		log.Info("cache: in-process LRU", "entries", cfg.CacheEntries)
	}
	b.JWTSecret, err = jwtSecret(cfg)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// jwtSecret returns JWT_SECRET, or for the embedded default a secret generated once and kept
// in the data dir so tokens survive restarts. A shared database without JWT_SECRET is an
// error: every function instance must sign with the same key.
func jwtSecret(cfg config.Config) ([]byte, error) {
	if cfg.JWTSecret != "" {
		return []byte(cfg.JWTSecret), nil
	}
	if cfg.DatabaseURL != "" {
		return nil, errors.New("backend: JWT_SECRET is required when DATABASE_URL is set")
	}
	path := filepath.Join(cfg.DataDir, "jwt-secret")
	if b, err := os.ReadFile(path); err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("backend: read %s: %w", path, err)
	}
	var raw [32]byte
	_, _ = rand.Read(raw[:])
	secret := hex.EncodeToString(raw[:])
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("backend: create data dir: %w", err)
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("backend: write %s: %w", path, err)
	}
	return []byte(secret), nil
}

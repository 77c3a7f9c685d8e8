// Package postgres implements domain.Store on PostgreSQL with pgvector, the cloud backend.
//
// One pgx connection pool serves every call; the schema lives in versioned SQL migrations
// (migrations/) that Open applies with goose under an advisory lock, so any number of
// processes may start at once against a fresh database. Database errors are mapped to the
// domain's codes here (unique violation → ECONFLICT, no rows → ENOTFOUND) so callers never
// see a driver error type.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	pgxvec "github.com/pgvector/pgvector-go/pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Store = (*Store)(nil)

// Store is the PostgreSQL implementation of domain.Store. It is safe for concurrent use;
// every method runs on a pooled connection, and multi-statement operations run in one
// transaction.
type Store struct {
	pool *pgxpool.Pool

	statsMu sync.Mutex
	stats   *termStats // the planner's lexeme statistics, for SearchChunksText; nil until read

	// textBudget is SearchChunksText's posting budget; tests set it lower than
	// textPostingBudget.
	textBudget int64
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Open connects to the database at dsn (a postgres:// URL or key=value string; pool settings
// such as pool_max_conns go in it too), brings the schema up to date and returns the store.
// Migrating on open means a new version of the code can never run against an old schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: cannot parse dsn: %w", err)
	}
	// Migrate before the pool exists: the pool registers the vector type on every new
	// connection, and on a fresh database that type only exists once the first migration
	// has created the extension.
	if err := migrate(ctx, cfg.ConnConfig.Copy()); err != nil {
		return nil, err
	}
	cfg.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		return pgxvec.RegisterTypes(ctx, conn)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: cannot create pool: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: cannot connect: %w", err)
	}
	return &Store{pool: pool, textBudget: textPostingBudget}, nil
}

// migrate applies the embedded migrations that the database has not seen yet. A session
// advisory lock serialises concurrent callers: the first migrates, the others wait and then
// find nothing to do.
func migrate(ctx context.Context, cc *pgx.ConnConfig) error {
	db := stdlib.OpenDB(*cc)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("postgres: cannot connect: %w", err)
	}
	fsys, err := fs.Sub(migrationFiles, "migrations")
	if err != nil {
		return fmt.Errorf("postgres: cannot read migrations: %w", err)
	}
	// Poll for the lock every second (goose's default is every 5 s) for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("postgres: cannot create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, fsys,
		goose.WithSessionLocker(locker),
		// Go migrations registered globally by other packages in the binary are not ours.
		goose.WithDisableGlobalRegistry(true),
		goose.WithGoMigrations(backfillMigration),
	)
	if err != nil {
		return fmt.Errorf("postgres: cannot load migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("postgres: cannot migrate: %w", err)
	}
	return nil
}

// Ping checks that the database answers; readiness probes call it.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes the pool, waiting for connections in use to be returned. Nothing is buffered,
// so there is nothing to flush.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction, committing if it returns nil and rolling back otherwise.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// conflictMessages are the user-facing messages for unique violations, by constraint.
var conflictMessages = map[string]string{
	"users_pkey":                     "user already exists",
	"users_email_key":                "email is already registered",
	"sessions_pkey":                  "session already exists",
	"refresh_tokens_pkey":            "refresh token already exists",
	"api_keys_pkey":                  "API key already exists",
	"api_keys_hash_key":              "API key already exists",
	"workspaces_pkey":                "workspace already exists",
	"projects_pkey":                  "project already exists",
	"projects_workspace_id_name_key": "a project with that name already exists in this workspace",
	"files_pkey":                     "file already exists",
	"rag_chunks_pkey":                "chunk already exists",
	"index_state_pkey":               "index state already exists",
	"ai_requests_pkey":               "AI request already recorded",
}

// wrapErr translates err into the domain's vocabulary: no rows is ENOTFOUND (what names the
// missing thing), a unique violation ECONFLICT, a foreign-key violation ENOTFOUND for the
// referenced row, a check or data violation EINVALID. Anything else is wrapped with op for
// the log and surfaces as EINTERNAL.
func wrapErr(err error, op, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505": // unique_violation
			msg, ok := conflictMessages[pgErr.ConstraintName]
			if !ok {
				msg = what + " already exists"
			}
			return domain.Errorf(domain.ECONFLICT, "%s", msg)
		case pgErr.Code == "23503": // foreign_key_violation
			return domain.Errorf(domain.ENOTFOUND, "%s not found", referenced(pgErr.ConstraintName))
		case pgErr.Code == "23514" || strings.HasPrefix(pgErr.Code, "22"): // check_violation, data exceptions
			return domain.Errorf(domain.EINVALID, "invalid %s: %s", what, pgErr.Message)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// referenced names the row a foreign-key constraint points at, from its default name
// (<table>_<column>_fkey).
func referenced(constraint string) string {
	switch {
	case strings.HasSuffix(constraint, "_workspace_id_fkey"):
		return "workspace"
	case strings.HasSuffix(constraint, "_session_id_fkey"):
		return "session"
	case strings.HasSuffix(constraint, "_user_id_fkey"), strings.HasSuffix(constraint, "_owner_id_fkey"):
		return "user"
	default:
		return "referenced record"
	}
}

// notFoundIfNone returns ENOTFOUND when a write matched no row.
func notFoundIfNone(tag pgconn.CommandTag, what string) error {
	if tag.RowsAffected() == 0 {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	return nil
}

// utcPtr returns t in UTC, keeping nil as nil. PostgreSQL returns timestamptz in the
// session's zone; the domain always speaks UTC.
func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

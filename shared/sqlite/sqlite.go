// Package sqlite is the embedded domain.Store: one SQLite file in the data directory, so that
// `make run` needs no external services.
//
// It uses the pure-Go modernc.org/sqlite driver (no cgo) through database/sql. SQLite allows one
// writer at a time, so the store keeps two pools: a single write connection whose transactions
// take the write lock up front (BEGIN IMMEDIATE), and a pool of read-only connections that WAL
// lets run alongside the writer. Semantic and full-text search run over in-process indexes
// (vectorIndex, textIndex) that are rebuilt from the database on Open, so the database file
// stays the only thing persisted.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/vibecode/vibecode/shared/domain"
)

var _ domain.Store = (*Store)(nil)

// FileName is the name of the database file inside the data directory, exported so that
// backups and tooling can find it without repeating the string.
const FileName = "vibecode.db"

// busyTimeout is how long a connection waits for a lock held by another process (the CLI, a
// second server by mistake) before failing with SQLITE_BUSY. Within one process the write pool
// already serialises writers, so this only matters across processes.
const busyTimeout = 10 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the SQLite implementation of domain.Store. It is safe for concurrent use.
type Store struct {
	wdb *sql.DB // exactly one connection; every transaction is BEGIN IMMEDIATE
	rdb *sql.DB // read-only connections

	// chunkMu orders the database change and the following index update of every operation
	// that removes or adds chunks, so the index applies them in commit order.
	chunkMu sync.Mutex
	index   *vectorIndex
	text    *textIndex

	closeOnce sync.Once
	closeErr  error
}

// Open opens (creating if needed) the database in dir, brings its schema up to date and loads
// the vector index. The caller must Close the store.
func Open(ctx context.Context, dir string) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data dir: %w", err)
	}
	abs, err := filepath.Abs(filepath.Join(dir, FileName))
	if err != nil {
		return nil, fmt.Errorf("sqlite: resolve path: %w", err)
	}
	s := &Store{index: newVectorIndex(domain.EmbeddingDims), text: newTextIndex()}

	// The writer is opened first: its DSN switches the file to WAL, which the readers rely on.
	s.wdb, err = sql.Open("sqlite", dsn(abs, false))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	s.wdb.SetMaxOpenConns(1)
	s.wdb.SetMaxIdleConns(1)
	s.wdb.SetConnMaxLifetime(0)
	s.wdb.SetConnMaxIdleTime(0)
	if err := s.wdb.PingContext(ctx); err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", abs, err)
	}
	if err := migrate(ctx, s.wdb); err != nil {
		s.wdb.Close()
		return nil, err
	}

	s.rdb, err = sql.Open("sqlite", dsn(abs, true))
	if err != nil {
		s.wdb.Close()
		return nil, fmt.Errorf("sqlite: open: %w", err)
	}
	readers := max(4, runtime.GOMAXPROCS(0))
	s.rdb.SetMaxOpenConns(readers)
	s.rdb.SetMaxIdleConns(readers)
	s.rdb.SetConnMaxIdleTime(5 * time.Minute)

	if err := s.loadIndex(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// dsn returns the modernc.org/sqlite data source name for the database at path. The pragmas
// are DSN parameters, not statements run after Open, because database/sql opens connections
// lazily and the driver applies DSN pragmas to every new connection of the pool.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)")
	if readOnly {
		// Applied after the other pragmas by the driver, so it cannot block them.
		q.Set("_query_only", "1")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	// A file: URI with an escaped path, so a '?' or '#' in the directory cannot be mistaken
	// for the start of the parameters.
	u := url.URL{Scheme: "file", Path: filepath.ToSlash(path), RawQuery: q.Encode()}
	return u.String()
}

// migrate applies the embedded migrations that the database has not seen yet.
func migrate(ctx context.Context, db *sql.DB) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, db, fsys,
		goose.WithDisableGlobalRegistry(true), // other packages' Go migrations are not ours
		goose.WithGoMigrations(backfillMigration),
		goose.WithLogger(goose.NopLogger()))
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// Ping checks that both pools answer.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.rdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	if err := s.wdb.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close closes the connections; the last one to close checkpoints the WAL into the database
// file. The vector index needs no flushing: it is rebuilt from the database on Open. Calling
// Close again returns the first result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		var errs []error
		if s.rdb != nil {
			errs = append(errs, s.rdb.Close())
		}
		errs = append(errs, s.wdb.Close())
		if err := errors.Join(errs...); err != nil {
			s.closeErr = fmt.Errorf("sqlite: close: %w", err)
		}
	})
	return s.closeErr
}

// write runs fn in a write transaction and commits it. The write pool has one connection and
// begins with BEGIN IMMEDIATE, so fn's reads and writes see no concurrent writer and can never
// fail with SQLITE_BUSY half-way. fn must not use s.wdb itself (it would wait for itself).
func (s *Store) write(ctx context.Context, op string, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: %s: begin: %w", op, err)
	}
	defer tx.Rollback() // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: %s: commit: %w", op, err)
	}
	return nil
}

// execOne runs a single-statement write and returns ENOTFOUND (naming what) when it changed
// no row.
func (s *Store) execOne(ctx context.Context, op, what, query string, args ...any) error {
	res, err := s.wdb.ExecContext(ctx, query, args...)
	if err != nil {
		return dbErr(op, what, err)
	}
	return mustAffect(op, what, res)
}

// mustAffect returns ENOTFOUND (naming what) unless res changed at least one row.
func mustAffect(op, what string, res sql.Result) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	if n == 0 {
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	}
	return nil
}

// dbErr translates a database error into the domain vocabulary. what names the record in
// user-facing messages, e.g. `project "app"`. Errors that are already domain errors pass
// through; anything unexpected is wrapped for the log and surfaces as EINTERNAL.
func dbErr(op, what string, err error) error {
	var de *domain.Error
	var se *sqlite.Error
	switch {
	case err == nil:
		return nil
	case errors.As(err, &de):
		return err
	case errors.Is(err, sql.ErrNoRows):
		return domain.Errorf(domain.ENOTFOUND, "%s not found", what)
	case errors.As(err, &se):
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return domain.Errorf(domain.ECONFLICT, "%s already exists", what)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return domain.Errorf(domain.ENOTFOUND, "%s refers to a user, session or workspace that does not exist", what)
		case sqlite3.SQLITE_CONSTRAINT_CHECK:
			return domain.Errorf(domain.EINVALID, "%s has an invalid field value", what)
		}
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// timeLayout is how times are stored: UTC, fixed width, nanosecond precision. Fixed width makes
// text order equal time order (for years 0001–9999), so ORDER BY and range filters work on the
// text, and the zero time.Time round-trips too.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

// ts formats t for storage.
func ts(t time.Time) string {
	return t.UTC().Format(timeLayout)
}

// nullTS formats an optional time for storage; nil is NULL.
func nullTS(t *time.Time) any {
	if t == nil {
		return nil
	}
	return ts(*t)
}

// timeCol scans a stored time into *t, in UTC.
type timeCol struct{ t *time.Time }

func (c timeCol) Scan(v any) error {
	s, ok := v.(string)
	if !ok {
		return fmt.Errorf("time column holds %T, want text", v)
	}
	t, err := time.Parse(timeLayout, s)
	if err != nil {
		return err
	}
	*c.t = t.UTC()
	return nil
}

// nullTimeCol scans an optional stored time into *t, leaving nil for NULL.
type nullTimeCol struct{ t **time.Time }

func (c nullTimeCol) Scan(v any) error {
	if v == nil {
		*c.t = nil
		return nil
	}
	var t time.Time
	if err := (timeCol{&t}).Scan(v); err != nil {
		return err
	}
	*c.t = &t
	return nil
}

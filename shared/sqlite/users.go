package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

const userColumns = `id, email, name, role, password_hash, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (*domain.User, error) {
	u := &domain.User{}
	err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, timeCol{&u.CreatedAt}, timeCol{&u.UpdatedAt})
	return u, err
}

// CreateUser stores u; ECONFLICT if the email is taken (case-insensitively).
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Email, u.Name, string(u.Role), u.PasswordHash, ts(u.CreatedAt), ts(u.UpdatedAt))
	return dbErr("create user", fmt.Sprintf("a user with email %q", u.Email), err)
}

// UserByID returns the user or ENOTFOUND.
func (s *Store) UserByID(ctx context.Context, id string) (*domain.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id = ?`, id))
	if err != nil {
		return nil, dbErr("user by id", "user", err)
	}
	return u, nil
}

// UserByEmail returns the user or ENOTFOUND.
func (s *Store) UserByEmail(ctx context.Context, email string) (*domain.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE email = ?`, email))
	if err != nil {
		return nil, dbErr("user by email", "user", err)
	}
	return u, nil
}

// CreateSession stores the session and its first refresh token in one transaction.
func (s *Store) CreateSession(ctx context.Context, sess *domain.Session, first *domain.RefreshToken) error {
	return s.write(ctx, "create session", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?)`,
			sess.ID, sess.UserID, ts(sess.CreatedAt), ts(sess.ExpiresAt), nullTS(sess.RevokedAt))
		if err != nil {
			return dbErr("create session", "session", err)
		}
		return insertRefreshToken(ctx, tx, first)
	})
}

func insertRefreshToken(ctx context.Context, tx *sql.Tx, t *domain.RefreshToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_tokens (hash, session_id, user_id, created_at, expires_at, used_at) VALUES (?, ?, ?, ?, ?, ?)`,
		t.Hash, t.SessionID, t.UserID, ts(t.CreatedAt), ts(t.ExpiresAt), nullTS(t.UsedAt))
	return dbErr("insert refresh token", "refresh token", err)
}

// SessionByID returns the session or ENOTFOUND.
func (s *Store) SessionByID(ctx context.Context, id string) (*domain.Session, error) {
	sess := &domain.Session{}
	err := s.rdb.QueryRowContext(ctx, `SELECT id, user_id, created_at, expires_at, revoked_at FROM sessions WHERE id = ?`, id).
		Scan(&sess.ID, &sess.UserID, timeCol{&sess.CreatedAt}, timeCol{&sess.ExpiresAt}, nullTimeCol{&sess.RevokedAt})
	if err != nil {
		return nil, dbErr("session by id", "session", err)
	}
	return sess, nil
}

// RevokeSession marks the session revoked at now; revoking again keeps the first time.
// ENOTFOUND if there is no such session.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	return s.execOne(ctx, "revoke session", "session",
		`UPDATE sessions SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ?`, ts(now), id)
}

// RefreshTokenByHash returns the token or ENOTFOUND.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash string) (*domain.RefreshToken, error) {
	t := &domain.RefreshToken{}
	err := s.rdb.QueryRowContext(ctx, `SELECT hash, session_id, user_id, created_at, expires_at, used_at FROM refresh_tokens WHERE hash = ?`, hash).
		Scan(&t.Hash, &t.SessionID, &t.UserID, timeCol{&t.CreatedAt}, timeCol{&t.ExpiresAt}, nullTimeCol{&t.UsedAt})
	if err != nil {
		return nil, dbErr("refresh token by hash", "refresh token", err)
	}
	return t, nil
}

// RotateRefreshToken marks the old token used and stores next in one transaction, only if the
// old token exists and is unused; otherwise ECONFLICT and nothing is stored. The conditional
// UPDATE decides the winner, so concurrent rotations of one token cannot both succeed.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *domain.RefreshToken, now time.Time) error {
	return s.write(ctx, "rotate refresh token", func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE refresh_tokens SET used_at = ? WHERE hash = ? AND used_at IS NULL`, ts(now), oldHash)
		if err != nil {
			return dbErr("rotate refresh token", "refresh token", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: rotate refresh token: %w", err)
		}
		if n == 0 {
			return domain.Errorf(domain.ECONFLICT, "refresh token is unknown or was already used")
		}
		return insertRefreshToken(ctx, tx, next)
	})
}

const apiKeyColumns = `id, user_id, name, prefix, hash, created_at, last_used_at, revoked_at`

func scanAPIKey(row interface{ Scan(...any) error }) (*domain.APIKey, error) {
	k := &domain.APIKey{}
	err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, timeCol{&k.CreatedAt},
		nullTimeCol{&k.LastUsedAt}, nullTimeCol{&k.RevokedAt})
	return k, err
}

// CreateAPIKey stores k; ECONFLICT if its ID or hash exists.
func (s *Store) CreateAPIKey(ctx context.Context, k *domain.APIKey) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, ts(k.CreatedAt), nullTS(k.LastUsedAt), nullTS(k.RevokedAt))
	return dbErr("create api key", "API key", err)
}

// APIKeyByHash returns the key, revoked or not, or ENOTFOUND.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*domain.APIKey, error) {
	k, err := scanAPIKey(s.rdb.QueryRowContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = ?`, hash))
	if err != nil {
		return nil, dbErr("api key by hash", "API key", err)
	}
	return k, nil
}

// ListAPIKeys returns the user's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]*domain.APIKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = ? ORDER BY created_at DESC, id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list api keys: %w", err)
	}
	return collect(rows, "list api keys", scanAPIKey)
}

// RevokeAPIKey revokes the user's key at now (keeping an earlier revocation time); ENOTFOUND
// if the user has no such key.
func (s *Store) RevokeAPIKey(ctx context.Context, userID, id string, now time.Time) error {
	return s.execOne(ctx, "revoke api key", "API key",
		`UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ?) WHERE id = ? AND user_id = ?`, ts(now), id, userID)
}

// TouchAPIKey records that the key was used at now; ENOTFOUND if there is no such key.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	return s.execOne(ctx, "touch api key", "API key", `UPDATE api_keys SET last_used_at = ? WHERE id = ?`, ts(now), id)
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, op string, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{} // empty, not nil, so an empty listing encodes as [] in JSON
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("sqlite: %s: %w", op, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: %s: %w", op, err)
	}
	return out, nil
}

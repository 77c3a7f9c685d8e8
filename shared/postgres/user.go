package postgres

import (
	"context"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

const userColumns = `id, email, name, role, password_hash, created_at, updated_at`

func scanUser(row pgx.Row) (*domain.User, error) {
	var u domain.User
	if err := row.Scan(&u.ID, &u.Email, &u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return nil, err
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return &u, nil
}

// CreateUser stores u. The email is stored lower-cased, so uniqueness is case-insensitive
// even if a caller forgot to normalise it; ECONFLICT if it is taken.
func (s *Store) CreateUser(ctx context.Context, u *domain.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		u.ID, normEmail(u.Email), u.Name, string(u.Role), u.PasswordHash, u.CreatedAt, u.UpdatedAt)
	return wrapErr(err, "create user", "user")
}

// UserByID returns the user or ENOTFOUND.
func (s *Store) UserByID(ctx context.Context, id string) (*domain.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE id = $1`, id))
	return u, wrapErr(err, "user by id", "user")
}

// UserByEmail returns the user with that email, compared case-insensitively, or ENOTFOUND.
func (s *Store) UserByEmail(ctx context.Context, email string) (*domain.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userColumns+` FROM users WHERE email = $1`, normEmail(email)))
	return u, wrapErr(err, "user by email", "user")
}

func normEmail(email string) string {
	return strings.ToLower(strings.TrimSpace(email))
}

// CreateSession stores s together with its first refresh token in one transaction, so a
// session never exists without a way to refresh it.
func (s *Store) CreateSession(ctx context.Context, sess *domain.Session, first *domain.RefreshToken) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO sessions (id, user_id, created_at, expires_at, revoked_at) VALUES ($1, $2, $3, $4, $5)`,
			sess.ID, sess.UserID, sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt)
		if err != nil {
			return wrapErr(err, "create session", "session")
		}
		return insertRefreshToken(ctx, tx, first)
	})
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, t *domain.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (hash, session_id, user_id, created_at, expires_at, used_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		t.Hash, t.SessionID, t.UserID, t.CreatedAt, t.ExpiresAt, t.UsedAt)
	return wrapErr(err, "create refresh token", "refresh token")
}

// SessionByID returns the session or ENOTFOUND.
func (s *Store) SessionByID(ctx context.Context, id string) (*domain.Session, error) {
	var sess domain.Session
	err := s.pool.QueryRow(ctx, `SELECT id, user_id, created_at, expires_at, revoked_at FROM sessions WHERE id = $1`, id).
		Scan(&sess.ID, &sess.UserID, &sess.CreatedAt, &sess.ExpiresAt, &sess.RevokedAt)
	if err != nil {
		return nil, wrapErr(err, "session by id", "session")
	}
	sess.CreatedAt, sess.ExpiresAt, sess.RevokedAt = sess.CreatedAt.UTC(), sess.ExpiresAt.UTC(), utcPtr(sess.RevokedAt)
	return &sess, nil
}

// RevokeSession marks the session revoked at now. Revoking again keeps the first time and is
// not an error; ENOTFOUND if there is no such session.
func (s *Store) RevokeSession(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE sessions SET revoked_at = COALESCE(revoked_at, $2) WHERE id = $1`, id, now)
	if err != nil {
		return wrapErr(err, "revoke session", "session")
	}
	return notFoundIfNone(tag, "session")
}

// RefreshTokenByHash returns the token or ENOTFOUND.
func (s *Store) RefreshTokenByHash(ctx context.Context, hash string) (*domain.RefreshToken, error) {
	var t domain.RefreshToken
	err := s.pool.QueryRow(ctx, `SELECT hash, session_id, user_id, created_at, expires_at, used_at FROM refresh_tokens WHERE hash = $1`, hash).
		Scan(&t.Hash, &t.SessionID, &t.UserID, &t.CreatedAt, &t.ExpiresAt, &t.UsedAt)
	if err != nil {
		return nil, wrapErr(err, "refresh token by hash", "refresh token")
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), utcPtr(t.UsedAt)
	return &t, nil
}

// RotateRefreshToken marks the old token used and stores next in one transaction. The
// conditional UPDATE takes the old token's row lock, so of two concurrent rotations the
// second re-checks used_at after the first commits, matches nothing and gets ECONFLICT.
func (s *Store) RotateRefreshToken(ctx context.Context, oldHash string, next *domain.RefreshToken, now time.Time) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE refresh_tokens SET used_at = $2 WHERE hash = $1 AND used_at IS NULL`, oldHash, now)
		if err != nil {
			return wrapErr(err, "rotate refresh token", "refresh token")
		}
		if tag.RowsAffected() == 0 {
			return domain.Errorf(domain.ECONFLICT, "refresh token was already used or does not exist")
		}
		return insertRefreshToken(ctx, tx, next)
	})
}

const apiKeyColumns = `id, user_id, name, prefix, hash, created_at, last_used_at, revoked_at`

func scanAPIKey(row pgx.Row) (*domain.APIKey, error) {
	var k domain.APIKey
	if err := row.Scan(&k.ID, &k.UserID, &k.Name, &k.Prefix, &k.Hash, &k.CreatedAt, &k.LastUsedAt, &k.RevokedAt); err != nil {
		return nil, err
	}
	k.CreatedAt, k.LastUsedAt, k.RevokedAt = k.CreatedAt.UTC(), utcPtr(k.LastUsedAt), utcPtr(k.RevokedAt)
	return &k, nil
}

// CreateAPIKey stores k; ECONFLICT if its ID or hash exists.
func (s *Store) CreateAPIKey(ctx context.Context, k *domain.APIKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO api_keys (`+apiKeyColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		k.ID, k.UserID, k.Name, k.Prefix, k.Hash, k.CreatedAt, k.LastUsedAt, k.RevokedAt)
	return wrapErr(err, "create api key", "API key")
}

// APIKeyByHash returns the key, revoked or not, or ENOTFOUND.
func (s *Store) APIKeyByHash(ctx context.Context, hash string) (*domain.APIKey, error) {
	k, err := scanAPIKey(s.pool.QueryRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE hash = $1`, hash))
	return k, wrapErr(err, "api key by hash", "API key")
}

// ListAPIKeys returns the user's keys, newest first.
func (s *Store) ListAPIKeys(ctx context.Context, userID string) ([]*domain.APIKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+apiKeyColumns+` FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id`, userID)
	if err != nil {
		return nil, wrapErr(err, "list api keys", "API key")
	}
	keys, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*domain.APIKey, error) { return scanAPIKey(row) })
	return keys, wrapErr(err, "list api keys", "API key")
}

// RevokeAPIKey revokes the user's key at now (keeping the first revocation time); ENOTFOUND
// if the user has no such key, so nobody can probe other users' key IDs.
func (s *Store) RevokeAPIKey(ctx context.Context, userID, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $2 AND user_id = $1`, userID, id, now)
	if err != nil {
		return wrapErr(err, "revoke api key", "API key")
	}
	return notFoundIfNone(tag, "API key")
}

// TouchAPIKey records that the key was used at now. The time only moves forward, so
// concurrent requests finishing out of order cannot set it back.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE api_keys SET last_used_at = GREATEST(last_used_at, $2) WHERE id = $1`, id, now)
	if err != nil {
		return wrapErr(err, "touch api key", "API key")
	}
	return notFoundIfNone(tag, "API key")
}

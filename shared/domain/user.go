package domain

import (
	"context"
	"time"
)

// Role is what a principal may do. Every user has exactly one.
type Role string

// The roles. Service accounts authenticate with API keys and are meant for automation.
const (
	RoleUser    Role = "user"
	RoleAdmin   Role = "admin"
	RoleService Role = "service"
)

// Valid reports whether r is one of the known roles.
func (r Role) Valid() bool {
	return r == RoleUser || r == RoleAdmin || r == RoleService
}

// User is a person or a service account.
type User struct {
	ID           string    `json:"id"`
	Email        string    `json:"email"`
	Name         string    `json:"name"`
	Role         Role      `json:"role"`
	PasswordHash string    `json:"-"` // bcrypt; empty for service accounts, which cannot log in with a password
	CreatedAt    time.Time `json:"created_at"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Session is one login: the family that a chain of rotated refresh tokens belongs to. Access
// tokens carry the session ID, so revoking the session (logout, refresh-token reuse) ends
// every token issued under it.
type Session struct {
	ID        string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	RevokedAt *time.Time
}

// RefreshToken is one single-use refresh token. Only its SHA-256 hash is stored.
type RefreshToken struct {
	Hash      string
	SessionID string
	UserID    string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// APIKey is a long-lived credential for a service account. Only its SHA-256 hash is stored;
// Prefix (the first characters of the key) lets a user tell keys apart.
type APIKey struct {
	ID         string     `json:"id"`
	UserID     string     `json:"user_id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       string     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// UserStore persists users. Emails are unique case-insensitively; callers pass them normalised
// (see NormalizeEmail).
type UserStore interface {
	// CreateUser stores u (ID and timestamps set by the caller). ECONFLICT if the email is taken.
	CreateUser(ctx context.Context, u *User) error
	// UserByID returns the user or ENOTFOUND.
	UserByID(ctx context.Context, id string) (*User, error)
	// UserByEmail returns the user or ENOTFOUND.
	UserByEmail(ctx context.Context, email string) (*User, error)
}

// SessionStore persists sessions and their refresh tokens.
type SessionStore interface {
	// CreateSession stores a new session together with its first refresh token, atomically.
	CreateSession(ctx context.Context, s *Session, first *RefreshToken) error
	// SessionByID returns the session or ENOTFOUND.
	SessionByID(ctx context.Context, id string) (*Session, error)
	// RevokeSession marks the session revoked at now. Revoking twice is not an error.
	RevokeSession(ctx context.Context, id string, now time.Time) error
	// RefreshTokenByHash returns the token or ENOTFOUND.
	RefreshTokenByHash(ctx context.Context, hash string) (*RefreshToken, error)
	// RotateRefreshToken marks the token with oldHash used at now and stores next, atomically,
	// but only if the old token was still unused: otherwise it returns ECONFLICT and stores
	// nothing, so two concurrent refreshes with one token cannot both succeed.
	RotateRefreshToken(ctx context.Context, oldHash string, next *RefreshToken, now time.Time) error
}

// APIKeyStore persists API keys.
type APIKeyStore interface {
	// CreateAPIKey stores k. ECONFLICT if the hash exists (practically impossible).
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// APIKeyByHash returns the key (revoked or not) or ENOTFOUND.
	APIKeyByHash(ctx context.Context, hash string) (*APIKey, error)
	// ListAPIKeys returns the user's keys, newest first.
	ListAPIKeys(ctx context.Context, userID string) ([]*APIKey, error)
	// RevokeAPIKey revokes the user's key with id at now; ENOTFOUND if the user has no such key.
	RevokeAPIKey(ctx context.Context, userID, id string, now time.Time) error
	// TouchAPIKey records that the key was used at now.
	TouchAPIKey(ctx context.Context, id string, now time.Time) error
}

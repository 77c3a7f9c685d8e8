// Package auth provides VibeCode's authentication: email + password accounts (bcrypt), short
// JWT access tokens (golang-jwt), single-use rotating refresh tokens with reuse detection,
// logout that revokes, and hashed API keys for service accounts.
//
// It depends only on the domain's store interfaces, so every database adapter serves it.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/vibecode/vibecode/shared/domain"
)

// Store is what auth needs from the database.
type Store interface {
	domain.UserStore
	domain.SessionStore
	domain.APIKeyStore
}

// Options configure a Service.
type Options struct {
	// Secret signs access tokens with HMAC-SHA256; at least 32 bytes.
	Secret []byte
	// AccessTTL is how long an access token is valid; short, because it is checked without
	// a database round trip for its signature (the session is still checked).
	AccessTTL time.Duration
	// RefreshTTL is how long a session lasts without use.
	RefreshTTL time.Duration
	// BcryptCost is the password hashing cost.
	BcryptCost int
	// AdminEmails sign up with the admin role.
	AdminEmails []string
	// Now is the clock; nil means time.Now. Tests pass a fake.
	Now func() time.Time
}

// Service signs users up and in and turns credentials into principals.
type Service struct {
	store  Store
	opts   Options
	tokens tokenSigner
	// dummyHash is compared against when a login names an unknown email, so that an
	// unknown email takes as long as a wrong password and emails cannot be enumerated.
	dummyHash []byte
}

// Tokens is what signup, login and refresh return to the client.
type Tokens struct {
	Token        string       `json:"token"`
	RefreshToken string       `json:"refresh_token"`
	ExpiresAt    time.Time    `json:"expires_at"`
	User         *domain.User `json:"user"`
}

// Principal is an authenticated caller: a user, via either an access token (SessionID set)
// or an API key (APIKeyID set).
type Principal struct {
	User      *domain.User
	SessionID string
	APIKeyID  string
}

// Password rules. bcrypt reads at most 72 bytes, so longer passwords are refused rather than
// silently truncated.
const (
	MinPasswordLen = 8
	MaxPasswordLen = 72
	maxNameLen     = 100
	apiKeyPrefix   = "vc_"
)

// New returns a Service. It fails when the options are unusable.
func New(store Store, opts Options) (*Service, error) {
	if len(opts.Secret) < 32 {
		return nil, errors.New("auth: secret must be at least 32 bytes")
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.AccessTTL <= 0 || opts.RefreshTTL <= 0 {
		return nil, errors.New("auth: token lifetimes must be positive")
	}
	dummy, err := bcrypt.GenerateFromPassword([]byte("not a real password"), opts.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: bcrypt cost %d: %w", opts.BcryptCost, err)
	}
	return &Service{store: store, opts: opts, tokens: tokenSigner{secret: opts.Secret, now: opts.Now}, dummyHash: dummy}, nil
}

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// Signup creates a user account and logs it in. ECONFLICT when the email is registered.
func (s *Service) Signup(ctx context.Context, email, password, name string) (*Tokens, error) {
	email, err := domain.NormalizeEmail(email)
	if err != nil {
		return nil, err
	}
	if err := checkPassword(password); err != nil {
		return nil, err
	}
	name, err = CleanName(name, "name")
	if err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), s.opts.BcryptCost)
	if err != nil {
		return nil, fmt.Errorf("auth: hash password: %w", err)
	}
	role := domain.RoleUser
	if slices.ContainsFunc(s.opts.AdminEmails, func(a string) bool { return strings.EqualFold(a, email) }) {
		role = domain.RoleAdmin
	}
	now := s.now()
	u := &domain.User{ID: domain.NewID(), Email: email, Name: name, Role: role, PasswordHash: string(hash), CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if domain.ErrorCode(err) == domain.ECONFLICT {
			return nil, domain.Errorf(domain.ECONFLICT, "an account with this email already exists")
		}
		return nil, fmt.Errorf("auth: create user: %w", err)
	}
	return s.startSession(ctx, u)
}

// Login checks an email and password and starts a session. Any mismatch is EUNAUTHORIZED
// with the same message, so the answer does not reveal whether the email exists.
func (s *Service) Login(ctx context.Context, email, password string) (*Tokens, error) {
	bad := domain.Errorf(domain.EUNAUTHORIZED, "email or password is incorrect")
	email, err := domain.NormalizeEmail(email)
	if err != nil || password == "" || len(password) > MaxPasswordLen {
		return nil, bad
	}
	u, err := s.store.UserByEmail(ctx, email)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		_ = bcrypt.CompareHashAndPassword(s.dummyHash, []byte(password))
		return nil, bad
	case err != nil:
		return nil, fmt.Errorf("auth: find user: %w", err)
	case u.PasswordHash == "":
		return nil, bad // service accounts have no password
	}
	if bcrypt.CompareHashAndPassword([]byte(u.PasswordHash), []byte(password)) != nil {
		return nil, bad
	}
	return s.startSession(ctx, u)
}

func (s *Service) startSession(ctx context.Context, u *domain.User) (*Tokens, error) {
	now := s.now()
	sess := &domain.Session{ID: domain.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL)}
	refresh, rt := s.newRefreshToken(sess, now)
	if err := s.store.CreateSession(ctx, sess, rt); err != nil {
		return nil, fmt.Errorf("auth: create session: %w", err)
	}
	return s.issue(u, sess.ID, refresh, now)
}

func (s *Service) newRefreshToken(sess *domain.Session, now time.Time) (string, *domain.RefreshToken) {
	token := "rt_" + randomString(32)
	return token, &domain.RefreshToken{Hash: hashToken(token), SessionID: sess.ID, UserID: sess.UserID,
		CreatedAt: now, ExpiresAt: now.Add(s.opts.RefreshTTL)}
}

func (s *Service) issue(u *domain.User, sessionID, refresh string, now time.Time) (*Tokens, error) {
	exp := now.Add(s.opts.AccessTTL)
	tok, err := s.tokens.sign(u, sessionID, now, exp)
	if err != nil {
		return nil, err
	}
	return &Tokens{Token: tok, RefreshToken: refresh, ExpiresAt: exp, User: u}, nil
}

// Refresh trades a refresh token for new tokens. Refresh tokens are single use: presenting a
// used one means it was stolen or replayed, so the whole session is revoked.
func (s *Service) Refresh(ctx context.Context, refreshToken string) (*Tokens, error) {
	invalid := domain.Errorf(domain.EUNAUTHORIZED, "refresh token is invalid or expired; log in again")
	if refreshToken == "" {
		return nil, invalid
	}
	now := s.now()
	old, err := s.store.RefreshTokenByHash(ctx, hashToken(refreshToken))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("auth: find refresh token: %w", err)
	}
	sess, err := s.store.SessionByID(ctx, old.SessionID)
	if err != nil {
		return nil, fmt.Errorf("auth: find session: %w", err)
	}
	if sess.RevokedAt != nil || !now.Before(old.ExpiresAt) || !now.Before(sess.ExpiresAt) {
		return nil, invalid
	}
	reused := domain.Errorf(domain.EUNAUTHORIZED, "refresh token was already used; the session has been ended, log in again")
	if old.UsedAt != nil {
		return nil, s.revokeFor(ctx, sess.ID, now, reused)
	}
	u, err := s.store.UserByID(ctx, old.UserID)
	if err != nil {
		return nil, fmt.Errorf("auth: find user: %w", err)
	}
	refresh, next := s.newRefreshToken(sess, now)
	if err := s.store.RotateRefreshToken(ctx, old.Hash, next, now); domain.ErrorCode(err) == domain.ECONFLICT {
		return nil, s.revokeFor(ctx, sess.ID, now, reused)
	} else if err != nil {
		return nil, fmt.Errorf("auth: rotate refresh token: %w", err)
	}
	return s.issue(u, sess.ID, refresh, now)
}

func (s *Service) revokeFor(ctx context.Context, sessionID string, now time.Time, cause error) error {
	if err := s.store.RevokeSession(ctx, sessionID, now); err != nil {
		return fmt.Errorf("auth: revoke session after token reuse: %w", err)
	}
	return cause
}

// Logout ends a session: every access and refresh token issued under it stops working. The
// session is named by a refresh token when one is given, else by the principal's access token.
func (s *Service) Logout(ctx context.Context, p *Principal, refreshToken string) error {
	sessionID := ""
	if refreshToken != "" {
		rt, err := s.store.RefreshTokenByHash(ctx, hashToken(refreshToken))
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return domain.Errorf(domain.EUNAUTHORIZED, "refresh token is invalid")
		} else if err != nil {
			return fmt.Errorf("auth: find refresh token: %w", err)
		}
		if p != nil && p.User.ID != rt.UserID {
			return domain.Errorf(domain.EUNAUTHORIZED, "refresh token is invalid")
		}
		sessionID = rt.SessionID
	} else if p != nil && p.SessionID != "" {
		sessionID = p.SessionID
	} else {
		return domain.Errorf(domain.EINVALID, "log out needs an access token or a refresh_token")
	}
	if err := s.store.RevokeSession(ctx, sessionID, s.now()); err != nil {
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	return nil
}

// Authenticate turns the credential from an Authorization header (an access token or an API
// key) into a principal. EUNAUTHORIZED for anything missing, malformed, expired or revoked.
func (s *Service) Authenticate(ctx context.Context, credential string) (*Principal, error) {
	if credential == "" {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "authentication required: send Authorization: Bearer <token>")
	}
	if strings.HasPrefix(credential, apiKeyPrefix) {
		return s.authenticateAPIKey(ctx, credential)
	}
	invalid := domain.Errorf(domain.EUNAUTHORIZED, "access token is invalid or expired")
	claims, err := s.tokens.verify(credential)
	if err != nil {
		return nil, invalid
	}
	sess, err := s.store.SessionByID(ctx, claims.SessionID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("auth: find session: %w", err)
	}
	if sess.RevokedAt != nil || sess.UserID != claims.Subject {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "session has ended; log in again")
	}
	u, err := s.store.UserByID(ctx, claims.Subject)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("auth: find user: %w", err)
	}
	return &Principal{User: u, SessionID: sess.ID}, nil
}

func (s *Service) authenticateAPIKey(ctx context.Context, key string) (*Principal, error) {
	invalid := domain.Errorf(domain.EUNAUTHORIZED, "API key is invalid or revoked")
	k, err := s.store.APIKeyByHash(ctx, hashToken(key))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, fmt.Errorf("auth: find API key: %w", err)
	}
	if k.RevokedAt != nil {
		return nil, invalid
	}
	u, err := s.store.UserByID(ctx, k.UserID)
	if err != nil {
		return nil, fmt.Errorf("auth: find API key owner: %w", err)
	}
	// Last-used bookkeeping must not fail the request it describes.
	_ = s.store.TouchAPIKey(ctx, k.ID, s.now())
	return &Principal{User: u, APIKeyID: k.ID}, nil
}

// CreateAPIKey creates an API key for the principal's own user and returns the key, which is
// shown once and stored only as a hash. Only service accounts and admins hold API keys.
func (s *Service) CreateAPIKey(ctx context.Context, p *Principal, name string) (string, *domain.APIKey, error) {
	if p.User.Role != domain.RoleService && p.User.Role != domain.RoleAdmin {
		return "", nil, domain.Errorf(domain.EFORBIDDEN, "only service accounts and admins can create API keys")
	}
	return s.createAPIKey(ctx, p.User, name)
}

func (s *Service) createAPIKey(ctx context.Context, u *domain.User, name string) (string, *domain.APIKey, error) {
	name, err := CleanName(name, "name")
	if err != nil {
		return "", nil, err
	}
	key := apiKeyPrefix + randomString(32)
	k := &domain.APIKey{ID: domain.NewID(), UserID: u.ID, Name: name, Prefix: key[:len(apiKeyPrefix)+6],
		Hash: hashToken(key), CreatedAt: s.now()}
	if err := s.store.CreateAPIKey(ctx, k); err != nil {
		return "", nil, fmt.Errorf("auth: create API key: %w", err)
	}
	return key, k, nil
}

// ListAPIKeys returns the principal's API keys (never the keys themselves).
func (s *Service) ListAPIKeys(ctx context.Context, p *Principal) ([]*domain.APIKey, error) {
	keys, err := s.store.ListAPIKeys(ctx, p.User.ID)
	if err != nil {
		return nil, fmt.Errorf("auth: list API keys: %w", err)
	}
	return keys, nil
}

// RevokeAPIKey revokes one of the principal's keys; ENOTFOUND for anyone else's.
func (s *Service) RevokeAPIKey(ctx context.Context, p *Principal, id string) error {
	if err := s.store.RevokeAPIKey(ctx, p.User.ID, id, s.now()); err != nil {
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return domain.Errorf(domain.ENOTFOUND, "API key not found")
		}
		return fmt.Errorf("auth: revoke API key: %w", err)
	}
	return nil
}

// CreateServiceAccount lets an admin create a service account and its first API key.
func (s *Service) CreateServiceAccount(ctx context.Context, p *Principal, name string) (*domain.User, string, error) {
	if p.User.Role != domain.RoleAdmin {
		return nil, "", domain.Errorf(domain.EFORBIDDEN, "only admins can create service accounts")
	}
	name, err := CleanName(name, "name")
	if err != nil {
		return nil, "", err
	}
	now := s.now()
	id := domain.NewID()
	u := &domain.User{ID: id, Email: "svc-" + id[:12] + "@service.vibecode.invalid", Name: name, Role: domain.RoleService,
		CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateUser(ctx, u); err != nil {
		return nil, "", fmt.Errorf("auth: create service account: %w", err)
	}
	key, _, err := s.createAPIKey(ctx, u, name)
	if err != nil {
		return nil, "", err
	}
	return u, key, nil
}

// CleanName trims a display name and checks it is 1–100 printable characters; field names
// the field in the error message.
func CleanName(name, field string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", domain.Errorf(domain.EINVALID, "%s is required", field)
	case !utf8.ValidString(name):
		return "", domain.Errorf(domain.EINVALID, "%s is not valid UTF-8", field)
	case utf8.RuneCountInString(name) > maxNameLen:
		return "", domain.Errorf(domain.EINVALID, "%s is longer than %d characters", field, maxNameLen)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return "", domain.Errorf(domain.EINVALID, "%s contains a control character", field)
		}
	}
	return name, nil
}

func checkPassword(p string) error {
	switch {
	case len(p) < MinPasswordLen:
		return domain.Errorf(domain.EINVALID, "password must be at least %d characters", MinPasswordLen)
	case len(p) > MaxPasswordLen:
		return domain.Errorf(domain.EINVALID, "password must be at most %d bytes", MaxPasswordLen)
	}
	return nil
}

// randomString returns n random bytes, base64url-encoded.
func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// hashToken is how refresh tokens and API keys are stored: they are high-entropy random
// strings, so a fast unsalted SHA-256 is enough and allows lookup by hash.
func hashToken(t string) string {
	sum := sha256.Sum256([]byte(t))
	return hex.EncodeToString(sum[:])
}

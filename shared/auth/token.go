package auth

import (
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

const issuer = "vibecode"

// claims are an access token's claims: the registered ones plus the session, so that logout
// can revoke a token before it expires.
type claims struct {
	jwt.RegisteredClaims
	SessionID string      `json:"sid"`
	Role      domain.Role `json:"role"`
}

// tokenSigner signs and verifies HS256 access tokens.
type tokenSigner struct {
	secret []byte
	now    func() time.Time
}

func (t tokenSigner) sign(u *domain.User, sessionID string, now, exp time.Time) (string, error) {
	c := claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    issuer,
			Subject:   u.ID,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(exp),
			ID:        domain.NewID(),
		},
		SessionID: sessionID,
		Role:      u.Role,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.secret)
	if err != nil {
		return "", fmt.Errorf("auth: sign token: %w", err)
	}
	return s, nil
}

func (t tokenSigner) verify(token string) (*claims, error) {
	var c claims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return t.secret, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}),
		jwt.WithIssuer(issuer),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(t.now),
		jwt.WithLeeway(5*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("auth: verify token: %w", err)
	}
	if c.Subject == "" || c.SessionID == "" {
		return nil, fmt.Errorf("auth: token lacks subject or session")
	}
	return &c, nil
}

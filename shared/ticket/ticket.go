// Package ticket issues and verifies the short-lived capability tickets that open a workspace
// agent's WebSockets.
//
// Browsers cannot set an Authorization header on a WebSocket, so the web IDE asks the control
// plane for a ticket and puts it in the socket URL (?ticket=…). A ticket is a JWT signed with
// Ed25519 (alg EdDSA): the control plane holds the private key and the agents hold only the
// public key, so a compromised workspace VM cannot mint tickets for other workspaces. Tickets
// live one minute by default because they only open a socket; an open socket outlives its
// ticket.
package ticket

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vibecode/vibecode/shared/domain"
)

// IssuerClaim is the value of the iss claim of every ticket.
const IssuerClaim = "vibecode"

// AudienceClaim is the value of the aud claim of every ticket; it keeps tickets from being
// mistaken for any other JWT signed by the same key.
const AudienceClaim = "vibecode-agent"

// DefaultTTL is a ticket's lifetime when Issue is given none: long enough to open a socket.
const DefaultTTL = 60 * time.Second

// MaxTTL is the longest lifetime Issue grants and Verify accepts, so that a ticket leaked from a
// URL or a log is useless soon even if the issuer was misconfigured.
const MaxTTL = 10 * time.Minute

// leeway tolerates clock skew between the control plane and a VM.
const leeway = 5 * time.Second

// Capabilities a ticket can grant. A ticket carries one or more of them.
const (
	// CapTerminal opens, types into and resizes terminals.
	CapTerminal = "terminal"
	// CapTerminalRead watches terminals without typing or resizing.
	CapTerminalRead = "terminal:read"
	// CapCollab edits documents together.
	CapCollab = "collab"
	// CapCollabRead follows documents without changing them.
	CapCollabRead = "collab:read"
)

// knownCaps lists every capability; anything else in a ticket is ignored (a newer control plane
// may know more) but does not count as a capability.
var knownCaps = []string{CapTerminal, CapTerminalRead, CapCollab, CapCollabRead}

// Errors Verify returns (wrapped); callers map all of them to "unauthorized" and may log which.
var (
	// ErrInvalid means the ticket is malformed, forged, signed with another algorithm or key,
	// or lacks a required claim.
	ErrInvalid = errors.New("ticket: invalid")
	// ErrExpired means the ticket was valid once but its lifetime is over.
	ErrExpired = errors.New("ticket: expired")
	// ErrWrongWorkspace means the ticket is genuine but for another workspace.
	ErrWrongWorkspace = errors.New("ticket: wrong workspace")
	// ErrNoCapability means the ticket grants none of the known capabilities.
	ErrNoCapability = errors.New("ticket: no capability")
)

// Claims are what a ticket says: who (UserID, Name), where (WorkspaceID) and what (Caps).
// ID, IssuedAt and ExpiresAt are set by Issue and filled in by Verify.
type Claims struct {
	UserID      string    // sub
	WorkspaceID string    // ws
	Caps        []string  // caps
	Name        string    // name: the display name other collaborators see
	ID          string    // jti
	IssuedAt    time.Time // iat
	ExpiresAt   time.Time // exp
}

// Can reports whether the ticket grants capability c. A write capability implies its read
// capability ("terminal" can watch too), so callers ask for what they need.
func (c *Claims) Can(capability string) bool {
	if c == nil {
		return false
	}
	if slices.Contains(c.Caps, capability) {
		return true
	}
	switch capability {
	case CapTerminalRead:
		return slices.Contains(c.Caps, CapTerminal)
	case CapCollabRead:
		return slices.Contains(c.Caps, CapCollab)
	}
	return false
}

// wireClaims is the JWT body.
type wireClaims struct {
	jwt.RegisteredClaims
	Workspace string   `json:"ws"`
	Caps      []string `json:"caps"`
	Name      string   `json:"name,omitempty"`
}

// Issuer signs tickets. It is safe for concurrent use.
type Issuer struct {
	priv ed25519.PrivateKey
	now  func() time.Time
}

// NewIssuer returns an Issuer that signs with priv; the control plane holds it.
func NewIssuer(priv ed25519.PrivateKey) *Issuer {
	return &Issuer{priv: priv, now: time.Now}
}

// Issue signs a ticket for c that expires after ttl (DefaultTTL when ttl <= 0). It refuses
// claims without a user, a workspace or a known capability, and lifetimes above MaxTTL.
// c.ID, c.IssuedAt and c.ExpiresAt are ignored: Issue sets them.
func (is *Issuer) Issue(c Claims, ttl time.Duration) (string, error) {
	if len(is.priv) != ed25519.PrivateKeySize {
		return "", fmt.Errorf("ticket: issue: private key has %d bytes, want %d", len(is.priv), ed25519.PrivateKeySize)
	}
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	if ttl > MaxTTL {
		return "", fmt.Errorf("ticket: issue: lifetime %s is over the maximum %s", ttl, MaxTTL)
	}
	if c.UserID == "" || c.WorkspaceID == "" {
		return "", fmt.Errorf("ticket: issue: user and workspace are required")
	}
	if !hasKnownCap(c.Caps) {
		return "", fmt.Errorf("ticket: issue: no known capability in %q", c.Caps)
	}
	now := is.now()
	w := wireClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    IssuerClaim,
			Subject:   c.UserID,
			Audience:  jwt.ClaimStrings{AudienceClaim},
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID:        domain.NewID(),
		},
		Workspace: c.WorkspaceID,
		Caps:      c.Caps,
		Name:      c.Name,
	}
	s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, w).SignedString(is.priv)
	if err != nil {
		return "", fmt.Errorf("ticket: sign: %w", err)
	}
	return s, nil
}

// Verifier checks tickets with the control plane's public key; each workspace agent holds one.
// It is safe for concurrent use.
type Verifier struct {
	pub ed25519.PublicKey
}

// NewVerifier returns a Verifier that accepts tickets signed by pub's private key.
func NewVerifier(pub ed25519.PublicKey) *Verifier {
	return &Verifier{pub: pub}
}

// Verify checks token at time now and returns its claims. It accepts only EdDSA signatures by
// the verifier's key (so an HS256 token "signed" with the public key bytes, or alg none, is
// refused), from IssuerClaim to AudienceClaim, with exp, iat and jti present, a lifetime of at most
// MaxTTL, the given workspace and at least one known capability. Errors wrap ErrInvalid,
// ErrExpired, ErrWrongWorkspace or ErrNoCapability.
func (v *Verifier) Verify(token, workspaceID string, now time.Time) (*Claims, error) {
	if len(v.pub) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("%w: verifier has no valid public key", ErrInvalid)
	}
	if token == "" {
		return nil, fmt.Errorf("%w: empty", ErrInvalid)
	}
	var w wireClaims
	_, err := jwt.ParseWithClaims(token, &w, func(*jwt.Token) (any, error) { return v.pub, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(IssuerClaim),
		jwt.WithAudience(AudienceClaim),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(func() time.Time { return now }),
		jwt.WithLeeway(leeway),
		jwt.WithStrictDecoding(),
	)
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		return nil, fmt.Errorf("%w: %w", ErrExpired, err)
	case err != nil:
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if w.IssuedAt == nil || w.ID == "" || w.Subject == "" {
		return nil, fmt.Errorf("%w: lacks iat, jti or sub", ErrInvalid)
	}
	if life := w.ExpiresAt.Sub(w.IssuedAt.Time); life > MaxTTL {
		return nil, fmt.Errorf("%w: lifetime %s is over the maximum %s", ErrInvalid, life, MaxTTL)
	}
	if workspaceID == "" || w.Workspace != workspaceID {
		return nil, fmt.Errorf("%w: ticket is for %q", ErrWrongWorkspace, w.Workspace)
	}
	if !hasKnownCap(w.Caps) {
		return nil, ErrNoCapability
	}
	return &Claims{
		UserID:      w.Subject,
		WorkspaceID: w.Workspace,
		Caps:        w.Caps,
		Name:        w.Name,
		ID:          w.ID,
		IssuedAt:    w.IssuedAt.Time,
		ExpiresAt:   w.ExpiresAt.Time,
	}, nil
}

func hasKnownCap(caps []string) bool {
	for _, c := range caps {
		if slices.Contains(knownCaps, c) {
			return true
		}
	}
	return false
}

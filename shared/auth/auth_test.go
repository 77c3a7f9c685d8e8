package auth_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// clock is a fake clock the tests move by hand.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

var secret = []byte(strings.Repeat("k", 32))

func newService(t *testing.T) (*auth.Service, *clock) {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	clk := &clock{now: time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)}
	svc, err := auth.New(store, auth.Options{Secret: secret, AccessTTL: 15 * time.Minute, RefreshTTL: 24 * time.Hour, BcryptCost: 4, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return svc, clk
}

func code(err error) string { return domain.ErrorCode(err) }

func TestService_AccessTokenExpires(t *testing.T) {
	svc, clk := newService(t)
	ctx := context.Background()
	tok, err := svc.Signup(ctx, "a@example.com", "correct horse", "A")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, tok.Token); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	clk.Add(14 * time.Minute)
	if _, err := svc.Authenticate(ctx, tok.Token); err != nil {
		t.Fatalf("token refused before expiry: %v", err)
	}
	clk.Add(2 * time.Minute)
	if _, err := svc.Authenticate(ctx, tok.Token); code(err) != domain.EUNAUTHORIZED {
		t.Fatalf("expired token: err = %v, want unauthorized", err)
	}
	// The refresh token still works and yields a fresh access token.
	next, err := svc.Refresh(ctx, tok.RefreshToken)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(ctx, next.Token); err != nil {
		t.Fatalf("refreshed token refused: %v", err)
	}
}

func TestService_RefreshTokenExpires(t *testing.T) {
	svc, clk := newService(t)
	ctx := context.Background()
	tok, err := svc.Signup(ctx, "b@example.com", "correct horse", "B")
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(25 * time.Hour)
	if _, err := svc.Refresh(ctx, tok.RefreshToken); code(err) != domain.EUNAUTHORIZED {
		t.Fatalf("expired refresh token: err = %v, want unauthorized", err)
	}
}

func TestService_RefusesForgedTokens(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	tok, err := svc.Signup(ctx, "c@example.com", "correct horse", "C")
	if err != nil {
		t.Fatal(err)
	}
	claims := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok.Token, claims); err != nil {
		t.Fatal(err)
	}
	sign := func(m jwt.SigningMethod, key any) string {
		s, err := jwt.NewWithClaims(m, claims).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	enc := base64.RawURLEncoding.EncodeToString
	parts := strings.Split(tok.Token, ".")
	forged := map[string]string{
		"other secret": sign(jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32))),
		"alg none":     sign(jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType),
		"HS512":        sign(jwt.SigningMethodHS512, secret),
		"no signature": parts[0] + "." + parts[1] + ".",
		"edited claims": parts[0] + "." + enc([]byte(strings.Replace(string(mustDecode(t, parts[1])), `"role":"user"`, `"role":"admin"`, 1))) +
			"." + parts[2],
		"empty": "",
	}
	for name, f := range forged {
		if _, err := svc.Authenticate(ctx, f); code(err) != domain.EUNAUTHORIZED {
			t.Errorf("%s: err = %v, want unauthorized", name, err)
		}
	}
	// The genuine token, re-signed correctly, is the control: it must pass.
	if _, err := svc.Authenticate(ctx, sign(jwt.SigningMethodHS256, secret)); err != nil {
		t.Fatalf("control token refused: %v", err)
	}
}

func mustDecode(t *testing.T, s string) []byte {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestService_ConcurrentRefreshRevokesSession(t *testing.T) {
	svc, _ := newService(t)
	ctx := context.Background()
	tok, err := svc.Signup(ctx, "d@example.com", "correct horse", "D")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]error, 6)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = svc.Refresh(ctx, tok.RefreshToken)
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else if code(err) != domain.EUNAUTHORIZED {
			t.Fatalf("refresh: %v", err)
		}
	}
	// At most one refresh wins; the replays end the session, so its tokens die too.
	if ok > 1 {
		t.Fatalf("%d concurrent refreshes with one token succeeded", ok)
	}
	if _, err := svc.Authenticate(ctx, tok.Token); code(err) != domain.EUNAUTHORIZED {
		t.Fatalf("session survived a replayed refresh token: %v", err)
	}
}

func TestNew_RejectsShortSecret(t *testing.T) {
	if _, err := auth.New(nil, auth.Options{Secret: []byte("short"), AccessTTL: time.Minute, RefreshTTL: time.Hour, BcryptCost: 4}); err == nil {
		t.Fatal("New accepted a 5-byte secret")
	}
}

package ticket_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/vibecode/vibecode/shared/ticket"
)

func mustKey(tb testing.TB) (ed25519.PublicKey, ed25519.PrivateKey) {
	tb.Helper()
	pub, priv, err := ticket.GenerateKey()
	if err != nil {
		tb.Fatal(err)
	}
	return pub, priv
}

func mustIssue(tb testing.TB, priv ed25519.PrivateKey, c ticket.Claims, ttl time.Duration) string {
	tb.Helper()
	s, err := ticket.NewIssuer(priv).Issue(c, ttl)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

// signRaw signs arbitrary claims with any method and key, to build tickets a real issuer never
// would.
func signRaw(tb testing.TB, m jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	tb.Helper()
	s, err := jwt.NewWithClaims(m, claims).SignedString(key)
	if err != nil {
		tb.Fatal(err)
	}
	return s
}

func validMap(now time.Time) jwt.MapClaims {
	return jwt.MapClaims{
		"iss": ticket.IssuerClaim, "aud": ticket.AudienceClaim, "sub": "u1", "ws": "ws1",
		"caps": []string{"terminal"}, "jti": "j1",
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
}

func TestVerifier_Verify(t *testing.T) {
	pub, priv := mustKey(t)
	_, otherPriv := mustKey(t)
	now := time.Now()
	good := ticket.Claims{UserID: "u1", WorkspaceID: "ws1", Caps: []string{ticket.CapTerminal}, Name: "Ada"}

	with := func(f func(jwt.MapClaims)) string {
		m := validMap(now)
		f(m)
		return signRaw(t, jwt.SigningMethodEdDSA, priv, m)
	}
	valid := mustIssue(t, priv, good, 0)
	parts := strings.Split(valid, ".")

	tests := []struct {
		name    string
		token   string
		ws      string
		at      time.Time
		wantErr error
	}{
		{"valid", valid, "ws1", now, nil},
		{"valid raw claims", with(func(jwt.MapClaims) {}), "ws1", now, nil},
		{"expired", valid, "ws1", now.Add(2 * time.Minute), ticket.ErrExpired},
		{"within leeway", valid, "ws1", now.Add(62 * time.Second), nil},
		{"issued in the future", valid, "ws1", now.Add(-time.Minute), ticket.ErrInvalid},
		{"wrong workspace", valid, "ws2", now, ticket.ErrWrongWorkspace},
		{"empty workspace asked", valid, "", now, ticket.ErrWrongWorkspace},
		{"forged: other key", mustIssue(t, otherPriv, good, 0), "ws1", now, ticket.ErrInvalid},
		{"forged: payload swapped", parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"vibecode","aud":"vibecode-agent","sub":"u1","ws":"ws1","caps":["terminal","collab"],"jti":"x","iat":1,"exp":99999999999}`)) + "." + parts[2], "ws1", now, ticket.ErrInvalid},
		{"forged: signature flipped", parts[0] + "." + parts[1] + "." + flip(parts[2]), "ws1", now, ticket.ErrInvalid},
		{"alg confusion: HS256 keyed with the public key", signRaw(t, jwt.SigningMethodHS256, []byte(pub), validMap(now)), "ws1", now, ticket.ErrInvalid},
		{"alg confusion: HS256 keyed with base64 public key", signRaw(t, jwt.SigningMethodHS256, []byte(ticket.EncodePublicKey(pub)), validMap(now)), "ws1", now, ticket.ErrInvalid},
		{"alg none", signRaw(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, validMap(now)), "ws1", now, ticket.ErrInvalid},
		{"empty", "", "ws1", now, ticket.ErrInvalid},
		{"garbage", "not.a.jwt", "ws1", now, ticket.ErrInvalid},
		{"wrong issuer", with(func(m jwt.MapClaims) { m["iss"] = "evil" }), "ws1", now, ticket.ErrInvalid},
		{"wrong audience", with(func(m jwt.MapClaims) { m["aud"] = "api" }), "ws1", now, ticket.ErrInvalid},
		{"no exp", with(func(m jwt.MapClaims) { delete(m, "exp") }), "ws1", now, ticket.ErrInvalid},
		{"no iat", with(func(m jwt.MapClaims) { delete(m, "iat") }), "ws1", now, ticket.ErrInvalid},
		{"no jti", with(func(m jwt.MapClaims) { delete(m, "jti") }), "ws1", now, ticket.ErrInvalid},
		{"no sub", with(func(m jwt.MapClaims) { delete(m, "sub") }), "ws1", now, ticket.ErrInvalid},
		{"lifetime over max", with(func(m jwt.MapClaims) { m["exp"] = now.Add(time.Hour).Unix() }), "ws1", now, ticket.ErrInvalid},
		{"no caps", with(func(m jwt.MapClaims) { delete(m, "caps") }), "ws1", now, ticket.ErrNoCapability},
		{"empty caps", with(func(m jwt.MapClaims) { m["caps"] = []string{} }), "ws1", now, ticket.ErrNoCapability},
		{"only unknown caps", with(func(m jwt.MapClaims) { m["caps"] = []string{"root"} }), "ws1", now, ticket.ErrNoCapability},
		{"unknown caps beside known", with(func(m jwt.MapClaims) { m["caps"] = []string{"root", "collab"} }), "ws1", now, nil},
	}
	v := ticket.NewVerifier(pub)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify(tt.token, tt.ws, tt.at)
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.UserID != "u1" || c.WorkspaceID != "ws1" || c.ID == "" || c.ExpiresAt.IsZero() {
					t.Fatalf("claims = %+v", c)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Verify err = %v, want %v", err, tt.wantErr)
			}
			if c != nil {
				t.Fatalf("claims returned with error: %+v", c)
			}
		})
	}
}

func flip(sig string) string {
	b, _ := base64.RawURLEncoding.DecodeString(sig)
	b[0] ^= 1
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestIssuer_Issue(t *testing.T) {
	pub, priv := mustKey(t)
	is := ticket.NewIssuer(priv)
	ok := ticket.Claims{UserID: "u", WorkspaceID: "w", Caps: []string{ticket.CapCollabRead}, Name: "Grace"}

	t.Run("claims on the wire", func(t *testing.T) {
		s, err := is.Issue(ok, 0)
		if err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(s, ".")
		var head, body map[string]any
		decodePart(t, parts[0], &head)
		decodePart(t, parts[1], &body)
		if head["alg"] != "EdDSA" {
			t.Errorf("alg = %v", head["alg"])
		}
		for k, want := range map[string]any{"iss": "vibecode", "aud": "vibecode-agent", "sub": "u", "ws": "w", "name": "Grace"} {
			if got := body[k]; got != want && !(k == "aud" && isList(got, want)) {
				t.Errorf("%s = %v, want %v", k, got, want)
			}
		}
		exp, iat := body["exp"].(float64), body["iat"].(float64)
		if exp-iat != 60 {
			t.Errorf("default lifetime = %vs, want 60", exp-iat)
		}
		if body["jti"] == "" || body["jti"] == nil {
			t.Error("no jti")
		}
		c, err := ticket.NewVerifier(pub).Verify(s, "w", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if c.Name != "Grace" || !c.Can(ticket.CapCollabRead) || c.Can(ticket.CapCollab) {
			t.Errorf("claims = %+v", c)
		}
	})
	for name, tc := range map[string]struct {
		c   ticket.Claims
		ttl time.Duration
	}{
		"no user":        {ticket.Claims{WorkspaceID: "w", Caps: []string{"terminal"}}, 0},
		"no workspace":   {ticket.Claims{UserID: "u", Caps: []string{"terminal"}}, 0},
		"no caps":        {ticket.Claims{UserID: "u", WorkspaceID: "w"}, 0},
		"unknown caps":   {ticket.Claims{UserID: "u", WorkspaceID: "w", Caps: []string{"admin"}}, 0},
		"lifetime > max": {ok, ticket.MaxTTL + time.Second},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := is.Issue(tc.c, tc.ttl); err == nil {
				t.Fatal("Issue succeeded")
			}
		})
	}
	t.Run("bad private key", func(t *testing.T) {
		if _, err := ticket.NewIssuer(nil).Issue(ok, 0); err == nil {
			t.Fatal("Issue with no key succeeded")
		}
	})
}

func isList(got, want any) bool {
	l, ok := got.([]any)
	return ok && len(l) == 1 && l[0] == want
}

func decodePart(tb testing.TB, s string, v any) {
	tb.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		tb.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		tb.Fatal(err)
	}
}

func TestClaims_Can(t *testing.T) {
	tests := []struct {
		caps []string
		ask  string
		want bool
	}{
		{[]string{"terminal"}, "terminal", true},
		{[]string{"terminal"}, "terminal:read", true},
		{[]string{"terminal:read"}, "terminal", false},
		{[]string{"terminal:read"}, "terminal:read", true},
		{[]string{"collab"}, "collab:read", true},
		{[]string{"collab:read"}, "collab", false},
		{[]string{"collab"}, "terminal:read", false},
		{nil, "terminal:read", false},
	}
	for _, tt := range tests {
		c := &ticket.Claims{Caps: tt.caps}
		if got := c.Can(tt.ask); got != tt.want {
			t.Errorf("%v.Can(%q) = %v, want %v", tt.caps, tt.ask, got, tt.want)
		}
	}
	if (*ticket.Claims)(nil).Can("terminal") {
		t.Error("nil claims can")
	}
}

func TestKeys(t *testing.T) {
	pub, priv := mustKey(t)
	t.Run("round trip", func(t *testing.T) {
		p2, err := ticket.DecodePublicKey(ticket.EncodePublicKey(pub))
		if err != nil || !p2.Equal(pub) {
			t.Fatalf("public: %v", err)
		}
		k2, err := ticket.DecodePrivateKey(ticket.EncodePrivateKey(priv))
		if err != nil || !k2.Equal(priv) {
			t.Fatalf("private: %v", err)
		}
		k3, err := ticket.DecodePrivateKey(base64.RawURLEncoding.EncodeToString(priv))
		if err != nil || !k3.Equal(priv) {
			t.Fatalf("64-byte url form: %v", err)
		}
	})
	for name, s := range map[string]string{
		"empty": "", "not base64": "%%%", "short": base64.StdEncoding.EncodeToString([]byte("short")),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ticket.DecodePublicKey(s); err == nil {
				t.Error("DecodePublicKey accepted")
			}
			if _, err := ticket.DecodePrivateKey(s); err == nil {
				t.Error("DecodePrivateKey accepted")
			}
		})
	}
	t.Run("mismatched 64-byte private key", func(t *testing.T) {
		_, other := mustKey(t)
		bad := append(append([]byte{}, priv.Seed()...), other.Public().(ed25519.PublicKey)...)
		if _, err := ticket.DecodePrivateKey(base64.StdEncoding.EncodeToString(bad)); err == nil {
			t.Error("accepted")
		}
	})
	t.Run("key files", func(t *testing.T) {
		dir := t.TempDir()
		pub1, priv1, err := ticket.LoadOrCreateKeyFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		pub2, priv2, err := ticket.LoadOrCreateKeyFiles(dir)
		if err != nil {
			t.Fatal(err)
		}
		if !pub1.Equal(pub2) || !priv1.Equal(priv2) {
			t.Fatal("second load made a new key")
		}
		fi, err := os.Stat(filepath.Join(dir, ticket.PrivateKeyFile))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("private key file: %v %v", fi, err)
		}
		p3, err := ticket.ReadPublicKeyFile(filepath.Join(dir, ticket.PublicKeyFile))
		if err != nil || !p3.Equal(pub1) {
			t.Fatalf("ReadPublicKeyFile: %v", err)
		}
	})
}

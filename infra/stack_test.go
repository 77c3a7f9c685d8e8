package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/testserver"
)

func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }

// backendEnvs returns the configurations the API suite runs on: the embedded default and
// PostgreSQL + Redis on throwaway servers.
func backendEnvs() map[string]func(t testing.TB) map[string]string {
	return map[string]func(t testing.TB) map[string]string{
		"embedded": func(t testing.TB) map[string]string {
			return map[string]string{"VIBECODE_DATA_DIR": t.TempDir()}
		},
		"postgres+redis": func(t testing.TB) map[string]string {
			return map[string]string{
				"DATABASE_URL": testserver.Postgres(t),
				"REDIS_URL":    testserver.Redis(t),
				"JWT_SECRET":   strings.Repeat("s", 32),
			}
		},
	}
}

// startStack starts the local stack's handler on a loopback server with env on top of the
// test defaults, and returns its base URL.
func startStack(t testing.TB, env map[string]string) string {
	t.Helper()
	all := map[string]string{"BCRYPT_COST": "4", "ADMIN_EMAILS": "admin@example.com", "MAX_FILE_BYTES": "65536", "MAX_BODY_BYTES": "4096"}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return all[k] })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	h, closeFn, err := newStack(context.Background(), cfg, "../template.yaml", log)
	if err != nil {
		t.Fatalf("newStack: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := closeFn(); err != nil {
			t.Errorf("close backends: %v", err)
		}
	})
	return srv.URL
}

// client is a test HTTP client that carries a bearer token.
type client struct {
	t     testing.TB
	base  string
	token string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("response %d is not a JSON object: %v: %q", r.status, err, r.body)
	}
	return m
}

// errCode returns the error code of a JSON error body, failing if the body has another shape.
func (r response) errCode(t testing.TB) string {
	t.Helper()
	m := r.json(t)
	e, ok := m["error"].(map[string]any)
	if !ok || e["code"] == nil || e["message"] == nil || e["message"] == "" {
		t.Fatalf("error body lacks error.code/message: %s", r.body)
	}
	return e["code"].(string)
}

func (c *client) do(method, path string, body any, headers ...string) response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if _, ok := body.(map[string]any); ok {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// expect fails unless the response has the status.
func (c *client) expect(status int, method, path string, body any, headers ...string) response {
	c.t.Helper()
	r := c.do(method, path, body, headers...)
	if r.status != status {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, status, r.body)
	}
	return r
}

// signup creates a user and returns a client logged in as them.
func signup(t testing.TB, base, email string) *client {
	t.Helper()
	anon := &client{t: t, base: base}
	r := anon.expect(201, "POST", "/api/auth/signup", map[string]any{"email": email, "password": "correct horse", "name": "User " + email})
	return &client{t: t, base: base, token: r.json(t)["token"].(string)}
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func TestAPI(t *testing.T) {
	for name, env := range backendEnvs() {
		t.Run(name, func(t *testing.T) {
			base := startStack(t, env(t))
			t.Run("Health", func(t *testing.T) { testHealth(t, base) })
			t.Run("Auth", func(t *testing.T) { testAuth(t, base) })
			t.Run("BadInput", func(t *testing.T) { testBadInput(t, base) })
			t.Run("Workspaces", func(t *testing.T) { testWorkspaces(t, base) })
			t.Run("Projects", func(t *testing.T) { testProjects(t, base) })
			t.Run("Files", func(t *testing.T) { testFiles(t, base) })
			t.Run("APIKeys", func(t *testing.T) { testAPIKeys(t, base) })
			t.Run("NoCrossUserAccess", func(t *testing.T) { testNoCrossUserAccess(t, base) })
		})
	}
}

func testHealth(t *testing.T, base string) {
	c := &client{t: t, base: base}
	r := c.expect(200, "GET", "/api/health", nil)
	if str(r.json(t), "status") != "ok" {
		t.Fatalf("health = %s", r.body)
	}
	for _, h := range []string{"X-Content-Type-Options", "X-Frame-Options", "Content-Security-Policy"} {
		if r.header.Get(h) == "" {
			t.Errorf("response lacks security header %s", h)
		}
	}
	r = c.expect(200, "GET", "/api/readyz", nil)
	checks, _ := r.json(t)["checks"].(map[string]any)
	for _, name := range []string{"database", "cache"} {
		if c, _ := checks[name].(map[string]any); str(c, "status") != "ok" {
			t.Errorf("readyz check %s = %v", name, checks[name])
		}
	}
	r = c.expect(404, "GET", "/api/nope", nil)
	if code := r.errCode(t); code != "not_found" {
		t.Errorf("unknown route code = %q", code)
	}
	r = c.expect(405, "PUT", "/api/health", nil)
	r.errCode(t)
	if r.header.Get("Content-Security-Policy") == "" {
		t.Error("405 lacks security headers")
	}
}

func testAuth(t *testing.T, base string) {
	anon := &client{t: t, base: base}
	r := anon.expect(201, "POST", "/api/auth/signup", map[string]any{"email": "Ada@Example.com", "password": "correct horse", "name": "Ada"})
	m := r.json(t)
	user, _ := m["user"].(map[string]any)
	if str(m, "token") == "" || str(m, "refresh_token") == "" || str(user, "email") != "ada@example.com" || str(user, "role") != "user" {
		t.Fatalf("signup = %s", r.body)
	}
	if strings.Contains(string(r.body), "password") {
		t.Fatalf("signup response leaks a password field: %s", r.body)
	}
	anon.expect(409, "POST", "/api/auth/signup", map[string]any{"email": "ada@example.com", "password": "another one", "name": "Ada 2"})

	r = anon.expect(200, "POST", "/api/auth/login", map[string]any{"email": "ADA@example.com", "password": "correct horse"})
	tokens := r.json(t)
	wrong := anon.expect(401, "POST", "/api/auth/login", map[string]any{"email": "ada@example.com", "password": "wrong horse"})
	unknown := anon.expect(401, "POST", "/api/auth/login", map[string]any{"email": "bob@example.com", "password": "wrong horse"})
	if string(wrong.body) != string(unknown.body) {
		t.Errorf("wrong password and unknown email answer differently: %s vs %s", wrong.body, unknown.body)
	}

	me := &client{t: t, base: base, token: str(tokens, "token")}
	if got := str(me.expect(200, "GET", "/api/auth/me", nil).json(t), "email"); got != "ada@example.com" {
		t.Fatalf("me = %q", got)
	}
	r = anon.expect(401, "GET", "/api/auth/me", nil)
	if r.errCode(t) != "unauthorized" || r.header.Get("WWW-Authenticate") == "" {
		t.Fatalf("unauthenticated me = %s %v", r.body, r.header)
	}
	(&client{t: t, base: base, token: "not.a.jwt"}).expect(401, "GET", "/api/auth/me", nil)
	// A token signed with another key is refused.
	forged := str(tokens, "token")
	forged = forged[:strings.LastIndex(forged, ".")+1] + "c2lnbmF0dXJl"
	(&client{t: t, base: base, token: forged}).expect(401, "GET", "/api/auth/me", nil)

	// Refresh rotates; reusing a refresh token ends the session.
	r = anon.expect(200, "POST", "/api/auth/refresh", map[string]any{"refresh_token": str(tokens, "refresh_token")})
	rotated := r.json(t)
	if str(rotated, "refresh_token") == str(tokens, "refresh_token") {
		t.Fatal("refresh did not rotate the refresh token")
	}
	(&client{t: t, base: base, token: str(rotated, "token")}).expect(200, "GET", "/api/auth/me", nil)
	anon.expect(401, "POST", "/api/auth/refresh", map[string]any{"refresh_token": str(tokens, "refresh_token")})
	(&client{t: t, base: base, token: str(rotated, "token")}).expect(401, "GET", "/api/auth/me", nil)
	anon.expect(401, "POST", "/api/auth/refresh", map[string]any{"refresh_token": str(rotated, "refresh_token")})
	anon.expect(400, "POST", "/api/auth/refresh", map[string]any{})

	// Logout revokes the session: the access token and the refresh token stop working.
	r = anon.expect(200, "POST", "/api/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse"})
	s := r.json(t)
	c := &client{t: t, base: base, token: str(s, "token")}
	c.expect(204, "POST", "/api/auth/logout", nil)
	c.expect(401, "GET", "/api/auth/me", nil)
	anon.expect(401, "POST", "/api/auth/refresh", map[string]any{"refresh_token": str(s, "refresh_token")})
	// Logout by refresh token alone.
	s = anon.expect(200, "POST", "/api/auth/login", map[string]any{"email": "ada@example.com", "password": "correct horse"}).json(t)
	anon.expect(204, "POST", "/api/auth/logout", map[string]any{"refresh_token": str(s, "refresh_token")})
	(&client{t: t, base: base, token: str(s, "token")}).expect(401, "GET", "/api/auth/me", nil)
	anon.expect(400, "POST", "/api/auth/logout", nil)
}

func testBadInput(t *testing.T, base string) {
	anon := &client{t: t, base: base}
	cases := []struct {
		name   string
		body   string
		ctype  string
		status int
		code   string
	}{
		{"malformed", `{"email":`, "application/json", 400, "invalid"},
		{"not an object", `[1,2]`, "application/json", 400, "invalid"},
		{"unknown field", `{"email":"x@example.com","password":"correct horse","name":"x","admin":true}`, "application/json", 400, "invalid"},
		{"wrong type", `{"email":1,"password":"correct horse","name":"x"}`, "application/json", 400, "invalid"},
		{"trailing data", `{"email":"x@example.com","password":"correct horse","name":"x"} {}`, "application/json", 400, "invalid"},
		{"empty", ``, "application/json", 400, "invalid"},
		{"wrong content type", `{"email":"x@example.com","password":"correct horse","name":"x"}`, "text/plain", 400, "invalid"},
		{"oversized", `{"email":"x@example.com","password":"correct horse","name":"` + strings.Repeat("x", 5000) + `"}`, "application/json", 413, "too_large"},
		{"bad email", `{"email":"not-an-email","password":"correct horse","name":"x"}`, "application/json", 400, "invalid"},
		{"short password", `{"email":"x@example.com","password":"short","name":"x"}`, "application/json", 400, "invalid"},
		{"long password", `{"email":"x@example.com","password":"` + strings.Repeat("p", 73) + `","name":"x"}`, "application/json", 400, "invalid"},
		{"no name", `{"email":"x@example.com","password":"correct horse","name":"  "}`, "application/json", 400, "invalid"},
		{"control char in name", `{"email":"x@example.com","password":"correct horse","name":"a\u0000b"}`, "application/json", 400, "invalid"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := anon.expect(tc.status, "POST", "/api/auth/signup", tc.body, "Content-Type", tc.ctype)
			if code := r.errCode(t); code != tc.code {
				t.Fatalf("code = %q, want %q", code, tc.code)
			}
		})
	}
	// None of the refused signups created an account.
	anon.expect(401, "POST", "/api/auth/login", map[string]any{"email": "x@example.com", "password": "correct horse"})
}

func testWorkspaces(t *testing.T, base string) {
	c := signup(t, base, "ws@example.com")
	r := c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "My project"})
	ws := r.json(t)
	id := str(ws, "id")
	if id == "" || str(ws, "name") != "My project" || r.header.Get("Location") != "/api/workspaces/"+id {
		t.Fatalf("create = %s (Location %q)", r.body, r.header.Get("Location"))
	}
	c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "Second"})
	list := c.expect(200, "GET", "/api/workspaces", nil).json(t)["workspaces"].([]any)
	if len(list) != 2 {
		t.Fatalf("list has %d workspaces, want 2", len(list))
	}
	if got := str(c.expect(200, "GET", "/api/workspaces/"+id, nil).json(t), "name"); got != "My project" {
		t.Fatalf("get name = %q", got)
	}
	c.expect(200, "PATCH", "/api/workspaces/"+id, map[string]any{"name": "Renamed"})
	if got := str(c.expect(200, "GET", "/api/workspaces/"+id, nil).json(t), "name"); got != "Renamed" {
		t.Fatalf("after rename name = %q (stale cache?)", got)
	}
	c.expect(400, "PATCH", "/api/workspaces/"+id, map[string]any{"name": ""})
	c.expect(400, "POST", "/api/workspaces", map[string]any{"name": strings.Repeat("n", 101)})
	c.expect(204, "DELETE", "/api/workspaces/"+id, nil)
	c.expect(404, "GET", "/api/workspaces/"+id, nil)
	c.expect(404, "DELETE", "/api/workspaces/"+id, nil)
	c.expect(404, "GET", "/api/workspaces/does-not-exist", nil)
}

func testProjects(t *testing.T, base string) {
	c := signup(t, base, "proj@example.com")
	ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "w"}).json(t), "id")
	p := c.expect(201, "POST", "/api/workspaces/"+ws+"/projects", map[string]any{"name": "web", "root": "apps/web"}).json(t)
	pid := str(p, "id")
	if str(p, "root") != "apps/web" || str(p, "workspace_id") != ws {
		t.Fatalf("project = %v", p)
	}
	c.expect(201, "POST", "/api/workspaces/"+ws+"/projects", map[string]any{"name": "api"})
	c.expect(409, "POST", "/api/workspaces/"+ws+"/projects", map[string]any{"name": "web"})
	c.expect(400, "POST", "/api/workspaces/"+ws+"/projects", map[string]any{"name": "bad", "root": "../etc"})
	c.expect(400, "POST", "/api/workspaces/"+ws+"/projects", map[string]any{"root": "x"})
	list := c.expect(200, "GET", "/api/workspaces/"+ws+"/projects", nil).json(t)["projects"].([]any)
	if len(list) != 2 || str(list[0].(map[string]any), "name") != "api" {
		t.Fatalf("projects = %v", list)
	}
	got := c.expect(200, "PATCH", "/api/workspaces/"+ws+"/projects/"+pid, map[string]any{"root": "web"}).json(t)
	if str(got, "name") != "web" || str(got, "root") != "web" {
		t.Fatalf("patched = %v", got)
	}
	c.expect(409, "PATCH", "/api/workspaces/"+ws+"/projects/"+pid, map[string]any{"name": "api"})
	c.expect(200, "GET", "/api/workspaces/"+ws+"/projects/"+pid, nil)
	c.expect(204, "DELETE", "/api/workspaces/"+ws+"/projects/"+pid, nil)
	c.expect(404, "GET", "/api/workspaces/"+ws+"/projects/"+pid, nil)
	c.expect(404, "DELETE", "/api/workspaces/"+ws+"/projects/"+pid, nil)
}

func testFiles(t *testing.T, base string) {
	c := signup(t, base, "files@example.com")
	ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "w"}).json(t), "id")
	files := "/api/workspaces/" + ws + "/files"

	r := c.expect(201, "PUT", files+"/src/main.go", "package main\n")
	meta := r.json(t)
	etag := r.header.Get("ETag")
	if etag == "" || str(meta, "language") != "go" || meta["size"].(float64) != 13 || meta["version"].(float64) != 1 {
		t.Fatalf("create = %s (ETag %q)", r.body, etag)
	}
	// The listing is cached; a write must invalidate it.
	if n := len(c.expect(200, "GET", files, nil).json(t)["files"].([]any)); n != 1 {
		t.Fatalf("list has %d files, want 1", n)
	}
	r = c.expect(200, "PUT", files+"/src/main.go", "package main\n\nfunc main() {}\n", "If-Match", etag)
	etag2 := r.header.Get("ETag")
	c.expect(201, "PUT", files+"/README.md", "# hi\n")
	list := c.expect(200, "GET", files, nil).json(t)["files"].([]any)
	if len(list) != 2 {
		t.Fatalf("list after writes has %d files, want 2 (stale cache?)", len(list))
	}
	first := list[0].(map[string]any)
	if str(first, "path") != "README.md" || str(first, "language") != "markdown" || str(first, "hash") == "" || str(first, "modified_at") == "" || first["size"].(float64) != 5 {
		t.Fatalf("listed file = %v", first)
	}

	r = c.expect(200, "GET", files+"/src/main.go", nil)
	if string(r.body) != "package main\n\nfunc main() {}\n" || r.header.Get("ETag") != etag2 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/plain") {
		t.Fatalf("get = %q %v", r.body, r.header)
	}
	c.expect(304, "GET", files+"/src/main.go", nil, "If-None-Match", etag2)
	c.expect(200, "GET", files+"/src/main.go", nil, "If-None-Match", etag)

	// Lost updates are refused and change nothing.
	c.expect(412, "PUT", files+"/src/main.go", "stale write", "If-Match", etag)
	c.expect(412, "PUT", files+"/src/main.go", "create only", "If-None-Match", "*")
	c.expect(412, "PUT", files+"/new.go", "must exist", "If-Match", "*")
	c.expect(400, "PUT", files+"/src/main.go", "x", "If-Match", "no-quotes")
	if got := string(c.expect(200, "GET", files+"/src/main.go", nil).body); got != "package main\n\nfunc main() {}\n" {
		t.Fatalf("content after refused writes = %q", got)
	}
	c.expect(404, "GET", files+"/new.go", nil)

	// Binary content round-trips byte for byte.
	bin := []byte{0, 1, 2, 0xff, 0xfe, 0x80, 0}
	c.expect(201, "PUT", files+"/img/logo.png", bin)
	r = c.expect(200, "GET", files+"/img/logo.png", nil)
	if !bytes.Equal(r.body, bin) || r.header.Get("Content-Type") != "application/octet-stream" {
		t.Fatalf("binary get = %v %q", r.body, r.header.Get("Content-Type"))
	}
	// Paths with spaces and unicode work.
	c.expect(201, "PUT", files+"/docs/caf%C3%A9%20menu.md", "x")
	c.expect(200, "GET", files+"/docs/caf%C3%A9%20menu.md", nil)

	// Unsafe paths are refused before anything is written.
	for _, p := range []string{"/../x", "/a/../../x", "/%2e%2e/x", "/%2Fetc%2Fpasswd", "//etc/passwd", "/a%00b", "/a%ffb", "/a/./b", "/a%5Cb"} {
		r := c.do("PUT", files+p, "evil")
		if r.status != 400 {
			t.Errorf("PUT %s = %d, want 400: %s", p, r.status, r.body)
			continue
		}
		if code := r.errCode(t); code != "invalid" {
			t.Errorf("PUT %s code = %q", p, code)
		}
	}
	// Over the size limit: 413 and nothing created.
	r = c.expect(413, "PUT", files+"/big.bin", bytes.Repeat([]byte("x"), 65537))
	if r.errCode(t) != "too_large" {
		t.Fatalf("oversized code = %s", r.body)
	}
	c.expect(404, "GET", files+"/big.bin", nil)
	c.expect(201, "PUT", files+"/exact.bin", bytes.Repeat([]byte("x"), 65536))
	c.expect(201, "PUT", files+"/empty.txt", "")
	if r := c.expect(200, "GET", files+"/empty.txt", nil); len(r.body) != 0 {
		t.Fatalf("empty file body = %q", r.body)
	}

	c.expect(412, "DELETE", files+"/src/main.go", nil, "If-Match", etag)
	c.expect(204, "DELETE", files+"/src/main.go", nil, "If-Match", etag2)
	c.expect(404, "GET", files+"/src/main.go", nil)
	c.expect(404, "DELETE", files+"/src/main.go", nil)
	for _, f := range c.expect(200, "GET", files, nil).json(t)["files"].([]any) {
		if str(f.(map[string]any), "path") == "src/main.go" {
			t.Fatal("deleted file still listed (stale cache?)")
		}
	}
}

func testAPIKeys(t *testing.T, base string) {
	user := signup(t, base, "plain@example.com")
	r := user.expect(403, "POST", "/api/auth/api-keys", map[string]any{"name": "mine"})
	if r.errCode(t) != "forbidden" {
		t.Fatal(string(r.body))
	}
	user.expect(403, "POST", "/api/admin/service-accounts", map[string]any{"name": "ci"})

	admin := signup(t, base, "admin@example.com")
	if role := str(admin.expect(200, "GET", "/api/auth/me", nil).json(t), "role"); role != "admin" {
		t.Fatalf("ADMIN_EMAILS user has role %q", role)
	}
	sa := admin.expect(201, "POST", "/api/admin/service-accounts", map[string]any{"name": "ci bot"}).json(t)
	key := str(sa, "key")
	if !strings.HasPrefix(key, "vc_") {
		t.Fatalf("service account = %v", sa)
	}
	bot := &client{t: t, base: base, token: key}
	if role := str(bot.expect(200, "GET", "/api/auth/me", nil).json(t), "role"); role != "service" {
		t.Fatalf("API key principal role = %q", role)
	}
	viaHeader := &client{t: t, base: base}
	viaHeader.expect(200, "GET", "/api/auth/me", nil, "X-API-Key", key)
	bot.expect(201, "POST", "/api/workspaces", map[string]any{"name": "bot space"})

	second := bot.expect(201, "POST", "/api/auth/api-keys", map[string]any{"name": "rotation"}).json(t)
	keys := bot.expect(200, "GET", "/api/auth/api-keys", nil)
	if strings.Contains(string(keys.body), key) || strings.Contains(string(keys.body), str(second, "key")) {
		t.Fatal("listing API keys reveals a key")
	}
	if n := len(keys.json(t)["api_keys"].([]any)); n != 2 {
		t.Fatalf("bot has %d keys, want 2", n)
	}
	id := str(second["api_key"].(map[string]any), "id")
	admin.expect(404, "DELETE", "/api/auth/api-keys/"+id, nil)
	bot.expect(204, "DELETE", "/api/auth/api-keys/"+id, nil)
	(&client{t: t, base: base, token: str(second, "key")}).expect(401, "GET", "/api/auth/me", nil)
	bot.expect(200, "GET", "/api/auth/me", nil)
	(&client{t: t, base: base, token: "vc_forged"}).expect(401, "GET", "/api/auth/me", nil)
	// Service accounts cannot log in with a password.
	(&client{t: t, base: base}).expect(401, "POST", "/api/auth/login", map[string]any{"email": str(sa["user"].(map[string]any), "email"), "password": "anything at all"})
}

// testNoCrossUserAccess walks every route of the template with a second user's credentials
// pointed at the first user's resources and proves none reads or changes them.
func testNoCrossUserAccess(t *testing.T, base string) {
	owner := signup(t, base, "owner@example.com")
	ws := str(owner.expect(201, "POST", "/api/workspaces", map[string]any{"name": "secret space"}).json(t), "id")
	pid := str(owner.expect(201, "POST", "/api/workspaces/"+ws+"/projects", map[string]any{"name": "secret project"}).json(t), "id")
	owner.expect(201, "PUT", "/api/workspaces/"+ws+"/files/secret.txt", "top secret")

	intruder := signup(t, base, "intruder@example.com")

	routes := templateRoutes(t)
	bodies := map[string]any{
		"POST":   map[string]any{"name": "x"},
		"PATCH":  map[string]any{"name": "pwned"},
		"PUT":    "pwned",
		"DELETE": nil,
		"GET":    nil,
	}
	// Routes outside a workspace: what the intruder may do there and what must hold.
	global := map[string]func(r response){
		"POST /api/auth/signup":            nil,
		"POST /api/auth/login":             nil,
		"POST /api/auth/refresh":           nil,
		"POST /api/auth/logout":            nil,
		"GET /api/auth/me":                 func(r response) { noLeak(t, r, "owner@example.com") },
		"GET /api/auth/api-keys":           func(r response) { noLeak(t, r, "owner@example.com") },
		"POST /api/auth/api-keys":          func(r response) { wantStatus(t, r, 403) },
		"DELETE /api/auth/api-keys/{id}":   func(r response) { wantStatus(t, r, 404) },
		"POST /api/admin/service-accounts": func(r response) { wantStatus(t, r, 403) },
		"GET /api/workspaces":              func(r response) { noLeak(t, r, ws, "secret space") },
		"POST /api/workspaces":             func(r response) { wantStatus(t, r, 201) },
		// AI routes act only for the caller: nothing of another user's can be named in them,
		// and the usage they report is the caller's own.
		"POST /api/ai/chat":             nil,
		"POST /api/ai/complete":         nil,
		"POST /api/ai/workflows/{kind}": nil,
		"GET /api/ai/providers":         nil,
		"GET /api/ai/usage":             func(r response) { noLeak(t, r, "owner@example.com", ws) },
		"GET /api/health":               nil,
		"GET /api/readyz":               nil,
		// The sweeper acts on no one's behalf; only service accounts and admins may run it.
		"POST /api/lifecycle/sweep": func(r response) { wantStatus(t, r, 403) },
	}
	walked := 0
	for _, rt := range routes {
		key := rt.Method + " " + rt.Path
		path := strings.NewReplacer("{id}", ws, "{projectId}", pid, "{path+}", "secret.txt").Replace(rt.Path)
		if strings.HasPrefix(rt.Path, "/api/workspaces/{id}") {
			r := intruder.do(rt.Method, path, bodies[rt.Method])
			if r.status != 404 || r.errCode(t) != "not_found" {
				t.Errorf("intruder %s %s = %d, want 404 not_found: %s", rt.Method, path, r.status, r.body)
			}
			noLeak(t, r, "secret space", "secret project", "top secret")
			walked++
			continue
		}
		check, ok := global[key]
		if !ok {
			t.Errorf("route %s has no cross-user check: add one to this test", key)
			continue
		}
		if check != nil {
			if key == "DELETE /api/auth/api-keys/{id}" {
				path = "/api/auth/api-keys/" + ws
			}
			check(intruder.do(rt.Method, path, bodies[rt.Method]))
		}
		walked++
	}
	if walked != len(routes) {
		t.Errorf("walked %d of %d routes", walked, len(routes))
	}
	// The owner's data is intact.
	if got := str(owner.expect(200, "GET", "/api/workspaces/"+ws, nil).json(t), "name"); got != "secret space" {
		t.Errorf("workspace name = %q after the walk", got)
	}
	if got := str(owner.expect(200, "GET", "/api/workspaces/"+ws+"/projects/"+pid, nil).json(t), "name"); got != "secret project" {
		t.Errorf("project name = %q after the walk", got)
	}
	if got := string(owner.expect(200, "GET", "/api/workspaces/"+ws+"/files/secret.txt", nil).body); got != "top secret" {
		t.Errorf("file = %q after the walk", got)
	}
	if n := len(owner.expect(200, "GET", "/api/workspaces/"+ws+"/projects", nil).json(t)["projects"].([]any)); n != 1 {
		t.Errorf("owner has %d projects after the walk, want 1", n)
	}
	if n := len(owner.expect(200, "GET", "/api/workspaces/"+ws+"/files", nil).json(t)["files"].([]any)); n != 1 {
		t.Errorf("owner has %d files after the walk, want 1", n)
	}
}

func wantStatus(t *testing.T, r response, status int) {
	t.Helper()
	if r.status != status {
		t.Errorf("status = %d, want %d: %s", r.status, status, r.body)
	}
}

func noLeak(t *testing.T, r response, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(string(r.body), s) {
			t.Errorf("response leaks %q: %s", s, r.body)
		}
	}
}

package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// TestAgentToken_FilesOfItsWorkspaceOnly checks that a workspace's agent can report disk
// changes with its X-Agent-Token, and that the token opens nothing else.
func TestAgentToken_FilesOfItsWorkspaceOnly(t *testing.T) {
	ctx := context.Background()
	store, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc, err := auth.New(store, auth.Options{Secret: []byte(strings.Repeat("k", 32)), AccessTTL: time.Minute, RefreshTTL: time.Hour, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	var changes []domain.FileChange
	cache := lru.New(100)
	api := httpapi.New(store, cache, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{
		MaxBodyBytes: 1 << 20, MaxFileBytes: 1 << 20,
		OnFileChange: func(_ context.Context, c ...domain.FileChange) error { changes = append(changes, c...); return nil },
	})
	now := time.Now().UTC()
	owner := &domain.User{ID: domain.NewID(), Email: "o@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	if err := store.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	mine := &domain.Workspace{ID: domain.NewID(), OwnerID: owner.ID, Name: "mine", CreatedAt: now, UpdatedAt: now}
	other := &domain.Workspace{ID: domain.NewID(), OwnerID: owner.ID, Name: "other", CreatedAt: now, UpdatedAt: now}
	for _, w := range []*domain.Workspace{mine, other} {
		if err := store.CreateWorkspace(ctx, w); err != nil {
			t.Fatal(err)
		}
	}
	sum := sha256.Sum256([]byte("agent-secret"))
	if err := store.PutVMState(ctx, &domain.VMState{WorkspaceID: mine.ID, State: domain.VMRunning, AgentTokenHash: hex.EncodeToString(sum[:]),
		OwnerID: owner.ID, StateChangedAt: now}); err != nil {
		t.Fatal(err)
	}
	do := func(method, path, token, body string) int {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("X-Agent-Token", token)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		return rec.Code
	}
	files := "/api/workspaces/" + mine.ID + "/files/"
	if got := do("PUT", files+"src/a.go", "agent-secret", "package a"); got != 201 {
		t.Fatalf("agent PUT = %d, want 201", got)
	}
	if len(changes) != 1 || changes[0].Path != "src/a.go" {
		t.Fatalf("file changes reported = %+v", changes)
	}
	if got := do("DELETE", files+"src/a.go", "agent-secret", ""); got != 204 {
		t.Fatalf("agent DELETE = %d, want 204", got)
	}
	// The agent polls the listing with If-None-Match: 304 until a file changes.
	list := func(inm string) (int, string) {
		r := httptest.NewRequest("GET", "/api/workspaces/"+mine.ID+"/files", nil)
		r.Header.Set("X-Agent-Token", "agent-secret")
		if inm != "" {
			r.Header.Set("If-None-Match", inm)
		}
		rec := httptest.NewRecorder()
		api.ServeHTTP(rec, r)
		return rec.Code, rec.Header().Get("ETag")
	}
	code, tag := list("")
	if code != 200 || tag == "" {
		t.Fatalf("agent listing = %d, ETag %q", code, tag)
	}
	if code, again := list(tag); code != 304 || again != tag {
		t.Fatalf("unchanged listing with If-None-Match = %d (ETag %q), want 304", code, again)
	}
	if got := do("PUT", files+"src/b.go", "agent-secret", "package b"); got != 201 {
		t.Fatalf("agent PUT = %d", got)
	}
	code, tag2 := list(tag)
	if code != 200 || tag2 == tag {
		t.Fatalf("listing after a write with the old tag = %d (ETag %q), want 200 and a new tag", code, tag2)
	}
	if got := do("PUT", files+"src/b.go", "agent-secret", "package b // v2"); got != 200 {
		t.Fatalf("agent PUT = %d", got)
	}
	if code, _ := list(tag2); code != 200 {
		t.Fatalf("listing after a rewrite = %d, want 200", code)
	}
	// A stale cached listing (a reload that raced a write) never answers a poll.
	if err := cache.Set(ctx, domain.CacheKey(mine.ID, "files"), []byte(`[]`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := cache.DeletePrefix(ctx, domain.CacheKey(mine.ID, "files-etag")); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/api/workspaces/"+mine.ID+"/files", nil)
	r.Header.Set("X-Agent-Token", "agent-secret")
	r.Header.Set("If-None-Match", tag2)
	rec := httptest.NewRecorder()
	api.ServeHTTP(rec, r)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"src/b.go"`) {
		t.Fatalf("poll over a stale cached listing = %d %s, want the stored listing", rec.Code, rec.Body)
	}
	for name, tc := range map[string]struct {
		method, path, token string
		want                int
	}{
		"wrong token":          {"PUT", files + "b.go", "guess", 401},
		"another workspace":    {"PUT", "/api/workspaces/" + other.ID + "/files/b.go", "agent-secret", 401},
		"not a file route":     {"GET", "/api/workspaces/" + mine.ID, "agent-secret", 401},
		"projects":             {"GET", "/api/workspaces/" + mine.ID + "/projects", "agent-secret", 401},
		"no credential at all": {"GET", files + "b.go", "", 401},
	} {
		if got := do(tc.method, tc.path, tc.token, "x"); got != tc.want {
			t.Errorf("%s: %s %s = %d, want %d", name, tc.method, tc.path, got, tc.want)
		}
	}
}

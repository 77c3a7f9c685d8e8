package filesync_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/sqlite"
	"github.com/vibecode/vibecode/workspace-vm/filesync"
)

// realAPI serves the control plane's file API (httpapi over embedded SQLite) for one
// workspace whose agent token is "agent-token", and returns its URL and workspace ID.
func realAPI(t *testing.T) (string, string) {
	t.Helper()
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
	api := httpapi.New(store, lru.New(100), svc, slog.New(slog.DiscardHandler), httpapi.Options{MaxBodyBytes: 1 << 20, MaxFileBytes: 1 << 10})
	now := time.Now().UTC()
	owner := &domain.User{ID: domain.NewID(), Email: "o@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	ws := &domain.Workspace{ID: domain.NewID(), OwnerID: owner.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	sum := sha256.Sum256([]byte("agent-token"))
	if err := store.CreateUser(ctx, owner); err != nil {
		t.Fatal(err)
	}
	if err := store.CreateWorkspace(ctx, ws); err != nil {
		t.Fatal(err)
	}
	if err := store.PutVMState(ctx, &domain.VMState{WorkspaceID: ws.ID, State: domain.VMRunning, AgentTokenHash: hex.EncodeToString(sum[:]),
		OwnerID: owner.ID, StateChangedAt: now}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	return srv.URL, ws.ID
}

// TestHTTPRemote_AgainstTheFileAPI checks the remote against the real file API: the
// conditional listing, preconditions on writes and deletes, escaping, refusals.
func TestHTTPRemote_AgainstTheFileAPI(t *testing.T) {
	base, ws := realAPI(t)
	ctx := context.Background()
	r, err := filesync.NewHTTPRemote(filesync.HTTPRemoteOptions{BaseURL: base + "/", WorkspaceID: ws, AgentToken: "agent-token"})
	if err != nil {
		t.Fatal(err)
	}
	files, tag, changed, err := r.List(ctx, "")
	if err != nil || !changed || len(files) != 0 || tag == "" {
		t.Fatalf("List of an empty workspace = %v %q %v %v", files, tag, changed, err)
	}
	const p = "src/café menu.md"
	f, err := r.Put(ctx, p, []byte("menu v1"), "")
	if err != nil || f.Hash != domain.HashContent([]byte("menu v1")) || f.Version != 1 {
		t.Fatalf("Put new = %+v, %v", f, err)
	}
	if _, err := r.Put(ctx, p, []byte("again"), ""); domain.ErrorCode(err) != domain.EPRECONDITION {
		t.Fatalf("Put new over an existing file: %v, want EPRECONDITION", err)
	}
	files, tag2, changed, err := r.List(ctx, tag)
	if err != nil || !changed || len(files) != 1 || files[0].Path != p || files[0].Hash != f.Hash || tag2 == tag {
		t.Fatalf("List after a write = %+v %q %v %v", files, tag2, changed, err)
	}
	if _, _, changed, err := r.List(ctx, tag2); err != nil || changed {
		t.Fatalf("List unchanged = %v %v, want not changed (304)", changed, err)
	}
	content, got, err := r.Get(ctx, p)
	if err != nil || string(content) != "menu v1" || got.Hash != f.Hash || got.Version != 1 {
		t.Fatalf("Get = %q %+v %v", content, got, err)
	}
	f2, err := r.Put(ctx, p, []byte("menu v2"), f.Hash)
	if err != nil || f2.Version != 2 {
		t.Fatalf("Put If-Match = %+v %v", f2, err)
	}
	if _, err := r.Put(ctx, p, []byte("lost update"), f.Hash); domain.ErrorCode(err) != domain.EPRECONDITION {
		t.Fatalf("Put with a stale If-Match: %v, want EPRECONDITION", err)
	}
	if err := r.Delete(ctx, p, f.Hash); domain.ErrorCode(err) != domain.EPRECONDITION {
		t.Fatalf("Delete with a stale If-Match: %v, want EPRECONDITION", err)
	}
	if err := r.Delete(ctx, p, f2.Hash); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if err := r.Delete(ctx, p, f2.Hash); err != nil {
		t.Fatalf("Delete of a gone file: %v, want nil", err)
	}
	if _, _, err := r.Get(ctx, p); domain.ErrorCode(err) != domain.ENOTFOUND {
		t.Fatalf("Get of a gone file: %v, want ENOTFOUND", err)
	}
	if _, err := r.Put(ctx, "big.txt", []byte(strings.Repeat("x", 2048)), ""); domain.ErrorCode(err) != domain.ETOOLARGE {
		t.Fatalf("Put over the API's limit: %v, want ETOOLARGE", err)
	}
	if _, err := r.Put(ctx, "bad\x01name", []byte("x"), ""); domain.ErrorCode(err) != domain.EINVALID {
		t.Fatalf("Put of a path with a control character: %v, want EINVALID", err)
	}

	// A wrong token, or another workspace, is a transient error (never "file not found").
	bad, _ := filesync.NewHTTPRemote(filesync.HTTPRemoteOptions{BaseURL: base, WorkspaceID: ws, AgentToken: "wrong"})
	if _, _, _, err := bad.List(ctx, ""); err == nil || domain.ErrorCode(err) != domain.EINTERNAL {
		t.Fatalf("List with a wrong token: %v, want a transient error", err)
	}
	other, _ := filesync.NewHTTPRemote(filesync.HTTPRemoteOptions{BaseURL: base, WorkspaceID: "nope", AgentToken: "agent-token"})
	if err := other.Delete(ctx, "x", ""); err == nil || domain.ErrorCode(err) != domain.EINTERNAL {
		t.Fatalf("Delete in another workspace: %v, want a transient error", err)
	}
	for _, o := range []filesync.HTTPRemoteOptions{{}, {BaseURL: "ftp://x", WorkspaceID: "w", AgentToken: "t"}, {BaseURL: base, WorkspaceID: "w"}} {
		if _, err := filesync.NewHTTPRemote(o); err == nil {
			t.Errorf("NewHTTPRemote(%+v) accepted", o)
		}
	}
}

// TestHTTPRemote_RefusesAlteredContent checks that a body that does not match its ETag is
// never handed out to be written.
func TestHTTPRemote_RefusesAlteredContent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"`+domain.HashContent([]byte("original"))+`"`)
		_, _ = io.WriteString(w, "altered")
	}))
	defer srv.Close()
	r, err := filesync.NewHTTPRemote(filesync.HTTPRemoteOptions{BaseURL: srv.URL, WorkspaceID: "w", AgentToken: "t"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := r.Get(context.Background(), "a.txt"); err == nil {
		t.Fatal("Get accepted a body that does not match its ETag")
	}
}

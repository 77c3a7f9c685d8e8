// Package storetest is the conformance suite every domain.Store implementation must pass.
//
// Each backend's tests call Run with a constructor for a fresh, empty store; the suite then
// checks the behaviour the rest of VibeCode relies on (error codes, atomicity, ordering,
// workspace isolation), so the embedded default and PostgreSQL cannot drift apart.
package storetest

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// test is one named part of the suite.
type test struct {
	name string
	fn   func(t *testing.T, s domain.Store)
}

// Run runs the whole conformance suite. newStore returns an empty store; it is called once
// per subtest and the store is closed by the suite when the subtest ends.
func Run(t *testing.T, newStore func(t *testing.T) domain.Store) {
	tests := []test{
		{"Users", testUsers},
		{"Sessions", testSessions},
		{"RefreshRotationIsAtomic", testRotationAtomic},
		{"APIKeys", testAPIKeys},
		{"Workspaces", testWorkspaces},
		{"Projects", testProjects},
		{"Files", testFiles},
		{"FilePreconditionsAreAtomic", testFilePreconditionsAtomic},
		{"DeleteWorkspaceCascades", testDeleteWorkspaceCascades},
	}
	tests = append(tests, vectorSearchTests...)
	tests = append(tests,
		test{"SearchText", testSearchText},
		test{"TextIndexFollowsChunks", testTextIndexFollowsChunks},
		test{"ChunkEmbeddings", testChunkEmbeddings},
		test{"IndexState", testIndexState},
		test{"IndexStateDeletes", testIndexStateDeletes},
		test{"IndexStateCascade", testIndexStateCascade},
		test{"AIRequests", testAIRequests},
		test{"Ping", func(t *testing.T, s domain.Store) {
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
		}},
	)
	tests = append(tests, lifecycleTests...)
	run(t, newStore, tests)
}

// vectorSearchTests are the parts of the suite that exercise SearchChunks.
var vectorSearchTests = []test{
	{"Chunks", testChunks},
	{"SearchFilters", testSearchFilters},
	{"SearchFilterRecall", testSearchFilterRecall},
}

// RunVectorSearch runs only the parts of the suite that exercise SearchChunks (they are part
// of Run too), for a backend to run them again with its database set up differently: the
// PostgreSQL adapter makes its planner use the HNSW index, which a small test table would
// otherwise never reach.
func RunVectorSearch(t *testing.T, newStore func(t *testing.T) domain.Store) {
	run(t, newStore, vectorSearchTests)
}

// run runs each test as a subtest on a fresh store.
func run(t *testing.T, newStore func(t *testing.T) domain.Store, tests []test) {
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			})
			tc.fn(t, s)
		})
	}
}

// now is a fixed instant, truncated to microseconds because PostgreSQL stores no finer.
var now = time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := domain.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkUser(t *testing.T, s domain.Store, email string) *domain.User {
	t.Helper()
	u := &domain.User{ID: domain.NewID(), Email: email, Name: "N " + email, Role: domain.RoleUser,
		PasswordHash: "hash", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateUser(context.Background(), u))
	return u
}

func mkWorkspace(t *testing.T, s domain.Store, owner *domain.User, name string) *domain.Workspace {
	t.Helper()
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: owner.ID, Name: name, CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateWorkspace(context.Background(), w))
	return w
}

func putFile(t *testing.T, s domain.Store, wsID, path, content string, opts domain.PutOptions) (*domain.File, bool, error) {
	t.Helper()
	f := &domain.File{WorkspaceID: wsID, Path: path, Size: int64(len(content)), Hash: domain.HashContent([]byte(content)),
		Language: domain.LanguageOf(path), ModifiedAt: now}
	created, err := s.PutFile(context.Background(), f, []byte(content), opts)
	return f, created, err
}

func testUsers(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "ada@example.com")
	got, err := s.UserByID(ctx, u.ID)
	must(t, err)
	if got.Email != u.Email || got.Name != u.Name || got.Role != u.Role || got.PasswordHash != "hash" || !got.CreatedAt.Equal(now) {
		t.Fatalf("UserByID = %+v, want %+v", got, u)
	}
	got, err = s.UserByEmail(ctx, "ada@example.com")
	must(t, err)
	if got.ID != u.ID {
		t.Fatalf("UserByEmail id = %q, want %q", got.ID, u.ID)
	}
	dup := &domain.User{ID: domain.NewID(), Email: "ada@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	wantCode(t, s.CreateUser(ctx, dup), domain.ECONFLICT)
	_, err = s.UserByID(ctx, "missing")
	wantCode(t, err, domain.ENOTFOUND)
	_, err = s.UserByEmail(ctx, "nobody@example.com")
	wantCode(t, err, domain.ENOTFOUND)
}

func testSessions(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "s@example.com")
	sess := &domain.Session{ID: domain.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	first := &domain.RefreshToken{Hash: "h1", SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, sess, first))

	got, err := s.SessionByID(ctx, sess.ID)
	must(t, err)
	if got.UserID != u.ID || got.RevokedAt != nil || !got.ExpiresAt.Equal(sess.ExpiresAt) {
		t.Fatalf("SessionByID = %+v", got)
	}
	rt, err := s.RefreshTokenByHash(ctx, "h1")
	must(t, err)
	if rt.SessionID != sess.ID || rt.UsedAt != nil {
		t.Fatalf("RefreshTokenByHash = %+v", rt)
	}

	next := &domain.RefreshToken{Hash: "h2", SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.RotateRefreshToken(ctx, "h1", next, now))
	rt, err = s.RefreshTokenByHash(ctx, "h1")
	must(t, err)
	if rt.UsedAt == nil {
		t.Fatal("rotated token is not marked used")
	}
	// Reusing the old token must fail and store nothing.
	again := &domain.RefreshToken{Hash: "h3", SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	wantCode(t, s.RotateRefreshToken(ctx, "h1", again, now), domain.ECONFLICT)
	_, err = s.RefreshTokenByHash(ctx, "h3")
	wantCode(t, err, domain.ENOTFOUND)
	wantCode(t, s.RotateRefreshToken(ctx, "nope", again, now), domain.ECONFLICT)

	must(t, s.RevokeSession(ctx, sess.ID, now))
	must(t, s.RevokeSession(ctx, sess.ID, now))
	got, err = s.SessionByID(ctx, sess.ID)
	must(t, err)
	if got.RevokedAt == nil {
		t.Fatal("revoked session has no RevokedAt")
	}
	_, err = s.SessionByID(ctx, "missing")
	wantCode(t, err, domain.ENOTFOUND)
	_, err = s.RefreshTokenByHash(ctx, "missing")
	wantCode(t, err, domain.ENOTFOUND)
}

func testRotationAtomic(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "r@example.com")
	sess := &domain.Session{ID: domain.NewID(), UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	must(t, s.CreateSession(ctx, sess, &domain.RefreshToken{Hash: "root", SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}))
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins, conflicts := 0, 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			next := &domain.RefreshToken{Hash: fmt.Sprintf("next-%d", i), SessionID: sess.ID, UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
			err := s.RotateRefreshToken(ctx, "root", next, now)
			mu.Lock()
			defer mu.Unlock()
			switch domain.ErrorCode(err) {
			case "":
				wins++
			case domain.ECONFLICT:
				conflicts++
			default:
				t.Errorf("RotateRefreshToken: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 || conflicts != n-1 {
		t.Fatalf("concurrent rotations: %d won, %d conflicted; want exactly 1 winner", wins, conflicts)
	}
}

func testAPIKeys(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "svc@example.com")
	other := mkUser(t, s, "other@example.com")
	k1 := &domain.APIKey{ID: domain.NewID(), UserID: u.ID, Name: "ci", Prefix: "vc_aaaa", Hash: "kh1", CreatedAt: now}
	k2 := &domain.APIKey{ID: domain.NewID(), UserID: u.ID, Name: "deploy", Prefix: "vc_bbbb", Hash: "kh2", CreatedAt: now.Add(time.Second)}
	must(t, s.CreateAPIKey(ctx, k1))
	must(t, s.CreateAPIKey(ctx, k2))
	got, err := s.APIKeyByHash(ctx, "kh1")
	must(t, err)
	if got.ID != k1.ID || got.UserID != u.ID || got.Name != "ci" || got.Prefix != "vc_aaaa" {
		t.Fatalf("APIKeyByHash = %+v", got)
	}
	keys, err := s.ListAPIKeys(ctx, u.ID)
	must(t, err)
	if len(keys) != 2 || keys[0].ID != k2.ID {
		t.Fatalf("ListAPIKeys = %d keys, first %v; want 2, newest first", len(keys), keys)
	}
	wantCode(t, s.RevokeAPIKey(ctx, other.ID, k1.ID, now), domain.ENOTFOUND)
	must(t, s.RevokeAPIKey(ctx, u.ID, k1.ID, now))
	got, err = s.APIKeyByHash(ctx, "kh1")
	must(t, err)
	if got.RevokedAt == nil {
		t.Fatal("revoked key has no RevokedAt")
	}
	must(t, s.TouchAPIKey(ctx, k2.ID, now))
	got, err = s.APIKeyByHash(ctx, "kh2")
	must(t, err)
	if got.LastUsedAt == nil || !got.LastUsedAt.Equal(now) {
		t.Fatalf("LastUsedAt = %v, want %v", got.LastUsedAt, now)
	}
	_, err = s.APIKeyByHash(ctx, "missing")
	wantCode(t, err, domain.ENOTFOUND)
}

func testWorkspaces(t *testing.T, s domain.Store) {
	ctx := context.Background()
	a := mkUser(t, s, "a@example.com")
	b := mkUser(t, s, "b@example.com")
	w1 := mkWorkspace(t, s, a, "one")
	w2 := &domain.Workspace{ID: domain.NewID(), OwnerID: a.ID, Name: "two", CreatedAt: now.Add(time.Second), UpdatedAt: now}
	must(t, s.CreateWorkspace(ctx, w2))
	mkWorkspace(t, s, b, "theirs")

	got, err := s.WorkspaceByID(ctx, w1.ID)
	must(t, err)
	if got.Name != "one" || got.OwnerID != a.ID {
		t.Fatalf("WorkspaceByID = %+v", got)
	}
	list, err := s.ListWorkspaces(ctx, a.ID)
	must(t, err)
	if len(list) != 2 || list[0].ID != w1.ID || list[1].ID != w2.ID {
		t.Fatalf("ListWorkspaces(a) = %v, want [one two]", names(list))
	}
	w1.Name = "renamed"
	w1.UpdatedAt = now.Add(time.Minute)
	must(t, s.UpdateWorkspace(ctx, w1))
	got, err = s.WorkspaceByID(ctx, w1.ID)
	must(t, err)
	if got.Name != "renamed" || !got.UpdatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("after update: %+v", got)
	}
	wantCode(t, s.UpdateWorkspace(ctx, &domain.Workspace{ID: "missing", Name: "x"}), domain.ENOTFOUND)
	must(t, s.DeleteWorkspace(ctx, w2.ID))
	_, err = s.WorkspaceByID(ctx, w2.ID)
	wantCode(t, err, domain.ENOTFOUND)
	wantCode(t, s.DeleteWorkspace(ctx, w2.ID), domain.ENOTFOUND)
}

func names(ws []*domain.Workspace) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.Name)
	}
	return out
}

func testProjects(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "p@example.com")
	w := mkWorkspace(t, s, u, "w")
	w2 := mkWorkspace(t, s, u, "w2")
	pb := &domain.Project{ID: domain.NewID(), WorkspaceID: w.ID, Name: "backend", Root: "server", CreatedAt: now, UpdatedAt: now}
	pa := &domain.Project{ID: domain.NewID(), WorkspaceID: w.ID, Name: "app", Root: "web", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateProject(ctx, pb))
	must(t, s.CreateProject(ctx, pa))
	wantCode(t, s.CreateProject(ctx, &domain.Project{ID: domain.NewID(), WorkspaceID: w.ID, Name: "app", CreatedAt: now, UpdatedAt: now}), domain.ECONFLICT)
	// The same name in another workspace is fine.
	must(t, s.CreateProject(ctx, &domain.Project{ID: domain.NewID(), WorkspaceID: w2.ID, Name: "app", CreatedAt: now, UpdatedAt: now}))

	list, err := s.ListProjects(ctx, w.ID)
	must(t, err)
	if len(list) != 2 || list[0].Name != "app" || list[1].Name != "backend" {
		t.Fatalf("ListProjects = %+v, want app, backend", list)
	}
	got, err := s.ProjectByID(ctx, w.ID, pb.ID)
	must(t, err)
	if got.Root != "server" {
		t.Fatalf("ProjectByID = %+v", got)
	}
	_, err = s.ProjectByID(ctx, w2.ID, pb.ID)
	wantCode(t, err, domain.ENOTFOUND)

	pb.Name, pb.Root = "api", "api"
	must(t, s.UpdateProject(ctx, pb))
	got, err = s.ProjectByID(ctx, w.ID, pb.ID)
	must(t, err)
	if got.Name != "api" || got.Root != "api" {
		t.Fatalf("after update: %+v", got)
	}
	pb.Name = "app"
	wantCode(t, s.UpdateProject(ctx, pb), domain.ECONFLICT)
	wantCode(t, s.DeleteProject(ctx, w2.ID, pa.ID), domain.ENOTFOUND)
	must(t, s.DeleteProject(ctx, w.ID, pa.ID))
	_, err = s.ProjectByID(ctx, w.ID, pa.ID)
	wantCode(t, err, domain.ENOTFOUND)
}

func testFiles(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "f@example.com")
	w := mkWorkspace(t, s, u, "w")
	other := mkWorkspace(t, s, u, "other")

	f, created, err := putFile(t, s, w.ID, "src/main.go", "package main\n", domain.PutOptions{})
	must(t, err)
	if !created || f.Version != 1 {
		t.Fatalf("first put: created=%v version=%d, want true 1", created, f.Version)
	}
	f2, created, err := putFile(t, s, w.ID, "src/main.go", "package main\n\nfunc main() {}\n", domain.PutOptions{IfMatch: f.Hash})
	must(t, err)
	if created || f2.Version != 2 {
		t.Fatalf("replace: created=%v version=%d, want false 2", created, f2.Version)
	}
	// A stale If-Match fails and leaves the file as it was.
	_, _, err = putFile(t, s, w.ID, "src/main.go", "lost update", domain.PutOptions{IfMatch: f.Hash})
	wantCode(t, err, domain.EPRECONDITION)
	meta, content, err := s.FileContent(ctx, w.ID, "src/main.go")
	must(t, err)
	if string(content) != "package main\n\nfunc main() {}\n" || meta.Hash != f2.Hash || meta.Version != 2 || meta.Language != "go" {
		t.Fatalf("after failed put: %+v %q", meta, content)
	}
	_, _, err = putFile(t, s, w.ID, "src/main.go", "x", domain.PutOptions{IfNoneMatch: true})
	wantCode(t, err, domain.EPRECONDITION)
	_, _, err = putFile(t, s, w.ID, "new.txt", "x", domain.PutOptions{IfMatch: "*"})
	wantCode(t, err, domain.EPRECONDITION)
	_, err = s.FileByPath(ctx, w.ID, "new.txt")
	wantCode(t, err, domain.ENOTFOUND)

	// Binary and empty content round-trip byte for byte.
	bin := string([]byte{0, 1, 2, 0xff, 0xfe, 0, '\n'})
	_, _, err = putFile(t, s, w.ID, "assets/blob.bin", bin, domain.PutOptions{})
	must(t, err)
	_, content, err = s.FileContent(ctx, w.ID, "assets/blob.bin")
	must(t, err)
	if !bytes.Equal(content, []byte(bin)) {
		t.Fatalf("binary content = %v, want %v", content, []byte(bin))
	}
	_, _, err = putFile(t, s, w.ID, "empty", "", domain.PutOptions{IfNoneMatch: true})
	must(t, err)
	meta, content, err = s.FileContent(ctx, w.ID, "empty")
	must(t, err)
	if len(content) != 0 || meta.Size != 0 {
		t.Fatalf("empty file: size %d, content %q", meta.Size, content)
	}

	list, err := s.ListFiles(ctx, w.ID)
	must(t, err)
	var paths []string
	for _, f := range list {
		paths = append(paths, f.Path)
	}
	if fmt.Sprint(paths) != "[assets/blob.bin empty src/main.go]" {
		t.Fatalf("ListFiles = %v", paths)
	}
	if list[2].Size != int64(len("package main\n\nfunc main() {}\n")) || !list[2].ModifiedAt.Equal(now) {
		t.Fatalf("listed metadata = %+v", list[2])
	}
	// Files are per workspace.
	_, err = s.FileByPath(ctx, other.ID, "src/main.go")
	wantCode(t, err, domain.ENOTFOUND)
	list, err = s.ListFiles(ctx, other.ID)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("other workspace lists %d files", len(list))
	}

	// Deleting a file deletes its chunks.
	must(t, s.ReplaceChunks(ctx, w.ID, "src/main.go", []*domain.Chunk{mkChunk(w.ID, "src/main.go", 1, unit(0))}))
	wantCode(t, s.DeleteFile(ctx, w.ID, "src/main.go", domain.PutOptions{IfMatch: f.Hash}), domain.EPRECONDITION)
	must(t, s.DeleteFile(ctx, w.ID, "src/main.go", domain.PutOptions{IfMatch: f2.Hash}))
	_, err = s.FileByPath(ctx, w.ID, "src/main.go")
	wantCode(t, err, domain.ENOTFOUND)
	n, err := s.CountChunks(ctx, w.ID)
	must(t, err)
	if n != 0 {
		t.Fatalf("chunks after file delete = %d, want 0", n)
	}
	wantCode(t, s.DeleteFile(ctx, w.ID, "src/main.go", domain.PutOptions{}), domain.ENOTFOUND)
	// A re-created file starts again at version 1.
	f3, created, err := putFile(t, s, w.ID, "src/main.go", "again", domain.PutOptions{})
	must(t, err)
	if !created || f3.Version < 1 {
		t.Fatalf("re-create: created=%v version=%d", created, f3.Version)
	}
}

func testFilePreconditionsAtomic(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "c@example.com")
	w := mkWorkspace(t, s, u, "w")
	base, _, err := putFile(t, s, w.ID, "a.txt", "base", domain.PutOptions{})
	must(t, err)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, err := putFile(t, s, w.ID, "a.txt", fmt.Sprintf("writer %d", i), domain.PutOptions{IfMatch: base.Hash})
			mu.Lock()
			defer mu.Unlock()
			switch domain.ErrorCode(err) {
			case "":
				wins++
			case domain.EPRECONDITION:
			default:
				t.Errorf("PutFile: %v", err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Fatalf("%d concurrent writers with the same If-Match succeeded, want exactly 1", wins)
	}
	meta, _, err := s.FileContent(ctx, w.ID, "a.txt")
	must(t, err)
	if meta.Version != 2 {
		t.Fatalf("version after one winning write = %d, want 2", meta.Version)
	}
	// Concurrent creates of one new path: one creates, the rest replace; the versions count every write.
	var created int
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := putFile(t, s, w.ID, "b.txt", fmt.Sprint(i), domain.PutOptions{})
			if err != nil {
				t.Errorf("PutFile: %v", err)
			}
			mu.Lock()
			defer mu.Unlock()
			if c {
				created++
			}
		}()
	}
	wg.Wait()
	meta, err = s.FileByPath(ctx, w.ID, "b.txt")
	must(t, err)
	if created != 1 || meta.Version != n {
		t.Fatalf("concurrent creates: %d created, version %d; want 1 and %d", created, meta.Version, n)
	}
}

func testDeleteWorkspaceCascades(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "d@example.com")
	w := mkWorkspace(t, s, u, "doomed")
	keep := mkWorkspace(t, s, u, "kept")
	for _, ws := range []*domain.Workspace{w, keep} {
		_, _, err := putFile(t, s, ws.ID, "x.go", "package x", domain.PutOptions{})
		must(t, err)
		must(t, s.CreateProject(ctx, &domain.Project{ID: domain.NewID(), WorkspaceID: ws.ID, Name: "p", CreatedAt: now, UpdatedAt: now}))
		must(t, s.ReplaceChunks(ctx, ws.ID, "x.go", []*domain.Chunk{mkChunk(ws.ID, "x.go", 1, unit(1))}))
	}
	must(t, s.DeleteWorkspace(ctx, w.ID))
	files, err := s.ListFiles(ctx, w.ID)
	must(t, err)
	projects, err := s.ListProjects(ctx, w.ID)
	must(t, err)
	chunks, err := s.CountChunks(ctx, w.ID)
	must(t, err)
	if len(files)+len(projects)+chunks != 0 {
		t.Fatalf("after delete: %d files, %d projects, %d chunks remain", len(files), len(projects), chunks)
	}
	files, err = s.ListFiles(ctx, keep.ID)
	must(t, err)
	chunks, err = s.CountChunks(ctx, keep.ID)
	must(t, err)
	if len(files) != 1 || chunks != 1 {
		t.Fatalf("other workspace lost data: %d files, %d chunks", len(files), chunks)
	}
	hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: unit(1), Limit: 10})
	must(t, err)
	if len(hits) != 0 {
		t.Fatalf("search in a deleted workspace returned %d hits", len(hits))
	}
}

// unit returns the unit vector along axis i.
func unit(i int) []float32 {
	v := make([]float32, domain.EmbeddingDims)
	v[i] = 1
	return v
}

// mix returns a normalised vector a*e_i + b*e_j.
func mix(i int, a float64, j int, b float64) []float32 {
	v := make([]float32, domain.EmbeddingDims)
	n := math.Hypot(a, b)
	v[i] += float32(a / n)
	v[j] += float32(b / n)
	return v
}

func mkChunk(wsID, path string, line int, emb []float32) *domain.Chunk {
	content := fmt.Sprintf("%s line %d", path, line)
	return &domain.Chunk{ID: domain.NewID(), WorkspaceID: wsID, Path: path, FileVersion: 1, StartLine: line, EndLine: line + 9,
		Language: domain.LanguageOf(path), Symbol: fmt.Sprintf("sym%d", line), Content: content,
		ContentHash: domain.HashContent([]byte(content)), Embedding: emb}
}

func testChunks(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "k@example.com")
	w := mkWorkspace(t, s, u, "w")
	other := mkWorkspace(t, s, u, "other")

	near := mkChunk(w.ID, "a.go", 1, mix(0, 0.9, 1, 0.1))
	mid := mkChunk(w.ID, "a.go", 20, mix(0, 0.5, 1, 0.5))
	far := mkChunk(w.ID, "b.go", 1, unit(2))
	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{near, mid}))
	must(t, s.ReplaceChunks(ctx, w.ID, "b.go", []*domain.Chunk{far}))
	// The best possible match lives in another workspace and must never be returned.
	must(t, s.ReplaceChunks(ctx, other.ID, "a.go", []*domain.Chunk{mkChunk(other.ID, "a.go", 1, unit(0))}))

	hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: unit(0), Limit: 10})
	must(t, err)
	if len(hits) != 3 {
		t.Fatalf("SearchChunks returned %d hits, want 3", len(hits))
	}
	if hits[0].Chunk.ID != near.ID || hits[1].Chunk.ID != mid.ID || hits[2].Chunk.ID != far.ID {
		t.Fatalf("order = %s %s %s, want near mid far", hits[0].Chunk.Symbol, hits[1].Chunk.Symbol, hits[2].Chunk.Symbol)
	}
	want := 0.9 / math.Hypot(0.9, 0.1)
	if math.Abs(hits[0].Score-want) > 1e-3 || math.Abs(hits[2].Score) > 1e-3 {
		t.Fatalf("scores = %v, %v; want %.4f and 0 (cosine similarity)", hits[0].Score, hits[2].Score, want)
	}
	c := hits[0].Chunk
	if c.Path != "a.go" || c.StartLine != 1 || c.EndLine != 10 || c.Language != "go" || c.Symbol != "sym1" ||
		c.Content != near.Content || c.ContentHash != near.ContentHash || c.FileVersion != 1 {
		t.Fatalf("hit fields = %+v", c)
	}
	hits, err = s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: unit(0), Limit: 1})
	must(t, err)
	if len(hits) != 1 {
		t.Fatalf("limit 1 returned %d hits", len(hits))
	}

	// Replacing a file's chunks removes the old ones.
	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{mkChunk(w.ID, "a.go", 5, unit(3))}))
	n, err := s.CountChunks(ctx, w.ID)
	must(t, err)
	if n != 2 {
		t.Fatalf("CountChunks after replace = %d, want 2", n)
	}
	hits, err = s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: unit(0), Limit: 10})
	must(t, err)
	for _, h := range hits {
		if h.Chunk.ID == near.ID || h.Chunk.ID == mid.ID {
			t.Fatalf("replaced chunk %s still returned", h.Chunk.Symbol)
		}
	}
	must(t, s.DeleteChunks(ctx, w.ID, "a.go"))
	n, err = s.CountChunks(ctx, w.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("CountChunks after delete = %d, want 1", n)
	}
	must(t, s.ReplaceChunks(ctx, w.ID, "b.go", nil))
	n, err = s.CountChunks(ctx, w.ID)
	must(t, err)
	if n != 0 {
		t.Fatalf("CountChunks after replacing with none = %d, want 0", n)
	}
	n, err = s.CountChunks(ctx, other.ID)
	must(t, err)
	if n != 1 {
		t.Fatalf("other workspace's CountChunks = %d, want 1", n)
	}
}

func testAIRequests(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "ai@example.com")
	v := mkUser(t, s, "ai2@example.com")
	for i, r := range []*domain.AIRequest{
		{UserID: u.ID, CreatedAt: now.Add(-2 * time.Hour)},
		{UserID: u.ID, CreatedAt: now},
		{UserID: u.ID, CreatedAt: now.Add(time.Minute)},
		{UserID: v.ID, CreatedAt: now},
	} {
		r.ID, r.Provider, r.Model, r.Kind, r.Status = domain.NewID(), "openai", "gpt-4o-mini", "chat", "ok"
		r.TokensIn, r.TokensOut, r.CostUSD, r.LatencyMS = 100+i, 20, 0.00125, 42
		must(t, s.RecordAIRequest(ctx, r))
	}
	list, err := s.ListAIRequests(ctx, u.ID, now.Add(-time.Hour))
	must(t, err)
	if len(list) != 2 || !list[0].CreatedAt.Equal(now.Add(time.Minute)) {
		t.Fatalf("ListAIRequests = %d, want 2 newest first", len(list))
	}
	r := list[1]
	if r.Provider != "openai" || r.Model != "gpt-4o-mini" || r.TokensIn != 101 || r.TokensOut != 20 ||
		math.Abs(r.CostUSD-0.00125) > 1e-12 || r.LatencyMS != 42 || r.Status != "ok" || r.Kind != "chat" {
		t.Fatalf("recorded request = %+v", r)
	}
}

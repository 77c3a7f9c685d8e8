package sqlite_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/sqlite"
	"github.com/vibecode/vibecode/shared/storetest"
)

func open(tb testing.TB, dir string) *sqlite.Store {
	tb.Helper()
	s, err := sqlite.Open(context.Background(), dir)
	if err != nil {
		tb.Fatalf("Open(%s): %v", dir, err)
	}
	return s
}

func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		return open(t, t.TempDir())
	})
}

func unit(i int) []float32 {
	v := make([]float32, domain.EmbeddingDims)
	v[i] = 1
	return v
}

func TestOpen_CreatesPrivateDir(t *testing.T) {
	// URI metacharacters in the path must not be taken for DSN syntax.
	dir := filepath.Join(t.TempDir(), "a?b#c%20 d", "data")
	s := open(t, dir)
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("data dir mode = %v, want 0700", fi.Mode().Perm())
	}
	if _, err := os.Stat(filepath.Join(dir, sqlite.FileName)); err != nil {
		t.Errorf("database file: %v", err)
	}
}

// TestOpen_Reopen checks that everything, the vector index included, survives a restart.
func TestOpen_Reopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	now := time.Date(2026, 1, 2, 3, 4, 5, 123456789, time.UTC)

	s := open(t, dir)
	u := &domain.User{ID: domain.NewID(), Email: "re@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	content := []byte("package a\n")
	f := &domain.File{WorkspaceID: w.ID, Path: "a.go", Size: int64(len(content)), Hash: domain.HashContent(content),
		Language: "go", ModifiedAt: now}
	if _, err := s.PutFile(ctx, f, content, domain.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	keep := &domain.Chunk{ID: domain.NewID(), Path: "a.go", FileVersion: 1, StartLine: 1, EndLine: 1, Content: "package a", Embedding: unit(7)}
	gone := &domain.Chunk{ID: domain.NewID(), Path: "b.go", FileVersion: 1, StartLine: 1, EndLine: 1, Content: "package b", Embedding: unit(7)}
	if err := s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{keep}); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceChunks(ctx, w.ID, "b.go", []*domain.Chunk{gone}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteChunks(ctx, w.ID, "b.go"); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = open(t, dir)
	defer s.Close()
	got, err := s.UserByEmail(ctx, "re@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(now) || got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt = %v, want %v in UTC", got.CreatedAt, now)
	}
	meta, body, err := s.FileContent(ctx, w.ID, "a.go")
	if err != nil {
		t.Fatal(err)
	}
	if string(body) != string(content) || meta.Version != 1 || !meta.ModifiedAt.Equal(now) {
		t.Errorf("file after reopen = %+v %q", meta, body)
	}
	hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: unit(7), Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Chunk.ID != keep.ID || hits[0].Score < 0.999 {
		t.Fatalf("search after reopen = %+v, want only the kept chunk with score 1", hits)
	}
	if hits[0].Chunk.Content != "package a" || hits[0].Chunk.WorkspaceID != w.ID {
		t.Errorf("hit = %+v", hits[0].Chunk)
	}
}

// TestOpen_MigrationsIdempotent opens one directory twice: the second Open must find the schema
// current and apply nothing.
func TestOpen_MigrationsIdempotent(t *testing.T) {
	dir := t.TempDir()
	for range 3 {
		s := open(t, dir)
		if err := s.Ping(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStore_SearchChunks(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir())
	defer s.Close()
	now := time.Now()
	u := &domain.User{ID: domain.NewID(), Email: "v@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}

	t.Run("zero vectors score 0", func(t *testing.T) {
		zero := make([]float32, domain.EmbeddingDims)
		c := &domain.Chunk{Path: "z.go", Embedding: zero}
		if err := s.ReplaceChunks(ctx, w.ID, "z.go", []*domain.Chunk{c}); err != nil {
			t.Fatal(err)
		}
		if c.ID == "" {
			t.Fatal("ReplaceChunks did not assign an ID")
		}
		for _, q := range [][]float32{unit(0), zero} {
			hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: q, Limit: 5})
			if err != nil {
				t.Fatal(err)
			}
			if len(hits) != 1 || hits[0].Score != 0 {
				t.Fatalf("hits = %+v, want one with score 0", hits)
			}
		}
	})
	t.Run("bad vectors", func(t *testing.T) {
		_, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: w.ID, Vector: []float32{1, 2}, Limit: 5})
		if domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("short query: %v, want invalid", err)
		}
		err = s.ReplaceChunks(ctx, w.ID, "x.go", []*domain.Chunk{{Embedding: []float32{1}}})
		if domain.ErrorCode(err) != domain.EINVALID {
			t.Errorf("short embedding: %v, want invalid", err)
		}
	})
	t.Run("unknown workspace", func(t *testing.T) {
		err := s.ReplaceChunks(ctx, "missing", "x.go", []*domain.Chunk{{Embedding: unit(0)}})
		if domain.ErrorCode(err) != domain.ENOTFOUND {
			t.Errorf("ReplaceChunks in a missing workspace: %v, want not_found", err)
		}
		hits, err := s.SearchChunks(ctx, domain.ChunkQuery{WorkspaceID: "missing", Vector: unit(0), Limit: 5})
		if err != nil || len(hits) != 0 {
			t.Errorf("search in a missing workspace = %v, %v", hits, err)
		}
	})
}

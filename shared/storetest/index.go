package storetest

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// status returns the workspace's index status and fails the test on error.
func status(t *testing.T, s domain.Store, wsID string) *domain.IndexStatus {
	t.Helper()
	st, err := s.IndexStatus(context.Background(), wsID)
	if err != nil {
		t.Fatalf("IndexStatus: %v", err)
	}
	if st.Errors == nil {
		t.Fatal("IndexStatus.Errors is nil, want a (possibly empty) slice")
	}
	return st
}

// wantCounts checks the pending, failed and skipped counts.
func wantCounts(t *testing.T, st *domain.IndexStatus, pending, failed, skipped int) {
	t.Helper()
	if st.Pending != pending || st.Failed != failed || st.Skipped != skipped {
		t.Fatalf("pending/failed/skipped = %d/%d/%d, want %d/%d/%d", st.Pending, st.Failed, st.Skipped, pending, failed, skipped)
	}
}

// errorEntry returns the status's error entry for path, or nil.
func errorEntry(st *domain.IndexStatus, path string) *domain.IndexEntry {
	for i := range st.Errors {
		if st.Errors[i].Path == path {
			return &st.Errors[i]
		}
	}
	return nil
}

// at returns the suite's fixed instant plus n seconds.
func at(n int) time.Time { return now.Add(time.Duration(n) * time.Second) }

// testIndexState checks the transitions for file versions: newer or equal versions apply,
// older ones are ignored, and the status counts, times and error list follow.
func testIndexState(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "idx@example.com")
	w := mkWorkspace(t, s, u, "w")

	st := status(t, s, w.ID)
	if st.Files != 0 || st.Chunks != 0 || st.LastIndexedAt != nil || len(st.Errors) != 0 {
		t.Fatalf("empty workspace status = %+v", st)
	}
	wantCounts(t, st, 0, 0, 0)

	must(t, s.MarkIndexPending(ctx, w.ID, "a.go", 1, at(1)))
	must(t, s.MarkIndexPending(ctx, w.ID, "b.go", 1, at(1)))
	wantCounts(t, status(t, s, w.ID), 2, 0, 0)
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 1, at(2)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 1, 0, 0)
	if st.LastIndexedAt == nil || !st.LastIndexedAt.Equal(at(2)) || st.LastIndexedAt.Location() != time.UTC {
		t.Fatalf("LastIndexedAt = %v, want %v in UTC", st.LastIndexedAt, at(2))
	}

	// A stale job (version 2 finishing after version 3 was queued) changes nothing.
	must(t, s.MarkIndexPending(ctx, w.ID, "a.go", 3, at(3)))
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 2, at(4)))
	must(t, s.MarkIndexFailed(ctx, w.ID, "a.go", 2, "old", 3, at(4)))
	must(t, s.MarkIndexSkipped(ctx, w.ID, "a.go", 2, "old", at(4)))
	must(t, s.MarkIndexPending(ctx, w.ID, "a.go", 2, at(4)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 2, 0, 0)
	if st.LastIndexedAt != nil {
		t.Fatalf("LastIndexedAt = %v with no file done", st.LastIndexedAt)
	}
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 3, at(5)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 1, 0, 0)
	if !st.LastIndexedAt.Equal(at(5)) {
		t.Fatalf("LastIndexedAt = %v, want %v", st.LastIndexedAt, at(5))
	}

	// Failures and skips are listed newest first with their details.
	must(t, s.MarkIndexFailed(ctx, w.ID, "b.go", 1, "embedder unavailable", 5, at(6)))
	must(t, s.MarkIndexSkipped(ctx, w.ID, "c.bin", 1, "binary file", at(7)))
	must(t, s.MarkIndexFailed(ctx, w.ID, "b.go", 0, "ignored: not a delete", 1, at(8)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 1, 1)
	if len(st.Errors) != 2 || st.Errors[0].Path != "c.bin" || st.Errors[1].Path != "b.go" {
		t.Fatalf("Errors = %+v, want c.bin then b.go", st.Errors)
	}
	b := st.Errors[1]
	if b.Version != 1 || b.State != domain.IndexFailed || b.Reason != "embedder unavailable" || b.Attempts != 5 ||
		!b.UpdatedAt.Equal(at(6)) || b.UpdatedAt.Location() != time.UTC {
		t.Fatalf("failed entry = %+v", b)
	}
	if c := st.Errors[0]; c.State != domain.IndexSkipped || c.Reason != "binary file" || c.Version != 1 || !c.UpdatedAt.Equal(at(7)) {
		t.Fatalf("skipped entry = %+v", c)
	}
	// A retry of the same version succeeds and clears the failure.
	must(t, s.MarkIndexPending(ctx, w.ID, "b.go", 1, at(9)))
	must(t, s.MarkIndexDone(ctx, w.ID, "b.go", 1, at(10)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 0, 1)
	if len(st.Errors) != 1 || !st.LastIndexedAt.Equal(at(10)) {
		t.Fatalf("after retry: %+v", st)
	}

	// Files and chunks are counted from the workspace's files and chunks.
	for _, p := range []string{"a.go", "b.go"} {
		_, _, err := putFile(t, s, w.ID, p, "package x", domain.PutOptions{})
		must(t, err)
	}
	must(t, s.ReplaceChunks(ctx, w.ID, "a.go", []*domain.Chunk{mkChunk(w.ID, "a.go", 1, unit(1)), mkChunk(w.ID, "a.go", 20, unit(2))}))
	st = status(t, s, w.ID)
	if st.Files != 2 || st.Chunks != 2 {
		t.Fatalf("Files, Chunks = %d, %d, want 2, 2", st.Files, st.Chunks)
	}

	// At most 100 errors, the newest.
	for i := range 105 {
		must(t, s.MarkIndexFailed(ctx, w.ID, fmt.Sprintf("bad/%03d.go", i), 1, "boom", 3, at(100+i)))
	}
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 105, 1)
	if len(st.Errors) != 100 || st.Errors[0].Path != "bad/104.go" || st.Errors[99].Path != "bad/005.go" {
		t.Fatalf("Errors: %d entries from %s to %s, want 100 from bad/104.go to bad/005.go",
			len(st.Errors), st.Errors[0].Path, st.Errors[len(st.Errors)-1].Path)
	}

	// Workspaces are separate; a missing one cannot record states and has an empty status.
	other := mkWorkspace(t, s, u, "other")
	st = status(t, s, other.ID)
	wantCounts(t, st, 0, 0, 0)
	if st.LastIndexedAt != nil || len(st.Errors) != 0 || st.Files != 0 || st.Chunks != 0 {
		t.Fatalf("other workspace status = %+v", st)
	}
	wantCode(t, s.MarkIndexPending(ctx, "missing", "a.go", 1, now), domain.ENOTFOUND)
	wantCode(t, s.MarkIndexDone(ctx, "missing", "a.go", 1, now), domain.ENOTFOUND)
	st = status(t, s, "missing")
	wantCounts(t, st, 0, 0, 0)
}

// testIndexStateDeletes checks version 0, the delete: it is pending until done, then its
// entry goes; jobs that read the file before the delete cannot overwrite it; and a file
// written again (from version 1) supersedes it.
func testIndexStateDeletes(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "del@example.com")
	w := mkWorkspace(t, s, u, "w")

	// a.go at version 3 is deleted; a job for version 3 that read the file before the delete
	// finishes late and must not resurrect it.
	must(t, s.MarkIndexPending(ctx, w.ID, "a.go", 3, at(1)))
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 3, at(2)))
	must(t, s.MarkIndexPending(ctx, w.ID, "a.go", 0, at(3)))
	wantCounts(t, status(t, s, w.ID), 1, 0, 0)
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 3, at(4)))
	must(t, s.MarkIndexFailed(ctx, w.ID, "a.go", 3, "stale", 1, at(4)))
	must(t, s.MarkIndexSkipped(ctx, w.ID, "a.go", 3, "stale", at(4)))
	st := status(t, s, w.ID)
	wantCounts(t, st, 1, 0, 0)
	if st.LastIndexedAt != nil {
		t.Fatalf("LastIndexedAt = %v while the only file is being deleted", st.LastIndexedAt)
	}
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 0, at(5)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 0, 0)
	if st.LastIndexedAt != nil {
		t.Fatalf("LastIndexedAt = %v after the delete, want nil (no entries)", st.LastIndexedAt)
	}
	// The entry is gone: a failure of the delete job redelivered afterwards records nothing.
	must(t, s.MarkIndexFailed(ctx, w.ID, "a.go", 0, "late", 3, at(6)))
	must(t, s.MarkIndexDone(ctx, w.ID, "a.go", 0, at(6)))
	wantCounts(t, status(t, s, w.ID), 0, 0, 0)

	// b.go at version 5 is deleted and re-created (versions restart at 1) before the delete
	// job runs: version 1 supersedes the delete, and the late delete job changes nothing.
	must(t, s.MarkIndexPending(ctx, w.ID, "b.go", 5, at(10)))
	must(t, s.MarkIndexDone(ctx, w.ID, "b.go", 5, at(11)))
	must(t, s.MarkIndexPending(ctx, w.ID, "b.go", 0, at(12)))
	must(t, s.MarkIndexPending(ctx, w.ID, "b.go", 1, at(13)))
	must(t, s.MarkIndexDone(ctx, w.ID, "b.go", 0, at(14)))
	must(t, s.MarkIndexFailed(ctx, w.ID, "b.go", 0, "late delete", 1, at(14)))
	wantCounts(t, status(t, s, w.ID), 1, 0, 0)
	must(t, s.MarkIndexFailed(ctx, w.ID, "b.go", 1, "version 1 failed", 2, at(15)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 1, 0)
	if e := errorEntry(st, "b.go"); e == nil || e.Version != 1 || e.Reason != "version 1 failed" {
		t.Fatalf("b.go entry = %+v, want version 1 failed", e)
	}
	must(t, s.MarkIndexDone(ctx, w.ID, "b.go", 1, at(16)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 0, 0)
	if st.LastIndexedAt == nil || !st.LastIndexedAt.Equal(at(16)) {
		t.Fatalf("LastIndexedAt = %v, want %v", st.LastIndexedAt, at(16))
	}

	// A delete whose job fails is listed as failed at version 0 until a re-create supersedes it.
	must(t, s.MarkIndexPending(ctx, w.ID, "c.go", 0, at(20)))
	must(t, s.MarkIndexFailed(ctx, w.ID, "c.go", 0, "store down", 3, at(21)))
	st = status(t, s, w.ID)
	wantCounts(t, st, 0, 1, 0)
	if e := errorEntry(st, "c.go"); e == nil || e.Version != 0 || e.State != domain.IndexFailed || e.Attempts != 3 {
		t.Fatalf("c.go entry = %+v, want a failed delete", e)
	}
	must(t, s.MarkIndexPending(ctx, w.ID, "c.go", 1, at(22)))
	wantCounts(t, status(t, s, w.ID), 1, 0, 0)

	// A file deleted while its newest version is pending: the delete replaces the pending job.
	must(t, s.MarkIndexPending(ctx, w.ID, "d.go", 7, at(30)))
	must(t, s.MarkIndexPending(ctx, w.ID, "d.go", 0, at(31)))
	must(t, s.MarkIndexDone(ctx, w.ID, "d.go", 0, at(32)))
	wantCounts(t, status(t, s, w.ID), 1, 0, 0) // c.go only
}

// testIndexStateCascade checks that deleting a workspace deletes its index states.
func testIndexStateCascade(t *testing.T, s domain.Store) {
	ctx := context.Background()
	u := mkUser(t, s, "cascade@example.com")
	w := mkWorkspace(t, s, u, "doomed")
	keep := mkWorkspace(t, s, u, "kept")
	for _, ws := range []*domain.Workspace{w, keep} {
		must(t, s.MarkIndexPending(ctx, ws.ID, "a.go", 1, at(1)))
		must(t, s.MarkIndexFailed(ctx, ws.ID, "b.go", 1, "boom", 1, at(2)))
		must(t, s.MarkIndexDone(ctx, ws.ID, "c.go", 1, at(3)))
	}
	must(t, s.DeleteWorkspace(ctx, w.ID))
	st := status(t, s, w.ID)
	wantCounts(t, st, 0, 0, 0)
	if len(st.Errors) != 0 || st.LastIndexedAt != nil {
		t.Fatalf("deleted workspace status = %+v", st)
	}
	st = status(t, s, keep.ID)
	wantCounts(t, st, 1, 1, 0)
	if st.LastIndexedAt == nil || len(st.Errors) != 1 {
		t.Fatalf("kept workspace status = %+v", st)
	}
	// A workspace created again with the same ID starts clean.
	again := &domain.Workspace{ID: w.ID, OwnerID: u.ID, Name: "again", CreatedAt: now, UpdatedAt: now}
	must(t, s.CreateWorkspace(ctx, again))
	wantCounts(t, status(t, s, w.ID), 0, 0, 0)
}

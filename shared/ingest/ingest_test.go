package ingest_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ingest"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// paragraphChunker is a test chunker: one chunk per blank-line-separated paragraph.
type paragraphChunker struct{}

func (paragraphChunker) Chunk(path string, content []byte) ([]*domain.Chunk, error) {
	var out []*domain.Chunk
	line := 1
	for _, para := range strings.Split(string(content), "\n\n") {
		n := strings.Count(para, "\n") + 1
		if strings.TrimSpace(para) != "" {
			out = append(out, &domain.Chunk{Path: path, StartLine: line, EndLine: line + n - 1, Language: domain.LanguageOf(path), Symbol: strings.Fields(para)[0], Content: para})
		}
		line += n + 1
	}
	return out, nil
}

// countingEmbedder returns a fixed vector per text and counts the texts it embedded.
type countingEmbedder struct {
	mu    sync.Mutex
	texts []string
	fail  error
}

func (e *countingEmbedder) Model() string { return "test-v1" }
func (e *countingEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.fail != nil {
		return nil, e.fail
	}
	e.texts = append(e.texts, texts...)
	out := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float32, domain.EmbeddingDims)
		v[len(t)%domain.EmbeddingDims] = 1
		out[i] = v
	}
	return out, nil
}

func (e *countingEmbedder) count() int { e.mu.Lock(); defer e.mu.Unlock(); return len(e.texts) }

// recordingQueue keeps enqueued jobs for the test to deliver by hand.
type recordingQueue struct{ jobs []domain.IndexJob }

func (q *recordingQueue) Enqueue(_ context.Context, jobs ...domain.IndexJob) error {
	q.jobs = append(q.jobs, jobs...)
	return nil
}

type fixture struct {
	store *sqlite.Store
	emb   *countingEmbedder
	queue *recordingQueue
	svc   *ingest.Service
	ws    string
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	s, err := sqlite.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	now := time.Now().UTC()
	u := &domain.User{ID: domain.NewID(), Email: "i@example.com", Role: domain.RoleUser, CreatedAt: now, UpdatedAt: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	w := &domain.Workspace{ID: domain.NewID(), OwnerID: u.ID, Name: "w", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateWorkspace(ctx, w); err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: s, emb: &countingEmbedder{}, queue: &recordingQueue{}, ws: w.ID}
	f.svc = ingest.New(s, paragraphChunker{}, f.emb, lru.New(1000), f.queue, ingest.Options{MaxAttempts: 3})
	return f
}

// write stores a file and reports the change, as the API does.
func (f *fixture) write(t *testing.T, path, content string) int64 {
	t.Helper()
	ctx := context.Background()
	file := &domain.File{WorkspaceID: f.ws, Path: path, Size: int64(len(content)), Hash: domain.HashContent([]byte(content)), Language: domain.LanguageOf(path), ModifiedAt: time.Now().UTC()}
	if _, err := f.store.PutFile(ctx, file, []byte(content), domain.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FilesChanged(ctx, domain.FileChange{WorkspaceID: f.ws, Path: path, Version: file.Version}); err != nil {
		t.Fatal(err)
	}
	return file.Version
}

// deliver hands every queued job to the service once, in order.
func (f *fixture) deliver(t *testing.T) {
	t.Helper()
	for len(f.queue.jobs) > 0 {
		job := f.queue.jobs[0]
		f.queue.jobs = f.queue.jobs[1:]
		if err := f.svc.Handle(context.Background(), job, 1); err != nil {
			t.Fatalf("Handle(%+v): %v", job, err)
		}
	}
}

func (f *fixture) status(t *testing.T) *domain.IndexStatus {
	t.Helper()
	st, err := f.store.IndexStatus(context.Background(), f.ws)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestService_IndexesAndReusesEmbeddings(t *testing.T) {
	f := setup(t)
	f.write(t, "a.go", "alpha one\n\nbeta two\n\ngamma three")
	if st := f.status(t); st.Pending != 1 {
		t.Fatalf("pending before delivery = %d, want 1", st.Pending)
	}
	f.deliver(t)
	st := f.status(t)
	if st.Pending != 0 || st.Chunks != 3 || st.LastIndexedAt == nil {
		t.Fatalf("status = %+v", st)
	}
	if f.emb.count() != 3 {
		t.Fatalf("embedded %d texts, want 3", f.emb.count())
	}
	// Editing one paragraph re-embeds only that one.
	f.write(t, "a.go", "alpha one\n\nbeta TWO CHANGED\n\ngamma three")
	f.deliver(t)
	if f.emb.count() != 4 {
		t.Fatalf("embedded %d texts after a one-paragraph edit, want 4", f.emb.count())
	}
	// The same content in another file comes from the embedding cache.
	f.write(t, "b.go", "alpha one")
	f.deliver(t)
	if f.emb.count() != 4 {
		t.Fatalf("embedded %d texts for already-seen content, want 4", f.emb.count())
	}
	// Redelivering a job is harmless.
	f.write(t, "c.go", "delta four")
	job := f.queue.jobs[0]
	f.deliver(t)
	if err := f.svc.Handle(context.Background(), job, 2); err != nil {
		t.Fatal(err)
	}
	if n, _ := f.store.CountChunks(context.Background(), f.ws); n != 5 {
		t.Fatalf("chunks after a redelivery = %d, want 5", n)
	}
}

func TestService_StaleJobsDoNothing(t *testing.T) {
	f := setup(t)
	f.write(t, "a.go", "old content")
	f.write(t, "a.go", "new content")
	// Deliver the newer job first, then the stale one.
	f.queue.jobs[0], f.queue.jobs[1] = f.queue.jobs[1], f.queue.jobs[0]
	f.deliver(t)
	hits, err := f.store.SearchChunksText(context.Background(), domain.ChunkQuery{WorkspaceID: f.ws, Text: "content", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 1 || hits[0].Chunk.Content != "new content" || hits[0].Chunk.FileVersion != 2 {
		t.Fatalf("chunks after out-of-order delivery = %+v", hits)
	}
	if st := f.status(t); st.Pending != 0 {
		t.Fatalf("pending = %d, want 0", st.Pending)
	}
}

func TestService_DeleteRemovesChunks(t *testing.T) {
	f := setup(t)
	f.write(t, "a.go", "alpha")
	f.deliver(t)
	ctx := context.Background()
	if err := f.store.DeleteFile(ctx, f.ws, "a.go", domain.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.FilesChanged(ctx, domain.FileChange{WorkspaceID: f.ws, Path: "a.go", Deleted: true}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t)
	st := f.status(t)
	if st.Chunks != 0 || st.Pending != 0 || st.Files != 0 {
		t.Fatalf("status after delete = %+v", st)
	}
}

func TestService_SkipsWithReason(t *testing.T) {
	f := setup(t)
	f.write(t, "img.png", "\x89PNG\x00\x00")
	f.write(t, "node_modules/x/index.js", "module.exports = 1")
	f.write(t, "gen.go", "// Code generated by x. DO NOT EDIT.\n\npackage gen")
	f.write(t, "empty.txt", "")
	f.deliver(t)
	st := f.status(t)
	if st.Skipped != 3 || st.Pending != 0 || st.Chunks != 0 || len(st.Errors) != 3 {
		t.Fatalf("status = %+v", st)
	}
	for _, e := range st.Errors {
		if e.State != domain.IndexSkipped || e.Reason == "" {
			t.Fatalf("entry = %+v", e)
		}
	}
}

func TestService_PoisonJobFailsAfterMaxAttempts(t *testing.T) {
	f := setup(t)
	f.emb.fail = errors.New("provider exploded")
	f.write(t, "a.go", "alpha")
	job := f.queue.jobs[0]
	for attempt := 1; attempt <= 3; attempt++ {
		if err := f.svc.Handle(context.Background(), job, attempt); err == nil {
			t.Fatalf("attempt %d succeeded", attempt)
		}
		st := f.status(t)
		if attempt < 3 && (st.Pending != 1 || st.Failed != 0) {
			t.Fatalf("after attempt %d: %+v", attempt, st)
		}
	}
	st := f.status(t)
	if st.Failed != 1 || st.Pending != 0 || len(st.Errors) != 1 || !strings.Contains(st.Errors[0].Reason, "provider exploded") || st.Errors[0].Attempts != 3 {
		t.Fatalf("after the last attempt: %+v", st)
	}
	// A later successful write recovers.
	f.emb.fail = nil
	f.queue.jobs = nil
	f.write(t, "a.go", "alpha again")
	f.deliver(t)
	if st := f.status(t); st.Failed != 0 || st.Chunks != 1 {
		t.Fatalf("after recovery: %+v", st)
	}
}

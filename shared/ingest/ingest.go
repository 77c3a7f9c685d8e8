// Package ingest keeps a workspace's search index in line with its files: the producer side
// turns file changes into queued index jobs, the consumer side (Service.Handle, a
// domain.JobHandler) chunks a file, embeds only the chunks it has not embedded before, and
// replaces the file's chunks.
//
// Processing is idempotent and version-aware, because every queue here delivers at least
// once and in no particular order: a job names the file version that caused it, the
// consumer always reads the file as it is now, and a job older than the file does nothing.
package ingest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Store is what ingestion needs from the database.
type Store interface {
	domain.FileStore
	domain.ChunkStore
	domain.IndexStore
}

// Options configure a Service.
type Options struct {
	// MaxAttempts is how many deliveries a job gets before it is dead-lettered; the attempt
	// that reaches it records the failure in the index status. It must match the queue's.
	MaxAttempts int
	// MaxIndexBytes skips files larger than this (default 1 MiB): they are stored but not
	// searchable, with the reason shown in the index status.
	MaxIndexBytes int
	// EmbedBatch bounds how many chunks go to the embedder in one call (default 64).
	EmbedBatch int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives processing errors.
	Logger *slog.Logger
}

// Service processes index jobs and enqueues them.
type Service struct {
	store    Store
	chunker  domain.Chunker
	embedder domain.Embedder
	cache    domain.Cache
	queue    domain.Queue
	opts     Options
}

// New returns a Service. queue may be nil on a consumer that never enqueues; it is used to
// re-enqueue a job when a file changed while it was being indexed.
func New(store Store, chunker domain.Chunker, embedder domain.Embedder, cache domain.Cache, queue domain.Queue, opts Options) *Service {
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.MaxIndexBytes <= 0 {
		opts.MaxIndexBytes = 1 << 20
	}
	if opts.EmbedBatch <= 0 {
		opts.EmbedBatch = 64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, chunker: chunker, embedder: embedder, cache: cache, queue: queue, opts: opts}
}

// SetQueue sets the queue used to re-enqueue; the local stack creates the queue after the
// service, because the queue's consumer is the service.
func (s *Service) SetQueue(q domain.Queue) { s.queue = q }

func (s *Service) now() time.Time { return s.opts.Now().UTC().Truncate(time.Microsecond) }

// FilesChanged records committed file changes as pending and enqueues their index jobs in
// one batch. It is the producer side, the API's OnFileChange hook after every write, delete
// and import.
func (s *Service) FilesChanged(ctx context.Context, changes ...domain.FileChange) error {
	jobs := make([]domain.IndexJob, 0, len(changes))
	for _, c := range changes {
		version := c.Version
		if c.Deleted {
			version = 0
		}
		if err := s.store.MarkIndexPending(ctx, c.WorkspaceID, c.Path, version, s.now()); err != nil {
			return fmt.Errorf("ingest: mark pending: %w", err)
		}
		jobs = append(jobs, domain.IndexJob{WorkspaceID: c.WorkspaceID, Path: c.Path, Version: version, Deleted: c.Deleted, EnqueuedAt: s.now()})
	}
	if len(jobs) == 0 {
		return nil
	}
	if err := s.queue.Enqueue(ctx, jobs...); err != nil {
		return fmt.Errorf("ingest: enqueue %d jobs: %w", len(jobs), err)
	}
	return nil
}

// Handle processes one delivery of a job (a domain.JobHandler). It returns an error to ask
// for a redelivery; on the last attempt it first records the failure in the index status.
func (s *Service) Handle(ctx context.Context, job domain.IndexJob, attempt int) error {
	err := s.process(ctx, job)
	if err == nil {
		return nil
	}
	s.opts.Logger.WarnContext(ctx, "index job failed", "workspace", job.WorkspaceID, "path", job.Path,
		"version", job.Version, "attempt", attempt, "err", err)
	if attempt >= s.opts.MaxAttempts {
		reason := fmt.Sprintf("indexing failed after %d attempts: %v", attempt, err)
		if merr := s.store.MarkIndexFailed(ctx, job.WorkspaceID, job.Path, job.Version, reason, attempt, s.now()); merr != nil {
			return errors.Join(err, fmt.Errorf("ingest: mark failed: %w", merr))
		}
	}
	return err
}

func (s *Service) process(ctx context.Context, job domain.IndexJob) error {
	if job.WorkspaceID == "" || job.Path == "" {
		return errors.New("job lacks workspace or path")
	}
	f, content, err := s.store.FileContent(ctx, job.WorkspaceID, job.Path)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		// Gone (or never there): whatever this job was, the file has no chunks now.
		if err := s.store.DeleteChunks(ctx, job.WorkspaceID, job.Path); err != nil {
			return fmt.Errorf("delete chunks: %w", err)
		}
		return s.done(ctx, job.WorkspaceID, job.Path, 0)
	case err != nil:
		return fmt.Errorf("read file: %w", err)
	case job.Deleted || f.Version > job.Version:
		// Stale: the file was re-created or changed since; the newer job indexes it.
		return nil
	}
	if reason := skipReason(job.Path, content, s.opts.MaxIndexBytes); reason != "" {
		if err := s.store.DeleteChunks(ctx, job.WorkspaceID, job.Path); err != nil {
			return fmt.Errorf("delete chunks: %w", err)
		}
		if err := s.store.MarkIndexSkipped(ctx, job.WorkspaceID, job.Path, f.Version, reason, s.now()); err != nil {
			return fmt.Errorf("mark skipped: %w", err)
		}
		s.invalidate(ctx, job.WorkspaceID)
		return nil
	}
	chunks, err := s.chunker.Chunk(job.Path, content)
	if err != nil {
		return fmt.Errorf("chunk: %w", err)
	}
	for _, c := range chunks {
		c.ID = domain.NewID()
		c.WorkspaceID, c.Path, c.FileVersion = job.WorkspaceID, job.Path, f.Version
		c.ContentHash = domain.HashContent([]byte(c.Content))
	}
	if err := s.embed(ctx, job.WorkspaceID, job.Path, chunks); err != nil {
		return err
	}
	if err := s.store.ReplaceChunks(ctx, job.WorkspaceID, job.Path, chunks); err != nil {
		return fmt.Errorf("replace chunks: %w", err)
	}
	// A write that landed while we embedded has its own job; if that job already ran, our
	// older chunks just replaced its newer ones, so ask for one more pass.
	// And a delete that landed meanwhile would leave our chunks behind a file that is gone.
	now, err := s.store.FileByPath(ctx, job.WorkspaceID, job.Path)
	switch {
	case domain.ErrorCode(err) == domain.ENOTFOUND:
		if err := s.store.DeleteChunks(ctx, job.WorkspaceID, job.Path); err != nil {
			return fmt.Errorf("delete chunks: %w", err)
		}
		return s.done(ctx, job.WorkspaceID, job.Path, 0)
	case err != nil:
		return fmt.Errorf("re-read file: %w", err)
	case now.Version != f.Version && s.queue != nil:
		return s.FilesChanged(ctx, domain.FileChange{WorkspaceID: job.WorkspaceID, Path: job.Path, Version: now.Version})
	}
	return s.done(ctx, job.WorkspaceID, job.Path, f.Version)
}

func (s *Service) done(ctx context.Context, workspaceID, path string, version int64) error {
	if err := s.store.MarkIndexDone(ctx, workspaceID, path, version, s.now()); err != nil {
		return fmt.Errorf("mark done: %w", err)
	}
	s.invalidate(ctx, workspaceID)
	return nil
}

// invalidate drops the workspace's cached search results: they were computed before these
// chunks existed.
func (s *Service) invalidate(ctx context.Context, workspaceID string) {
	if err := s.cache.DeletePrefix(ctx, domain.CacheKey(workspaceID, "search:")); err != nil {
		s.opts.Logger.WarnContext(ctx, "cache invalidation failed", "workspace", workspaceID, "err", err)
	}
}

// embed sets every chunk's embedding, reusing, in order: the file's stored embeddings with
// the same content hash, then the embedding cache (keyed by model and content hash, so an
// unchanged chunk is never embedded twice, in any workspace), then the embedder.
func (s *Service) embed(ctx context.Context, workspaceID, path string, chunks []*domain.Chunk) error {
	stored, err := s.store.ChunkEmbeddings(ctx, workspaceID, path)
	if err != nil {
		return fmt.Errorf("stored embeddings: %w", err)
	}
	model := s.embedder.Model()
	var todo []*domain.Chunk
	for _, c := range chunks {
		if v, ok := stored[c.ContentHash]; ok && len(v) == domain.EmbeddingDims {
			c.Embedding = v
			continue
		}
		if b, ok, err := s.cache.Get(ctx, embeddingKey(model, c.ContentHash)); err == nil && ok {
			if v, err := decodeVector(b); err == nil {
				c.Embedding = v
				continue
			}
		}
		todo = append(todo, c)
	}
	for start := 0; start < len(todo); start += s.opts.EmbedBatch {
		batch := todo[start:min(start+s.opts.EmbedBatch, len(todo))]
		texts := make([]string, len(batch))
		for i, c := range batch {
			texts[i] = EmbeddingText(c)
		}
		vecs, err := s.embedder.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("embed: %w", err)
		}
		if len(vecs) != len(batch) {
			return fmt.Errorf("embed: got %d vectors for %d texts", len(vecs), len(batch))
		}
		for i, c := range batch {
			c.Embedding = vecs[i]
			if err := s.cache.Set(ctx, embeddingKey(model, c.ContentHash), encodeVector(vecs[i]), domain.TTLEmbedding); err != nil {
				s.opts.Logger.WarnContext(ctx, "embedding cache write failed", "err", err)
			}
		}
	}
	return nil
}

// EmbeddingText is what gets embedded for a chunk: its path and symbol give the content
// context that the lines alone lack.
func EmbeddingText(c *domain.Chunk) string {
	return c.Path + "\n" + c.Symbol + "\n" + c.Content
}

func embeddingKey(model, hash string) string { return "emb:" + model + ":" + hash }

// skipReason says why a file is stored but not indexed, or "" to index it.
func skipReason(p string, content []byte, maxBytes int) string {
	switch {
	case len(content) > maxBytes:
		return fmt.Sprintf("larger than %d bytes", maxBytes)
	case domain.IsBinary(content):
		return "binary or not UTF-8"
	case domain.IsVendored(p):
		return "vendored or dependency directory"
	case domain.IsGenerated(content):
		return "generated file"
	case isMinified(p, content):
		return "minified"
	}
	return ""
}

// isMinified spots bundles and minified sources: long average lines in code files.
func isMinified(p string, content []byte) bool {
	switch path.Ext(p) {
	case ".js", ".mjs", ".cjs", ".css", ".json":
	default:
		return false
	}
	lines := bytes.Count(content, []byte("\n")) + 1
	return len(content) > 4096 && len(content)/lines > 300
}

package domain

import (
	"context"
	"time"
)

// IndexJob asks the ingestion pipeline to bring one file's chunks in line with the file. It
// names a version, not content: the consumer reads the file when it runs, and a job whose
// version is older than the file's is stale and does nothing, so redelivery and reordering
// are harmless.
type IndexJob struct {
	WorkspaceID string    `json:"workspace_id"`
	Path        string    `json:"path"`
	Version     int64     `json:"version"` // the file version that triggered the job; 0 for a delete
	Deleted     bool      `json:"deleted,omitempty"`
	EnqueuedAt  time.Time `json:"enqueued_at"`
}

// FileChange describes a committed change to one file, as the API reports it to the
// ingestion pipeline.
type FileChange struct {
	WorkspaceID string
	Path        string
	Version     int64 // 0 when deleted
	Deleted     bool
}

// Index states of a file, as IndexStore records them.
const (
	IndexPending = "pending" // a job is queued or running
	IndexDone    = "done"    // chunks match the recorded version
	IndexFailed  = "failed"  // every attempt failed; the job went to the dead-letter queue
	IndexSkipped = "skipped" // deliberately not indexed (binary, too large, ignored); Reason says why
)

// IndexEntry is the index state of one file.
type IndexEntry struct {
	Path      string    `json:"path"`
	Version   int64     `json:"version"`
	State     string    `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	Attempts  int       `json:"attempts,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// IndexStatus summarises a workspace's search index for GET /api/workspaces/{id}/index.
type IndexStatus struct {
	Files         int          `json:"files"`
	Chunks        int          `json:"chunks"`
	Pending       int          `json:"pending"`
	Failed        int          `json:"failed"`
	Skipped       int          `json:"skipped"`
	LastIndexedAt *time.Time   `json:"last_indexed_at"`
	Errors        []IndexEntry `json:"errors"` // failed and skipped files, newest first, at most 100
}

// IndexStore records where each file of a workspace stands in the ingestion pipeline.
// Every transition names the file version it is about; a transition for an older version
// than the one recorded is ignored, so a slow stale job cannot overwrite a newer state.
type IndexStore interface {
	// MarkIndexPending records that a job for the version is queued. A delete (version 0)
	// is pending until done like any other job.
	MarkIndexPending(ctx context.Context, workspaceID, path string, version int64, now time.Time) error
	// MarkIndexDone records that the version is indexed (or, for version 0, that the file's
	// chunks are gone and its entry removed).
	MarkIndexDone(ctx context.Context, workspaceID, path string, version int64, now time.Time) error
	// MarkIndexFailed records that the version failed attempts times for reason.
	MarkIndexFailed(ctx context.Context, workspaceID, path string, version int64, reason string, attempts int, now time.Time) error
	// MarkIndexSkipped records that the version is deliberately not indexed, and why.
	MarkIndexSkipped(ctx context.Context, workspaceID, path string, version int64, reason string, now time.Time) error
	// IndexStatus returns the workspace's summary.
	IndexStatus(ctx context.Context, workspaceID string) (*IndexStatus, error)
}

// Queue carries index jobs from the API to the ingestion consumer: SQS, Pub/Sub, or an
// in-process queue on the local stack. Delivery is at least once.
type Queue interface {
	// Enqueue sends the jobs. It returns an error only if some job may not have been sent;
	// callers may then resend all of them (duplicates are harmless).
	Enqueue(ctx context.Context, jobs ...IndexJob) error
}

// JobHandler processes one delivery of a job. attempt counts deliveries from 1; a queue gives
// up after its configured maximum and dead-letters the job. Returning an error asks for a
// redelivery.
type JobHandler func(ctx context.Context, job IndexJob, attempt int) error

// Embedder turns texts into EmbeddingDims-wide vectors. Implementations: the local default
// (no network, no key), OpenAI, and any OpenAI-compatible server.
type Embedder interface {
	// Embed returns one vector per text, in order.
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	// Model names the embedding model; cached embeddings are keyed by it, so changing model
	// never mixes vectors of different spaces.
	Model() string
}

// Chunker splits a file into search chunks with line ranges and symbols.
type Chunker interface {
	// Chunk splits content (valid UTF-8) of the file at path. The chunks have Path, StartLine,
	// EndLine (1-based, inclusive), Language, Symbol and Content set.
	Chunk(path string, content []byte) ([]*Chunk, error)
}

package domain

import (
	"context"
	"time"
)

// EmbeddingDims is the width of every stored embedding vector. It is fixed by the schema
// (rag_chunks.embedding is vector(512)) because an HNSW index needs one width; providers
// that produce other widths are asked for 512 (OpenAI's dimensions parameter) or adapted.
const EmbeddingDims = 512

// Chunk is a piece of a file with its embedding, the unit of semantic search.
type Chunk struct {
	ID          string    `json:"id"`
	WorkspaceID string    `json:"-"`
	Path        string    `json:"path"`
	FileVersion int64     `json:"file_version"`
	StartLine   int       `json:"start_line"`
	EndLine     int       `json:"end_line"`
	Language    string    `json:"language"`
	Symbol      string    `json:"symbol"`
	Content     string    `json:"content"`
	ContentHash string    `json:"content_hash"`
	Embedding   []float32 `json:"-"`
}

// ScoredChunk is a search hit: the chunk and its cosine similarity to the query (1 = same).
type ScoredChunk struct {
	Chunk *Chunk
	Score float64
}

// ChunkStore persists chunks and answers nearest-neighbour queries within one workspace.
type ChunkStore interface {
	// ReplaceChunks atomically replaces every chunk of the file with chunks.
	ReplaceChunks(ctx context.Context, workspaceID, path string, chunks []*Chunk) error
	// DeleteChunks removes every chunk of the file.
	DeleteChunks(ctx context.Context, workspaceID, path string) error
	// SearchChunks returns up to limit chunks of the workspace nearest to vector by cosine
	// similarity, best first. Chunks of other workspaces are never returned.
	SearchChunks(ctx context.Context, workspaceID string, vector []float32, limit int) ([]ScoredChunk, error)
	// CountChunks returns how many chunks the workspace has.
	CountChunks(ctx context.Context, workspaceID string) (int, error)
}

// AIRequest is one call to an AI provider, recorded for usage, cost and budgets.
type AIRequest struct {
	ID        string    `json:"id"`
	UserID    string    `json:"user_id"`
	Provider  string    `json:"provider"`
	Model     string    `json:"model"`
	Kind      string    `json:"kind"` // chat, complete, workflow, rag, embed
	TokensIn  int       `json:"tokens_in"`
	TokensOut int       `json:"tokens_out"`
	CostUSD   float64   `json:"cost_usd"`
	LatencyMS int64     `json:"latency_ms"`
	Status    string    `json:"status"` // ok, error, cancelled
	CreatedAt time.Time `json:"created_at"`
}

// AIRequestStore records AI requests.
type AIRequestStore interface {
	// RecordAIRequest stores r.
	RecordAIRequest(ctx context.Context, r *AIRequest) error
	// ListAIRequests returns the user's requests since the given time, newest first.
	ListAIRequests(ctx context.Context, userID string, since time.Time) ([]*AIRequest, error)
}

// Store is everything VibeCode persists, implemented by each database adapter and verified by
// one conformance suite (shared/storetest) on every backend.
type Store interface {
	UserStore
	SessionStore
	APIKeyStore
	WorkspaceStore
	ProjectStore
	FileStore
	ChunkStore
	AIRequestStore
	// Ping checks that the database answers; readiness probes call it.
	Ping(ctx context.Context) error
	// Close releases the store's connections and flushes anything held in memory.
	Close() error
}

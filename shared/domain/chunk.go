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

// ChunkQuery selects chunks of one workspace for a search. Exactly one of Vector (nearest
// neighbours by cosine similarity) or Text (full-text relevance) is used, depending on the
// method it is passed to.
type ChunkQuery struct {
	WorkspaceID string
	Vector      []float32
	Text        string
	Limit       int
	// PathGlob, when set, keeps chunks whose path matches it: '*' matches any run of
	// characters including '/', '?' one character; everything else is literal. "src/*.go",
	// "*_test.go", "web/*".
	PathGlob string
	// Language, when set, keeps chunks of that language (domain.LanguageOf identifiers).
	Language string
}

// ChunkStore persists chunks and answers nearest-neighbour and full-text queries within one
// workspace.
type ChunkStore interface {
	// ReplaceChunks atomically replaces every chunk of the file with chunks.
	ReplaceChunks(ctx context.Context, workspaceID, path string, chunks []*Chunk) error
	// DeleteChunks removes every chunk of the file.
	DeleteChunks(ctx context.Context, workspaceID, path string) error
	// SearchChunks returns up to q.Limit chunks of q.WorkspaceID nearest to q.Vector by cosine
	// similarity, best first, honouring the filters. Chunks of other workspaces are never
	// returned, and filters must not cost recall (the limit is filled when enough chunks match).
	SearchChunks(ctx context.Context, q ChunkQuery) ([]ScoredChunk, error)
	// SearchChunksText returns up to q.Limit chunks of q.WorkspaceID that match the words of
	// q.Text, most relevant first (higher Score is better; scores are comparable only within
	// one result list). Identifiers match whole and by their parts (parseChunk finds "parse"
	// and "chunk" and "parsechunk"); an empty or all-punctuation query returns nothing.
	SearchChunksText(ctx context.Context, q ChunkQuery) ([]ScoredChunk, error)
	// ChunkEmbeddings returns the stored embeddings of the file's chunks keyed by content hash,
	// so re-indexing a file embeds only the chunks that changed.
	ChunkEmbeddings(ctx context.Context, workspaceID, path string) (map[string][]float32, error)
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
	IndexStore
	AIRequestStore
	LifecycleStore
	// Ping checks that the database answers; readiness probes call it.
	Ping(ctx context.Context) error
	// Close releases the store's connections and flushes anything held in memory.
	Close() error
}

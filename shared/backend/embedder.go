package backend

import (
	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/localembed"
	"github.com/vibecode/vibecode/shared/openai"
)

// Embedder returns the embedder cfg selects: the local one by default, OpenAI or an
// OpenAI-compatible server when EMBEDDINGS=openai.
func Embedder(cfg config.Config) (domain.Embedder, error) {
	if cfg.Embeddings != "openai" {
		return localembed.New(), nil
	}
	return openai.NewEmbedder(openai.EmbedderConfig{APIKey: cfg.EmbeddingsAPIKey, BaseURL: cfg.EmbeddingsBaseURL, Model: cfg.EmbeddingsModel})
}

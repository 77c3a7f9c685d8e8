package aigateway

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// cachePrefix starts every answer's cache key. Answers are keyed by the request's content
// alone — not the user or workspace — so one prompt is one entry, and a workspace's files
// changing changes the RAG prompt and with it the key: no invalidation is needed.
const cachePrefix = "ai:"

// cacheKey hashes everything that shapes the answer: kind, tier, model asked for, the
// messages, the FIM text, max tokens, temperature and stop sequences.
func cacheKey(req *Request, tier string) string {
	h := sha256.New()
	enc := json.NewEncoder(h)
	_ = enc.Encode(struct {
		V           int                  `json:"v"`
		Kind        string               `json:"k"`
		Tier        string               `json:"t"`
		Model       string               `json:"m"`
		Messages    []domain.ChatMessage `json:"msg"`
		FIM         *FIM                 `json:"fim"`
		MaxTokens   int                  `json:"max"`
		Temperature *float64             `json:"temp"`
		Stop        []string             `json:"stop"`
	}{1, req.Kind, tier, req.Model, req.Messages, req.FIM, req.MaxTokens, req.Temperature, req.Stop})
	return cachePrefix + hex.EncodeToString(h.Sum(nil)[:20])
}

// cachedAnswer is what the cache holds for one request.
type cachedAnswer struct {
	Text         string       `json:"text"`
	FinishReason string       `json:"finish_reason"`
	Provider     string       `json:"provider"`
	Model        string       `json:"model"`
	Usage        domain.Usage `json:"usage"`
}

// lookup returns the cached answer for key, if any. A broken cache only costs speed.
func (g *Gateway) lookup(ctx context.Context, key string) (*cachedAnswer, bool) {
	b, ok, err := g.cache.Get(ctx, key)
	if err != nil {
		g.log.WarnContext(ctx, "ai cache read failed", "err", err)
		return nil, false
	}
	if !ok {
		return nil, false
	}
	var a cachedAnswer
	if err := json.Unmarshal(b, &a); err != nil || a.FinishReason == "" {
		return nil, false
	}
	return &a, true
}

// saveAnswer caches a complete answer, on a context that outlives the caller's.
func (g *Gateway) saveAnswer(ctx context.Context, key string, a *cachedAnswer) {
	b, err := json.Marshal(a)
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	if err := g.cache.Set(ctx, key, b, g.opts.CacheTTL); err != nil {
		g.log.WarnContext(ctx, "ai cache write failed", "err", err)
	}
}

package aigateway

import (
	"strings"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// Kinds of request, recorded in ai_requests.kind; they pick the default tier (Routing).
const (
	KindChat     = "chat"
	KindComplete = "complete"
	KindWorkflow = "workflow"
	KindRAG      = "rag"
)

// The seed's workflow types.
const (
	WorkflowGeneration = "code-generation"
	WorkflowReview     = "code-review"
	WorkflowDocument   = "documentation"
)

// Limits on requests.
const (
	MaxMessages  = 200
	MaxMaxTokens = 32_768
	MaxStops     = 4
	MaxModelLen  = 200
)

// Request is one AI request as the gateway routes it.
type Request struct {
	UserID string
	Kind   string // KindChat, KindComplete, KindWorkflow or KindRAG
	// Tier is domain.TierFast or domain.TierStrong; "" takes the kind's from Routing.
	Tier string
	// Workflow names the workflow of a KindWorkflow request, for its default tier.
	Workflow string
	// Model asks for one model, as "id" or "provider/id"; "" lets the gateway choose. Other
	// models of its tier remain fallbacks.
	Model    string
	Messages []domain.ChatMessage
	// FIM, when set, is used instead of Messages with models that support fill-in-the-middle.
	FIM         *FIM
	MaxTokens   int // 0: the kind's default
	Temperature *float64
	Stop        []string
	// NoCache skips the cache lookup (the answer is still stored); NoStore also skips storing.
	NoCache, NoStore bool
	// BudgetUSD lowers the per-request budget for this request; 0 keeps the configured one.
	BudgetUSD float64
}

// FIM is the text around the cursor for a fill-in-the-middle completion.
type FIM struct {
	Prefix string `json:"prefix"`
	Suffix string `json:"suffix"`
}

// defaultMaxTokens is the answer length a kind gets when the request does not say: short for
// inline completion (it must be fast), longer for generated code.
func defaultMaxTokens(kind string) int {
	switch kind {
	case KindComplete:
		return 128
	case KindWorkflow:
		return 2048
	default:
		return 1024
	}
}

// tier returns the request's tier.
func (r *Request) tier() string {
	if r.Tier != "" {
		return r.Tier
	}
	key := r.Kind
	if r.Kind == KindWorkflow {
		key = "workflow:" + r.Workflow
	}
	if t, ok := Routing()[key]; ok {
		return t
	}
	return domain.TierStrong
}

// validate refuses what no provider should be sent, with a message that says what to fix.
func (r *Request) validate(maxPromptBytes int) error {
	switch r.Kind {
	case KindChat, KindComplete, KindWorkflow, KindRAG:
	default:
		return domain.Errorf(domain.EINVALID, "unknown request kind %q", r.Kind)
	}
	switch r.Tier {
	case "", domain.TierFast, domain.TierStrong:
	default:
		return domain.Errorf(domain.EINVALID, "tier must be %q or %q", domain.TierFast, domain.TierStrong)
	}
	if len(r.Model) > MaxModelLen {
		return domain.Errorf(domain.EINVALID, "model is longer than %d bytes", MaxModelLen)
	}
	if r.MaxTokens < 0 || r.MaxTokens > MaxMaxTokens {
		return domain.Errorf(domain.EINVALID, "max_tokens must be between 1 and %d", MaxMaxTokens)
	}
	if r.Temperature != nil && (*r.Temperature < 0 || *r.Temperature > 2) {
		return domain.Errorf(domain.EINVALID, "temperature must be between 0 and 2")
	}
	if r.BudgetUSD < 0 {
		return domain.Errorf(domain.EINVALID, "max_cost_usd must not be negative")
	}
	if len(r.Stop) > MaxStops {
		return domain.Errorf(domain.EINVALID, "at most %d stop sequences are allowed", MaxStops)
	}
	for _, s := range r.Stop {
		if s == "" || len(s) > 64 {
			return domain.Errorf(domain.EINVALID, "stop sequences must be 1 to 64 bytes")
		}
	}
	if len(r.Messages) == 0 {
		return domain.Errorf(domain.EINVALID, "messages must not be empty")
	}
	if len(r.Messages) > MaxMessages {
		return domain.Errorf(domain.EINVALID, "at most %d messages are allowed", MaxMessages)
	}
	size, text := 0, false
	for i, m := range r.Messages {
		switch m.Role {
		case domain.ChatRoleSystem, domain.ChatRoleUser, domain.ChatRoleAssistant:
		case "":
			return domain.Errorf(domain.EINVALID, "messages[%d].role is required (system, user or assistant)", i)
		default:
			return domain.Errorf(domain.EINVALID, "messages[%d].role must be system, user or assistant, not %q", i, m.Role)
		}
		if !utf8.ValidString(m.Content) {
			return domain.Errorf(domain.EINVALID, "messages[%d].content is not valid UTF-8", i)
		}
		if m.Role != domain.ChatRoleSystem && strings.TrimSpace(m.Content) != "" {
			text = true
		}
		size += len(m.Content)
	}
	if r.FIM != nil {
		size += len(r.FIM.Prefix) + len(r.FIM.Suffix)
	}
	if size > maxPromptBytes {
		return domain.Errorf(domain.ETOOLARGE, "the prompt is %d bytes; the limit is %d", size, maxPromptBytes)
	}
	if !text {
		return domain.Errorf(domain.EINVALID, "the prompt is empty: send at least one user message with text")
	}
	return nil
}

// estimateTokens estimates how many tokens text is to a BPE tokenizer: a byte count over four,
// rounded up, which tracks English and code within ~20%; the router leaves headroom for that.
func estimateTokens(s string) int {
	return (len(s) + 3) / 4
}

// promptTokens estimates the request's input tokens, with a few per message for the role
// markers every chat format adds.
func (r *Request) promptTokens() int {
	n := 0
	for _, m := range r.Messages {
		n += 4 + estimateTokens(m.Content)
	}
	return n
}

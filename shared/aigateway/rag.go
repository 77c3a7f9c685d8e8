package aigateway

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/search"
)

// Limits on RAG requests.
const (
	MaxQuestionBytes = 4000
	DefaultTopK      = 8
	MaxTopK          = 20
	// MaxRAGContextTokens caps the retrieved code in one prompt, whatever the model's window:
	// past a few thousand tokens more context mostly adds cost, not answer quality.
	MaxRAGContextTokens = 6000
	maxSourceBytes      = 8 << 10
)

// Source is one retrieved chunk of workspace code as the model sees it.
type Source struct {
	Path      string  `json:"path"`
	StartLine int     `json:"start_line"`
	EndLine   int     `json:"end_line"`
	Snippet   string  `json:"snippet"`
	Score     float64 `json:"score"`
	Content   string  `json:"-"`
}

// Label returns the citation label of the source, "[path:start-end]".
func (s Source) Label() string {
	return fmt.Sprintf("[%s:%d-%d]", s.Path, s.StartLine, s.EndLine)
}

// Citation is a source the answer cited: the label as the model wrote it, mapped to the
// retrieved chunk it points into, with the chunk's snippet.
type Citation struct {
	Label     string `json:"label"`
	Path      string `json:"path"`
	StartLine int    `json:"start_line"`
	EndLine   int    `json:"end_line"`
	Snippet   string `json:"snippet"`
}

// Retriever finds the chunks of one workspace's code that best answer a question.
type Retriever interface {
	Retrieve(ctx context.Context, workspaceID, question string, limit int) ([]Source, error)
}

// FileReader reads workspace files; domain.Store implements it.
type FileReader interface {
	FileContent(ctx context.Context, workspaceID, path string) (*domain.File, []byte, error)
}

// SearchRetriever retrieves with the search service (hybrid vector and full-text search over
// the workspace's index) and reads each hit's whole line range from the file, since search
// hits carry only a short snippet. Files that look like secrets are skipped.
type SearchRetriever struct {
	search *search.Service
	files  FileReader
}

var _ Retriever = (*SearchRetriever)(nil)

// NewSearchRetriever returns a Retriever over the search service and the workspace files.
func NewSearchRetriever(s *search.Service, files FileReader) *SearchRetriever {
	return &SearchRetriever{search: s, files: files}
}

// Retrieve implements Retriever.
func (r *SearchRetriever) Retrieve(ctx context.Context, workspaceID, question string, limit int) ([]Source, error) {
	res, err := r.search.Search(ctx, search.Query{WorkspaceID: workspaceID, Query: head(question, search.MaxQueryBytes),
		Limit: min(limit*2, search.MaxLimit)})
	if err != nil {
		return nil, fmt.Errorf("aigateway: retrieve: %w", err)
	}
	files := map[string][]string{}
	var out []Source
	for _, h := range res.Results {
		if len(out) == limit {
			break
		}
		if IsSecretPath(h.Path) {
			continue
		}
		content := h.Snippet
		lines, ok := files[h.Path]
		if !ok {
			if _, b, err := r.files.FileContent(ctx, workspaceID, h.Path); err == nil {
				lines = strings.Split(string(b), "\n")
			}
			files[h.Path] = lines
		}
		if h.StartLine >= 1 && h.EndLine >= h.StartLine && h.EndLine <= len(lines) {
			content = strings.Join(lines[h.StartLine-1:h.EndLine], "\n")
		}
		if HasPrivateKey(content) {
			continue
		}
		out = append(out, Source{Path: h.Path, StartLine: h.StartLine, EndLine: h.EndLine, Snippet: h.Snippet,
			Score: h.Score, Content: head(content, maxSourceBytes)})
	}
	return out, nil
}

// RAGRequest is a question about one workspace's code.
type RAGRequest struct {
	UserID      string
	WorkspaceID string
	Question    string
	// History is the conversation so far (user and assistant turns), oldest first.
	History []domain.ChatMessage
	TopK    int // chunks to retrieve; 0: DefaultTopK
	// Model, Tier, MaxTokens, NoCache, NoStore and BudgetUSD are as in Request.
	Model            string
	Tier             string
	MaxTokens        int
	NoCache, NoStore bool
	BudgetUSD        float64
}

// RAG answers a question from the workspace's code: it retrieves the top chunks, fits as many
// as the context budget allows into the prompt as fenced data, and streams the answer. It
// returns the sources the prompt holds, which Citations maps the answer's citations to.
func (g *Gateway) RAG(ctx context.Context, r RAGRequest) (*Stream, []Source, error) {
	if !g.Configured() {
		return nil, nil, g.errNotConfigured()
	}
	if g.opts.Retriever == nil {
		return nil, nil, domain.Errorf(domain.EUNAVAILABLE, "workspace chat needs the search index, which this function is not wired to")
	}
	q := strings.TrimSpace(r.Question)
	switch {
	case q == "":
		return nil, nil, domain.Errorf(domain.EINVALID, "question is required")
	case len(q) > MaxQuestionBytes:
		return nil, nil, domain.Errorf(domain.ETOOLARGE, "question is longer than %d bytes", MaxQuestionBytes)
	case r.TopK < 0 || r.TopK > MaxTopK:
		return nil, nil, domain.Errorf(domain.EINVALID, "top_k must be between 1 and %d", MaxTopK)
	}
	for i, m := range r.History {
		if m.Role != domain.ChatRoleUser && m.Role != domain.ChatRoleAssistant {
			return nil, nil, domain.Errorf(domain.EINVALID, "history[%d].role must be user or assistant", i)
		}
	}
	k := r.TopK
	if k == 0 {
		k = DefaultTopK
	}
	retrieved, err := g.opts.Retriever.Retrieve(ctx, r.WorkspaceID, q, k)
	if err != nil {
		return nil, nil, err
	}
	// Whatever the retriever, secrets never reach the prompt.
	sources := retrieved[:0:0]
	for _, s := range retrieved {
		if !IsSecretPath(s.Path) && !HasPrivateKey(s.Content) {
			sources = append(sources, s)
		}
	}
	req := Request{UserID: r.UserID, Kind: KindRAG, Model: r.Model, Tier: r.Tier, MaxTokens: r.MaxTokens,
		NoCache: r.NoCache, NoStore: r.NoStore, BudgetUSD: r.BudgetUSD}
	maxOut := r.MaxTokens
	if maxOut == 0 {
		maxOut = defaultMaxTokens(KindRAG)
	}
	budget := g.contextBudget(req.tier(), maxOut, estimateTokens(q)+historyTokens(r.History))
	msgs, used := RAGMessages(q, r.History, sources, budget)
	req.Messages = msgs
	s, err := g.Stream(ctx, req)
	if err != nil {
		return nil, nil, err
	}
	return s, used, nil
}

func historyTokens(h []domain.ChatMessage) int {
	n := 0
	for _, m := range h {
		n += 4 + estimateTokens(m.Content)
	}
	return n
}

// contextBudget returns how many tokens of retrieved code a prompt may hold: what the smallest
// context window of the tier leaves after the answer, the question and the instructions, and
// at most MaxRAGContextTokens.
func (g *Gateway) contextBudget(tier string, maxOut, question int) int {
	smallest := 0
	for _, p := range g.providers {
		for _, m := range p.Models() {
			if m.Tier == tier && m.ContextTokens > 0 && (smallest == 0 || m.ContextTokens < smallest) {
				smallest = m.ContextTokens
			}
		}
	}
	budget := MaxRAGContextTokens
	if smallest > 0 {
		budget = min(budget, int(contextHeadroom*float64(smallest))-maxOut-question-400)
	}
	return max(budget, 0)
}

// RAGMessages builds the RAG conversation: instructions to answer from the sources and cite
// them as [path:start-end], the sources that fit in budgetTokens (in rank order) fenced as
// data, the history, then the question. It returns the sources included.
func RAGMessages(question string, history []domain.ChatMessage, sources []Source, budgetTokens int) ([]domain.ChatMessage, []Source) {
	var used []Source
	total := 0
	for _, s := range sources {
		t := estimateTokens(s.Content) + 20
		if total+t > budgetTokens {
			continue
		}
		total += t
		used = append(used, s)
	}
	parts := make([]string, 0, 2*len(used))
	for _, s := range used {
		parts = append(parts, s.Label(), s.Content)
	}
	boundary := delimiter(parts...)
	system := "You answer questions about the user's codebase. Base the answer on the sources below; if they do not " +
		"contain the answer, say so rather than guess. Cite every source you use by its label exactly as given, " +
		"like [path:start-end], right after the statement it supports. " + dataRule(boundary)
	var b strings.Builder
	if len(used) == 0 {
		b.WriteString("No code from the workspace matched the question.\n")
	} else {
		b.WriteString("Sources from the workspace:\n")
		for _, s := range used {
			fence(&b, boundary, "source "+s.Label(), s.Content)
		}
	}
	msgs := make([]domain.ChatMessage, 0, len(history)+2)
	msgs = append(msgs, domain.ChatMessage{Role: domain.ChatRoleSystem, Content: system + "\n\n" + b.String()})
	msgs = append(msgs, history...)
	msgs = append(msgs, domain.ChatMessage{Role: domain.ChatRoleUser, Content: question})
	return msgs, used
}

// citationRE matches [path:start-end] and [path:line].
var citationRE = regexp.MustCompile(`\[([^\[\]\n:]{1,1000}):(\d{1,7})(?:\s*[-–]\s*(\d{1,7}))?\]`)

// Citations maps the [path:start-end] citations in an answer to the sources they point into
// (same path, overlapping lines), in order of first mention, each source once. Citations of
// anything that was not retrieved are dropped: the model cannot invent a source.
func Citations(answer string, sources []Source) []Citation {
	out := []Citation{}
	seen := map[int]bool{}
	for _, m := range citationRE.FindAllStringSubmatch(answer, 200) {
		p := strings.TrimPrefix(strings.TrimSpace(m[1]), "./")
		start, _ := strconv.Atoi(m[2])
		end := start
		if m[3] != "" {
			end, _ = strconv.Atoi(m[3])
		}
		if end < start {
			start, end = end, start
		}
		for i, s := range sources {
			if seen[i] || s.Path != p || end < s.StartLine || start > s.EndLine {
				continue
			}
			seen[i] = true
			out = append(out, Citation{Label: m[0], Path: s.Path, StartLine: s.StartLine, EndLine: s.EndLine, Snippet: s.Snippet})
			break
		}
	}
	return out
}

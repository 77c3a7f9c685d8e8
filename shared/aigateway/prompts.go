package aigateway

import (
	"strings"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

// Bounds on what inline completion sends: the editor asks on every pause in typing, so the
// prompt is kept small enough for a fast model to answer in a few hundred milliseconds.
const (
	completionBeforeBytes  = 6000
	completionAfterBytes   = 2000
	completionRelatedFiles = 3
	completionRelatedBytes = 2000
	completionMaxTokens    = 128
)

// cursorMark stands for the cursor in a chat-model completion prompt.
const cursorMark = "<|cursor|>"

// CompletionInput is what the editor sends for an inline completion (Monacopilot's
// completionMetadata).
type CompletionInput struct {
	Language         string
	Filename         string
	Technologies     []string
	RelatedFiles     []RelatedFile
	TextBeforeCursor string
	TextAfterCursor  string
}

// RelatedFile is another open file the editor offers as context.
type RelatedFile struct {
	Path    string `json:"path"`
	Content string `json:"content"`
}

// CompletionRequest builds the gateway request for an inline completion: a fill-in-the-middle
// form (prefix and suffix) for models that support it and a chat form for the others; the
// fast tier, a small max tokens and a stop at the first blank line, so suggestions come
// quickly and stay local. ok is false when the file looks like a secret: nothing is sent and
// the editor gets no suggestion. Related files that look like secrets are left out.
func CompletionRequest(in CompletionInput) (req Request, ok bool) {
	if IsSecretPath(in.Filename) || HasPrivateKey(in.TextBeforeCursor) || HasPrivateKey(in.TextAfterCursor) {
		return Request{}, false
	}
	before := tail(in.TextBeforeCursor, completionBeforeBytes)
	after := head(in.TextAfterCursor, completionAfterBytes)

	var b strings.Builder
	boundary := delimiter(in.Filename, before, after)
	if in.Language != "" {
		b.WriteString("Language: " + oneLine(in.Language, 50) + "\n")
	}
	if in.Filename != "" {
		b.WriteString("File: " + oneLine(in.Filename, 300) + "\n")
	}
	if len(in.Technologies) > 0 {
		var techs []string
		for _, t := range in.Technologies[:min(len(in.Technologies), 10)] {
			techs = append(techs, oneLine(t, 50))
		}
		b.WriteString("Technologies: " + strings.Join(techs, ", ") + "\n")
	}
	n := 0
	for _, f := range in.RelatedFiles {
		if n == completionRelatedFiles {
			break
		}
		if IsSecretPath(f.Path) || HasPrivateKey(f.Content) {
			continue
		}
		n++
		fence(&b, boundary, "related file "+oneLine(f.Path, 300), head(f.Content, completionRelatedBytes))
	}
	b.WriteString("Code, with the cursor at " + cursorMark + ":\n")
	fence(&b, boundary, "file "+oneLine(in.Filename, 300), before+cursorMark+after)

	return Request{
		Kind: KindComplete,
		Messages: []domain.ChatMessage{
			{Role: domain.ChatRoleSystem, Content: "You are the inline code completion of an editor. Reply with only the text to insert at " +
				cursorMark + ": no explanation, no code fences, no repetition of the code around the cursor. " +
				"Keep it short: finish the current statement or block. If nothing should be inserted, reply with nothing. " + dataRule(boundary)},
			{Role: domain.ChatRoleUser, Content: b.String()},
		},
		FIM:       &FIM{Prefix: before, Suffix: after},
		MaxTokens: completionMaxTokens,
		Stop:      []string{"\n\n"},
	}, true
}

// CleanCompletion turns a model's answer into the text to insert, or "" for none: code fences
// some chat models add despite the instructions are removed.
func CleanCompletion(s string) string {
	t := strings.TrimSpace(s)
	if strings.HasPrefix(t, "```") {
		if i := strings.IndexByte(t, '\n'); i >= 0 {
			t = t[i+1:]
		} else {
			t = ""
		}
		t = strings.TrimRight(strings.TrimSuffix(strings.TrimRight(t, " \n"), "```"), "\n")
		s = t
	}
	s = strings.ReplaceAll(s, cursorMark, "")
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return s
}

// WorkflowInput is the input of one of the seed's workflows.
type WorkflowInput struct {
	Workflow string // WorkflowGeneration, WorkflowReview or WorkflowDocument
	// Prompt is the task for code generation, or extra instructions for the others.
	Prompt string
	// Code is the code to review or document, or context for code generation.
	Code     string
	Language string
	Filename string
}

// WorkflowMessages builds the conversation for a workflow, with the user's code fenced as data.
// It refuses (EINVALID) input that lacks what the workflow needs and code that looks like a
// secret.
func WorkflowMessages(in WorkflowInput) ([]domain.ChatMessage, error) {
	var system string
	switch in.Workflow {
	case WorkflowGeneration:
		if strings.TrimSpace(in.Prompt) == "" {
			return nil, domain.Errorf(domain.EINVALID, "prompt is required: describe the code to generate")
		}
		system = "You are an expert software engineer. Write complete, working, idiomatic code for the task. " +
			"Answer with the code in fenced blocks, then a short explanation of anything non-obvious."
	case WorkflowReview:
		if strings.TrimSpace(in.Code) == "" {
			return nil, domain.Errorf(domain.EINVALID, "code is required: send the code to review")
		}
		system = "You are a meticulous code reviewer. Review the code for bugs, security problems, concurrency and " +
			"error-handling mistakes, and unclear naming. List findings from most to least severe, each with the " +
			"line it concerns and a concrete fix. Say so plainly if the code is fine."
	case WorkflowDocument:
		if strings.TrimSpace(in.Code) == "" {
			return nil, domain.Errorf(domain.EINVALID, "code is required: send the code to document")
		}
		system = "You write documentation for code: doc comments in the language's own convention for every exported " +
			"name, saying what it does and why, then a short Markdown overview of how to use it. Return the documented code."
	default:
		return nil, domain.Errorf(domain.EINVALID, "unknown workflow %q; use %s, %s or %s", in.Workflow,
			WorkflowGeneration, WorkflowReview, WorkflowDocument)
	}
	if in.Filename != "" && IsSecretPath(in.Filename) {
		return nil, domain.Errorf(domain.EINVALID, "%s looks like a secrets file; it is never sent to an AI provider", oneLine(in.Filename, 100))
	}
	if HasPrivateKey(in.Code) || HasPrivateKey(in.Prompt) {
		return nil, domain.Errorf(domain.EINVALID, "the input contains a private key; it is never sent to an AI provider")
	}
	var b strings.Builder
	boundary := delimiter(in.Code, in.Filename)
	if in.Language != "" {
		b.WriteString("Language: " + oneLine(in.Language, 50) + "\n")
	}
	if in.Filename != "" {
		b.WriteString("File: " + oneLine(in.Filename, 300) + "\n")
	}
	if strings.TrimSpace(in.Code) != "" {
		label := "code"
		if in.Filename != "" {
			label = "file " + oneLine(in.Filename, 300)
		}
		fence(&b, boundary, label, in.Code)
		system += " " + dataRule(boundary)
	}
	if strings.TrimSpace(in.Prompt) != "" {
		if in.Workflow == WorkflowGeneration {
			b.WriteString("Task: ")
		} else {
			b.WriteString("Instructions: ")
		}
		b.WriteString(in.Prompt)
		b.WriteString("\n")
	}
	return []domain.ChatMessage{
		{Role: domain.ChatRoleSystem, Content: system},
		{Role: domain.ChatRoleUser, Content: b.String()},
	}, nil
}

// oneLine makes untrusted metadata (a file name, a language) safe to put on a prompt line:
// no line breaks, bounded length.
func oneLine(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' || r < 0x20 {
			return ' '
		}
		return r
	}, s)
	return head(s, n)
}

// head returns at most n bytes from the start of s, cut at a rune boundary.
func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// tail returns at most n bytes from the end of s, cut at a rune boundary.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	for len(s) > 0 && !utf8.RuneStart(s[0]) {
		s = s[1:]
	}
	return s
}

// Package chunk splits source files into search chunks: pieces of about Options.MaxTokens
// tokens that follow the code's own structure, so that one chunk is one thing a person
// would search for (a function, a type, a group of small constants) and reads alone.
//
// Go is parsed with go/parser. TypeScript (and TSX), JavaScript, Python, Rust, Java, C, C++
// and Ruby are parsed with tree-sitter, which needs cgo; a build without cgo (the Lambda
// arm64 functions are built with CGO_ENABLED=0) chunks those languages line by line, the
// same way as every other file, so search still works there, only with chunks that may
// cut through declarations. See Chunker.Chunk for the rules.
package chunk

import (
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

const (
	// DefaultMaxTokens is the default Options.MaxTokens: the input size of the common
	// embedding models, so that no chunk is truncated when it is embedded.
	DefaultMaxTokens = 512
	// DefaultOverlapTokens is the default Options.OverlapTokens, a tenth of a window:
	// enough to keep a sentence or a statement cut at a window edge whole in one window.
	DefaultOverlapTokens = 50
)

// Options configure a Chunker. Zero values take the defaults.
type Options struct {
	// MaxTokens is the budget of one chunk in EstimateTokens tokens (default 512), sized for
	// embedding models with 512-token inputs. Values under 64 are raised to 64 so that a
	// signature and a statement still fit together.
	MaxTokens int
	// OverlapTokens is how much consecutive windows of the line-based fallback share
	// (default 50), so that text cut at a window edge is still found whole in one of them.
	// Structured chunks do not overlap: they end at declaration or statement boundaries.
	OverlapTokens int
}

// Chunker splits files into chunks; it implements domain.Chunker. It holds no state
// besides its options, so one Chunker may be used by many goroutines at once.
type Chunker struct {
	maxTokens int
	overlap   int
	small     int // a declaration under this many tokens may share a chunk with its neighbours
}

var _ domain.Chunker = (*Chunker)(nil)

// New returns a Chunker with opts, defaults filled in.
func New(opts Options) *Chunker {
	c := &Chunker{maxTokens: opts.MaxTokens, overlap: opts.OverlapTokens}
	if c.maxTokens <= 0 {
		c.maxTokens = DefaultMaxTokens
	}
	c.maxTokens = max(c.maxTokens, 64)
	if c.overlap <= 0 {
		c.overlap = DefaultOverlapTokens
	}
	c.overlap = min(c.overlap, c.maxTokens/2)
	c.small = c.maxTokens / 8
	return c
}

// Limits on what is parsed at all. Bigger files, and minified or generated files with very
// long lines, are chunked line by line: their structure rarely helps search, and parsing
// them costs more than it is worth (tree-sitter on a 10 MB minified bundle takes seconds).
const (
	maxGoParseBytes   = 4 << 20
	maxTreeParseBytes = 1 << 20
	maxTreeLineBytes  = 4096 // a file with a longer line and long lines on average is minified
)

// Chunk splits content, the text of the file at path, into chunks with Path, StartLine,
// EndLine (1-based, inclusive), Language (domain.LanguageOf(path)), Symbol and Content
// set. Chunks come in file order; blank lines at the edges of a chunk are left out, and
// an empty or blank file has no chunks. It never fails and never panics: content it cannot
// parse, including invalid UTF-8, is chunked line by line.
//
// Rules, in order:
//   - A declaration (function, method, class, type, ...) that fits in MaxTokens is one
//     chunk, or part of one: it is never split, and its doc comment, decorators,
//     annotations and attributes stay with it.
//   - Small adjacent declarations (each under MaxTokens/8: imports, constants, one-line
//     functions) share a chunk up to MaxTokens. Its Symbol lists their names in order,
//     "A, B, C", at most four and then ", …".
//   - A declaration over MaxTokens is split between the statements of its body (or the
//     members of a class, the fields of a struct, the elements of a literal), recursively.
//     Every piece after the first starts with the signature lines of the declaration and
//     of each enclosing block, then a "// ..." line (in the language's comment syntax)
//     when lines were skipped, and then the piece itself. That context is repeated text
//     for understanding only: StartLine and EndLine are the piece's own lines. Pieces
//     keep the declaration's Symbol.
//   - Everything else (unknown languages, parse failures, cgo-less builds for tree-sitter
//     languages, files over the parse limits) is split into windows of about MaxTokens
//     that overlap by about OverlapTokens and end at blank lines where possible.
//   - A line longer than the budget, as in minified code, is split by bytes into pieces
//     that all carry that line's number.
//
// Symbols: Go "Func", "Type.Method" (receiver without * or type parameters), "Type", and
// names of consts and vars; TypeScript and JavaScript "func", "Class", "Class.method",
// "name" for a const or let (arrow functions included), "Namespace.member"; Python
// "func", "Class", "Class.method"; Rust "func", "Type", "Type::method" (in impl blocks,
// named by the implementing type) and "Trait::method", "module::item"; Java "Class",
// "Class.method"; C and C++ "func", "Class::method", "ns::func"; Ruby "Class",
// "Module::Class", "Class.method". Rust and C++ join with "::" because that is how their
// programmers name items (and what rustdoc and compilers print); the rest join with ".".
func (c *Chunker) Chunk(path string, content []byte) ([]*domain.Chunk, error) {
	lang := domain.LanguageOf(path)
	f := newFile(content, commentFor(lang))
	if f.nonBlank == 0 {
		return nil, nil
	}
	e := &emitter{c: c, f: f}
	if !c.chunkStructured(e, path, lang) {
		e.out = e.out[:0]
		e.windows(span{1, f.n}, nil, nil, "", c.overlap)
	}
	out := make([]*domain.Chunk, len(e.out))
	for i, p := range e.out {
		out[i] = &domain.Chunk{
			Path:      path,
			StartLine: p.start,
			EndLine:   p.end,
			Language:  lang,
			Symbol:    p.symbol,
			Content:   p.content,
		}
	}
	return out, nil
}

// chunkStructured chunks the file by its syntax tree and reports whether it could. A panic
// in a parser or in the tree walk is recovered and reported as false, so that the caller
// falls back to line windows.
func (c *Chunker) chunkStructured(e *emitter, path, lang string) (ok bool) {
	defer func() {
		if r := recover(); r != nil {
			ok = false
		}
	}()
	f := e.f
	if !utf8.Valid(f.src) {
		// Not text: parsers only waste time on it (tree-sitter's error recovery takes
		// seconds on binary data).
		return false
	}
	if lang == "go" {
		if len(f.src) > maxGoParseBytes {
			return false
		}
		root := goTree(f)
		if root == nil {
			return false
		}
		e.split(root, span{1, f.n}, nil, nil, "", 0)
		return true
	}
	if len(f.src) > maxTreeParseBytes || f.minified() {
		return false
	}
	return treeChunk(e, path)
}

// commentFor returns the line-comment marker of the file's language, used for the
// "// ..." line between repeated signatures and a piece; "" leaves the line out.
func commentFor(lang string) string {
	switch lang {
	case "python", "ruby", "shell", "r", "yaml", "toml", "makefile", "dockerfile", "elixir", "perl":
		return "#"
	case "sql", "lua", "haskell":
		return "--"
	case "go", "typescript", "javascript", "rust", "java", "kotlin", "c", "cpp", "csharp",
		"swift", "scala", "php", "dart", "proto", "scss", "less", "groovy":
		return "//"
	}
	return ""
}

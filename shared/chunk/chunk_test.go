package chunk_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/chunk"
	"github.com/vibecode/vibecode/shared/domain"
)

// wantChunk is the expected line range and symbol of one chunk.
type wantChunk struct {
	start, end int
	symbol     string
}

func (w wantChunk) String() string { return fmt.Sprintf("%d-%d %q", w.start, w.end, w.symbol) }

// readFixture returns testdata/name.
func readFixture(tb testing.TB, name string) []byte {
	tb.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return src
}

// chunkOf chunks src as path with MaxTokens maxTokens (0: default) and checks the
// invariants every result must hold.
func chunkOf(tb testing.TB, path string, src []byte, maxTokens int) []*domain.Chunk {
	tb.Helper()
	cs, err := chunk.New(chunk.Options{MaxTokens: maxTokens}).Chunk(path, src)
	if err != nil {
		tb.Fatalf("Chunk(%s): %v", path, err)
	}
	checkInvariants(tb, path, src, cs, maxTokens)
	return cs
}

// lines splits src into lines the way the chunker numbers them.
func lines(src []byte) []string {
	if len(src) == 0 {
		return nil
	}
	ls := strings.Split(string(src), "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	return ls
}

// checkInvariants verifies what holds for every file: ranges inside the file and in
// order, every non-blank line in some chunk, chunks within the token budget, content that
// ends with the chunk's own lines, fields set.
func checkInvariants(tb testing.TB, path string, src []byte, cs []*domain.Chunk, maxTokens int) {
	tb.Helper()
	if maxTokens <= 0 {
		maxTokens = chunk.DefaultMaxTokens
	}
	maxTokens = max(maxTokens, 64)
	ls := lines(src)
	covered := make([]bool, len(ls)+1)
	prevStart := 0
	for i, c := range cs {
		if c.StartLine < 1 || c.StartLine > c.EndLine || c.EndLine > len(ls) {
			tb.Fatalf("%s: chunk %d has lines %d-%d of %d", path, i, c.StartLine, c.EndLine, len(ls))
		}
		if c.StartLine < prevStart {
			tb.Errorf("%s: chunk %d starts at %d, before chunk %d at %d", path, i, c.StartLine, i-1, prevStart)
		}
		prevStart = c.StartLine
		if c.Path != path || c.Language != domain.LanguageOf(path) || c.Content == "" {
			tb.Errorf("%s: chunk %d: path %q, language %q, %d bytes of content", path, i, c.Path, c.Language, len(c.Content))
		}
		// A small slack: the budget is kept on per-line estimates.
		if tok := chunk.EstimateTokens([]byte(c.Content)); tok > maxTokens+maxTokens/50+2 {
			tb.Errorf("%s: chunk %d (%d-%d) has %d tokens, budget %d", path, i, c.StartLine, c.EndLine, tok, maxTokens)
		}
		own := strings.TrimSuffix(strings.Join(ls[c.StartLine-1:c.EndLine], "\n"), "\r")
		switch {
		case strings.HasSuffix(c.Content, own):
		case c.StartLine == c.EndLine && strings.Contains(own, lastLine(c.Content)):
			// A piece of a line too long for one chunk.
		default:
			tb.Errorf("%s: chunk %d (%d-%d) does not end with its lines:\n%s", path, i, c.StartLine, c.EndLine, c.Content)
		}
		for l := c.StartLine; l <= c.EndLine; l++ {
			covered[l] = true
		}
	}
	for l, s := range ls {
		if strings.TrimSpace(s) != "" && !covered[l+1] {
			tb.Errorf("%s: line %d is in no chunk: %q", path, l+1, s)
		}
	}
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

// checkChunks compares line ranges and symbols with wants.
func checkChunks(tb testing.TB, cs []*domain.Chunk, wants []wantChunk) {
	tb.Helper()
	got := make([]wantChunk, len(cs))
	for i, c := range cs {
		got[i] = wantChunk{c.StartLine, c.EndLine, c.Symbol}
	}
	if fmt.Sprint(got) != fmt.Sprint(wants) {
		tb.Errorf("chunks:\n got %v\nwant %v", got, wants)
	}
}

func TestChunker_Chunk_Go(t *testing.T) {
	src := readFixture(t, "server.go")
	tests := []struct {
		name      string
		maxTokens int
		want      []wantChunk
	}{
		{"default budget: small declarations merged, Handle whole", 0, []wantChunk{
			{1, 27, "ErrClosed, ErrTimeout, maxConns, Server, …"},
			{29, 60, "Server.Handle"},
			{62, 69, "Pair, Pair.Keys"},
		}},
		{"100 tokens: Handle split at statements", 100, []wantChunk{
			{1, 3, ""}, {5, 10, ""}, {12, 16, "ErrClosed, ErrTimeout"}, {18, 18, "maxConns"},
			{20, 24, "Server"}, {26, 27, "Server.Name"},
			{29, 40, "Server.Handle"}, {42, 51, "Server.Handle"}, {52, 60, "Server.Handle"},
			{62, 66, "Pair"}, {68, 69, "Pair.Keys"},
		}},
		{"64 tokens: the switch split between its clauses", 64, []wantChunk{
			{1, 3, ""}, {5, 10, ""}, {12, 16, "ErrClosed, ErrTimeout"}, {18, 18, "maxConns"},
			{20, 24, "Server"}, {26, 27, "Server.Name"},
			{29, 32, "Server.Handle"}, {33, 39, "Server.Handle"}, {40, 40, "Server.Handle"},
			{42, 45, "Server.Handle"}, {46, 51, "Server.Handle"}, {52, 54, "Server.Handle"},
			{55, 60, "Server.Handle"},
			{62, 66, "Pair"}, {68, 69, "Pair.Keys"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			checkChunks(t, chunkOf(t, "pkg/server.go", src, tt.maxTokens), tt.want)
		})
	}
}

func TestChunker_Chunk_GoDocCommentsAndSignatures(t *testing.T) {
	src := readFixture(t, "server.go")
	ls := lines(src)
	join := func(a, b int) string { return strings.Join(ls[a-1:b], "\n") }
	sig := ls[31] // func (s *Server) Handle(w http.ResponseWriter, r *http.Request) {

	t.Run("doc comment stays with its declaration", func(t *testing.T) {
		cs := chunkOf(t, "server.go", src, 0)
		if got, want := cs[1].Content, join(29, 60); got != want {
			t.Errorf("Handle chunk:\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("later pieces repeat the signature", func(t *testing.T) {
		cs := chunkOf(t, "server.go", src, 100)
		if got, want := cs[6].Content, join(29, 40); got != want {
			t.Errorf("first piece:\n%s\nwant\n%s", got, want)
		}
		if got, want := cs[7].Content, sig+"\n\t// ...\n"+join(42, 51); got != want {
			t.Errorf("second piece:\n%s\nwant\n%s", got, want)
		}
		if got, want := cs[8].Content, sig+"\n\t// ...\n"+join(52, 60); got != want {
			t.Errorf("last piece:\n%s\nwant\n%s", got, want)
		}
	})
	t.Run("tight budget keeps the declaration's signature", func(t *testing.T) {
		cs := chunkOf(t, "server.go", src, 64)
		// Lines 46-51 are the last clauses of the switch at line 42; at 64 tokens only
		// the outermost signature fits as context.
		if got, want := cs[10].Content, sig+"\n\t// ...\n"+join(46, 51); got != want {
			t.Errorf("clause piece:\n%s\nwant\n%s", got, want)
		}
		// The piece right after the signature needs no marker.
		if got, want := cs[7].Content, sig+"\n"+join(33, 39); got != want {
			t.Errorf("piece after signature:\n%s\nwant\n%s", got, want)
		}
	})
}

func TestChunker_Chunk_GoNested(t *testing.T) {
	var b strings.Builder
	b.WriteString("package p\n\n// Dispatch applies op.\nfunc Dispatch(op string, x int) int {\n\tswitch op {\n")
	for i := range 40 {
		fmt.Fprintf(&b, "\tcase \"op%02d\":\n\t\tx += %d\n\t\tx *= 2\n", i, i)
	}
	b.WriteString("\t}\n\treturn x\n}\n")
	src := []byte(b.String())
	ls := lines(src)
	cs := chunkOf(t, "d.go", src, 128)
	if len(cs) < 4 {
		t.Fatalf("%d chunks, want the switch split", len(cs))
	}
	if cs[0].StartLine != 1 || cs[1].StartLine != 3 || !strings.HasPrefix(cs[1].Content, "// Dispatch applies op.\nfunc Dispatch") {
		t.Errorf("first pieces: %d-%d, %d-%d:\n%s", cs[0].StartLine, cs[0].EndLine, cs[1].StartLine, cs[1].EndLine, cs[1].Content)
	}
	for i, c := range cs[1:] {
		if c.Symbol != "Dispatch" {
			t.Errorf("piece %d has symbol %q", i+1, c.Symbol)
		}
		if c == cs[len(cs)-1] && ls[c.StartLine-1] == "\treturn x" {
			if want := "func Dispatch(op string, x int) int {\n\t// ...\n\treturn x\n}"; c.Content != want {
				t.Errorf("last piece:\n%s\nwant\n%s", c.Content, want)
			}
			continue
		}
		if i > 0 {
			if c.StartLine != cs[i].EndLine+1 {
				t.Errorf("piece %d starts at %d, previous ended at %d", i+1, c.StartLine, cs[i].EndLine)
			}
			if !strings.HasPrefix(ls[c.StartLine-1], "\tcase ") {
				t.Errorf("piece %d starts at line %q, not at a case clause", i+1, ls[c.StartLine-1])
			}
			if want := "func Dispatch(op string, x int) int {\n\tswitch op {\n\t// ...\n\tcase "; !strings.HasPrefix(c.Content, want) {
				t.Errorf("piece %d does not repeat both signatures:\n%s", i+1, c.Content)
			}
		}
	}
	if last := cs[len(cs)-1]; last.EndLine != len(ls) {
		t.Errorf("last piece ends at %d of %d", last.EndLine, len(ls))
	}
}

func TestChunker_Chunk_GoSymbols(t *testing.T) {
	src := []byte(`package p

type T[K comparable] struct{ k K }

func (t *T[K]) Get() K { return t.k }

func (t T[K]) Value() K { return t.k }

func Free() {}

type (
	A int
	B string
)

var x, y = 1, 2
`)
	// Budget 64: each declaration of 8 tokens or more stands alone.
	checkChunks(t, chunkOf(t, "p.go", src, 64), []wantChunk{
		{1, 1, ""}, {3, 3, "T"}, {5, 5, "T.Get"}, {7, 7, "T.Value"}, {9, 9, "Free"},
		{11, 14, "A, B"}, {16, 16, "x, y"},
	})
}

func TestChunker_Chunk_GoBigLiteralAndStruct(t *testing.T) {
	var b strings.Builder
	b.WriteString("package p\n\n// table is big.\nvar table = map[string]int{\n")
	for i := range 200 {
		fmt.Fprintf(&b, "\t\"key%03d\": %d,\n", i, i)
	}
	b.WriteString("}\n\n// Big has many fields.\ntype Big struct {\n")
	for i := range 200 {
		fmt.Fprintf(&b, "\tField%03d int // field number %d\n", i, i)
	}
	b.WriteString("}\n")
	src := []byte(b.String())
	cs := chunkOf(t, "p.go", src, 0)
	var table, big int
	for _, c := range cs[1:] {
		switch c.Symbol {
		case "table":
			table++
			if c.StartLine > 3 && !strings.HasPrefix(c.Content, "var table = map[string]int{\n\t// ...\n") {
				t.Errorf("table piece %d-%d does not repeat the literal's first line:\n%s", c.StartLine, c.EndLine, c.Content)
			}
		case "Big":
			big++
			if c.StartLine > 207 && !strings.HasPrefix(c.Content, "type Big struct {\n\t// ...\n") {
				t.Errorf("Big piece %d-%d does not repeat the type line:\n%s", c.StartLine, c.EndLine, c.Content)
			}
		default:
			t.Errorf("chunk %d-%d has symbol %q", c.StartLine, c.EndLine, c.Symbol)
		}
	}
	if table < 2 || big < 2 {
		t.Errorf("table in %d chunks, Big in %d; want both split", table, big)
	}
	if cs[1].StartLine != 3 {
		t.Errorf("first table chunk starts at %d, want 3 (the doc comment)", cs[1].StartLine)
	}
}

func TestChunker_Chunk_Fallback(t *testing.T) {
	// Paragraphs of prose: windows end at blank lines and overlap.
	var b strings.Builder
	for p := range 30 {
		for l := range 4 {
			fmt.Fprintf(&b, "Paragraph %d line %d says something about the system and its parts.\n", p, l)
		}
		b.WriteString("\n")
	}
	src := []byte(b.String())
	cs := chunkOf(t, "docs/notes.md", src, 0)
	if len(cs) < 2 {
		t.Fatalf("%d chunks, want several", len(cs))
	}
	ls := lines(src)
	for i, c := range cs {
		if c.Symbol != "" || c.Language != "markdown" {
			t.Errorf("chunk %d: symbol %q, language %q", i, c.Symbol, c.Language)
		}
		if i < len(cs)-1 && (c.EndLine >= len(ls) || ls[c.EndLine] != "") {
			t.Errorf("chunk %d ends at line %d, not before a blank line", i, c.EndLine)
		}
		if i > 0 && c.StartLine > cs[i-1].EndLine {
			t.Errorf("chunk %d starts at %d, after chunk %d ends at %d: no overlap", i, c.StartLine, i-1, cs[i-1].EndLine)
		}
	}
	// An unparsable Go file is chunked the same way.
	cs = chunkOf(t, "bad.go", append([]byte("package p\nfunc {{{\n"), src...), 0)
	for i, c := range cs {
		if c.Symbol != "" {
			t.Errorf("bad.go chunk %d has symbol %q", i, c.Symbol)
		}
	}
}

func TestChunker_Chunk_BadInput(t *testing.T) {
	c := chunk.New(chunk.Options{})

	t.Run("empty and blank files have no chunks", func(t *testing.T) {
		for _, src := range []string{"", "\n", "  \n\t\n\r\n", "\n\n\n"} {
			for _, p := range []string{"a.go", "a.ts", "a.py", "a.txt"} {
				cs, err := c.Chunk(p, []byte(src))
				if err != nil || len(cs) != 0 {
					t.Errorf("Chunk(%s, %q) = %d chunks, %v", p, src, len(cs), err)
				}
			}
		}
	})

	t.Run("10 MB single line", func(t *testing.T) {
		unit := []byte(`function f(a,b){return a.x+b.y*2;}var q="abc";`)
		src := bytes.Repeat(unit, 10<<20/len(unit))
		for _, p := range []string{"bundle.min.js", "data.txt", "gen.go"} {
			cs := chunkOf(t, p, src, 0)
			for _, ch := range cs {
				if len(ch.Content) > 16*chunk.DefaultMaxTokens {
					t.Fatalf("%s: chunk of %d bytes", p, len(ch.Content))
				}
			}
			if len(cs) < 1000 {
				t.Errorf("%s: %d chunks for 10 MB", p, len(cs))
			}
		}
	})

	// How long this takes, and that it grows linearly, is BenchmarkChunk_LongFunction's job;
	// the test checks that a 100k-line function comes out whole and within the budget.
	t.Run("100k-line function", func(t *testing.T) {
		src := longFunction(50_000) // 100k lines
		lines := bytes.Split(src, []byte("\n"))
		blank := func(from, to int) bool { // 1-based, inclusive
			for i := from; i <= to; i++ {
				if len(bytes.TrimSpace(lines[i-1])) > 0 {
					return false
				}
			}
			return true
		}
		for _, p := range []string{"big.go", "big.txt", "big.py"} {
			chunks := chunkOf(t, p, src, 0)
			if len(chunks) < 50 {
				t.Fatalf("%s: %d chunks for 100k lines", p, len(chunks))
			}
			covered := 0
			for _, c := range chunks {
				if c.StartLine > c.EndLine || c.EndLine > 100_004 {
					t.Fatalf("%s: chunk %d-%d", p, c.StartLine, c.EndLine)
				}
				if c.EndLine > covered {
					if c.StartLine > covered+1 && !blank(covered+1, c.StartLine-1) {
						t.Fatalf("%s: lines %d-%d are in no chunk", p, covered+1, c.StartLine-1)
					}
					covered = c.EndLine
				}
			}
			if covered < 100_003 {
				t.Fatalf("%s: chunks end at line %d", p, covered)
			}
		}
	})

	t.Run("CRLF line ends", func(t *testing.T) {
		lf := readFixture(t, "server.go")
		crlf := bytes.ReplaceAll(lf, []byte("\n"), []byte("\r\n"))
		a := chunkOf(t, "server.go", lf, 100)
		b := chunkOf(t, "server.go", crlf, 100)
		if len(a) != len(b) {
			t.Fatalf("%d chunks with LF, %d with CRLF", len(a), len(b))
		}
		for i := range a {
			if a[i].StartLine != b[i].StartLine || a[i].EndLine != b[i].EndLine || a[i].Symbol != b[i].Symbol {
				t.Errorf("chunk %d: %d-%d %q with LF, %d-%d %q with CRLF", i,
					a[i].StartLine, a[i].EndLine, a[i].Symbol, b[i].StartLine, b[i].EndLine, b[i].Symbol)
			}
			if strings.HasSuffix(b[i].Content, "\r") || strings.ReplaceAll(b[i].Content, "\r\n", "\n") != a[i].Content {
				t.Errorf("chunk %d content differs beyond line ends:\n%q\n%q", i, b[i].Content, a[i].Content)
			}
		}
	})

	t.Run("invalid UTF-8 and binary garbage do not panic", func(t *testing.T) {
		r := rand.New(rand.NewPCG(1, 2))
		garbage := make([]byte, 64<<10)
		for i := range garbage {
			garbage[i] = byte(r.UintN(256))
		}
		soup := make([]byte, 4<<10) // valid UTF-8 that no grammar can make sense of
		const alphabet = "{}()[]<>;:,.'\"`/\\*#@!?=+-_ \n\tabcXYZ0189"
		for i := range soup {
			soup[i] = alphabet[r.UintN(uint(len(alphabet)))]
		}
		inputs := [][]byte{
			garbage,
			soup,
			append([]byte("package p\n\nfunc F() {\n\ts := \"\xff\xfe\"\n}\n"), garbage[:100]...),
			[]byte("\xff\xff\xff\n\x00\x00\n\xc3\x28 invalid\n"),
			bytes.Repeat([]byte{0xe2, 0x82}, 5000), // truncated multi-byte characters, one line
		}
		for _, src := range inputs {
			for _, p := range []string{"a.go", "a.ts", "a.tsx", "a.js", "a.py", "a.rs", "a.java", "a.c", "a.h", "a.rb", "a.bin"} {
				chunkOf(t, p, src, 0)
			}
		}
	})
}

func TestChunker_Chunk_GorootProperties(t *testing.T) {
	files := readGoroot(t, "net/http", "go/ast", "strings", "encoding/json", "unicode")
	c := chunk.New(chunk.Options{})
	symbols := 0
	for _, f := range files {
		cs, err := c.Chunk(f.path, f.src)
		if err != nil {
			t.Fatal(err)
		}
		checkInvariants(t, f.path, f.src, cs, 0)
		for _, ch := range cs {
			if ch.Symbol != "" {
				symbols++
			}
		}
	}
	if symbols == 0 {
		t.Error("no chunk of the standard library has a symbol")
	}
}

// describe renders chunks for comparison.
func describe(cs []*domain.Chunk) string {
	var b strings.Builder
	for _, c := range cs {
		fmt.Fprintf(&b, "%d-%d %q %q\n", c.StartLine, c.EndLine, c.Symbol, c.Content)
	}
	return b.String()
}

func TestChunker_Chunk_Concurrent(t *testing.T) {
	c := chunk.New(chunk.Options{MaxTokens: 100})
	names := []string{"server.go", "widget.ts", "button.tsx", "util.js", "models.py", "lib.rs",
		"Greeter.java", "list.c", "shape.cpp", "greeter.rb"}
	srcs := make([][]byte, len(names))
	serial := make([]string, len(names))
	for i, n := range names {
		srcs[i] = readFixture(t, n)
		cs, _ := c.Chunk(n, srcs[i])
		serial[i] = describe(cs)
	}
	done := make(chan error)
	for g := range 8 {
		go func() {
			var err error
			for k := range 20 {
				i := (g + k) % len(names)
				cs, _ := c.Chunk(names[i], srcs[i])
				if got := describe(cs); got != serial[i] && err == nil {
					err = fmt.Errorf("%s: chunks differ when chunked concurrently", names[i])
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 0},
		{"\n", 1},
		{"parse", 1},
		{"parseHTTPRequest", 3},     // parse, HTTP, Request
		{"internationalization", 3}, // 10 letters, then 6 and 4 more
		{"x := 42", 3},              // x, :=, 42 (one space free)
		{"12345678", 3},             // 123 456 78
		{"foo.Bar(baz)", 4},         // foo, .Bar, (baz, )
		{"\n\t\treturn", 3},         // line break, indentation, return
		{"日本", 2},
	}
	for _, tt := range tests {
		if got := chunk.EstimateTokens([]byte(tt.text)); got != tt.want {
			t.Errorf("EstimateTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
	// No run of bytes is free: the estimate grows with any text's length.
	for _, unit := range []string{" ", "  ", "\t", "a", "é", ".", "\n", "\r\n", "0"} {
		text := []byte(strings.Repeat(unit, 16_000))
		if got := chunk.EstimateTokens(text); got < len(text)/16 {
			t.Errorf("EstimateTokens(%q × 16000) = %d, want at least %d", unit, got, len(text)/16)
		}
	}
}

// FuzzChunker_Chunk checks the invariants on any input, in any language, with any budget.
func FuzzChunker_Chunk(f *testing.F) {
	for _, name := range []string{"server.go", "widget.ts", "models.py", "lib.rs"} {
		f.Add(name, readFixture(f, name), 64)
	}
	f.Add("a.txt", []byte("a\n\n\nb\r\nc"), 0)
	f.Add("a.go", []byte("package p\nfunc f() {\n\tswitch {\n\tcase true:\n\t}\n}\n"), 64)
	f.Fuzz(func(t *testing.T, name string, src []byte, maxTokens int) {
		if maxTokens < 0 || maxTokens > 4096 {
			return
		}
		chunkOf(t, filepath.Base("x"+filepath.Ext(name)), src, maxTokens)
	})
}

// longFunction returns a Go file with one function of 2n statement lines.
func longFunction(n int) []byte {
	var b bytes.Buffer
	b.WriteString("package p\n\nfunc Big() {\n")
	for i := range n {
		fmt.Fprintf(&b, "\tx%d := %d\n\t_ = x%d\n", i, i, i)
	}
	b.WriteString("}\n")
	return b.Bytes()
}

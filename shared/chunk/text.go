package chunk

import (
	"bytes"
	"strings"
)

// span is a range of lines, 1-based and inclusive.
type span struct{ start, end int }

// sig is the signature of an enclosing declaration or block, repeated as context before
// a piece of its body: lines start..end, of which key (the line with the name) is kept when
// context must be shortened.
type sig struct{ start, end, key int }

// file is the content being chunked with its line index and per-line token estimates, so
// that the token count of any line range is one subtraction.
type file struct {
	src      []byte
	off      []int  // off[i] is the byte offset where line i+1 starts; off[n] = len(src)
	tok      []int  // tok[i] is the estimated tokens of lines 1..i
	blank    []bool // blank[i] reports whether line i+1 holds only blanks
	n        int    // number of lines; a final line break does not start another line
	nonBlank int
	longest  int // bytes of the longest line
	comment  string
}

func newFile(src []byte, comment string) *file {
	f := &file{src: src, comment: comment}
	f.off = append(f.off, 0)
	for i := 0; i < len(src); {
		j := bytes.IndexByte(src[i:], '\n')
		if j < 0 {
			break
		}
		i += j + 1
		if i < len(src) {
			f.off = append(f.off, i)
		}
	}
	if len(src) == 0 {
		f.off = f.off[:0]
	}
	f.n = len(f.off)
	f.off = append(f.off, len(src))

	f.blank = make([]bool, f.n)
	for l := 0; l < f.n; l++ {
		line := src[f.off[l]:f.off[l+1]]
		f.longest = max(f.longest, len(line))
		b := true
		for _, c := range line {
			if byteClass[c] != clSpace && c != '\n' {
				b = false
				break
			}
		}
		f.blank[l] = b
		if !b {
			f.nonBlank++
		}
	}

	// Tokens of each run go to the line where the run starts (a line break, and the
	// indentation it is counted with, to the line it ends).
	f.tok = make([]int, f.n+1)
	line := 0
	for i := 0; i < len(src); {
		for src[i] != '\n' && f.off[line+1] <= i {
			line++
		}
		next, t := estimateRun(src, i)
		f.tok[line+1] += t
		i = next
	}
	for l := 1; l <= f.n; l++ {
		f.tok[l] += f.tok[l-1]
	}
	return f
}

// tokens returns the estimated tokens of lines a..b (0 when b < a).
func (f *file) tokens(a, b int) int {
	if b < a {
		return 0
	}
	return f.tok[b] - f.tok[a-1]
}

// isBlank reports whether line l holds only blanks.
func (f *file) isBlank(l int) bool { return f.blank[l-1] }

// line returns line l without its line break.
func (f *file) line(l int) []byte {
	return trimEOL(f.src[f.off[l-1]:f.off[l]])
}

// text returns lines a..b without the last line break.
func (f *file) text(a, b int) []byte {
	return trimEOL(f.src[f.off[a-1]:f.off[b]])
}

func trimEOL(b []byte) []byte {
	b = bytes.TrimSuffix(b, []byte{'\n'})
	return bytes.TrimSuffix(b, []byte{'\r'})
}

// minified reports whether the file looks minified or generated: very long lines and long
// lines on average. Such files are chunked by lines (and bytes), not parsed.
func (f *file) minified() bool {
	return f.longest > maxTreeLineBytes && len(f.src)/f.n > 200
}

// indent returns the leading blanks of line l.
func (f *file) indent(l int) []byte {
	b := f.line(l)
	i := 0
	for i < len(b) && (b[i] == ' ' || b[i] == '\t') {
		i++
	}
	return b[:i]
}

// piece is one chunk before it becomes a domain.Chunk.
type piece struct {
	start, end int
	symbol     string
	content    string
}

// emitter collects the pieces of one file.
type emitter struct {
	c   *Chunker
	f   *file
	out []piece
	buf []byte
}

// markerTokens is what the "// ..." line between context and piece costs at most.
const markerTokens = 4

// ctxTokens returns the tokens that the context lines (and marker) add to a piece.
func (e *emitter) ctxTokens(ctx []sig) int {
	if len(ctx) == 0 {
		return 0
	}
	t := 0
	for _, s := range ctx {
		t += markerTokens + e.f.tokens(s.start, s.end)
	}
	return t
}

// fitCtx shortens context lines that would take more than a third of the budget: first
// to the line with the name of each signature, then to the outermost and innermost of
// those (the declaration and the block the piece is in), then to the outermost alone,
// then to nothing.
func (e *emitter) fitCtx(ctx []sig) []sig {
	limit := e.c.maxTokens / 3
	if e.ctxTokens(ctx) <= limit {
		return ctx
	}
	short := make([]sig, len(ctx))
	for i, s := range ctx {
		short[i] = sig{s.key, s.key, s.key}
	}
	if e.ctxTokens(short) <= limit {
		return short
	}
	if len(short) > 2 {
		if ends := []sig{short[0], short[len(short)-1]}; e.ctxTokens(ends) <= limit {
			return ends
		}
	}
	if first := short[:1]; e.ctxTokens(first) <= limit {
		return first
	}
	return nil
}

// emit adds lines s with context ctx (signature lines of enclosing declarations) as one
// chunk, without blank lines at its edges; a blank range adds nothing.
func (e *emitter) emit(s span, ctx []sig, symbol string) {
	f := e.f
	for s.start <= s.end && f.isBlank(s.start) {
		s.start++
	}
	for s.end >= s.start && f.isBlank(s.end) {
		s.end--
	}
	if s.start > s.end {
		return
	}
	e.buf = e.render(e.buf[:0], ctx, s.start)
	e.buf = append(e.buf, f.text(s.start, s.end)...)
	e.out = append(e.out, piece{start: s.start, end: s.end, symbol: symbol, content: string(e.buf)})
}

// render appends the context lines for a piece starting at line start: the ctx spans
// that end before it, with a marker line wherever lines between them are left out.
func (e *emitter) render(buf []byte, ctx []sig, start int) []byte {
	last := 0
	for _, s := range ctx {
		if s.end >= start || s.start <= last {
			continue
		}
		if last > 0 {
			buf = e.marker(buf, last, s.start)
		}
		buf = append(buf, e.f.text(s.start, s.end)...)
		buf = append(buf, '\n')
		last = s.end
	}
	if last > 0 {
		buf = e.marker(buf, last, start)
	}
	return buf
}

// marker appends "// ..." (in the file's comment syntax, indented like line next) when
// lines between line last and line next are left out.
func (e *emitter) marker(buf []byte, last, next int) []byte {
	if last+1 >= next || e.f.comment == "" {
		return buf
	}
	buf = append(buf, e.f.indent(next)...)
	buf = append(buf, e.f.comment...)
	return append(buf, " ...\n"...)
}

// windows chunks lines s as windows of about the budget, cut after a blank line where one
// is in the second half of a window. The first window gets context ctxFirst, later ones
// ctxRest. Consecutive windows share about overlap tokens (0: none). A line over the
// budget is cut into pieces by bytes.
func (e *emitter) windows(s span, ctxFirst, ctxRest []sig, symbol string, overlap int) {
	f := e.f
	ctxFirst, ctxRest = e.fitCtx(ctxFirst), e.fitCtx(ctxRest)
	first := true
	for a := s.start; a <= s.end; {
		for a <= s.end && f.isBlank(a) {
			a++
		}
		if a > s.end {
			return
		}
		ctx := ctxRest
		if first {
			ctx = ctxFirst
		}
		first = false
		avail := e.c.maxTokens - e.ctxTokens(ctx)
		if f.tokens(a, a) > avail {
			e.longLine(a, ctx, symbol, avail)
			a++
			continue
		}
		b := a
		for b < s.end && f.tokens(a, b+1) <= avail {
			b++
		}
		if b < s.end {
			for k := b; k > a+(b-a)/2; k-- {
				if f.isBlank(k) {
					b = k
					break
				}
			}
		}
		e.emit(span{a, b}, ctx, symbol)
		if b >= s.end {
			return
		}
		// The next window starts with the last lines of this one, up to overlap tokens.
		next := b + 1
		for overlap > 0 && next-1 > a && f.tokens(next-1, b) <= overlap {
			next--
		}
		a = next
	}
}

// longLine chunks line l, longer than the budget avail, as pieces of at most avail tokens
// that all carry the line's number, cut at the end of a word or punctuation run when one
// is near.
func (e *emitter) longLine(l int, ctx []sig, symbol string, avail int) {
	b := bytes.TrimRight(e.f.line(l), " \t\r")
	prefix := e.render(nil, ctx, l)
	for len(b) > 0 {
		n := cutLine(b, avail)
		var sb strings.Builder
		sb.Grow(len(prefix) + n)
		sb.Write(prefix)
		sb.Write(b[:n])
		e.out = append(e.out, piece{start: l, end: l, symbol: symbol, content: sb.String()})
		b = b[n:]
	}
}

// cutLine returns the length of the longest prefix of b, ending at a run boundary or a
// rune boundary, whose estimated tokens are at most budget, and at least 1.
func cutLine(b []byte, budget int) int {
	acc := 0
	for i := 0; i < len(b); {
		next, t := estimateRun(b, i)
		if acc+t > budget {
			if i > 0 {
				return i
			}
			// One run over the budget: the run is ASCII (a multi-byte character is one
			// token), so cut it in proportion.
			return max(1, (next-i)*budget/max(t, 1))
		}
		acc += t
		i = next
	}
	return len(b)
}

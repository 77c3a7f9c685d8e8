package chunk

import "strings"

// node is one syntactic unit, in a form shared by the Go and tree-sitter front ends: a
// file, a declaration, a statement, a class member, a literal element.
type node struct {
	start, end int // the node's own lines; comments and attributes before it are not in them
	// head is the last line of the node's signature (start..head), the lines repeated
	// before later pieces when the node is split: "func (s *S) F(...) {", "class A(B):",
	// "for _, x := range xs {". head < start: no signature.
	head   int
	key    int    // the line with the node's name, kept when context must be shortened; 0: start
	symbol string // "" for statements and anonymous code
	// members marks a node whose children are declarations (a file, a class, an impl
	// block, a const group): small ones share chunks, big ones get their own, and pieces
	// are named after the members in them.
	members bool
	// expand returns the children in file order, not overlapping; nil for a leaf. It is
	// called only for nodes that are split, which keeps the cost of a file near the cost
	// of parsing it.
	expand func() []*node
	// lazy, when set, fills in head and expand; split calls it first. Front ends whose
	// signatures cost work to find (tree-sitter) leave that work to the nodes that need it.
	lazy func(*node)
}

// maxDepth bounds the recursion of split; deeper nodes are cut into line windows.
const maxDepth = 64

// maxSymbols is how many names a merged chunk's Symbol lists before ", …".
const maxSymbols = 4

// split chunks lines s, which hold node n (s may start earlier, with n's doc comment or a
// parent's signature). The first piece gets context ctxFirst; later pieces get ctxRest
// plus n's signature. A node that fits is one chunk, except a members node at depth 0 (the
// file), whose declarations are chunked one by one.
func (e *emitter) split(n *node, s span, ctxFirst, ctxRest []sig, inherited string, depth int) {
	f, budget := e.f, e.c.maxTokens
	sym := n.symbol
	if sym == "" {
		sym = inherited
	}
	ctxFirst = e.fitCtx(ctxFirst)
	if depth > 0 && f.tokens(s.start, s.end)+e.ctxTokens(ctxFirst) <= budget {
		e.emit(s, ctxFirst, sym)
		return
	}
	if n.lazy != nil {
		n.lazy(n)
		n.lazy = nil
	}
	inner := ctxRest
	if n.head >= n.start {
		key := n.key
		if key < n.start || key > n.head {
			key = n.start
		}
		// The signature from the line with the name: decorators and annotations
		// above it say less than it does.
		inner = append(append([]sig(nil), ctxRest...), sig{key, n.head, key})
	}
	inner = e.fitCtx(inner)
	innerTok := e.ctxTokens(inner)

	var kids []*node
	if n.expand != nil && depth < maxDepth {
		kids = n.expand()
	}
	lo := max(s.start, n.head+1)
	type seg struct {
		span
		kid *node
	}
	var segs []seg
	prev := lo - 1
	for _, k := range kids {
		end := min(k.end, s.end)
		if end <= prev {
			continue
		}
		segs = append(segs, seg{span{prev + 1, end}, k})
		prev = end
	}
	if len(segs) == 0 {
		e.windows(s, ctxFirst, inner, sym, 0)
		return
	}
	segs[len(segs)-1].end = s.end // closing lines go with the last child

	// g is the group of lines being gathered into one piece.
	var g struct {
		span
		tok   int
		kids  int  // children in the group; 0 with a head means the head alone
		large bool // holds a member of at least e.c.small tokens
		names []string
	}
	hasHead := lo > s.start
	if hasHead {
		g.span = span{s.start, lo - 1}
		g.tok = f.tokens(g.start, g.end)
	}
	groupCtx := func() []sig {
		if g.start == s.start {
			return ctxFirst
		}
		return inner
	}
	flush := func() {
		if g.end < g.start || g.end == 0 {
			return
		}
		ctx := groupCtx()
		if g.tok+e.ctxTokens(ctx) > budget {
			// Only a head (doc comment and signature) can be over the budget here.
			e.windows(g.span, ctx, inner, sym, 0)
		} else {
			name := sym
			if n.members && len(g.names) > 0 {
				if g.start == s.start && hasHead {
					// The container's head and its first members: "Foo, Foo.a, Foo.b".
					name = joinSymbols(append([]string{sym}, g.names...))
				} else {
					name = joinSymbols(g.names)
				}
			}
			e.emit(g.span, ctx, name)
		}
		g.span, g.tok, g.kids, g.large, g.names = span{}, 0, 0, false, g.names[:0]
	}
	for _, sg := range segs {
		t := f.tokens(sg.start, sg.end)
		small := !n.members || t < e.c.small
		if g.end >= g.start && g.end > 0 {
			fits := g.tok+t+e.ctxTokens(groupCtx()) <= budget
			if fits && (!n.members || g.kids == 0 || small && !g.large) {
				g.end = sg.end
				g.tok += t
				g.kids++
				g.large = g.large || !small
				if sg.kid.symbol != "" {
					g.names = append(g.names, sg.kid.symbol)
				}
				continue
			}
			if t+innerTok > budget && g.kids == 0 && g.tok <= budget/4 {
				// A short head with a child that must be split: the head opens the
				// child's first piece rather than standing alone.
				e.split(sg.kid, span{g.start, sg.end}, groupCtx(), inner, sym, depth+1)
				g.span, g.tok = span{}, 0
				continue
			}
			flush()
		}
		if t+innerTok > budget {
			e.split(sg.kid, sg.span, inner, inner, sym, depth+1)
			continue
		}
		g.span, g.tok, g.kids, g.large = sg.span, t, 1, !small
		if sg.kid.symbol != "" {
			g.names = append(g.names, sg.kid.symbol)
		}
	}
	flush()
}

// joinSymbols names a chunk of several declarations: their names in order, at most
// maxSymbols, then ", …". Entries may be such lists themselves ("ErrA, ErrB" for a var
// group); they are flattened.
func joinSymbols(names []string) string {
	var out []string
	for _, entry := range names {
		for n := range strings.SplitSeq(entry, ", ") {
			if n == "" || n == "…" || len(out) > 0 && out[len(out)-1] == n {
				continue
			}
			if len(out) == maxSymbols {
				return strings.Join(out, ", ") + ", …"
			}
			out = append(out, n)
		}
	}
	return strings.Join(out, ", ")
}

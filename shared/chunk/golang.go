package chunk

import (
	"go/ast"
	"go/parser"
	"go/token"
)

// goTree parses a Go file into nodes: the file's declarations as members, function bodies
// as statements, blocks, clauses and literal elements below them. It returns nil when the
// file does not parse: a half-parsed file would give wrong line ranges and symbols.
func goTree(f *file) *node {
	fset := token.NewFileSet()
	af, err := parser.ParseFile(fset, "", f.src, parser.ParseComments|parser.SkipObjectResolution)
	if err != nil || af == nil {
		return nil
	}
	g := goBuilder{tf: fset.File(af.Package)}
	if g.tf == nil {
		return nil
	}
	root := &node{start: 1, end: f.n, members: true}
	kids := []*node{{start: g.line(af.Package), end: g.line(af.Name.End())}}
	for _, d := range af.Decls {
		kids = append(kids, g.decl(d))
	}
	root.expand = func() []*node { return kids }
	return root
}

// goBuilder turns go/ast nodes into nodes.
type goBuilder struct{ tf *token.File }

func (g goBuilder) line(p token.Pos) int { return g.tf.Line(p) }

// span returns a node over the lines of x, without a signature.
func (g goBuilder) span(x ast.Node) *node {
	return &node{start: g.line(x.Pos()), end: g.line(x.End() - 1), head: -1}
}

func (g goBuilder) decl(d ast.Decl) *node {
	switch d := d.(type) {
	case *ast.FuncDecl:
		n := g.span(d)
		n.key = g.line(d.Name.Pos())
		n.symbol = d.Name.Name
		if d.Recv != nil && len(d.Recv.List) > 0 {
			if r := recvName(d.Recv.List[0].Type); r != "" {
				n.symbol = r + "." + d.Name.Name
			}
		}
		if d.Body != nil {
			n.head = g.line(d.Body.Lbrace)
			n.expand = func() []*node { return g.stmts(d.Body.List) }
		}
		return n
	case *ast.GenDecl:
		n := g.span(d)
		var names []string
		for _, s := range d.Specs {
			names = append(names, specNames(s)...)
		}
		if d.Tok != token.IMPORT {
			n.symbol = joinSymbols(names)
		}
		if d.Lparen.IsValid() {
			// const ( ... ), var ( ... ), type ( ... ): the specs are members.
			n.head = g.line(d.Lparen)
			n.members = true
			n.expand = func() []*node {
				var kids []*node
				for _, s := range d.Specs {
					k := g.spec(s)
					if d.Tok == token.IMPORT {
						k.symbol = ""
					}
					kids = append(kids, k)
				}
				return kids
			}
		} else if len(d.Specs) == 1 {
			// type T struct { ... }, var x = T{ ... }: split like the spec, with the
			// keyword line as the signature.
			k := g.spec(d.Specs[0])
			n.head, n.expand = k.head, k.expand
		}
		return n
	}
	return g.span(d)
}

// spec returns the node of one const, var, type or import spec.
func (g goBuilder) spec(s ast.Spec) *node {
	n := g.span(s)
	n.symbol = joinSymbols(specNames(s))
	switch s := s.(type) {
	case *ast.TypeSpec:
		var fields *ast.FieldList
		switch t := s.Type.(type) {
		case *ast.StructType:
			fields = t.Fields
		case *ast.InterfaceType:
			fields = t.Methods
		}
		if fields != nil && fields.Opening.IsValid() {
			n.head = g.line(fields.Opening)
			n.expand = func() []*node {
				var kids []*node
				for _, fl := range fields.List {
					kids = append(kids, g.span(fl))
				}
				return kids
			}
		}
	case *ast.ValueSpec:
		if len(s.Values) > 0 {
			v := g.expr(s.Values[len(s.Values)-1])
			if v.expand != nil {
				n.head, n.expand = v.head, v.expand
			}
		}
	}
	return n
}

// specNames returns the names a spec declares.
func specNames(s ast.Spec) []string {
	switch s := s.(type) {
	case *ast.TypeSpec:
		return []string{s.Name.Name}
	case *ast.ValueSpec:
		var names []string
		for _, id := range s.Names {
			if id.Name != "_" {
				names = append(names, id.Name)
			}
		}
		return names
	}
	return nil
}

// recvName returns the type name of a method receiver: T for T, *T, T[K] and *T[K, V].
func recvName(x ast.Expr) string {
	for {
		switch t := x.(type) {
		case *ast.StarExpr:
			x = t.X
		case *ast.ParenExpr:
			x = t.X
		case *ast.IndexExpr:
			x = t.X
		case *ast.IndexListExpr:
			x = t.X
		case *ast.Ident:
			return t.Name
		default:
			return ""
		}
	}
}

func (g goBuilder) stmts(list []ast.Stmt) []*node {
	kids := make([]*node, 0, len(list))
	for _, s := range list {
		kids = append(kids, g.stmt(s))
	}
	return kids
}

// stmt returns the node of a statement: block statements have their opening line as the
// signature and their statements or clauses as children; simple statements that hold a
// function literal or composite literal (t.Run(..., func(t *testing.T) {...}), a table of
// test cases) are split like that literal.
func (g goBuilder) stmt(s ast.Stmt) *node {
	n := g.span(s)
	block := func(lbrace token.Pos, list []ast.Stmt) {
		n.head = g.line(lbrace)
		n.expand = func() []*node { return g.stmts(list) }
	}
	switch s := s.(type) {
	case *ast.BlockStmt:
		block(s.Lbrace, s.List)
	case *ast.ForStmt:
		block(s.Body.Lbrace, s.Body.List)
	case *ast.RangeStmt:
		block(s.Body.Lbrace, s.Body.List)
	case *ast.IfStmt:
		n.head = g.line(s.Body.Lbrace)
		n.expand = func() []*node {
			kids := g.stmts(s.Body.List)
			switch e := s.Else.(type) {
			case *ast.IfStmt:
				kids = append(kids, g.stmt(e))
			case *ast.BlockStmt:
				els := g.span(e)
				els.head = g.line(e.Lbrace)
				els.expand = func() []*node { return g.stmts(e.List) }
				kids = append(kids, els)
			}
			return kids
		}
	case *ast.SwitchStmt:
		n.head, n.expand = g.line(s.Body.Lbrace), g.clauses(s.Body)
	case *ast.TypeSwitchStmt:
		n.head, n.expand = g.line(s.Body.Lbrace), g.clauses(s.Body)
	case *ast.SelectStmt:
		n.head, n.expand = g.line(s.Body.Lbrace), g.clauses(s.Body)
	case *ast.CaseClause:
		n.head = g.line(s.Colon)
		n.expand = func() []*node { return g.stmts(s.Body) }
	case *ast.CommClause:
		n.head = g.line(s.Colon)
		n.expand = func() []*node { return g.stmts(s.Body) }
	case *ast.LabeledStmt:
		k := g.stmt(s.Stmt)
		n.head, n.expand = k.head, k.expand
	default:
		if lit := dominantLit(s, n.end-n.start+1, g); lit != nil {
			k := g.expr(lit)
			n.head, n.expand = k.head, k.expand
		}
	}
	return n
}

func (g goBuilder) clauses(body *ast.BlockStmt) func() []*node {
	return func() []*node { return g.stmts(body.List) }
}

// expr returns the node of an expression: a composite literal is split between its
// elements, a function literal between its statements, and anything else by the literal
// that makes up most of it.
func (g goBuilder) expr(x ast.Expr) *node {
	n := g.span(x)
	switch x := x.(type) {
	case *ast.CompositeLit:
		n.head = g.line(x.Lbrace)
		n.expand = func() []*node {
			kids := make([]*node, 0, len(x.Elts))
			for _, el := range x.Elts {
				kids = append(kids, g.expr(el))
			}
			return kids
		}
	case *ast.FuncLit:
		n.head = g.line(x.Body.Lbrace)
		n.expand = func() []*node { return g.stmts(x.Body.List) }
	default:
		if lit := dominantLit(x, n.end-n.start+1, g); lit != nil {
			k := g.expr(lit)
			n.head, n.expand = k.head, k.expand
		}
	}
	return n
}

// dominantLit returns the outermost function or composite literal in x that spans at
// least half of x's lines (and more than two), or nil.
func dominantLit(x ast.Node, lines int, g goBuilder) ast.Expr {
	var best ast.Expr
	bestLines := 2
	ast.Inspect(x, func(m ast.Node) bool {
		switch m := m.(type) {
		case *ast.FuncLit, *ast.CompositeLit:
			if m == x {
				return true
			}
			l := g.line(m.End()-1) - g.line(m.Pos()) + 1
			if l > bestLines && 2*l >= lines {
				best, bestLines = m.(ast.Expr), l
			}
			return false
		}
		return true
	})
	return best
}

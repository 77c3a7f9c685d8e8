//go:build cgo

package chunk

import (
	"context"
	"path"
	"strings"

	sitter "github.com/smacker/go-tree-sitter"
	"github.com/smacker/go-tree-sitter/c"
	"github.com/smacker/go-tree-sitter/cpp"
	"github.com/smacker/go-tree-sitter/java"
	"github.com/smacker/go-tree-sitter/javascript"
	"github.com/smacker/go-tree-sitter/python"
	"github.com/smacker/go-tree-sitter/ruby"
	"github.com/smacker/go-tree-sitter/rust"
	"github.com/smacker/go-tree-sitter/typescript/tsx"
	"github.com/smacker/go-tree-sitter/typescript/typescript"
)

// The runtime and grammars come from github.com/smacker/go-tree-sitter, one module that
// bundles both. The official github.com/tree-sitter/go-tree-sitter runtime is on the Go
// module proxy, but its grammar modules for TypeScript, JavaScript, Rust, Java, C, C++ and
// Ruby are not (the proxy refuses them), and two tree-sitter runtimes cannot be linked into
// one binary (their C symbols collide), so the official runtime with the one official
// grammar that is served (Python) would not cover the rest.

// tsKind says what a tree-sitter node type is to the chunker.
type tsKind uint8

const (
	tsOther  tsKind = iota // statements, expressions, anything unnamed
	tsFunc                 // a named function or method: statements inside
	tsClass                // a class, struct with methods, impl, trait, module, namespace: members inside
	tsType                 // a named type, interface, enum: no named members
	tsVar                  // a variable, constant or field declaration: named by its names
	tsWrap                 // wraps one declaration (export, decorators, template): that one decides
	tsGroup                // a transparent group of declarations (#ifdef, extern "C")
	tsTrivia               // comments and attributes: they belong to the node after them
)

// tsLang describes one tree-sitter grammar.
type tsLang struct {
	lang      *sitter.Language
	typeSep   string // between a container's name and a nested container's
	memberSep string // between a container's name and a member's
	kinds     map[string]tsKind
}

// blockTypes are the node types, in any grammar, whose children are statements, members,
// fields or elements: where a node that is too big is split.
var blockTypes = map[string]bool{
	"statement_block": true, "class_body": true, "block": true, "declaration_list": true,
	"field_declaration_list": true, "enum_body": true, "enum_variant_list": true,
	"interface_body": true, "object_type": true, "switch_body": true,
	"compound_statement": true, "body_statement": true, "do_block": true,
	"constructor_body": true, "match_block": true, "object": true, "array": true,
	"initializer_list": true, "enumerator_list": true, "annotation_type_body": true,
	"dictionary": true, "list": true, "hash": true, "switch_block": true,
}

var jsKinds = map[string]tsKind{
	"function_declaration": tsFunc, "generator_function_declaration": tsFunc,
	"method_definition": tsFunc, "function_signature": tsFunc, "method_signature": tsFunc,
	"abstract_method_signature": tsFunc,
	"class_declaration":         tsClass, "abstract_class_declaration": tsClass,
	"internal_module": tsClass, "module": tsClass,
	"interface_declaration": tsType, "type_alias_declaration": tsType, "enum_declaration": tsType,
	"lexical_declaration": tsVar, "variable_declaration": tsVar, "public_field_definition": tsVar,
	"field_definition": tsVar, "assignment_expression": tsVar,
	"export_statement": tsWrap, "ambient_declaration": tsWrap, "expression_statement": tsWrap,
	"comment": tsTrivia, "decorator": tsTrivia,
}

var tsLangs = map[string]*tsLang{
	"typescript": {lang: typescript.GetLanguage(), typeSep: ".", memberSep: ".", kinds: jsKinds},
	"tsx":        {lang: tsx.GetLanguage(), typeSep: ".", memberSep: ".", kinds: jsKinds},
	"javascript": {lang: javascript.GetLanguage(), typeSep: ".", memberSep: ".", kinds: jsKinds},
	"python": {lang: python.GetLanguage(), typeSep: ".", memberSep: ".", kinds: map[string]tsKind{
		"function_definition": tsFunc, "class_definition": tsClass, "assignment": tsVar,
		"decorated_definition": tsWrap, "expression_statement": tsWrap, "comment": tsTrivia,
	}},
	"rust": {lang: rust.GetLanguage(), typeSep: "::", memberSep: "::", kinds: map[string]tsKind{
		"function_item": tsFunc, "function_signature_item": tsFunc, "macro_definition": tsFunc,
		"impl_item": tsClass, "trait_item": tsClass, "mod_item": tsClass,
		"struct_item": tsType, "enum_item": tsType, "union_item": tsType, "type_item": tsType,
		"const_item": tsVar, "static_item": tsVar, "foreign_mod_item": tsGroup,
		"line_comment": tsTrivia, "block_comment": tsTrivia, "attribute_item": tsTrivia,
		"inner_attribute_item": tsTrivia,
	}},
	"java": {lang: java.GetLanguage(), typeSep: ".", memberSep: ".", kinds: map[string]tsKind{
		"method_declaration": tsFunc, "constructor_declaration": tsFunc,
		"compact_constructor_declaration": tsFunc,
		"class_declaration":               tsClass, "interface_declaration": tsClass, "enum_declaration": tsClass,
		"record_declaration": tsClass, "annotation_type_declaration": tsClass,
		"field_declaration": tsVar, "constant_declaration": tsVar,
		"enum_body_declarations": tsGroup,
		"line_comment":           tsTrivia, "block_comment": tsTrivia,
	}},
	"c":   {lang: c.GetLanguage(), typeSep: "::", memberSep: "::", kinds: cKinds},
	"cpp": {lang: cpp.GetLanguage(), typeSep: "::", memberSep: "::", kinds: cKinds},
	"ruby": {lang: ruby.GetLanguage(), typeSep: "::", memberSep: ".", kinds: map[string]tsKind{
		"method": tsFunc, "singleton_method": tsFunc, "class": tsClass, "module": tsClass,
		"singleton_class": tsGroup, "comment": tsTrivia,
	}},
}

var cKinds = map[string]tsKind{
	"function_definition": tsFunc,
	"class_specifier":     tsClass, "struct_specifier": tsClass, "union_specifier": tsClass,
	"namespace_definition": tsClass,
	"enum_specifier":       tsType, "type_definition": tsType, "alias_declaration": tsType,
	"declaration": tsVar, "field_declaration": tsVar,
	"template_declaration": tsWrap,
	"preproc_ifdef":        tsGroup, "preproc_if": tsGroup, "preproc_else": tsGroup,
	"preproc_elif": tsGroup, "linkage_specification": tsGroup,
	"comment": tsTrivia,
}

// grammarFor picks the grammar by file extension. C headers are parsed as C++, which
// reads C too, because .h files serve both languages.
func grammarFor(p string) *tsLang {
	switch strings.ToLower(path.Ext(p)) {
	case ".ts", ".mts", ".cts":
		return tsLangs["typescript"]
	case ".tsx":
		return tsLangs["tsx"]
	case ".js", ".jsx", ".mjs", ".cjs":
		return tsLangs["javascript"]
	case ".py", ".pyi":
		return tsLangs["python"]
	case ".rs":
		return tsLangs["rust"]
	case ".java":
		return tsLangs["java"]
	case ".c":
		return tsLangs["c"]
	case ".h", ".cc", ".cpp", ".cxx", ".hpp", ".hh":
		return tsLangs["cpp"]
	case ".rb":
		return tsLangs["ruby"]
	}
	return nil
}

// parseTimeout bounds one tree-sitter parse, in microseconds; past it the file is chunked
// by lines.
const parseTimeout = 1_000_000

// treeChunk chunks the file at path with its tree-sitter grammar and reports whether it
// could: false for languages without a grammar and for parses that fail or time out.
// Syntax errors do not count as failures: tree-sitter recovers from them locally, and the
// rest of the file still chunks by its structure.
func treeChunk(e *emitter, p string) bool {
	l := grammarFor(p)
	if l == nil {
		return false
	}
	parser := sitter.NewParser()
	defer parser.Close()
	parser.SetLanguage(l.lang)
	parser.SetOperationLimit(parseTimeout)
	tree, err := parser.ParseCtx(context.Background(), nil, e.f.src)
	if err != nil || tree == nil {
		return false
	}
	defer tree.Close()
	root := tree.RootNode()
	if root == nil {
		return false
	}
	t := &tsFile{l: l, src: e.f.src}
	top := &node{start: 1, end: e.f.n, head: -1, members: true}
	top.expand = func() []*node {
		var kids []*node
		t.eachChild(root, func(ch *sitter.Node) { kids = append(kids, t.decl(ch, "")) })
		return kids
	}
	e.split(top, span{1, e.f.n}, nil, nil, "", 0)
	return true
}

// tsFile turns one tree-sitter tree into nodes.
type tsFile struct {
	l   *tsLang
	src []byte
}

func startLine(n *sitter.Node) int { return int(n.StartPoint().Row) + 1 }

// endLine is the last line holding part of n: a node that ends with a line break (a Rust
// line comment, a C #include) ends on the line before.
func endLine(n *sitter.Node) int {
	e := n.EndPoint()
	if e.Column == 0 && e.Row > n.StartPoint().Row {
		return int(e.Row)
	}
	return int(e.Row) + 1
}

func lineCount(n *sitter.Node) int { return endLine(n) - startLine(n) + 1 }

// eachChild calls fn for the named children of n, except trivia. It walks with a cursor:
// Node.Child(i) costs O(i) in tree-sitter, too much for a literal of 10,000 elements.
func (t *tsFile) eachChild(n *sitter.Node, fn func(*sitter.Node)) {
	cur := sitter.NewTreeCursor(n)
	defer cur.Close()
	for ok := cur.GoToFirstChild(); ok; ok = cur.GoToNextSibling() {
		ch := cur.CurrentNode()
		if ch.IsNamed() && t.l.kinds[ch.Type()] != tsTrivia {
			fn(ch)
		}
	}
}

// unwrap returns the declaration that n wraps (export, decorators, template, an
// expression statement holding an assignment or a namespace), or n itself.
func (t *tsFile) unwrap(n *sitter.Node) *sitter.Node {
	for range 4 {
		if t.l.kinds[n.Type()] != tsWrap {
			return n
		}
		var in *sitter.Node
		switch n.Type() {
		case "export_statement":
			in = n.ChildByFieldName("declaration")
			if in == nil {
				in = n.ChildByFieldName("value")
			}
		case "decorated_definition":
			in = n.ChildByFieldName("definition")
		case "template_declaration":
			if k := int(n.NamedChildCount()); k > 0 {
				in = n.NamedChild(k - 1)
			}
		default: // ambient_declaration, expression_statement
			if n.NamedChildCount() > 0 {
				in = n.NamedChild(0)
			}
		}
		if in == nil || t.l.kinds[in.Type()] == tsOther {
			return n
		}
		n = in
	}
	return n
}

// decl returns the node of a member of a file, class or namespace, named with prefix.
func (t *tsFile) decl(n *sitter.Node, prefix string) *node {
	out := &node{start: startLine(n), end: endLine(n), head: -1}
	in := t.unwrap(n)
	out.key = startLine(in)
	if nm := in.ChildByFieldName("name"); nm != nil {
		out.key = startLine(nm)
	}
	kind := t.l.kinds[in.Type()]
	switch kind {
	case tsFunc, tsType, tsVar:
		if name := t.name(in); name != "" {
			out.symbol = qualify(prefix, t.l.memberSep, name)
		}
		out.lazy = t.lazy(n, func(ch *sitter.Node) *node { return t.stmt(ch) })
	case tsClass:
		name := t.name(in)
		sym := prefix
		if name != "" {
			sym = qualify(prefix, t.l.typeSep, name)
		}
		out.symbol, out.members = sym, true
		out.lazy = t.lazy(n, func(ch *sitter.Node) *node { return t.decl(ch, sym) })
	case tsGroup:
		out.members = true
		out.lazy = t.lazy(n, func(ch *sitter.Node) *node { return t.decl(ch, prefix) })
	default:
		out.lazy = t.lazy(n, func(ch *sitter.Node) *node { return t.stmt(ch) })
	}
	return out
}

// stmt returns the node of a statement or expression inside a function.
func (t *tsFile) stmt(n *sitter.Node) *node {
	out := &node{start: startLine(n), end: endLine(n), head: -1}
	out.lazy = t.lazy(n, func(ch *sitter.Node) *node { return t.stmt(ch) })
	return out
}

func qualify(prefix, sep, name string) string {
	if prefix == "" {
		return name
	}
	return prefix + sep + name
}

// lazy returns the function that finds n's signature and children, made by kid.
func (t *tsFile) lazy(n *sitter.Node, kid func(*sitter.Node) *node) func(*node) {
	return func(out *node) {
		head, kids := t.structure(n)
		if len(kids) == 0 {
			return
		}
		out.head = head
		out.expand = func() []*node {
			nodes := make([]*node, len(kids))
			for i, k := range kids {
				nodes[i] = kid(k)
			}
			return nodes
		}
	}
}

// structure finds where n is split: the block that holds most of it (a body, a class
// body, an object literal), whose children are the pieces, and any clauses after that
// block (else, catch, finally); or, without a block, n's own children below its first
// line (the statements of a case clause, the declarations in an #ifdef). head is the last
// line of the signature before them.
func (t *tsFile) structure(n *sitter.Node) (head int, kids []*sitter.Node) {
	first := startLine(n)
	b := t.findBlock(n)
	if b != nil {
		t.eachChild(b, func(ch *sitter.Node) { kids = append(kids, ch) })
		if p := b.Parent(); p != nil && p.Equal(n) {
			// Clauses after the block: else, elif, catch, finally.
			after := false
			t.eachChild(n, func(ch *sitter.Node) {
				if after {
					kids = append(kids, ch)
				}
				after = after || ch.Equal(b)
			})
		}
		if len(kids) == 0 {
			return -1, nil
		}
		head = startLine(b)
		if sb := b.StartByte(); int(sb) < len(t.src) && !strings.ContainsRune("{([", rune(t.src[sb])) {
			head-- // the block starts with its first statement (Python, Ruby)
		}
		head = min(head, startLine(kids[0])-1)
		return head, kids
	}
	t.eachChild(n, func(ch *sitter.Node) {
		if startLine(ch) > first {
			kids = append(kids, ch)
		}
	})
	if len(kids) < 2 {
		return -1, nil
	}
	return startLine(kids[0]) - 1, kids
}

// findBlock returns the block child of n, or the block that makes up at least half of n
// down a chain of its biggest children (export → class → body, call → arguments →
// arrow function → body), or nil.
func (t *tsFile) findBlock(n *sitter.Node) *sitter.Node {
	lines := lineCount(n)
	cur := n
	for depth := 0; depth < 6; depth++ {
		var block, big *sitter.Node
		blockLines, bigLines := 0, 0
		t.eachChild(cur, func(ch *sitter.Node) {
			l := lineCount(ch)
			if blockTypes[ch.Type()] && l > blockLines {
				block, blockLines = ch, l
			}
			if l > bigLines {
				big, bigLines = ch, l
			}
		})
		if block != nil && (depth == 0 || 2*blockLines >= lines) {
			return block
		}
		if big == nil || 2*bigLines < lines || bigLines < 2 {
			return nil
		}
		cur = big
	}
	return nil
}

// maxSymbolLen bounds a name taken from source text (a destructuring pattern, an
// assignment target).
const maxSymbolLen = 80

// name returns the name that a declaration declares, or "".
func (t *tsFile) name(n *sitter.Node) string {
	text := func(x *sitter.Node) string {
		if x == nil {
			return ""
		}
		s := strings.Trim(x.Content(t.src), "\"'`")
		if len(s) > maxSymbolLen || strings.ContainsAny(s, "\n\r") {
			return ""
		}
		return s
	}
	switch n.Type() {
	case "impl_item":
		// impl<T> Trait for Type<T>: named by the type, without its type arguments.
		ty := n.ChildByFieldName("type")
		if ty != nil && ty.Type() == "generic_type" {
			ty = ty.ChildByFieldName("type")
		}
		return text(ty)
	case "lexical_declaration", "variable_declaration":
		var names []string
		t.eachChild(n, func(ch *sitter.Node) {
			// Destructuring patterns ({ a, b } = require("x")) name nothing.
			if nm := ch.ChildByFieldName("name"); ch.Type() == "variable_declarator" && nm != nil && nm.Type() == "identifier" {
				names = append(names, text(nm))
			}
		})
		return joinSymbols(names)
	case "assignment_expression":
		// exports.handler = async (event) => {...}; Foo.prototype.bar = function () {...}
		switch r := n.ChildByFieldName("right"); {
		case r == nil:
			return ""
		case r.Type() == "function_expression", r.Type() == "function", r.Type() == "arrow_function",
			r.Type() == "class", r.Type() == "generator_function":
			return text(n.ChildByFieldName("left"))
		}
		return ""
	case "assignment":
		return text(n.ChildByFieldName("left"))
	case "function_definition", "declaration", "field_declaration", "type_definition":
		if n.ChildByFieldName("name") != nil { // Python function_definition
			return text(n.ChildByFieldName("name"))
		}
		if t.l.kinds["method_declaration"] == tsFunc { // Java field_declaration
			if d := n.ChildByFieldName("declarator"); d != nil {
				return text(d.ChildByFieldName("name"))
			}
			return ""
		}
		return text(cDeclarator(n))
	}
	return text(n.ChildByFieldName("name"))
}

// cDeclarator follows a C or C++ declarator chain (pointer, function, array, init) to the
// declared name: "f" in "static int *f(void)", "Foo::m" in "void Foo::m() {}".
func cDeclarator(n *sitter.Node) *sitter.Node {
	d := n.ChildByFieldName("declarator")
	for range 8 {
		if d == nil {
			return nil
		}
		switch d.Type() {
		case "identifier", "field_identifier", "type_identifier", "qualified_identifier",
			"destructor_name", "operator_name", "primitive_type":
			return d
		}
		next := d.ChildByFieldName("declarator")
		if next == nil && d.NamedChildCount() > 0 {
			next = d.NamedChild(0) // parenthesized_declarator
		}
		d = next
	}
	return nil
}

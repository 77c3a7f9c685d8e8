// Package stdlibeval builds a CodeSearchNet-style retrieval set from the Go standard library:
// the query is a function's doc comment, the target is the function without it. The local
// embedder's evaluation and IDF table (shared/localembed's tests) and the search benchmarks
// (infra) load it the same way, so their numbers and their tuning/held-out split agree.
package stdlibeval

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"hash/fnv"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"unicode"

	"github.com/vibecode/vibecode/shared/domain"
)

// Func is one function of the standard library.
type Func struct {
	Pkg      string // directory relative to GOROOT/src
	PkgName  string // package clause
	Name     string // Recv.Name for methods
	Exported bool
	Doc      string // the whole doc comment, "" if none
	Query    string // DocQuery of the doc: its first sentence minus the function's name and its parts
	Code     string // the declaration without its doc comment
	Tune     bool   // in the tuning half (TuneHalf), not the held-out half
}

// Evaluable reports whether f belongs to the evaluation set: exported, with a doc comment of
// at least five words whose query keeps at least three.
func (f Func) Evaluable() bool {
	return f.Exported && len(strings.Fields(f.Doc)) >= 5 && len(strings.Fields(f.Query)) >= 3
}

// TuneHalf splits the standard library by package directory: parameters are fitted on one
// half (true), and the numbers reported come from the other.
func TuneHalf(pkg string) bool {
	h := fnv.New32a()
	h.Write([]byte(pkg))
	return h.Sum32()%2 == 0
}

// Load parses every non-test Go file of root (GOROOT/src) outside cmd, internal, vendor and
// testdata, in path order, and returns its functions with bodies, one per package, receiver
// and name (the first file wins when build-tagged variants repeat a function). Generated files
// are left out: their repetitive machine-written docs would dominate the set (the simd
// package alone has thousands). Files that do not parse are skipped.
func Load(root string) ([]Func, error) {
	var files []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", "internal", "vendor":
				return filepath.SkipDir
			}
			if path == filepath.Join(root, "cmd") {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("stdlibeval: walk %s: %w", root, err)
	}
	slices.Sort(files)
	seen := map[string]bool{}
	var out []Func
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("stdlibeval: %w", err)
		}
		f, err := parser.ParseFile(fset, path, src, parser.ParseComments)
		if err != nil || ast.IsGenerated(f) {
			continue
		}
		rel, _ := filepath.Rel(root, filepath.Dir(path))
		rel = filepath.ToSlash(rel)
		for _, d := range f.Decls {
			fd, ok := d.(*ast.FuncDecl)
			if !ok || fd.Body == nil {
				continue
			}
			name := fd.Name.Name
			if fd.Recv != nil && len(fd.Recv.List) == 1 {
				name = recvName(fd.Recv.List[0].Type) + "." + name
			}
			key := rel + " " + name
			if seen[key] {
				continue
			}
			seen[key] = true
			fn := Func{
				Pkg:      rel,
				PkgName:  f.Name.Name,
				Name:     name,
				Exported: fd.Name.IsExported(),
				Code:     string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset]),
				Tune:     TuneHalf(rel),
			}
			if fd.Doc != nil {
				fn.Doc = fd.Doc.Text()
				fn.Query = DocQuery(fn.Doc, fd.Name.Name)
			}
			out = append(out, fn)
		}
	}
	return out, nil
}

// recvName is the type name of a method receiver, without pointer or type parameters.
func recvName(x ast.Expr) string {
	switch t := x.(type) {
	case *ast.StarExpr:
		return recvName(t.X)
	case *ast.IndexExpr:
		return recvName(t.X)
	case *ast.IndexListExpr:
		return recvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// DocQuery turns a doc comment into a query: its first sentence, without the words that are
// the function's name or one of the name's identifier parts (so "ReadFull reads exactly
// len(buf) bytes" becomes "reads exactly len(buf) bytes": the query may not just name its
// target).
func DocQuery(doc, name string) string {
	text := strings.Join(strings.Fields(doc), " ")
	for i := 0; i+1 < len(text); i++ {
		if text[i] == '.' && text[i+1] == ' ' {
			text = text[:i+1]
			break
		}
	}
	banned := map[string]bool{strings.ToLower(name): true}
	for _, p := range domain.IdentifierParts(name) {
		banned[p] = true
	}
	var words []string
	for _, w := range strings.Fields(text) {
		core := strings.ToLower(strings.TrimFunc(w, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '_' }))
		if banned[core] {
			continue
		}
		words = append(words, w)
	}
	return strings.Join(words, " ")
}

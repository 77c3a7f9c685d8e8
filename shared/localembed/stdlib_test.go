package localembed

import (
	"go/ast"
	"go/parser"
	"go/token"
	"hash/fnv"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vibecode/vibecode/shared/domain"
)

// stdFunc is one function of the Go standard library, the raw material of the evaluation
// (CodeSearchNet-style: query = doc comment, target = code without it) and of the IDF table.
type stdFunc struct {
	Pkg      string // directory relative to GOROOT/src
	Name     string // Recv.Name for methods
	Exported bool
	Doc      string // the whole doc comment, "" if none
	Query    string // the doc's first sentence minus the function's name and its parts
	Code     string // the declaration without its doc comment
	Tune     bool   // in the tuning half (by package), not the held-out half
}

// tuneHalf splits the standard library by package directory: parameters and the IDF table
// are fitted on one half, and the numbers we report come from the other.
func tuneHalf(pkg string) bool {
	h := fnv.New32a()
	h.Write([]byte(pkg))
	return h.Sum32()%2 == 0
}

// loadStdlib parses every non-test, non-internal, non-vendor, non-cmd Go file of GOROOT/src
// and returns its functions, one per package, receiver and name (the first file wins when
// build-tagged variants repeat a function). Generated files are left out: their repetitive
// machine-written docs would dominate the set (the simd package alone has thousands).
func loadStdlib(tb testing.TB) []stdFunc {
	tb.Helper()
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Skipf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(goroot)), "src")
	if _, err := os.Stat(root); err != nil {
		tb.Skipf("no Go source tree at %s", root)
	}
	var files []string
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
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
		tb.Fatal(err)
	}
	slices.Sort(files)
	seen := map[string]bool{}
	var out []stdFunc
	fset := token.NewFileSet()
	for _, path := range files {
		src, err := os.ReadFile(path)
		if err != nil {
			tb.Fatal(err)
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
			sf := stdFunc{
				Pkg:      rel,
				Name:     name,
				Exported: fd.Name.IsExported(),
				Code:     string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset]),
				Tune:     tuneHalf(rel),
			}
			if fd.Doc != nil {
				sf.Doc = fd.Doc.Text()
				sf.Query = docQuery(sf.Doc, fd.Name.Name)
			}
			out = append(out, sf)
		}
	}
	return out
}

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

// docQuery turns a doc comment into a query: its first sentence, without the words that are
// the function's name or one of the name's identifier parts (so "ReadFull reads exactly
// len(buf) bytes" becomes "reads exactly len(buf) bytes": the query may not just name its
// target).
func docQuery(doc, name string) string {
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

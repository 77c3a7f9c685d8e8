package main

import (
	"go/ast"
	"go/parser"
	"go/token"
	"hash/fnv"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/vibecode/vibecode/shared/domain"
)

// The retrieval evaluation set, CodeSearchNet style, built from the Go standard library the
// same way as shared/localembed's evaluation (eval_test.go) so the two can be compared:
// every exported function or method with a body and a doc comment of at least five words,
// in the non-generated, non-test files outside cmd, internal, vendor and testdata (the first
// file wins when build-tagged variants repeat a function). The query is the doc comment's
// first sentence without the words that are the function's name or one of its identifier
// parts, and must keep at least three words; the target is the function without its doc
// comment.

// evalFunc is one function of the evaluation set.
type evalFunc struct {
	Pkg     string // directory relative to GOROOT/src
	PkgName string // package clause
	Name    string // Recv.Name for methods
	Query   string
	Code    string // the declaration without its doc comment
	Tune    bool   // in the tuning half (by package), else held out
}

// tuneHalf splits the standard library by package directory exactly as shared/localembed
// does (its IDF table and lexicon were learned on this half), so held-out numbers here are
// held out for the embedder too.
func tuneHalf(pkg string) bool {
	h := fnv.New32a()
	h.Write([]byte(pkg))
	return h.Sum32()%2 == 0
}

// loadEvalFuncs returns the evaluation set in file order.
func loadEvalFuncs(tb testing.TB) []evalFunc {
	tb.Helper()
	root := goSrc(tb)
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
		tb.Fatal(err)
	}
	slices.Sort(files)
	seen := map[string]bool{}
	var out []evalFunc
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
				name = evalRecvName(fd.Recv.List[0].Type) + "." + name
			}
			key := rel + " " + name
			if seen[key] {
				continue
			}
			seen[key] = true
			if !fd.Name.IsExported() || fd.Doc == nil {
				continue
			}
			doc := fd.Doc.Text()
			query := docQuery(doc, fd.Name.Name)
			if len(strings.Fields(doc)) < 5 || len(strings.Fields(query)) < 3 {
				continue
			}
			out = append(out, evalFunc{
				Pkg: rel, PkgName: f.Name.Name, Name: name, Query: query, Tune: tuneHalf(rel),
				Code: string(src[fset.Position(fd.Pos()).Offset:fset.Position(fd.End()).Offset]),
			})
		}
	}
	return out
}

func evalRecvName(x ast.Expr) string {
	switch t := x.(type) {
	case *ast.StarExpr:
		return evalRecvName(t.X)
	case *ast.IndexExpr:
		return evalRecvName(t.X)
	case *ast.IndexListExpr:
		return evalRecvName(t.X)
	case *ast.Ident:
		return t.Name
	}
	return "?"
}

// docQuery turns a doc comment into a query: its first sentence, without the words that are
// the function's name or one of the name's identifier parts, so the query cannot just name
// its target.
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

// Okapi BM25 parameters of the baseline.
const (
	bm25K1 = 1.2
	bm25B  = 0.75
)

// bm25Index is Okapi BM25 over domain.Terms, the full-text baseline the issue compares
// hybrid search against.
type bm25Index struct {
	postings map[string][]bm25Posting
	lens     []float64
	avg      float64
}

type bm25Posting struct {
	doc int
	tf  float64
}

func newBM25(docs []string) *bm25Index {
	x := &bm25Index{postings: map[string][]bm25Posting{}, lens: make([]float64, len(docs))}
	var total float64
	for d, text := range docs {
		terms := domain.Terms(text)
		x.lens[d] = float64(len(terms))
		total += x.lens[d]
		tf := map[string]float64{}
		for _, t := range terms {
			tf[t]++
		}
		for t, n := range tf {
			x.postings[t] = append(x.postings[t], bm25Posting{d, n})
		}
	}
	x.avg = total / float64(len(docs))
	return x
}

// rank returns the 1-based rank of doc target for query, or 0 when the target scores
// nothing or ranks below k. Ties are broken by document index, as the product breaks them by
// path.
func (x *bm25Index) rank(query string, target, k int) int {
	n := float64(len(x.lens))
	scores := make([]float64, len(x.lens))
	for _, t := range domain.Terms(query) {
		ps := x.postings[t]
		idf := math.Log(1 + (n-float64(len(ps))+0.5)/(float64(len(ps))+0.5))
		for _, p := range ps {
			scores[p.doc] += idf * p.tf * (bm25K1 + 1) / (p.tf + bm25K1*(1-bm25B+bm25B*x.lens[p.doc]/x.avg))
		}
	}
	if scores[target] <= 0 {
		return 0
	}
	r := 1
	for d, s := range scores {
		if s > scores[target] || (s == scores[target] && d < target) {
			r++
		}
	}
	if r > k {
		return 0
	}
	return r
}

// retrieval accumulates MRR@k and Recall@k.
type retrieval struct {
	n        int
	rr, hits float64
}

// add records one query whose target ranked rank (1-based; 0 = not in the top k).
func (m *retrieval) add(rank int) {
	m.n++
	if rank > 0 {
		m.rr += 1 / float64(rank)
		m.hits++
	}
}

func (m retrieval) mrr() float64    { return m.rr / float64(max(m.n, 1)) }
func (m retrieval) recall() float64 { return m.hits / float64(max(m.n, 1)) }

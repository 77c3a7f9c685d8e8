package localembed

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
)

// idfMinDF is the smallest document frequency the table keeps: rarer stems get the
// default, which keeps idf.txt small without changing any weight by much.
const idfMinDF = 3

// TestGenerateIDF rewrites idf.txt from the tuning half of the Go standard library (see
// tuneHalf): every function's code and every doc comment is one document, so the table
// knows both that "func" and "err" are everywhere in code and that "the" and "returns" are
// everywhere in prose. It runs only under go generate (VIBECODE_GEN_IDF=1).
func TestGenerateIDF(t *testing.T) {
	if os.Getenv("VIBECODE_GEN_IDF") == "" {
		t.Skip("set VIBECODE_GEN_IDF=1 (go generate) to rewrite idf.txt")
	}
	e := newWithOptions(defaultOptions)
	df := map[string]int{}
	docs := 0
	counts := map[string]int{}
	count := func(text string) {
		clear(counts)
		e.collect(text, counts)
		for stem := range counts {
			df[stem]++
		}
		docs++
	}
	funcs := loadStdlib(t)
	for _, f := range funcs {
		if !f.Tune {
			continue
		}
		count(f.Code)
		if f.Doc != "" {
			count(f.Doc)
		}
	}
	idf := func(df float64) float64 {
		return math.Log(1 + (float64(docs)-df+0.5)/(df+0.5))
	}
	var stems []string
	for s, n := range df {
		if n >= idfMinDF {
			stems = append(stems, s)
		}
	}
	slices.Sort(stems)
	var b strings.Builder
	fmt.Fprintf(&b, "# docs %d default %.3f\n", docs, idf(1))
	for _, s := range stems {
		fmt.Fprintf(&b, "%s %.2f\n", s, idf(float64(df[s])))
	}
	if err := os.WriteFile("idf.txt", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d documents, %d stems kept of %d", docs, len(stems), len(df))

	generateAssoc(t, e, funcs)
}

// Association table parameters: a doc-comment stem needs assocMinDoc functions to get
// associates, a pair needs assocMinPair functions in which both occur, and at most
// assocPerStem associates with normalised PMI of at least assocMinNPMI are kept.
const (
	assocMinDoc  = 20
	assocMinPair = 10
	assocPerStem = 4
	assocMinNPMI = 0.15
	assocMinPkgs = 5
)

// generateAssoc writes assoc.txt: for each stem that doc comments use, the code stems that
// most often come with it in the function the comment documents, beyond chance (normalised
// pointwise mutual information). This is a small learned lexicon from English to code
// ("reports" → bool, "number" → len) that no hand-written synonym list would cover.
func generateAssoc(t *testing.T, e *Embedder, funcs []stdFunc) {
	stems := func(text string) []string {
		counts := map[string]int{}
		e.collect(text, counts)
		out := make([]string, 0, len(counts))
		for stem := range counts {
			out = append(out, stem)
		}
		slices.Sort(out)
		return out
	}
	nDoc := map[string]float64{}
	nCode := map[string]float64{}
	nPair := map[[2]string]float64{}
	pairPkgs := map[[2]string]int{}
	lastPkg := map[[2]string]string{}
	var m float64
	for _, f := range funcs {
		if !f.Tune || f.Doc == "" {
			continue
		}
		m++
		ds, cs := stems(f.Doc), stems(f.Code)
		for _, d := range ds {
			nDoc[d]++
		}
		for _, c := range cs {
			nCode[c]++
		}
		for _, d := range ds {
			for _, c := range cs {
				if c != d {
					p := [2]string{d, c}
					nPair[p]++
					if lastPkg[p] != f.Pkg {
						lastPkg[p] = f.Pkg
						pairPkgs[p]++
					}
				}
			}
		}
	}
	type cand struct {
		c     string
		score float64
	}
	byDoc := map[string][]cand{}
	for p, n := range nPair {
		if n < assocMinPair || pairPkgs[p] < assocMinPkgs || nDoc[p[0]] < assocMinDoc {
			continue
		}
		pmi := math.Log(n * m / (nDoc[p[0]] * nCode[p[1]]))
		npmi := pmi / -math.Log(n/m)
		if npmi >= assocMinNPMI {
			byDoc[p[0]] = append(byDoc[p[0]], cand{p[1], npmi})
		}
	}
	var keys []string
	for d := range byDoc {
		keys = append(keys, d)
	}
	slices.Sort(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "# %d documented functions\n", int(m))
	for _, d := range keys {
		cs := byDoc[d]
		slices.SortFunc(cs, func(x, y cand) int {
			if x.score != y.score {
				if x.score > y.score {
					return -1
				}
				return 1
			}
			return strings.Compare(x.c, y.c)
		})
		if len(cs) > assocPerStem {
			cs = cs[:assocPerStem]
		}
		b.WriteString(d)
		for _, c := range cs {
			fmt.Fprintf(&b, " %s:%.2f", c.c, c.score)
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile("assoc.txt", []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d stems with associates", len(keys))
}

package localembed

import (
	_ "embed"
	"strconv"
	"strings"
)

// assocText is a small English-to-code lexicon learned from the Go standard library by
// TestGenerateIDF: each line is "stem code-stem:score …", the code stems that come with a
// doc-comment word far more often than chance ("report" → boolean, fals, tru). A text that
// says "reports whether" thereby leans towards code that returns a bool, which neither
// stemming nor a hand-written synonym list can do.
//
//go:embed assoc.txt
var assocText string

// associate is one learned associate of a stem and its strength in (0, 1].
type associate struct {
	stem  string
	score float64
}

var assocTable = parseAssoc(assocText)

func parseAssoc(text string) map[string][]associate {
	m := make(map[string][]associate, 1024)
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) < 2 || f[0] == "#" {
			continue
		}
		for _, kv := range f[1:] {
			k, v, ok := strings.Cut(kv, ":")
			x, err := strconv.ParseFloat(v, 64)
			if ok && err == nil {
				m[f[0]] = append(m[f[0]], associate{k, x})
			}
		}
	}
	return m
}

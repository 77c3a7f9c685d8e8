package localembed

import (
	_ "embed"
	"strconv"
	"strings"
)

// idfText is the static inverse-document-frequency table, generated from the Go standard
// library by TestGenerateIDF (see go:generate in embed.go). Each line is "stem idf"; the
// first line is "# docs N default D", D being the IDF of a stem the table lacks. Without it
// every "func", "return" and "the" would weigh as much as "utf8" or "checksum".
//
//go:embed idf.txt
var idfText string

var idfTable, idfDefault = parseIDF(idfText)

func parseIDF(text string) (map[string]float64, float64) {
	m := make(map[string]float64, 8192)
	def := 1.0
	for line := range strings.Lines(text) {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if f[0] == "#" {
			for i := 1; i+1 < len(f); i += 2 {
				if f[i] == "default" {
					def, _ = strconv.ParseFloat(f[i+1], 64)
				}
			}
			continue
		}
		if len(f) == 2 {
			if x, err := strconv.ParseFloat(f[1], 64); err == nil {
				m[f[0]] = x
			}
		}
	}
	return m, def
}

// idfOf returns the IDF weight of a (stemmed) term.
func idfOf(stem string) float64 {
	if x, ok := idfTable[stem]; ok {
		return x
	}
	return idfDefault
}

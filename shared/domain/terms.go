package domain

import (
	"cmp"
	"slices"
	"strings"
	"unicode"
)

// Terms splits text into lower-case search terms the way code is read: words and
// identifiers, and each identifier also by its parts, so "parseHTTPRequest" yields
// "parsehttprequest", "parse", "http", "request", and "max_retry_count" yields
// "max_retry_count", "max", "retry", "count". Full-text indexes and the local embedder
// share it, so a query and the code it should find are tokenised alike. Terms longer than
// 64 bytes are dropped (minified code, base64), as are single characters.
func Terms(text string) []string {
	var out []string
	emit := func(t string) {
		if len(t) > 1 && len(t) <= 64 {
			out = append(out, t)
		}
	}
	start := -1
	flush := func(end int) {
		if start < 0 {
			return
		}
		word := text[start:end]
		start = -1
		lower := strings.ToLower(word)
		parts := IdentifierParts(word)
		if len(parts) == 1 && parts[0] == lower {
			emit(lower)
			return
		}
		emit(lower)
		for _, p := range parts {
			emit(p)
		}
	}
	for i, r := range text {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' {
			if start < 0 {
				start = i
			}
			continue
		}
		flush(i)
	}
	flush(len(text))
	return out
}

// IdentifierParts splits one identifier at underscores, lower→upper changes, the end of an
// upper-case run ("HTTPServer" → http, server) and letter↔digit changes ("utf8" → utf, 8),
// and lower-cases the parts.
func IdentifierParts(id string) []string {
	var parts []string
	rs := []rune(id)
	begin := 0
	cut := func(end int) {
		if end > begin {
			parts = append(parts, strings.ToLower(string(rs[begin:end])))
		}
		begin = end
	}
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		if r == '_' {
			cut(i)
			begin = i + 1
			continue
		}
		if i == begin {
			continue
		}
		prev := rs[i-1]
		switch {
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			cut(i)
		case unicode.IsUpper(r) && unicode.IsUpper(prev) && i+1 < len(rs) && unicode.IsLower(rs[i+1]):
			cut(i)
		case unicode.IsDigit(r) != unicode.IsDigit(prev) && prev != '_':
			cut(i)
		}
	}
	cut(len(rs))
	return parts
}

// QueryTerms returns the distinct terms of a full-text query in order of appearance, at most
// max of them: a pasted page of text would otherwise make a query with hundreds of
// alternatives.
func QueryTerms(text string, max int) []string {
	var terms []string
	seen := map[string]bool{}
	for _, t := range Terms(text) {
		if len(terms) == max {
			break
		}
		if !seen[t] {
			seen[t] = true
			terms = append(terms, t)
		}
	}
	return terms
}

// SelectiveTerms returns the terms of a full-text query worth ranking by, in their order:
// the rarest first, by docs (how many chunks contain each term; the same length as terms),
// as long as their document counts add up to at most budget, and always the rarest one found
// in any chunk.
//
// Ranking visits every chunk that contains any query term, so a term found in most chunks
// ("the", "return", "err") makes a query cost as much as the index is large, while adding
// almost nothing to the ranking: BM25's inverse document frequency of such a term is near
// zero. Bounding the postings a query visits keeps full-text search fast at any index size
// and drops only the least informative terms. Terms found in no chunk cost nothing and are
// kept.
func SelectiveTerms(terms []string, docs []int64, budget int64) []string {
	order := make([]int, len(terms))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(docs[a], docs[b]) })
	keep := make([]bool, len(terms))
	var spent int64
	for _, i := range order {
		if spent > 0 && spent+docs[i] > budget {
			break
		}
		spent += docs[i]
		keep[i] = true
	}
	out := make([]string, 0, len(terms))
	for i, t := range terms {
		if keep[i] {
			out = append(out, t)
		}
	}
	return out
}

// SymbolNames returns the names a chunk's symbol declares, lower-cased and space-separated with
// a space at both ends: every comma-separated name whole and each of its qualified suffixes, so
// "Server.Handle, parse" gives " server.handle handle parse ". A query that is one of them is
// the identifier the chunk defines (QueryIdentifier). Both stores keep it per chunk for their
// full-text search's identifier tier. Names containing spaces cannot be typed as one
// identifier and are left out.
func SymbolNames(symbol string) string {
	var names []string
	add := func(n string) {
		if n != "" && !strings.ContainsFunc(n, unicode.IsSpace) && !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	for _, name := range strings.Split(strings.ToLower(symbol), ",") {
		name = strings.TrimSpace(name)
		add(name)
		for i := 0; i < len(name); i++ {
			switch {
			case name[i] == '.':
				add(name[i+1:])
			case strings.HasPrefix(name[i:], "::"):
				add(name[i+2:])
				i++
			}
		}
	}
	if len(names) == 0 {
		return ""
	}
	return " " + strings.Join(names, " ") + " "
}

// QueryIdentifier returns " name " (lower-cased, a space at both ends, the form SymbolNames
// lists names in) when the query text is one identifier, else "": a query with spaces or
// control characters (PostgreSQL refuses NUL in text) cannot name a symbol.
func QueryIdentifier(text string) string {
	id := strings.ToLower(strings.TrimSpace(text))
	if id == "" || strings.ContainsFunc(id, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return ""
	}
	return " " + id + " "
}

package domain_test

import (
	"slices"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
)

func TestTerms(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"parseHTTPRequest", []string{"parsehttprequest", "parse", "http", "request"}},
		{"max_retry_count", []string{"max_retry_count", "max", "retry", "count"}},
		{"func (s *Server) ServeHTTP(w http.ResponseWriter)", []string{"func", "server", "servehttp", "serve", "http", "http", "responsewriter", "response", "writer"}},
		{"utf8.ValidString", []string{"utf8", "utf", "validstring", "valid", "string"}},
		{"a = b + 1", nil},
		{"Größe ändern", []string{"größe", "ändern"}},
		{"XMLHttpRequest2", []string{"xmlhttprequest2", "xml", "http", "request", "2"}},
	}
	for _, tc := range tests {
		got := domain.Terms(tc.in)
		// "2" alone is one character, dropped.
		want := slices.DeleteFunc(slices.Clone(tc.want), func(s string) bool { return len(s) < 2 })
		if !slices.Equal(got, want) {
			t.Errorf("Terms(%q) = %q, want %q", tc.in, got, want)
		}
	}
}

func TestQueryTerms(t *testing.T) {
	got := domain.QueryTerms("parse the parseHTTP header, parse it", 4)
	want := []string{"parse", "the", "parsehttp", "http"}
	if !slices.Equal(got, want) {
		t.Fatalf("QueryTerms = %q, want %q", got, want)
	}
	if got := domain.QueryTerms("+ - a", 8); len(got) != 0 {
		t.Fatalf("QueryTerms without words = %q", got)
	}
}

func TestSelectiveTerms(t *testing.T) {
	terms := []string{"the", "retry", "backoff", "typo", "error"}
	tests := []struct {
		name   string
		docs   []int64
		budget int64
		want   []string
	}{
		{"all fit", []int64{100, 10, 5, 0, 50}, 1000, terms},
		{"common terms dropped, rarest first", []int64{90_000, 300, 40, 0, 20_000}, 1000, []string{"retry", "backoff", "typo"}},
		{"budget is cumulative", []int64{900, 600, 500, 0, 700}, 1200, []string{"backoff", "retry", "typo"}},
		{"the rarest found term is kept over budget", []int64{90_000, 50_000, 60_000, 0, 70_000}, 1000, []string{"retry", "typo"}},
		{"no statistics: everything", []int64{0, 0, 0, 0, 0}, 1000, terms},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := domain.SelectiveTerms(terms, tt.docs, tt.budget)
			// Order of the query is kept, whatever the order of rarity.
			slices.SortFunc(got, func(a, b string) int { return slices.Index(terms, a) - slices.Index(terms, b) })
			want := slices.Clone(tt.want)
			slices.SortFunc(want, func(a, b string) int { return slices.Index(terms, a) - slices.Index(terms, b) })
			if !slices.Equal(got, want) {
				t.Fatalf("SelectiveTerms(%v) = %q, want %q", tt.docs, got, want)
			}
		})
	}
	if got := domain.SelectiveTerms([]string{"b", "a"}, []int64{1, 2}, 10); !slices.Equal(got, []string{"b", "a"}) {
		t.Fatalf("SelectiveTerms reorders the query: %q", got)
	}
}

func TestSymbolNames(t *testing.T) {
	tests := map[string]string{
		"":                       "",
		"parseChunk":             " parsechunk ",
		"Server.Handle":          " server.handle handle ",
		"Server.Handle, parse":   " server.handle handle parse ",
		"a::b::c":                " a::b::c b::c c ",
		"(*Server).ServeHTTP":    " (*server).servehttp servehttp ",
		"func main, x":           " x ",
		" , ":                    "",
		"React.Component.render": " react.component.render component.render render ",
	}
	for in, want := range tests {
		if got := domain.SymbolNames(in); got != want {
			t.Errorf("SymbolNames(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestQueryIdentifier(t *testing.T) {
	tests := map[string]string{
		"parseChunk":        " parsechunk ",
		"  Server.Handle  ": " server.handle ",
		"serve http":        "",
		"a\x00b":            "",
		"":                  "",
	}
	for in, want := range tests {
		if got := domain.QueryIdentifier(in); got != want {
			t.Errorf("QueryIdentifier(%q) = %q, want %q", in, got, want)
		}
	}
}

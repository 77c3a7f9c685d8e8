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

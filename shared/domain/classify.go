package domain

import (
	"bytes"
	"path"
	"strings"
	"unicode/utf8"
)

// vendoredDirs are directories of code the user did not write; indexing them drowns the
// user's own code in search results.
var vendoredDirs = []string{"node_modules", "vendor", "third_party", ".git", "__pycache__", ".venv", "venv", "bower_components", ".yarn", ".pnpm-store", ".next", ".nuxt"}

// IsVendored reports whether the path lies in a dependency or tooling directory, or is a
// lock file or source map.
func IsVendored(p string) bool {
	for _, seg := range strings.Split(path.Dir(p), "/") {
		for _, v := range vendoredDirs {
			if seg == v {
				return true
			}
		}
	}
	base := path.Base(p)
	switch base {
	case "package-lock.json", "yarn.lock", "pnpm-lock.yaml", "go.sum", "Cargo.lock", "poetry.lock", "composer.lock", "Gemfile.lock":
		return true
	}
	return strings.HasSuffix(base, ".map") || strings.HasSuffix(base, ".min.js") || strings.HasSuffix(base, ".min.css")
}

// IsGenerated reports whether the content declares itself generated, by the Go convention
// ("Code generated … DO NOT EDIT.") or the common "@generated" marker, near the top.
func IsGenerated(content []byte) bool {
	head := content[:min(len(content), 2048)]
	return bytes.Contains(head, []byte("@generated")) ||
		(bytes.Contains(head, []byte("Code generated")) && bytes.Contains(head, []byte("DO NOT EDIT")))
}

// IsBinary reports whether content is not text we can index or show in the editor: a NUL
// byte near the start, or invalid UTF-8.
func IsBinary(content []byte) bool {
	return bytes.IndexByte(content[:min(len(content), 8000)], 0) >= 0 || !utf8.Valid(content)
}

package domain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
	"time"
	"unicode/utf8"
)

// File is the metadata of one file in a workspace. Its content is stored with it, in the same
// transaction, so a file and its metadata never disagree.
type File struct {
	WorkspaceID string    `json:"-"`
	Path        string    `json:"path"`
	Size        int64     `json:"size"`
	Hash        string    `json:"hash"` // hex SHA-256 of the content; the ETag
	Language    string    `json:"language"`
	Version     int64     `json:"version"` // 1 on create, +1 on every write; lets ingestion skip stale jobs
	ModifiedAt  time.Time `json:"modified_at"`
}

// PutOptions are the preconditions of a file write, from If-Match / If-None-Match.
type PutOptions struct {
	// IfMatch, when set, is the hash the current file must have; "*" means the file must exist.
	IfMatch string
	// IfNoneMatch requires that the file does not exist yet (If-None-Match: *).
	IfNoneMatch bool
}

// FileStore persists workspace files.
type FileStore interface {
	// PutFile creates or replaces f.Path with content and f's metadata in one transaction,
	// honouring opts (EPRECONDITION when they fail). It sets f.Version and reports whether the
	// file was created. Size, Hash, Language and ModifiedAt are set by the caller.
	PutFile(ctx context.Context, f *File, content []byte, opts PutOptions) (created bool, err error)
	// FileByPath returns the file's metadata or ENOTFOUND.
	FileByPath(ctx context.Context, workspaceID, path string) (*File, error)
	// FileContent returns the metadata and the content, read together, or ENOTFOUND.
	FileContent(ctx context.Context, workspaceID, path string) (*File, []byte, error)
	// ListFiles returns every file's metadata ordered by path.
	ListFiles(ctx context.Context, workspaceID string) ([]*File, error)
	// DeleteFile deletes the file and its chunks, honouring opts.IfMatch; ENOTFOUND if absent.
	DeleteFile(ctx context.Context, workspaceID, path string, opts PutOptions) error
}

// HashContent returns the hex SHA-256 of content, the hash stored with every file.
func HashContent(content []byte) string {
	sum := sha256.Sum256(content)
	return hex.EncodeToString(sum[:])
}

// MaxPathLen bounds a file path, in bytes.
const MaxPathLen = 1024

// CleanFilePath validates a workspace-relative file path and returns it in canonical form.
// It refuses what could escape the workspace or confuse a file system: empty, absolute, ".."
// segments, backslashes, NUL and control bytes, invalid UTF-8, and over-long paths. The
// refusal is EINVALID with a message that says which rule was broken.
func CleanFilePath(p string) (string, error) {
	switch {
	case p == "":
		return "", Errorf(EINVALID, "file path is empty")
	case len(p) > MaxPathLen:
		return "", Errorf(EINVALID, "file path is longer than %d bytes", MaxPathLen)
	case !utf8.ValidString(p):
		return "", Errorf(EINVALID, "file path is not valid UTF-8")
	case strings.HasPrefix(p, "/"):
		return "", Errorf(EINVALID, "file path must be relative, not absolute")
	case strings.Contains(p, `\`):
		return "", Errorf(EINVALID, "file path must use / as separator")
	}
	for _, r := range p {
		if r < 0x20 || r == 0x7f {
			return "", Errorf(EINVALID, "file path contains a control character or NUL byte")
		}
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "..":
			return "", Errorf(EINVALID, "file path must not contain '..'")
		case "", ".":
			return "", Errorf(EINVALID, "file path has an empty or '.' segment")
		}
	}
	return path.Clean(p), nil
}

// languages maps file extensions (and a few well-known names) to language identifiers, the
// same identifiers Monaco uses, so the editor can pick a mode from the listing.
var languages = map[string]string{
	".go": "go", ".ts": "typescript", ".tsx": "typescript", ".mts": "typescript", ".cts": "typescript",
	".js": "javascript", ".jsx": "javascript", ".mjs": "javascript", ".cjs": "javascript",
	".py": "python", ".pyi": "python", ".rs": "rust", ".java": "java", ".kt": "kotlin", ".kts": "kotlin",
	".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp", ".hpp": "cpp", ".hh": "cpp",
	".cs": "csharp", ".rb": "ruby", ".php": "php", ".swift": "swift", ".scala": "scala",
	".sh": "shell", ".bash": "shell", ".zsh": "shell", ".sql": "sql", ".html": "html", ".htm": "html",
	".css": "css", ".scss": "scss", ".less": "less", ".json": "json", ".yaml": "yaml", ".yml": "yaml",
	".toml": "toml", ".xml": "xml", ".md": "markdown", ".markdown": "markdown", ".proto": "proto",
	".lua": "lua", ".r": "r", ".dart": "dart", ".ex": "elixir", ".exs": "elixir", ".erl": "erlang",
	".hs": "haskell", ".ml": "ocaml", ".clj": "clojure", ".vue": "vue", ".svelte": "svelte",
	".tf": "hcl", ".hcl": "hcl", ".graphql": "graphql", ".txt": "plaintext",
	"Dockerfile": "dockerfile", "Makefile": "makefile", "go.mod": "go.mod",
}

// LanguageOf returns the language identifier for a path, or "plaintext" when unknown.
func LanguageOf(p string) string {
	base := path.Base(p)
	if l, ok := languages[base]; ok {
		return l
	}
	if l, ok := languages[strings.ToLower(path.Ext(base))]; ok {
		return l
	}
	return "plaintext"
}

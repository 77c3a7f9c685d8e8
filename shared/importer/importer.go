// Package importer unpacks a project archive (.tar.gz, .tgz, .tar or .zip) into workspace
// files, the way a developer expects an "open this project" to behave: .gitignore files (at
// any depth) and a .vibecodeignore (same syntax, `!` re-includes) are honoured; binaries,
// dependency directories, generated files and files over the size limit are skipped with a
// reason; and an archive cannot escape the workspace or exhaust the server (entries with
// "..", absolute paths and links are refused; total size, entry count and compression ratio
// are bounded).
package importer

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"

	"github.com/vibecode/vibecode/shared/domain"
)

// Limits bound what one import may cost.
type Limits struct {
	// MaxArchiveBytes bounds the uploaded archive itself.
	MaxArchiveBytes int64
	// MaxTotalBytes bounds the sum of the imported files' sizes (decompressed).
	MaxTotalBytes int64
	// MaxFileBytes skips any larger file.
	MaxFileBytes int64
	// MaxEntries bounds the number of archive entries read.
	MaxEntries int
}

// DefaultLimits suit a typical repository upload.
var DefaultLimits = Limits{MaxArchiveBytes: 200 << 20, MaxTotalBytes: 1 << 30, MaxFileBytes: 10 << 20, MaxEntries: 100_000}

// Skipped is an entry that was not imported, and why.
type Skipped struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

// Report is what an import did.
type Report struct {
	Imported int       `json:"imported"`
	Bytes    int64     `json:"bytes"`
	Skipped  []Skipped `json:"skipped"`
	// SkippedTotal counts every skip; Skipped lists at most 1,000 of them.
	SkippedTotal int `json:"skipped_total"`
	// Root is the single top-level folder stripped from every path ("" if none), as GitHub
	// archives wrap a repository in "<repo>-<ref>/".
	Root string `json:"root,omitempty"`
}

func (r *Report) skip(p, reason string) {
	r.SkippedTotal++
	if len(r.Skipped) < 1000 {
		r.Skipped = append(r.Skipped, Skipped{Path: p, Reason: reason})
	}
}

// WriteFunc stores one imported file.
type WriteFunc func(ctx context.Context, path string, content []byte) error

// entry is one regular file of the archive, read lazily.
type entry struct {
	name string
	size int64
	open func() (io.ReadCloser, error)
	kind byte // 'f' file, 'd' dir, 'l' link or other
}

// Import reads an archive from r and calls write for every file to import. It buffers the
// archive in a temporary file (zip needs random access, and ignore files deeper in a tar
// may govern entries that came before them). An archive that is not one of the supported
// formats, or that breaks a limit, is EINVALID or ETOOLARGE; files written before a limit was
// hit stay written, each whole.
func Import(ctx context.Context, r io.Reader, limits Limits, write WriteFunc) (*Report, error) {
	tmp, err := os.CreateTemp("", "vibecode-import-*")
	if err != nil {
		return nil, fmt.Errorf("importer: temp file: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	n, err := io.Copy(tmp, io.LimitReader(r, limits.MaxArchiveBytes+1))
	if err != nil {
		return nil, fmt.Errorf("importer: read upload: %w", err)
	}
	if n > limits.MaxArchiveBytes {
		return nil, domain.Errorf(domain.ETOOLARGE, "archive is larger than %d bytes", limits.MaxArchiveBytes)
	}
	entries, closeFn, err := list(tmp, n, limits)
	if err != nil {
		return nil, err
	}
	defer closeFn()
	return importEntries(ctx, entries, limits, write)
}

// list returns the archive's entries, detecting the format by its first bytes.
func list(f *os.File, size int64, limits Limits) ([]entry, func(), error) {
	head := make([]byte, 512)
	m, _ := f.ReadAt(head, 0)
	head = head[:m]
	switch {
	case bytes.HasPrefix(head, []byte("PK\x03\x04")) || bytes.HasPrefix(head, []byte("PK\x05\x06")):
		return listZip(f, size, limits)
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return listTar(f, true, limits)
	case len(head) >= 262 && string(head[257:262]) == "ustar":
		return listTar(f, false, limits)
	}
	return nil, nil, domain.Errorf(domain.EINVALID, "upload is not a .tar.gz, .tar or .zip archive")
}

func listZip(f *os.File, size int64, limits Limits) ([]entry, func(), error) {
	zr, err := zip.NewReader(f, size)
	if err != nil {
		return nil, nil, domain.Errorf(domain.EINVALID, "zip archive is corrupt: %v", err)
	}
	if len(zr.File) > limits.MaxEntries {
		return nil, nil, domain.Errorf(domain.ETOOLARGE, "archive has more than %d entries", limits.MaxEntries)
	}
	var out []entry
	for _, zf := range zr.File {
		e := entry{name: zf.Name, size: int64(zf.UncompressedSize64), kind: 'f'}
		switch mode := zf.Mode(); {
		case mode.IsDir():
			e.kind = 'd'
		case !mode.IsRegular():
			e.kind = 'l'
		}
		// A header can lie about the size; the reader below is bounded by it, and zip's own
		// reader fails when the data does not match the declared size.
		e.open = zf.Open
		out = append(out, e)
	}
	return out, func() {}, nil
}

// listTar reads the tar stream once, keeping small files in memory and pointing large ones
// at their offset in a second pass. For simplicity and safety it reads everything into
// memory up to MaxTotalBytes, which the limits bound.
func listTar(f *os.File, gzipped bool, limits Limits) ([]entry, func(), error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, nil, fmt.Errorf("importer: %w", err)
	}
	var r io.Reader = bufio.NewReader(f)
	if gzipped {
		gz, err := gzip.NewReader(r)
		if err != nil {
			return nil, nil, domain.Errorf(domain.EINVALID, "gzip stream is corrupt: %v", err)
		}
		defer gz.Close()
		r = gz
	}
	tr := tar.NewReader(r)
	var (
		out   []entry
		total int64
	)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, domain.Errorf(domain.EINVALID, "tar archive is corrupt: %v", err)
		}
		if len(out) >= limits.MaxEntries {
			return nil, nil, domain.Errorf(domain.ETOOLARGE, "archive has more than %d entries", limits.MaxEntries)
		}
		e := entry{name: h.Name, size: h.Size, kind: 'f'}
		switch h.Typeflag {
		case tar.TypeReg:
		case tar.TypeDir:
			e.kind = 'd'
		case tar.TypeXGlobalHeader:
			continue
		default:
			e.kind = 'l'
		}
		if e.kind == 'f' && h.Size <= limits.MaxFileBytes {
			total += h.Size
			if total > limits.MaxTotalBytes {
				return nil, nil, domain.Errorf(domain.ETOOLARGE, "archive unpacks to more than %d bytes", limits.MaxTotalBytes)
			}
			data, err := io.ReadAll(io.LimitReader(tr, h.Size))
			if err != nil {
				return nil, nil, domain.Errorf(domain.EINVALID, "tar archive is truncated: %v", err)
			}
			e.open = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(data)), nil }
		}
		out = append(out, e)
	}
	return out, func() {}, nil
}

// ignoreFiles are read before anything is imported; their patterns apply to their folder.
var ignoreFiles = map[string]bool{".gitignore": true, ".vibecodeignore": true}

func importEntries(ctx context.Context, entries []entry, limits Limits, write WriteFunc) (*Report, error) {
	rep := &Report{Skipped: []Skipped{}}
	clean := make([]string, len(entries))
	for i, e := range entries {
		clean[i] = strings.TrimPrefix(strings.ReplaceAll(e.name, `\`, "/"), "./")
	}
	rep.Root = commonRoot(entries, clean)

	// Pass 1: ignore patterns. Later patterns win: .gitignore files from outer to inner
	// folders (as git reads them), then .vibecodeignore files the same way, so a
	// .vibecodeignore can re-include (`!`) what a .gitignore excludes.
	var patterns []gitignore.Pattern
	type ignoreFile struct {
		dir     []string
		lines   []string
		primary bool
	}
	var ignores []ignoreFile
	for i, e := range entries {
		name := strings.TrimPrefix(clean[i], rep.Root)
		if e.kind != 'f' || !ignoreFiles[path.Base(name)] || e.open == nil || e.size > 1<<20 {
			continue
		}
		rc, err := e.open()
		if err != nil {
			continue
		}
		b, _ := io.ReadAll(io.LimitReader(rc, 1<<20))
		rc.Close()
		var dir []string
		if d := path.Dir(name); d != "." {
			dir = strings.Split(d, "/")
		}
		ignores = append(ignores, ignoreFile{dir: dir, lines: strings.Split(string(b), "\n"), primary: path.Base(name) == ".gitignore"})
	}
	for _, primary := range []bool{true, false} {
		for depth := 0; depth <= 64; depth++ {
			for _, f := range ignores {
				if len(f.dir) != depth || f.primary != primary {
					continue
				}
				for _, l := range f.lines {
					l = strings.TrimRight(l, "\r")
					if strings.TrimSpace(l) == "" || strings.HasPrefix(l, "#") {
						continue
					}
					patterns = append(patterns, gitignore.ParsePattern(l, f.dir))
				}
			}
		}
	}
	matcher := gitignore.NewMatcher(patterns)

	// Pass 2: write what survives.
	for i, e := range entries {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		name := strings.TrimPrefix(clean[i], rep.Root)
		if e.kind == 'd' || name == "" {
			continue
		}
		if reason := unsafeName(e.name); reason != "" {
			rep.skip(e.name, reason)
			continue
		}
		p, err := domain.CleanFilePath(name)
		if err != nil {
			rep.skip(name, domain.ErrorMessage(err))
			continue
		}
		if e.kind == 'l' {
			rep.skip(p, "symbolic links and special files are not imported")
			continue
		}
		if ignored(matcher, p) {
			rep.skip(p, "ignored by .gitignore or .vibecodeignore")
			continue
		}
		if domain.IsVendored(p) {
			rep.skip(p, "dependency or tooling directory")
			continue
		}
		if e.size > limits.MaxFileBytes || e.open == nil {
			rep.skip(p, fmt.Sprintf("larger than %d bytes", limits.MaxFileBytes))
			continue
		}
		if rep.Bytes+e.size > limits.MaxTotalBytes {
			return rep, domain.Errorf(domain.ETOOLARGE, "archive unpacks to more than %d bytes", limits.MaxTotalBytes)
		}
		content, err := readEntry(e)
		if err != nil {
			rep.skip(p, err.Error())
			continue
		}
		if domain.IsBinary(content) {
			rep.skip(p, "binary file")
			continue
		}
		if domain.IsGenerated(content) {
			rep.skip(p, "generated file")
			continue
		}
		if err := write(ctx, p, content); err != nil {
			return rep, fmt.Errorf("importer: write %s: %w", p, err)
		}
		rep.Imported++
		rep.Bytes += int64(len(content))
	}
	return rep, nil
}

// readEntry reads a file entry, refusing more bytes than its header declared (a zip bomb
// with a lying header) .
func readEntry(e entry) ([]byte, error) {
	rc, err := e.open()
	if err != nil {
		return nil, fmt.Errorf("unreadable entry: %v", err)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, e.size+1))
	if err != nil {
		return nil, fmt.Errorf("corrupt entry: %v", err)
	}
	if int64(len(b)) != e.size {
		return nil, errors.New("entry size does not match its header")
	}
	return b, nil
}

// unsafeName refuses entry names that try to leave the workspace.
func unsafeName(name string) string {
	n := strings.ReplaceAll(name, `\`, "/")
	switch {
	case strings.HasPrefix(n, "/") || (len(n) > 1 && n[1] == ':'):
		return "absolute path"
	case n == ".." || strings.HasPrefix(n, "../") || strings.Contains(n, "/../") || strings.HasSuffix(n, "/.."):
		return "path escapes the archive root (..)"
	}
	return ""
}

// ignored asks the matcher about the file and each of its parent folders, because git does
// not descend into an ignored folder (a file under it cannot be re-included).
func ignored(m gitignore.Matcher, p string) bool {
	parts := strings.Split(p, "/")
	for i := 1; i < len(parts); i++ {
		if m.Match(parts[:i], true) {
			return true
		}
	}
	return m.Match(parts, false)
}

// commonRoot returns "dir/" when every entry lies under one top-level folder.
func commonRoot(entries []entry, names []string) string {
	root := ""
	for i, n := range names {
		first, _, found := strings.Cut(n, "/")
		if !found {
			if entries[i].kind == 'd' && (root == "" || root == first+"/") {
				root = first + "/"
				continue
			}
			return ""
		}
		if root == "" {
			root = first + "/"
		} else if root != first+"/" {
			return ""
		}
	}
	if root == "../" || root == "/" {
		return ""
	}
	return root
}

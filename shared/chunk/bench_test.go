package chunk_test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/chunk"
)

// goFile is one file of the Go standard library, read once for benchmarks and property
// tests.
type goFile struct {
	path string
	src  []byte
}

// readGoroot returns the .go files under $GOROOT/src/dirs (all of src when dirs is empty).
func readGoroot(tb testing.TB, dirs ...string) []goFile {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Skipf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "src")
	if len(dirs) == 0 {
		dirs = []string{""}
	}
	var files []goFile
	for _, d := range dirs {
		err = filepath.WalkDir(filepath.Join(root, d), func(p string, de fs.DirEntry, err error) error {
			if err != nil || de.IsDir() || !strings.HasSuffix(p, ".go") {
				return nil
			}
			src, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			files = append(files, goFile{filepath.ToSlash(rel), src})
			return nil
		})
		if err != nil {
			tb.Fatal(err)
		}
	}
	if len(files) == 0 {
		tb.Skip("no Go sources under GOROOT")
	}
	return files
}

// BenchmarkChunk_GoStdlib chunks every .go file of the standard library (about 7,700
// files, 90 MB, including testdata) per iteration, on one goroutine.
func BenchmarkChunk_GoStdlib(b *testing.B) {
	files := readGoroot(b)
	c := chunk.New(chunk.Options{})
	var bytes int64
	for _, f := range files {
		bytes += int64(len(f.src))
	}
	b.SetBytes(bytes)
	b.ReportAllocs()
	b.ResetTimer()
	chunks := 0
	for b.Loop() {
		for _, f := range files {
			cs, err := c.Chunk(f.path, f.src)
			if err != nil {
				b.Fatal(err)
			}
			chunks += len(cs)
		}
	}
	sec := b.Elapsed().Seconds()
	b.ReportMetric(float64(len(files)*b.N)/sec, "files/s")
	b.ReportMetric(float64(chunks)/sec, "chunks/s")
	b.ReportMetric(float64(chunks)/float64(b.N), "chunks/op")
}

// BenchmarkChunk_LongFunction chunks one huge Go function of 10k and 100k lines and reports
// the cost per line: equal per-line costs mean chunking stays linear in the file's size.
func BenchmarkChunk_LongFunction(b *testing.B) {
	for _, n := range []int{5_000, 50_000} {
		src := longFunction(n)
		b.Run(fmt.Sprintf("%dk-lines", 2*n/1000), func(b *testing.B) {
			c := chunk.New(chunk.Options{})
			for range b.N {
				if _, err := c.Chunk("big.go", src); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(2*n), "ns/line")
		})
	}
}

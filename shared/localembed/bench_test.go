package localembed_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/shared/localembed"
)

// benchChunks cuts this package's own Go files into chunks of about 2,000 bytes at line
// ends, about what a chunker's 512-token chunk of code is.
func benchChunks(tb testing.TB) []string {
	tb.Helper()
	files, _ := filepath.Glob("*.go")
	var chunks []string
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		var b strings.Builder
		for line := range strings.Lines(string(src)) {
			b.WriteString(line)
			if b.Len() >= 2000 {
				chunks = append(chunks, b.String())
				b.Reset()
			}
		}
	}
	if len(chunks) == 0 {
		tb.Fatal("no chunks")
	}
	return chunks
}

// BenchmarkEmbed measures one 2 kB chunk per op; chunks/s per core = 1e9 / (ns/op) when run
// with -cpu 1.
func BenchmarkEmbed(b *testing.B) {
	chunks := benchChunks(b)
	e := localembed.New()
	ctx := context.Background()
	var bytes int64
	for _, c := range chunks {
		bytes += int64(len(c))
	}
	b.SetBytes(bytes / int64(len(chunks)))
	b.ResetTimer()
	i := 0
	for b.Loop() {
		if _, err := e.Embed(ctx, chunks[i%len(chunks):i%len(chunks)+1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chunks/s")
}

// BenchmarkEmbed_cold is BenchmarkEmbed with an empty word cache for every chunk: the worst
// case, a chunk none of whose words were seen before.
func BenchmarkEmbed_cold(b *testing.B) {
	chunks := benchChunks(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		if _, err := localembed.New().Embed(ctx, chunks[i%len(chunks):i%len(chunks)+1]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "chunks/s")
}

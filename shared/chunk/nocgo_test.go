//go:build !cgo

package chunk_test

import "testing"

// Without cgo there is no tree-sitter: TypeScript and the other tree-sitter languages are
// chunked by line windows, without symbols, and still cover the whole file.
func TestChunker_Chunk_NoCgoFallback(t *testing.T) {
	for _, name := range []string{"widget.ts", "models.py", "lib.rs"} {
		cs := chunkOf(t, name, readFixture(t, name), 64)
		if len(cs) < 2 {
			t.Errorf("%s: %d chunks", name, len(cs))
		}
		for i, c := range cs {
			if c.Symbol != "" {
				t.Errorf("%s: chunk %d has symbol %q without a parser", name, i, c.Symbol)
			}
		}
	}
	// Go needs no cgo.
	cs := chunkOf(t, "server.go", readFixture(t, "server.go"), 0)
	if len(cs) != 3 || cs[1].Symbol != "Server.Handle" {
		t.Errorf("Go chunks without cgo: %d, second %q", len(cs), cs[1].Symbol)
	}
}

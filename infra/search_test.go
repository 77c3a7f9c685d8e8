package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"strings"
	"testing"
	"time"
)

// waitIndexed polls the index status until nothing is pending, and returns the status.
func waitIndexed(t testing.TB, c *client, ws string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		st := c.expect(200, "GET", "/api/workspaces/"+ws+"/index", nil).json(t)
		if st["pending"].(float64) == 0 {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("index still pending after 60 s: %v", st)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

type hit struct {
	Path, Symbol, Snippet string
	StartLine, EndLine    int
}

func searchFor(t testing.TB, c *client, ws string, body map[string]any) ([]hit, map[string]any) {
	t.Helper()
	r := c.expect(200, "POST", "/api/workspaces/"+ws+"/search", body).json(t)
	var hits []hit
	for _, h := range r["results"].([]any) {
		m := h.(map[string]any)
		hits = append(hits, hit{Path: str(m, "path"), Symbol: str(m, "symbol"), Snippet: str(m, "snippet"),
			StartLine: int(m["start_line"].(float64)), EndLine: int(m["end_line"].(float64))})
	}
	return hits, r
}

const mathGo = `package mathx

// Clamp limits v to the closed interval between lo and hi.
func Clamp(v, lo, hi int) int {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// ReverseString returns s with its characters in the opposite order.
func ReverseString(s string) string {
	r := []rune(s)
	for i, j := 0, len(r)-1; i < j; i, j = i+1, j-1 {
		r[i], r[j] = r[j], r[i]
	}
	return string(r)
}
`

const serverTS = `import { createServer } from "http";

/** Starts an HTTP server that answers every request with a greeting. */
export function startGreetingServer(port: number) {
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("hello, " + (req.headers["user-agent"] ?? "stranger"));
  });
  server.listen(port);
  return server;
}
`

const parsePy = `import json


def load_settings(path):
    """Read the JSON configuration file at path and return it as a dict."""
    with open(path) as f:
        return json.load(f)


class RetryPolicy:
    def backoff_delay(self, attempt):
        return min(30, 0.1 * 2 ** attempt)
`

func TestSearch(t *testing.T) {
	for name, env := range backendEnvs() {
		t.Run(name, func(t *testing.T) {
			base := startStack(t, env(t))
			c := signup(t, base, "search@example.com")
			ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "search"}).json(t), "id")
			files := "/api/workspaces/" + ws + "/files/"
			c.expect(201, "PUT", files+"pkg/mathx/mathx.go", mathGo)
			c.expect(201, "PUT", files+"web/server.ts", serverTS)
			c.expect(201, "PUT", files+"tools/settings.py", parsePy)
			c.expect(201, "PUT", files+"assets/logo.png", []byte{0x89, 'P', 'N', 'G', 0, 0, 1})
			st := waitIndexed(t, c, ws)
			if st["files"].(float64) != 4 || st["chunks"].(float64) < 3 || st["skipped"].(float64) != 1 || st["last_indexed_at"] == nil {
				t.Fatalf("index status = %v", st)
			}
			errs := st["errors"].([]any)
			if len(errs) != 1 || str(errs[0].(map[string]any), "path") != "assets/logo.png" || !strings.Contains(str(errs[0].(map[string]any), "reason"), "binary") {
				t.Fatalf("index errors = %v", errs)
			}

			// A description finds the function by meaning.
			hits, _ := searchFor(t, c, ws, map[string]any{"query": "reverse the characters of a string", "limit": 3})
			if len(hits) == 0 || hits[0].Symbol != "ReverseString" || hits[0].Path != "pkg/mathx/mathx.go" {
				t.Fatalf("description search = %+v", hits)
			}
			hits, _ = searchFor(t, c, ws, map[string]any{"query": "read JSON configuration file", "limit": 3})
			if len(hits) == 0 || hits[0].Path != "tools/settings.py" {
				t.Fatalf("python search = %+v", hits)
			}
			// An exact identifier ranks its definition first.
			hits, _ = searchFor(t, c, ws, map[string]any{"query": "startGreetingServer"})
			if len(hits) == 0 || hits[0].Symbol != "startGreetingServer" || hits[0].StartLine < 1 || !strings.Contains(hits[0].Snippet, "startGreetingServer") {
				t.Fatalf("identifier search = %+v", hits)
			}
			// Filters.
			hits, _ = searchFor(t, c, ws, map[string]any{"query": "server", "language": "python"})
			for _, h := range hits {
				if h.Path != "tools/settings.py" {
					t.Fatalf("language filter returned %s", h.Path)
				}
			}
			hits, _ = searchFor(t, c, ws, map[string]any{"query": "clamp a value", "path": "web/*"})
			for _, h := range hits {
				if !strings.HasPrefix(h.Path, "web/") {
					t.Fatalf("path filter returned %s", h.Path)
				}
			}

			// Results are cached until the files change.
			q := map[string]any{"query": "limit a value to an interval"}
			_, r1 := searchFor(t, c, ws, q)
			hits, r2 := searchFor(t, c, ws, q)
			if r1["cached"] != false || r2["cached"] != true || hits[0].Symbol != "Clamp" {
				t.Fatalf("cache: first %v, second %v (%+v)", r1["cached"], r2["cached"], hits)
			}
			// Changing a file replaces its chunks and invalidates cached results.
			c.expect(200, "PUT", files+"pkg/mathx/mathx.go", strings.ReplaceAll(mathGo, "Clamp", "Bound"))
			waitIndexed(t, c, ws)
			hits, r3 := searchFor(t, c, ws, q)
			if r3["cached"] != false || len(hits) == 0 || hits[0].Symbol != "Bound" {
				t.Fatalf("after change: cached=%v hits=%+v", r3["cached"], hits)
			}
			for _, h := range hits {
				if h.Symbol == "Clamp" {
					t.Fatal("a replaced chunk is still found")
				}
			}
			// Deleting a file removes its chunks.
			c.expect(204, "DELETE", files+"pkg/mathx/mathx.go", nil)
			waitIndexed(t, c, ws)
			hits, _ = searchFor(t, c, ws, map[string]any{"query": "ReverseString"})
			for _, h := range hits {
				if h.Path == "pkg/mathx/mathx.go" {
					t.Fatal("a deleted file is still found")
				}
			}

			// Bad input.
			for _, body := range []map[string]any{{"query": ""}, {"query": "x", "limit": 1000}, {"query": strings.Repeat("q", 3000)}, {"q": "x"}} {
				r := c.expect(400, "POST", "/api/workspaces/"+ws+"/search", body)
				if r.errCode(t) != "invalid" {
					t.Fatalf("bad search %v: %s", body, r.body)
				}
			}
			other := signup(t, base, "other-search@example.com")
			other.expect(404, "POST", "/api/workspaces/"+ws+"/search", map[string]any{"query": "server"})
			other.expect(404, "GET", "/api/workspaces/"+ws+"/index", nil)
		})
	}
}

func tarball(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for name, content := range files {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(content)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(content)); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestImport(t *testing.T) {
	base := startStack(t, backendEnvs()["embedded"](t))
	c := signup(t, base, "import@example.com")
	ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "import"}).json(t), "id")
	files := map[string]string{
		"proj/.gitignore":            "dist/\n",
		"proj/main.go":               mathGo,
		"proj/dist/bundle.js":        "var a=1",
		"proj/node_modules/x/a.js":   "x",
		"proj/web/server.ts":         serverTS,
		"proj/../../etc/passwd":      "root",
		"proj/tools/settings.py":     parsePy,
		"proj/tools/big/minified.js": strings.Repeat("var a=1;", 20),
	}
	r := c.expect(202, "POST", "/api/workspaces/"+ws+"/import", tarball(t, files), "Content-Type", "application/gzip")
	rep := r.json(t)
	if rep["imported"].(float64) != 5 || str(rep, "root") != "proj/" {
		t.Fatalf("import report = %s", r.body)
	}
	st := waitIndexed(t, c, ws)
	if st["files"].(float64) != 5 {
		t.Fatalf("index after import = %v", st)
	}
	hits, _ := searchFor(t, c, ws, map[string]any{"query": "greeting server"})
	if len(hits) == 0 || hits[0].Path != "web/server.ts" {
		t.Fatalf("search after import = %+v", hits)
	}
	r = c.expect(400, "POST", "/api/workspaces/"+ws+"/import", "not an archive")
	if r.errCode(t) != "invalid" {
		t.Fatal(string(r.body))
	}
}

package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/config"
)

// Helpers shared by the search and ingestion benchmarks (bench_search_test.go).

// goSrc returns $(go env GOROOT)/src, the corpus of every search benchmark. It fails rather
// than skips: a machine that runs Go tests has a Go source tree.
func goSrc(tb testing.TB) string {
	tb.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		tb.Fatalf("go env GOROOT: %v", err)
	}
	root := filepath.Join(strings.TrimSpace(string(out)), "src")
	if _, err := os.Stat(root); err != nil {
		tb.Fatalf("no Go source tree: %v", err)
	}
	return root
}

// openStack starts the local stack like startStack, but returns a stop func so that a
// benchmark can restart it on the same data (stop is idempotent and also runs at cleanup).
func openStack(tb testing.TB, env map[string]string) (base string, stop func()) {
	tb.Helper()
	all := map[string]string{"BCRYPT_COST": "4", "MAX_FILE_BYTES": "1048576", "MAX_BODY_BYTES": "65536"}
	for k, v := range env {
		all[k] = v
	}
	cfg, err := config.FromEnv(func(k string) string { return all[k] })
	if err != nil {
		tb.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	h, closeFn, err := newStack(context.Background(), cfg, "../template.yaml", log)
	if err != nil {
		tb.Fatalf("newStack: %v", err)
	}
	srv := httptest.NewServer(h)
	var once sync.Once
	stop = func() {
		once.Do(func() {
			srv.Close()
			if err := closeFn(); err != nil {
				tb.Errorf("close backends: %v", err)
			}
		})
	}
	tb.Cleanup(stop)
	return srv.URL, stop
}

// login returns a client logged in as a user signup created earlier (on a restarted stack).
func login(tb testing.TB, base, email string) *client {
	tb.Helper()
	anon := &client{t: tb, base: base}
	r := anon.expect(200, "POST", "/api/auth/login", map[string]any{"email": email, "password": "correct horse"})
	return &client{t: tb, base: base, token: str(r.json(tb), "token")}
}

// newWorkspace creates a workspace and returns its id.
func newWorkspace(tb testing.TB, c *client, name string) string {
	tb.Helper()
	return str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": name}).json(tb), "id")
}

// indexStatus is GET …/index.
type indexStatus struct {
	Files, Chunks, Pending, Failed, Skipped int
}

func getIndexStatus(tb testing.TB, c *client, ws string) indexStatus {
	tb.Helper()
	var st indexStatus
	r := c.expect(200, "GET", "/api/workspaces/"+ws+"/index", nil)
	if err := json.Unmarshal(r.body, &st); err != nil {
		tb.Fatalf("index status: %v: %s", err, r.body)
	}
	return st
}

// waitPending polls the index status until nothing is pending, for at most timeout, and
// returns the status and when pending was first seen at 0.
func waitPending(tb testing.TB, c *client, ws string, timeout time.Duration) (indexStatus, time.Time) {
	tb.Helper()
	deadline := time.Now().Add(timeout)
	for {
		st := getIndexStatus(tb, c, ws)
		if st.Pending == 0 {
			return st, time.Now()
		}
		if time.Now().After(deadline) {
			tb.Fatalf("index still pending after %s: %+v", timeout, st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// apiSearch is POST …/search without testing.TB, so that several goroutines may call it.
func apiSearch(c *client, ws string, body map[string]any) ([]hit, bool, error) {
	j, err := json.Marshal(body)
	if err != nil {
		return nil, false, err
	}
	req, err := http.NewRequest("POST", c.base+"/api/workspaces/"+ws+"/search", bytes.NewReader(j))
	if err != nil {
		return nil, false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, false, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, false, err
	}
	if resp.StatusCode != 200 {
		return nil, false, fmt.Errorf("search %q = %d: %s", body["query"], resp.StatusCode, b)
	}
	var r struct {
		Results []struct {
			Path      string `json:"path"`
			Symbol    string `json:"symbol"`
			StartLine int    `json:"start_line"`
			EndLine   int    `json:"end_line"`
		} `json:"results"`
		Cached bool `json:"cached"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, false, fmt.Errorf("search response: %v: %s", err, b)
	}
	hits := make([]hit, len(r.Results))
	for i, h := range r.Results {
		hits[i] = hit{Path: h.Path, Symbol: h.Symbol, StartLine: h.StartLine, EndLine: h.EndLine}
	}
	return hits, r.Cached, nil
}

// parallelDo calls fn(i) for i in [0, n) on workers goroutines and returns the first error.
func parallelDo(n, workers int, fn func(i int) error) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		next  int
	)
	for range workers {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := first != nil
				mu.Unlock()
				if stop || i >= n {
					return
				}
				if err := fn(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return first
}

// percentile returns the q-quantile (0..1) of ds by the nearest-rank method; ds is sorted.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

// ms is a duration in milliseconds, for b.ReportMetric.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// tarDir returns a .tar.gz of every regular file under root, named relative to root's
// parent (src/…), in walk order, and the number of files.
func tarDir(tb testing.TB, root string) ([]byte, int) {
	tb.Helper()
	var buf bytes.Buffer
	gz, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	tw := tar.NewWriter(gz)
	n := 0
	parent := filepath.Dir(root)
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(parent, p)
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(b)), Typeflag: tar.TypeReg}); err != nil {
			return err
		}
		n++
		_, err = tw.Write(b)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes(), n
}

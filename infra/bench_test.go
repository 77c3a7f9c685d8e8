package main

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sort"
	"testing"
	"time"
)

// BenchmarkFilePut measures file writes through the whole local stack over loopback HTTP
// (gateway, auth, ownership check, transactional write, cache invalidation): 4 KiB files,
// each op a new version of one of 1,000 paths, reported as MB/s and writes/s.
func BenchmarkFilePut(b *testing.B) {
	for _, name := range []string{"embedded", "postgres+redis"} {
		b.Run(name, func(b *testing.B) {
			c, files := benchWorkspace(b, backendEnvs()[name])
			body := bytes.Repeat([]byte("package main // benchmark line\n"), 4096/31+1)[:4096]
			b.SetBytes(int64(len(body)))
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				i := 0
				for pb.Next() {
					i++
					req, _ := http.NewRequest("PUT", fmt.Sprintf("%s/f%d.go", files, i%1000), bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+c.token)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 && resp.StatusCode != 201 {
						b.Errorf("PUT = %d", resp.StatusCode)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}

// BenchmarkFileGet measures the latency of reading one 4 KiB file through the local stack,
// one request at a time, and reports p50 and p99 besides the mean (ns/op).
func BenchmarkFileGet(b *testing.B) {
	for _, name := range []string{"embedded", "postgres+redis"} {
		b.Run(name, func(b *testing.B) {
			c, files := benchWorkspace(b, backendEnvs()[name])
			body := bytes.Repeat([]byte("x"), 4096)
			c.expect(201, "PUT", files[len(c.base):]+"/read.go", body)
			url := files + "/read.go"
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+c.token)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				lat = append(lat, time.Since(start))
				if resp.StatusCode != 200 || n != 4096 {
					b.Fatalf("GET = %d, %d bytes", resp.StatusCode, n)
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[min(len(lat)-1, len(lat)*99/100)].Microseconds()), "p99-µs")
		})
	}
}

// benchWorkspace starts a stack, signs a user up and creates a workspace; it returns the
// client and the workspace's files URL.
func benchWorkspace(b *testing.B, env func(testing.TB) map[string]string) (*client, string) {
	b.Helper()
	base := startStack(b, env(b))
	c := signup(b, base, "bench@example.com")
	ws := str(c.expect(201, "POST", "/api/workspaces", map[string]any{"name": "bench"}).json(b), "id")
	return c, base + "/api/workspaces/" + ws + "/files"
}

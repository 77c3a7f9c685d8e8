package web

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"testing/fstest"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	_, _ = w.Write([]byte(s))
	_ = w.Close()
	return b.Bytes()
}

func get(t *testing.T, h http.Handler, path string, hdr ...string) *http.Response {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func body(t *testing.T, res *http.Response) string {
	t.Helper()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestHandlerServesTheSinglePageApp(t *testing.T) {
	const js = "console.log('app')"
	files := fstest.MapFS{
		"index.html":                {Data: []byte("<!doctype html><title>VibeCode</title>")},
		"assets/index-abc123.js":    {Data: []byte(js)},
		"assets/index-abc123.js.gz": {Data: gz(t, js)},
		"favicon.svg":               {Data: []byte("<svg/>")},
	}
	h := NewHandler(files)

	for _, route := range []string{"/", "/index.html", "/login", "/w/0123456789abcdef0123456789abcdef", "/settings"} {
		res := get(t, h, route)
		if res.StatusCode != 200 || res.Header.Get("Cache-Control") != "no-cache" || body(t, res) != "<!doctype html><title>VibeCode</title>" {
			t.Errorf("GET %s: %d %q, want index.html with no-cache", route, res.StatusCode, res.Header.Get("Cache-Control"))
		}
	}

	res := get(t, h, "/assets/index-abc123.js")
	if res.StatusCode != 200 || body(t, res) != js || res.Header.Get("Cache-Control") != "public, max-age=31536000, immutable" {
		t.Errorf("asset: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/javascript; charset=utf-8" {
		t.Errorf("asset content type %q", ct)
	}

	res = get(t, h, "/assets/index-abc123.js", "Accept-Encoding", "br, gzip")
	if res.Header.Get("Content-Encoding") != "gzip" || !bytes.Equal([]byte(body(t, res)), gz(t, js)) {
		t.Errorf("gzip not served: %q", res.Header.Get("Content-Encoding"))
	}
	res = get(t, h, "/assets/index-abc123.js", "Accept-Encoding", "gzip;q=0")
	if res.Header.Get("Content-Encoding") != "" {
		t.Errorf("gzip served though refused")
	}

	// A missing hashed asset is 404, never index.html served as JavaScript.
	if res := get(t, h, "/assets/index-old.js"); res.StatusCode != 404 {
		t.Errorf("missing asset: %d", res.StatusCode)
	}
	if res := get(t, h, "/missing.png"); res.StatusCode != 404 {
		t.Errorf("missing file: %d", res.StatusCode)
	}
	if res := get(t, h, "/favicon.svg"); res.StatusCode != 200 || res.Header.Get("Cache-Control") != "public, max-age=3600" {
		t.Errorf("favicon: %d %q", res.StatusCode, res.Header.Get("Cache-Control"))
	}

	r := httptest.NewRequest(http.MethodPost, "/", nil)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /: %d", w.Code)
	}
}

func TestHandlerFallsBackToThePlaceholder(t *testing.T) {
	h := NewHandler(fstest.MapFS{".placeholder/index.html": {Data: []byte("run make web")}})
	res := get(t, h, "/")
	if res.StatusCode != 200 || body(t, res) != "run make web" {
		t.Fatalf("placeholder not served: %d", res.StatusCode)
	}
	// The placeholder directory itself is not browsable as a file.
	if res := get(t, h, "/.placeholder/index.html"); body(t, res) != "run make web" {
		t.Fatalf("dot path")
	}
}

func TestEmbeddedHandlerServesSomething(t *testing.T) {
	res := get(t, Handler(), "/")
	if res.StatusCode != 200 || len(body(t, res)) == 0 {
		t.Fatalf("embedded index: %d", res.StatusCode)
	}
}

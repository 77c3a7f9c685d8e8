// Package web embeds the built web IDE (web/dist, made by `make web`) and serves it.
//
// Handler serves the single-page app: files that exist are served as they are (with a
// precompressed .gz twin when the browser accepts gzip), hashed assets under /assets/ are
// cached for a year, and every other path that is not a file gets index.html (no-cache), so
// client-side routes like /w/<id> survive a reload. Before the first `npm run build` the
// embedded dist holds only .placeholder/index.html, which says to run `make web`.
package web

import (
	"bytes"
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// placeholderIndex is served as index.html when the front end has not been built.
const placeholderIndex = ".placeholder/index.html"

// Built reports whether the embedded dist holds a built front end (not just the placeholder).
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the embedded web IDE.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded at compile time; Sub of a valid name cannot fail
	}
	return NewHandler(sub)
}

// NewHandler serves the single-page app held by files (a built dist directory).
func NewHandler(files fs.FS) http.Handler {
	index := "index.html"
	if _, err := fs.Stat(files, index); err != nil {
		index = placeholderIndex
	}
	indexHTML, _ := fs.ReadFile(files, index)
	start := time.Now()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if name == "" || name == "index.html" || strings.HasPrefix(name, ".") || strings.Contains(name, "/.") {
			serveIndex(w, r, indexHTML)
			return
		}
		info, err := fs.Stat(files, name)
		if err != nil || info.IsDir() {
			// A missing asset is a 404 (a stale index asking for an old hash must not get
			// HTML back as JavaScript); anything else is a client-side route.
			if strings.HasPrefix(name, "assets/") || path.Ext(name) != "" {
				http.NotFound(w, r)
				return
			}
			serveIndex(w, r, indexHTML)
			return
		}
		h := w.Header()
		if strings.HasPrefix(name, "assets/") {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "public, max-age=3600")
		}
		if ct := mime.TypeByExtension(path.Ext(name)); ct != "" {
			h.Set("Content-Type", ct)
		}
		h.Add("Vary", "Accept-Encoding")
		if acceptsGzip(r) {
			if gz, err := fs.ReadFile(files, name+".gz"); err == nil {
				h.Set("Content-Encoding", "gzip")
				http.ServeContent(w, r, name, start, bytes.NewReader(gz))
				return
			}
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, name, start, bytes.NewReader(b))
	})
}

func serveIndex(w http.ResponseWriter, r *http.Request, html []byte) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Length", strconv.Itoa(len(html)))
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(html)
	}
}

// acceptsGzip reports whether the request's Accept-Encoding allows gzip (q > 0).
func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(enc), "gzip") {
			if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
				if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
					return false
				}
			}
			return true
		}
	}
	return false
}

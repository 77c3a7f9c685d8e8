package httpapi

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vibecode/vibecode/shared/domain"
)

func (a *API) filePath(r *http.Request) (string, error) {
	return domain.CleanFilePath(r.PathValue("path"))
}

func etag(f *domain.File) string { return `"` + f.Hash + `"` }

// parseETag returns the hash inside one strong entity tag, or "*". If-Match compares
// strongly (RFC 9110 §13.1.1), so a weak tag can never match: EPRECONDITION.
func parseETag(h string) (string, error) {
	h = strings.TrimSpace(h)
	if h == "*" {
		return h, nil
	}
	if strings.HasPrefix(h, "W/") {
		return "", domain.Errorf(domain.EPRECONDITION, "If-Match needs a strong ETag; weak ones never match")
	}
	if len(h) < 2 || h[0] != '"' || h[len(h)-1] != '"' || strings.Contains(h[1:len(h)-1], `"`) {
		return "", domain.Errorf(domain.EINVALID, "If-Match must be * or one quoted ETag")
	}
	return h[1 : len(h)-1], nil
}

// noneMatch reports whether an If-None-Match header matches the file (so GET answers 304).
func noneMatch(header string, f *domain.File) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag(f) {
			return true
		}
	}
	return false
}

func setFileHeaders(w http.ResponseWriter, f *domain.File) {
	h := w.Header()
	h.Set("ETag", etag(f))
	h.Set("Last-Modified", f.ModifiedAt.UTC().Format(http.TimeFormat))
	h.Set("X-File-Version", strconv.FormatInt(f.Version, 10))
	h.Set("X-File-Language", f.Language)
}

func (a *API) listFiles(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	ws := currentWorkspace(ctx)
	list := func() ([]*domain.File, error) {
		return domain.Cached(ctx, a.cache, domain.CacheKey(ws.ID, "files"), domain.TTLShort, a.cacheErr(ctx),
			func() ([]*domain.File, error) { return a.store.ListFiles(ctx, ws.ID) })
	}
	w.Header().Set("Cache-Control", "no-cache")
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		// The workspace agent polls this way every second. The tag is cached on its own, for a
		// few seconds, loaded from the store (not from the cached listing, which a reload racing
		// a write can leave stale for its whole TTL), and dropped with the listing by every
		// write: an unchanged listing costs one small cache read.
		tag, err := domain.Cached(ctx, a.cache, domain.CacheKey(ws.ID, "files-etag"), listTagTTL, a.cacheErr(ctx),
			func() (string, error) {
				files, err := a.store.ListFiles(ctx, ws.ID)
				return listETag(files), err
			})
		if err != nil {
			return err
		}
		if listNoneMatch(inm, tag) {
			w.Header().Set("ETag", tag)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
		// Changed: answer from the store, so the body is at least as new as the tag.
		list = func() ([]*domain.File, error) { return a.store.ListFiles(ctx, ws.ID) }
	}
	files, err := list()
	if err != nil {
		return err
	}
	w.Header().Set("ETag", listETag(files))
	writeJSON(w, http.StatusOK, map[string]any{"files": nonNil(files)})
	return nil
}

// listTagTTL bounds how long a listing's cached tag can stay behind a write whose cache
// invalidation raced a reload of it (see listFiles).
const listTagTTL = 5 * time.Second

// listETag is the entity tag of a workspace's file listing: a hash of every file's path,
// content hash and version, so any write, delete or import changes it. The workspace agent
// polls the listing with If-None-Match and is answered 304 while nothing changed.
func listETag(files []*domain.File) string {
	h := sha256.New()
	for _, f := range files {
		fmt.Fprintf(h, "%s\x00%s\x00%d\n", f.Path, f.Hash, f.Version)
	}
	return `"l` + hex.EncodeToString(h.Sum(nil))[:32] + `"`
}

// listNoneMatch reports whether an If-None-Match header names the listing's tag (or is *).
func listNoneMatch(header, tag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == tag {
			return true
		}
	}
	return false
}

func (a *API) getFile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.filePath(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ws := currentWorkspace(ctx)
	notFound := domain.Errorf(domain.ENOTFOUND, "file not found: %s", p)
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		// Answer a revalidation from metadata alone, without reading the content.
		f, err := a.store.FileByPath(ctx, ws.ID, p)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return notFound
		} else if err != nil {
			return err
		}
		if noneMatch(inm, f) {
			setFileHeaders(w, f)
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	f, content, err := a.store.FileContent(ctx, ws.ID, p)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return notFound
	} else if err != nil {
		return err
	}
	setFileHeaders(w, f)
	ct := "application/octet-stream"
	if utf8.Valid(content) {
		ct = "text/plain; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Length", strconv.Itoa(len(content)))
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(content)
	}
	return nil
}

// putOptions reads If-Match and If-None-Match into the store's preconditions.
func putOptions(r *http.Request, allowNoneMatch bool) (domain.PutOptions, error) {
	var opts domain.PutOptions
	if h := r.Header.Get("If-Match"); h != "" {
		t, err := parseETag(h)
		if err != nil {
			return opts, err
		}
		opts.IfMatch = t
	}
	if h := strings.TrimSpace(r.Header.Get("If-None-Match")); h != "" {
		if h != "*" || !allowNoneMatch {
			return opts, domain.Errorf(domain.EINVALID, "If-None-Match on a write must be *")
		}
		opts.IfNoneMatch = true
	}
	return opts, nil
}

func (a *API) putFile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.filePath(r)
	if err != nil {
		return err
	}
	opts, err := putOptions(r, true)
	if err != nil {
		return err
	}
	if r.ContentLength > a.opts.MaxFileBytes {
		return domain.Errorf(domain.ETOOLARGE, "file is larger than the %d-byte limit", a.opts.MaxFileBytes)
	}
	content, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.opts.MaxFileBytes))
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return domain.Errorf(domain.ETOOLARGE, "file is larger than the %d-byte limit", a.opts.MaxFileBytes)
	} else if err != nil {
		return domain.Errorf(domain.EINVALID, "could not read the request body: %v", err)
	}
	ctx := r.Context()
	ws := currentWorkspace(ctx)
	f := &domain.File{WorkspaceID: ws.ID, Path: p, Size: int64(len(content)), Hash: domain.HashContent(content),
		Language: domain.LanguageOf(p), ModifiedAt: a.now()}
	created, err := a.store.PutFile(ctx, f, content, opts)
	if err != nil {
		return err
	}
	a.invalidate(ctx, ws.ID)
	a.fileChanged(r, domain.FileChange{WorkspaceID: ws.ID, Path: p, Version: f.Version})
	setFileHeaders(w, f)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		w.Header().Set("Location", r.URL.EscapedPath())
	}
	writeJSON(w, status, f)
	return nil
}

func (a *API) deleteFile(w http.ResponseWriter, r *http.Request) error {
	p, err := a.filePath(r)
	if err != nil {
		return err
	}
	opts, err := putOptions(r, false)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ws := currentWorkspace(ctx)
	if err := a.store.DeleteFile(ctx, ws.ID, p, opts); domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.Errorf(domain.ENOTFOUND, "file not found: %s", p)
	} else if err != nil {
		return err
	}
	a.invalidate(ctx, ws.ID)
	a.fileChanged(r, domain.FileChange{WorkspaceID: ws.ID, Path: p, Deleted: true})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) fileChanged(r *http.Request, evs ...domain.FileChange) {
	if a.opts.OnFileChange == nil || len(evs) == 0 {
		return
	}
	if err := a.opts.OnFileChange(r.Context(), evs...); err != nil {
		a.log.ErrorContext(r.Context(), "file changes not delivered", "workspace", evs[0].WorkspaceID, "files", len(evs), "err", err)
	}
}

package filesync

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// RemoteFile is the control plane's metadata of one file.
type RemoteFile struct {
	Path    string `json:"path"`
	Hash    string `json:"hash"` // hex SHA-256 of the content, the file's ETag
	Version int64  `json:"version"`
	Size    int64  `json:"size"`
}

// Remote is the control plane's copy of the workspace's files, as the Syncer uses it. Errors
// are domain errors where the answer means something: EPRECONDITION when a precondition
// failed (someone else wrote the file first), ENOTFOUND for a missing file, EINVALID or
// ETOOLARGE for a refusal that retrying cannot change. Anything else is transient.
type Remote interface {
	// List returns every file when the listing differs from the one tagged etag, with the
	// new tag; changed is false (and files nil) when it is the same. etag "" always lists.
	List(ctx context.Context, etag string) (files []RemoteFile, tag string, changed bool, err error)
	// Get returns a file's content and metadata.
	Get(ctx context.Context, path string) ([]byte, RemoteFile, error)
	// Put writes content if the current file has hash ifMatch, or, with ifMatch "", only if
	// the file does not exist; it returns the written file's metadata.
	Put(ctx context.Context, path string, content []byte, ifMatch string) (RemoteFile, error)
	// Delete deletes the file if its hash is still ifMatch. A file that is already gone is
	// not an error.
	Delete(ctx context.Context, path, ifMatch string) error
}

// HTTPRemoteOptions configures an HTTPRemote.
type HTTPRemoteOptions struct {
	// BaseURL is the control plane's API origin, e.g. https://api.example.com. Required.
	BaseURL string
	// WorkspaceID is the workspace whose files are synchronised. Required.
	WorkspaceID string
	// AgentToken is sent as "X-Agent-Token": the token the control plane gave this start of
	// the workspace's agent, which opens that workspace's file routes and nothing else.
	// Required.
	AgentToken string
	// MaxFileBytes bounds a file read from the API; a larger one is ETOOLARGE. Default
	// 64 MiB.
	MaxFileBytes int64
	// Client sends the requests. Default: a client with a 60 s timeout.
	Client *http.Client
}

// HTTPRemote is a Remote over the control plane's file API: GET /api/workspaces/{id}/files
// (with If-None-Match), GET, PUT (If-Match / If-None-Match: *) and DELETE (If-Match) of
// /api/workspaces/{id}/files/{path}.
type HTTPRemote struct {
	opts HTTPRemoteOptions
	base string // origin and path prefix, no trailing slash
}

var _ Remote = (*HTTPRemote)(nil)

// NewHTTPRemote checks the options and returns the remote.
func NewHTTPRemote(opts HTTPRemoteOptions) (*HTTPRemote, error) {
	if opts.BaseURL == "" || opts.WorkspaceID == "" || opts.AgentToken == "" {
		return nil, fmt.Errorf("filesync: HTTPRemoteOptions needs BaseURL, WorkspaceID and AgentToken")
	}
	u, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("filesync: BaseURL %q is not an http(s) URL", opts.BaseURL)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = 64 << 20
	}
	u.RawPath = ""
	return &HTTPRemote{opts: opts, base: u.String() + "/api/workspaces/" + url.PathEscape(opts.WorkspaceID) + "/files"}, nil
}

func (r *HTTPRemote) fileURL(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return r.base + "/" + strings.Join(segs, "/")
}

// do sends one request and returns the response with its body read (up to max bytes).
func (r *HTTPRemote) do(ctx context.Context, method, u string, body []byte, header map[string]string, max int64) (*http.Response, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, nil, domain.Errorf(domain.EINVALID, "bad request for %s: %v", u, err)
	}
	req.Header.Set("X-Agent-Token", r.opts.AgentToken)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("filesync: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, max))
	if err != nil {
		return nil, nil, fmt.Errorf("filesync: %s %s: read the answer: %w", method, u, err)
	}
	return resp, b, nil
}

// statusError turns an error answer into an error: a domain error for the statuses that mean
// something to the Syncer, a plain (transient) one for the rest.
func statusError(resp *http.Response, body []byte) error {
	var e struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	msg := strings.TrimSpace(string(body))
	if json.Unmarshal(body, &e) == nil && e.Error.Message != "" {
		msg = e.Error.Message
	}
	switch resp.StatusCode {
	case http.StatusPreconditionFailed:
		return domain.Errorf(domain.EPRECONDITION, "%s", msg)
	case http.StatusNotFound:
		if strings.Contains(msg, "workspace not found") {
			// Not the file: the workspace (or our access to it) is gone. Transient from here.
			return fmt.Errorf("filesync: status 404: %s", msg)
		}
		return domain.Errorf(domain.ENOTFOUND, "%s", msg)
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		return domain.Errorf(domain.EINVALID, "%s", msg)
	case http.StatusRequestEntityTooLarge:
		return domain.Errorf(domain.ETOOLARGE, "%s", msg)
	}
	return fmt.Errorf("filesync: status %d: %s", resp.StatusCode, msg)
}

// List implements Remote.
func (r *HTTPRemote) List(ctx context.Context, etag string) ([]RemoteFile, string, bool, error) {
	h := map[string]string{}
	if etag != "" {
		h["If-None-Match"] = etag
	}
	resp, body, err := r.do(ctx, http.MethodGet, r.base, nil, h, 256<<20)
	if err != nil {
		return nil, "", false, err
	}
	switch resp.StatusCode {
	case http.StatusNotModified:
		return nil, etag, false, nil
	case http.StatusOK:
	default:
		return nil, "", false, statusError(resp, body)
	}
	var list struct {
		Files []RemoteFile `json:"files"`
	}
	if err := json.Unmarshal(body, &list); err != nil {
		return nil, "", false, fmt.Errorf("filesync: file listing: %w", err)
	}
	return list.Files, resp.Header.Get("ETag"), true, nil
}

// Get implements Remote.
func (r *HTTPRemote) Get(ctx context.Context, p string) ([]byte, RemoteFile, error) {
	resp, body, err := r.do(ctx, http.MethodGet, r.fileURL(p), nil, nil, r.opts.MaxFileBytes+1)
	if err != nil {
		return nil, RemoteFile{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, RemoteFile{}, statusError(resp, body)
	}
	if int64(len(body)) > r.opts.MaxFileBytes {
		return nil, RemoteFile{}, domain.Errorf(domain.ETOOLARGE, "%s is larger than %d bytes", p, r.opts.MaxFileBytes)
	}
	f := RemoteFile{Path: p, Hash: strings.Trim(resp.Header.Get("ETag"), `"`), Size: int64(len(body))}
	f.Version, _ = strconv.ParseInt(resp.Header.Get("X-File-Version"), 10, 64)
	if f.Hash != domain.HashContent(body) {
		// Changed between the headers and the body cannot happen (one read); a proxy that
		// altered the body can. Do not write what we cannot vouch for.
		return nil, RemoteFile{}, fmt.Errorf("filesync: GET %s: content does not match its ETag", p)
	}
	return body, f, nil
}

// Put implements Remote.
func (r *HTTPRemote) Put(ctx context.Context, p string, content []byte, ifMatch string) (RemoteFile, error) {
	h := map[string]string{"Content-Type": "application/octet-stream"}
	if ifMatch != "" {
		h["If-Match"] = `"` + ifMatch + `"`
	} else {
		h["If-None-Match"] = "*"
	}
	if content == nil {
		content = []byte{}
	}
	resp, body, err := r.do(ctx, http.MethodPut, r.fileURL(p), content, h, 1<<20)
	if err != nil {
		return RemoteFile{}, err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return RemoteFile{}, statusError(resp, body)
	}
	var f RemoteFile
	if err := json.Unmarshal(body, &f); err != nil {
		return RemoteFile{}, fmt.Errorf("filesync: PUT %s: answer: %w", p, err)
	}
	return f, nil
}

// Delete implements Remote.
func (r *HTTPRemote) Delete(ctx context.Context, p, ifMatch string) error {
	h := map[string]string{}
	if ifMatch != "" {
		h["If-Match"] = `"` + ifMatch + `"`
	}
	resp, body, err := r.do(ctx, http.MethodDelete, r.fileURL(p), nil, h, 1<<20)
	if err != nil {
		return err
	}
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	default:
		err := statusError(resp, body)
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return nil // already gone
		}
		return err
	}
}

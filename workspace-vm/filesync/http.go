package filesync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// HTTPReporterOptions configures an HTTPReporter.
type HTTPReporterOptions struct {
	// BaseURL is the control plane's API origin, e.g. https://api.example.com. Required.
	BaseURL string
	// WorkspaceID is the workspace whose files are written. Required.
	WorkspaceID string
	// Credential is sent as "Authorization: Bearer <Credential>": an API key from the
	// agent's configuration. Either it or AgentToken is required.
	Credential string
	// AgentToken is sent as "X-Agent-Token": the token the control plane gave this VM's
	// agent, which lets it write the files of its own workspace and nothing else.
	AgentToken string
	// Client sends the requests. Default: a client with a 60 s timeout.
	Client *http.Client
	// Logger receives changes refused for good. Default: discard.
	Logger *slog.Logger
}

// HTTPReporter reports changes to the control plane's file API: PUT
// /api/workspaces/{id}/files/{path} with the content, DELETE for a removed file. Both are
// idempotent, so a batch retried after a partial failure does no harm. It is one-way and
// unconditional (the disk wins); the agent uses Syncer, which also brings API changes to the
// disk and never overwrites a concurrent one.
type HTTPReporter struct {
	opts HTTPReporterOptions
	base *url.URL
}

var _ Reporter = (*HTTPReporter)(nil)

// NewHTTPReporter checks the options and returns a reporter.
func NewHTTPReporter(opts HTTPReporterOptions) (*HTTPReporter, error) {
	if opts.BaseURL == "" || opts.WorkspaceID == "" || (opts.Credential == "" && opts.AgentToken == "") {
		return nil, errors.New("filesync: HTTPReporterOptions needs BaseURL, WorkspaceID and a Credential or AgentToken")
	}
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("filesync: BaseURL %q is not an http(s) URL", opts.BaseURL)
	}
	if opts.Client == nil {
		opts.Client = &http.Client{Timeout: 60 * time.Second}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &HTTPReporter{opts: opts, base: base}, nil
}

// permanentError is a refusal that retrying cannot change (a path or a body the API will
// never accept).
type permanentError struct {
	status int
	msg    string
}

func (e *permanentError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.msg) }

// Report applies the changes in order and stops at the first one that may succeed later,
// returning its error so the batch is retried. A change refused for good (400, 413, 422)
// is logged with the API's message and skipped.
func (r *HTTPReporter) Report(ctx context.Context, changes []Change) error {
	for _, c := range changes {
		err := r.send(ctx, c)
		var perm *permanentError
		switch {
		case err == nil:
		case errors.As(err, &perm):
			r.opts.Logger.Error("filesync: control plane refused a change; dropping it", "path", c.Path, "deleted", c.Deleted, "err", err)
		default:
			return fmt.Errorf("filesync: report %s: %w", c.Path, err)
		}
	}
	return nil
}

func (r *HTTPReporter) fileURL(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	u := *r.base
	u.RawPath = ""
	return u.String() + "/api/workspaces/" + url.PathEscape(r.opts.WorkspaceID) + "/files/" + strings.Join(segs, "/")
}

func (r *HTTPReporter) send(ctx context.Context, c Change) error {
	method, body := http.MethodPut, io.Reader(bytes.NewReader(c.Content))
	if c.Deleted {
		method, body = http.MethodDelete, nil
	}
	req, err := http.NewRequestWithContext(ctx, method, r.fileURL(c.Path), body)
	if err != nil {
		return &permanentError{msg: err.Error()}
	}
	if r.opts.AgentToken != "" {
		req.Header.Set("X-Agent-Token", r.opts.AgentToken)
	} else {
		req.Header.Set("Authorization", "Bearer "+r.opts.Credential)
	}
	if !c.Deleted {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	resp, err := r.opts.Client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case c.Deleted && resp.StatusCode == http.StatusNotFound && !bytes.Contains(msg, []byte("workspace not found")):
		return nil // already gone
	case resp.StatusCode == http.StatusBadRequest, resp.StatusCode == http.StatusRequestEntityTooLarge,
		resp.StatusCode == http.StatusUnprocessableEntity:
		return &permanentError{status: resp.StatusCode, msg: strings.TrimSpace(string(msg))}
	default:
		return fmt.Errorf("status %d: %s", resp.StatusCode, strings.TrimSpace(string(msg)))
	}
}

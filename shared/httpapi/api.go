// Package httpapi is VibeCode's HTTP layer for the api function: routing with net/http
// patterns, JSON in and out, authentication, ownership checks and the one mapping from
// application error codes to HTTP statuses.
//
// The same http.Handler serves AWS Lambda, Cloud Functions and the local stack; it holds no
// per-process state beyond its dependencies, so any number of instances can run at once.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
)

// Options configure the API.
type Options struct {
	// MaxBodyBytes bounds JSON request bodies.
	MaxBodyBytes int64
	// MaxFileBytes bounds one uploaded file.
	MaxFileBytes int64
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// OnFileChange, when set, is told about committed file writes and deletes, in batches
	// (the ingestion pipeline subscribes here). Its error is logged, never returned to the
	// client: the writes have already happened.
	OnFileChange func(ctx context.Context, changes ...domain.FileChange) error
	// MaxImportBytes bounds an uploaded project archive (default 200 MiB).
	MaxImportBytes int64
}

// core is what every function's handler in this package shares: its dependencies and the
// authentication, ownership and error plumbing around routes.
type core struct {
	store domain.Store
	cache domain.Cache
	auth  *auth.Service
	log   *slog.Logger
	opts  Options
}

func newCore(store domain.Store, cache domain.Cache, authSvc *auth.Service, log *slog.Logger, opts Options) *core {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &core{store: store, cache: cache, auth: authSvc, log: log, opts: opts}
}

// mux builds a ServeMux for routes, with a JSON 404 for anything else.
func (a *core) mux(routes []route) *http.ServeMux {
	mux := http.NewServeMux()
	for _, rt := range routes {
		mux.Handle(rt.pattern, a.handle(rt.handler))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		WriteError(w, r, a.log, domain.Errorf(domain.ENOTFOUND, "no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

func patterns(routes []route) []string {
	out := make([]string, 0, len(routes))
	for _, rt := range routes {
		out = append(out, rt.pattern)
	}
	return out
}

// API serves the api function's routes.
type API struct {
	*core
	handler http.Handler
}

// routes lists every route with its handler. The local stack's gateway and template.yaml
// must route exactly these (a test keeps them in step), so this is the single list.
func (a *API) routes() []route {
	return []route{
		{"POST /api/auth/signup", a.signup},
		{"POST /api/auth/login", a.login},
		{"POST /api/auth/refresh", a.refresh},
		{"POST /api/auth/logout", a.logout},
		{"GET /api/auth/me", a.authed(a.me)},
		{"GET /api/auth/api-keys", a.authed(a.listAPIKeys)},
		{"POST /api/auth/api-keys", a.authed(a.createAPIKey)},
		{"DELETE /api/auth/api-keys/{id}", a.authed(a.revokeAPIKey)},
		{"POST /api/admin/service-accounts", a.authed(a.createServiceAccount)},

		{"GET /api/workspaces", a.authed(a.listWorkspaces)},
		{"POST /api/workspaces", a.authed(a.createWorkspace)},
		{"GET /api/workspaces/{id}", a.workspace(a.getWorkspace)},
		{"PATCH /api/workspaces/{id}", a.workspace(a.updateWorkspace)},
		{"DELETE /api/workspaces/{id}", a.workspace(a.deleteWorkspace)},

		{"GET /api/workspaces/{id}/projects", a.workspace(a.listProjects)},
		{"POST /api/workspaces/{id}/projects", a.workspace(a.createProject)},
		{"GET /api/workspaces/{id}/projects/{projectId}", a.workspace(a.getProject)},
		{"PATCH /api/workspaces/{id}/projects/{projectId}", a.workspace(a.updateProject)},
		{"DELETE /api/workspaces/{id}/projects/{projectId}", a.workspace(a.deleteProject)},

		{"GET /api/workspaces/{id}/files", a.agentFiles(a.listFiles)},
		{"GET /api/workspaces/{id}/files/{path...}", a.agentFiles(a.getFile)},
		{"PUT /api/workspaces/{id}/files/{path...}", a.agentFiles(a.putFile)},
		{"DELETE /api/workspaces/{id}/files/{path...}", a.agentFiles(a.deleteFile)},
		{"POST /api/workspaces/{id}/import", a.workspace(a.importArchive)},

		{"GET /api/health", a.health},
		{"GET /api/readyz", a.readyz},
	}
}

type route struct {
	pattern string
	handler func(http.ResponseWriter, *http.Request) error
}

// New returns the API over store and cache, authenticating with authSvc.
func New(store domain.Store, cache domain.Cache, authSvc *auth.Service, log *slog.Logger, opts Options) *API {
	a := &API{core: newCore(store, cache, authSvc, log, opts)}
	a.handler = Middleware(log, a.mux(a.routes()))
	return a
}

// Routes returns the patterns the API serves, e.g. "GET /api/workspaces/{id}".
func (a *API) Routes() []string { return patterns(a.routes()) }

// ServeHTTP serves one request through the API's middleware and routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.handler.ServeHTTP(w, r)
}

// handle adapts an error-returning handler: a returned error becomes the JSON error response.
func (a *core) handle(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			WriteError(w, r, a.log, err)
		}
	})
}

func (a *core) health(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	return nil
}

type check struct {
	Status    string `json:"status"`
	LatencyMS int64  `json:"latency_ms"`
	Error     string `json:"error,omitempty"`
}

// readyz checks the database and the cache; 503 with each check's result when one fails.
func (a *core) readyz(w http.ResponseWriter, r *http.Request) error {
	checks := map[string]check{}
	status := http.StatusOK
	for name, ping := range map[string]func(context.Context) error{"database": a.store.Ping, "cache": a.cache.Ping} {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		start := time.Now()
		err := ping(ctx)
		cancel()
		c := check{Status: "ok", LatencyMS: time.Since(start).Milliseconds()}
		if err != nil {
			// The detail (addresses, driver messages) goes to the log, not to anonymous callers.
			c.Status, c.Error, status = "down", "ping failed or timed out", http.StatusServiceUnavailable
			a.log.WarnContext(r.Context(), "readiness check failed", "check", name, "err", err)
		}
		checks[name] = c
	}
	overall := "ok"
	if status != http.StatusOK {
		overall = "unavailable"
	}
	writeJSON(w, status, map[string]any{"status": overall, "checks": checks})
	return nil
}

// invalidate drops every cached value of the workspace. A failure is logged: the cached
// values expire on their own within their TTL class.
func (a *core) invalidate(ctx context.Context, workspaceID string) {
	if err := a.cache.DeletePrefix(ctx, domain.WorkspaceCachePrefix(workspaceID)); err != nil {
		a.log.WarnContext(ctx, "cache invalidation failed", "workspace", workspaceID, "err", err)
	}
}

func (a *core) cacheErr(ctx context.Context) func(error) {
	return func(err error) { a.log.WarnContext(ctx, "cache error", "err", err) }
}

func (a *core) now() time.Time { return a.opts.Now().UTC().Truncate(time.Microsecond) }

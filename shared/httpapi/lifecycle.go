package httpapi

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/lifecycle"
)

// LifecycleAPI serves the lifecycle function's routes: start, stop, status and keepalive of
// a workspace's VM for its owner, heartbeats for its agent, and the sweeper for schedulers.
type LifecycleAPI struct {
	*core
	svc     *lifecycle.Service
	handler http.Handler
}

// NewLifecycle returns the lifecycle function's handler.
func NewLifecycle(store domain.Store, cache domain.Cache, authSvc *auth.Service, svc *lifecycle.Service, log *slog.Logger, opts Options) *LifecycleAPI {
	a := &LifecycleAPI{core: newCore(store, cache, authSvc, log, opts), svc: svc}
	a.handler = Middleware(log, a.mux(a.routes()))
	return a
}

func (a *LifecycleAPI) routes() []route {
	return []route{
		{"POST /api/workspaces/{id}/start", a.workspace(a.start)},
		{"POST /api/workspaces/{id}/stop", a.workspace(a.stop)},
		{"GET /api/workspaces/{id}/status", a.workspace(a.status)},
		{"POST /api/workspaces/{id}/keepalive", a.workspace(a.keepalive)},
		{"POST /api/workspaces/{id}/heartbeat", a.heartbeat},
		{"POST /api/lifecycle/sweep", a.authed(a.sweep)},
	}
}

// Routes returns the patterns the lifecycle function serves.
func (a *LifecycleAPI) Routes() []string { return patterns(a.routes()) }

// ServeHTTP serves one request.
func (a *LifecycleAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

// Service returns the lifecycle service behind the API (the local stack runs its sweeper).
func (a *LifecycleAPI) Service() *lifecycle.Service { return a.svc }

func (a *LifecycleAPI) start(w http.ResponseWriter, r *http.Request) error {
	res, err := a.svc.Start(r.Context(), currentWorkspace(r.Context()), principal(r.Context()).User)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *LifecycleAPI) stop(w http.ResponseWriter, r *http.Request) error {
	st, err := a.svc.Stop(r.Context(), currentWorkspace(r.Context()).ID, domain.StopUser)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

func (a *LifecycleAPI) status(w http.ResponseWriter, r *http.Request) error {
	st, err := a.svc.Status(r.Context(), currentWorkspace(r.Context()).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// keepaliveRequest asks to keep a running workspace up for Seconds from now.
type keepaliveRequest struct {
	Seconds int64 `json:"seconds"`
}

func (a *LifecycleAPI) keepalive(w http.ResponseWriter, r *http.Request) error {
	var req keepaliveRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Seconds <= 0 || req.Seconds > int64(100*365*24*time.Hour/time.Second) {
		return domain.Errorf(domain.EINVALID, "seconds must be a positive number of seconds, at most %d", int64(a.svc.Options().KeepaliveMax/time.Second))
	}
	st, err := a.svc.Keepalive(r.Context(), currentWorkspace(r.Context()).ID, time.Duration(req.Seconds)*time.Second)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

// heartbeat is the agent's report. It authenticates with the workspace's agent token, not a
// user's credentials, so it bypasses the workspace middleware.
func (a *LifecycleAPI) heartbeat(w http.ResponseWriter, r *http.Request) error {
	id, token := r.PathValue("id"), credential(r)
	// Authenticate before reading the body: a caller who is not the agent learns nothing,
	// not even which bodies are valid.
	if err := a.svc.AuthenticateAgent(r.Context(), id, token); err != nil {
		if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
			w.Header().Set("WWW-Authenticate", `Bearer realm="vibecode-agent"`)
		}
		return err
	}
	var hb domain.Heartbeat
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &hb); err != nil {
		return err
	}
	reply, err := a.svc.Heartbeat(r.Context(), id, token, hb)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, reply)
	return nil
}

// sweep runs the sweeper once, for Cloud Scheduler (an API key of a service account) or an
// admin; on AWS the EventBridge schedule invokes the function directly instead.
func (a *LifecycleAPI) sweep(w http.ResponseWriter, r *http.Request) error {
	if role := principal(r.Context()).User.Role; role != domain.RoleAdmin && role != domain.RoleService {
		return domain.Errorf(domain.EFORBIDDEN, "only service accounts and admins can run the sweeper")
	}
	rep, err := a.svc.Sweep(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

package httpapi

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net/http"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
)

type workspaceKey struct{}

// currentWorkspace returns the workspace that the workspace middleware loaded and checked.
func currentWorkspace(ctx context.Context) *domain.Workspace {
	w, _ := ctx.Value(workspaceKey{}).(*domain.Workspace)
	return w
}

// workspace requires an authenticated principal who owns the workspace named by {id}. Any
// other workspace, existing or not, answers 404 with the same message, so IDs of other
// users' workspaces cannot be probed.
func (a *core) workspace(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return a.authed(a.ownedWorkspace(h))
}

// agentFiles is workspace for the file routes, which the workspace's own agent may also
// call: it reports changes made on the VM's disk (a terminal `git checkout`, a build) so the
// files and the search index stay in step. The agent presents X-Agent-Token, the token the
// control plane generated for the VM's current start; it acts as the workspace's owner and
// only within that one workspace.
func (a *core) agentFiles(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	user := a.workspace(h)
	agent := a.ownedWorkspace(h)
	return func(w http.ResponseWriter, r *http.Request) error {
		token := r.Header.Get("X-Agent-Token")
		if token == "" {
			return user(w, r)
		}
		p, err := a.agentPrincipal(r.Context(), r.PathValue("id"), token)
		if err != nil {
			return err
		}
		return agent(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

// agentPrincipal checks an agent token against the workspace's VM record and returns the
// workspace owner as the principal. Any mismatch is the same EUNAUTHORIZED.
func (a *core) agentPrincipal(ctx context.Context, workspaceID, token string) (*auth.Principal, error) {
	invalid := domain.Errorf(domain.EUNAUTHORIZED, "agent token is invalid for this workspace")
	st, err := a.store.VMState(ctx, workspaceID)
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, invalid
	} else if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(token))
	if st.AgentTokenHash == "" || subtle.ConstantTimeCompare([]byte(hex.EncodeToString(sum[:])), []byte(st.AgentTokenHash)) != 1 {
		return nil, invalid
	}
	// The same cached record ownedWorkspace reads next, so it costs one lookup, not two.
	ws, err := domain.Cached(ctx, a.cache, domain.CacheKey(workspaceID, "meta"), domain.TTLMedium, a.cacheErr(ctx),
		func() (*domain.Workspace, error) { return a.store.WorkspaceByID(ctx, workspaceID) })
	if err != nil {
		return nil, invalid
	}
	u, err := a.store.UserByID(ctx, ws.OwnerID)
	if err != nil {
		return nil, invalid
	}
	return &auth.Principal{User: u}, nil
}

// ownedWorkspace loads the workspace named by {id} and checks that the principal owns it.
func (a *core) ownedWorkspace(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ctx := r.Context()
		id := r.PathValue("id")
		ws, err := domain.Cached(ctx, a.cache, domain.CacheKey(id, "meta"), domain.TTLMedium, a.cacheErr(ctx),
			func() (*domain.Workspace, error) { return a.store.WorkspaceByID(ctx, id) })
		notFound := domain.Errorf(domain.ENOTFOUND, "workspace not found")
		if domain.ErrorCode(err) == domain.ENOTFOUND {
			return notFound
		} else if err != nil {
			return err
		}
		if ws.OwnerID != principal(ctx).User.ID {
			return notFound
		}
		return h(w, r.WithContext(context.WithValue(ctx, workspaceKey{}, ws)))
	}
}

func (a *API) listWorkspaces(w http.ResponseWriter, r *http.Request) error {
	list, err := a.store.ListWorkspaces(r.Context(), principal(r.Context()).User.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"workspaces": nonNil(list)})
	return nil
}

func (a *API) createWorkspace(w http.ResponseWriter, r *http.Request) error {
	var req nameRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	name, err := auth.CleanName(req.Name, "name")
	if err != nil {
		return err
	}
	now := a.now()
	ws := &domain.Workspace{ID: domain.NewID(), OwnerID: principal(r.Context()).User.ID, Name: name, CreatedAt: now, UpdatedAt: now}
	if err := a.store.CreateWorkspace(r.Context(), ws); err != nil {
		return err
	}
	w.Header().Set("Location", "/api/workspaces/"+ws.ID)
	writeJSON(w, http.StatusCreated, ws)
	return nil
}

func (a *API) getWorkspace(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, currentWorkspace(r.Context()))
	return nil
}

func (a *API) updateWorkspace(w http.ResponseWriter, r *http.Request) error {
	var req nameRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	name, err := auth.CleanName(req.Name, "name")
	if err != nil {
		return err
	}
	ws := *currentWorkspace(r.Context())
	ws.Name, ws.UpdatedAt = name, a.now()
	if err := a.store.UpdateWorkspace(r.Context(), &ws); err != nil {
		return err
	}
	a.invalidate(r.Context(), ws.ID)
	writeJSON(w, http.StatusOK, &ws)
	return nil
}

func (a *API) deleteWorkspace(w http.ResponseWriter, r *http.Request) error {
	ws := currentWorkspace(r.Context())
	if err := a.store.DeleteWorkspace(r.Context(), ws.ID); err != nil {
		return err
	}
	a.invalidate(r.Context(), ws.ID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type projectRequest struct {
	Name *string `json:"name"`
	Root *string `json:"root"`
}

// apply validates the request's fields and sets them on p; create requires a name.
func (req projectRequest) apply(p *domain.Project, create bool) error {
	if req.Name != nil || create {
		var name string
		if req.Name != nil {
			name = *req.Name
		}
		n, err := auth.CleanName(name, "name")
		if err != nil {
			return err
		}
		p.Name = n
	}
	if req.Root != nil {
		p.Root = ""
		if *req.Root != "" {
			root, err := domain.CleanFilePath(*req.Root)
			if err != nil {
				return domain.Errorf(domain.EINVALID, "root: %s", domain.ErrorMessage(err))
			}
			p.Root = root
		}
	}
	return nil
}

func (a *API) listProjects(w http.ResponseWriter, r *http.Request) error {
	list, err := a.store.ListProjects(r.Context(), currentWorkspace(r.Context()).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"projects": nonNil(list)})
	return nil
}

func (a *API) createProject(w http.ResponseWriter, r *http.Request) error {
	var req projectRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	now := a.now()
	p := &domain.Project{ID: domain.NewID(), WorkspaceID: currentWorkspace(r.Context()).ID, CreatedAt: now, UpdatedAt: now}
	if err := req.apply(p, true); err != nil {
		return err
	}
	if err := a.store.CreateProject(r.Context(), p); err != nil {
		return projectConflict(err)
	}
	w.Header().Set("Location", "/api/workspaces/"+p.WorkspaceID+"/projects/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

func projectConflict(err error) error {
	if domain.ErrorCode(err) == domain.ECONFLICT {
		return domain.Errorf(domain.ECONFLICT, "a project with this name already exists in the workspace")
	}
	return err
}

func (a *API) project(r *http.Request) (*domain.Project, error) {
	p, err := a.store.ProjectByID(r.Context(), currentWorkspace(r.Context()).ID, r.PathValue("projectId"))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return nil, domain.Errorf(domain.ENOTFOUND, "project not found")
	}
	return p, err
}

func (a *API) getProject(w http.ResponseWriter, r *http.Request) error {
	p, err := a.project(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) updateProject(w http.ResponseWriter, r *http.Request) error {
	var req projectRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	p, err := a.project(r)
	if err != nil {
		return err
	}
	if err := req.apply(p, false); err != nil {
		return err
	}
	p.UpdatedAt = a.now()
	if err := a.store.UpdateProject(r.Context(), p); err != nil {
		return projectConflict(err)
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

func (a *API) deleteProject(w http.ResponseWriter, r *http.Request) error {
	err := a.store.DeleteProject(r.Context(), currentWorkspace(r.Context()).ID, r.PathValue("projectId"))
	if domain.ErrorCode(err) == domain.ENOTFOUND {
		return domain.Errorf(domain.ENOTFOUND, "project not found")
	} else if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

package httpapi

import (
	"log/slog"
	"net/http"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/search"
)

// SearchAPI serves the search function's routes: semantic search over a workspace and the
// state of its index.
type SearchAPI struct {
	*core
	search  *search.Service
	handler http.Handler
}

// NewSearch returns the search function's handler.
func NewSearch(store domain.Store, cache domain.Cache, authSvc *auth.Service, searchSvc *search.Service, log *slog.Logger, opts Options) *SearchAPI {
	a := &SearchAPI{core: newCore(store, cache, authSvc, log, opts), search: searchSvc}
	a.handler = Middleware(log, a.mux(a.routes()))
	return a
}

func (a *SearchAPI) routes() []route {
	return []route{
		{"POST /api/workspaces/{id}/search", a.workspace(a.searchWorkspace)},
		{"GET /api/workspaces/{id}/index", a.workspace(a.indexStatus)},
	}
}

// Routes returns the patterns the search function serves.
func (a *SearchAPI) Routes() []string { return patterns(a.routes()) }

// ServeHTTP serves one request.
func (a *SearchAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.handler.ServeHTTP(w, r) }

func (a *SearchAPI) searchWorkspace(w http.ResponseWriter, r *http.Request) error {
	var q search.Query
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &q); err != nil {
		return err
	}
	q.WorkspaceID = currentWorkspace(r.Context()).ID
	res, err := a.search.Search(r.Context(), q)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (a *SearchAPI) indexStatus(w http.ResponseWriter, r *http.Request) error {
	st, err := a.store.IndexStatus(r.Context(), currentWorkspace(r.Context()).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}

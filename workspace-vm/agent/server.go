// Package agent is the workspace VM agent's HTTP server: routing, authentication with
// short-lived tickets, the Origin check, activity and stats. Terminals (package terminal) and
// collaboration (a CollabHub) do the work behind it.
//
// Routes:
//
//	GET /healthz              no auth; 200 while the agent serves
//	GET /stats                admin token or any ticket for this workspace: counts, last activity
//	GET /terminals            ticket with terminal or terminal:read: the sessions
//	GET /terminals/{id}       WebSocket (?ticket=…): a terminal, see docs/protocols.md
//	GET /collab/{doc...}      WebSocket (?ticket=…): y-websocket for doc, via the CollabHub
//
// Browsers cannot set headers on a WebSocket, so tickets travel in the query string (and are
// never logged); non-browser callers may send "Authorization: Bearer <ticket>" instead. Bad
// tickets are refused with HTTP 401 and a disallowed Origin with 403, both before the upgrade.
package agent

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/ticket"
	"github.com/vibecode/vibecode/workspace-vm/terminal"
)

// Deps are the agent's collaborators, built by main.
type Deps struct {
	// Terminals runs the terminal sessions. Required.
	Terminals *terminal.Manager
	// Collab serves /collab; nil answers 503 until a hub is wired.
	Collab CollabHub
	// Tickets verifies tickets. Required.
	Tickets *ticket.Verifier
	// Activity is the shared activity record (default a new one).
	Activity *Activity
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Now is the clock for ticket expiry (default time.Now).
	Now func() time.Time
}

// Server is the agent's http.Handler.
type Server struct {
	cfg     config.Agent
	deps    Deps
	log     *slog.Logger
	mux     *http.ServeMux
	started time.Time
	closing atomic.Bool
}

var _ http.Handler = (*Server)(nil)

// New returns the agent's handler for cfg's workspace.
func New(cfg config.Agent, deps Deps) *Server {
	if deps.Activity == nil {
		deps.Activity = NewActivity()
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	s := &Server{cfg: cfg, deps: deps, log: deps.Logger.With("component", "agent"), mux: http.NewServeMux(), started: time.Now()}
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /stats", s.stats)
	s.mux.HandleFunc("GET /terminals", s.listTerminals)
	s.mux.HandleFunc("GET /terminals/{id}", s.terminal)
	s.mux.HandleFunc("GET /collab/{doc...}", s.collab)
	s.mux.HandleFunc("OPTIONS /", s.preflight)
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, s.log, domain.Errorf(domain.ENOTFOUND, "no such route"))
	})
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer") // URLs carry tickets
	s.mux.ServeHTTP(w, r)
}

// Shutdown ends every terminal (state saved, sockets closed with 4503) and the collab hub.
// New WebSockets are refused with 503 from the moment it is called.
func (s *Server) Shutdown(ctx context.Context) error {
	s.closing.Store(true)
	var errs []error
	if err := s.deps.Terminals.Close(ctx); err != nil {
		errs = append(errs, err)
	}
	if s.deps.Collab != nil {
		if err := s.deps.Collab.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("agent: close collab hub: %w", err))
		}
	}
	return errors.Join(errs...)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	if s.closing.Load() {
		writeError(w, r, s.log, domain.Errorf(domain.EUNAVAILABLE, "shutting down"))
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// Stats is the /stats body: what the lifecycle needs to decide whether the VM is idle.
type Stats struct {
	Workspace     string    `json:"workspace"`
	StartedAt     time.Time `json:"startedAt"`
	Sessions      int       `json:"sessions"`
	Clients       int       `json:"clients"`
	Documents     int       `json:"documents"`
	CollabClients int       `json:"collabClients"`
	// LastActivity is the last real activity per kind; LastActivityAt the latest of them
	// (absent when there has been none since the agent started).
	LastActivity   map[string]time.Time `json:"lastActivity"`
	LastActivityAt *time.Time           `json:"lastActivityAt,omitempty"`
}

func (s *Server) stats(w http.ResponseWriter, r *http.Request) {
	if !s.isAdmin(r) {
		if _, err := s.authorize(r, ""); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	ts := s.deps.Terminals.Stats()
	st := Stats{
		Workspace: s.cfg.WorkspaceID, StartedAt: s.started, Sessions: ts.Sessions, Clients: ts.Clients,
		LastActivity: s.deps.Activity.Snapshot(),
	}
	if s.deps.Collab != nil {
		cs := s.deps.Collab.Stats()
		st.Documents, st.CollabClients = cs.Documents, cs.Clients
	}
	if last := s.deps.Activity.Last(); !last.IsZero() {
		st.LastActivityAt = &last
	}
	s.cors(w, r)
	writeJSON(w, http.StatusOK, st)
}

func (s *Server) listTerminals(w http.ResponseWriter, r *http.Request) {
	if _, err := s.authorize(r, ticket.CapTerminalRead); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.cors(w, r)
	writeJSON(w, http.StatusOK, map[string]any{"terminals": s.deps.Terminals.List()})
}

func (s *Server) terminal(w http.ResponseWriter, r *http.Request) {
	claims, err := s.authorize(r, ticket.CapTerminalRead)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	id := r.PathValue("id")
	if id != "new" && !terminal.ValidID(id) {
		writeError(w, r, s.log, domain.Errorf(domain.EINVALID, "a terminal id is 1-64 letters, digits, '-' or '_'"))
		return
	}
	q := r.URL.Query()
	cols, _ := strconv.Atoi(q.Get("cols"))
	rows, _ := strconv.Atoi(q.Get("rows"))
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true}) // Origin checked in authorize
	if err != nil {
		return // Accept has answered
	}
	s.deps.Terminals.Serve(r.Context(), conn, terminal.Attach{
		ID: id, UserID: claims.UserID, ReadOnly: !claims.Can(ticket.CapTerminal), Cols: cols, Rows: rows,
	})
}

func (s *Server) collab(w http.ResponseWriter, r *http.Request) {
	claims, err := s.authorize(r, ticket.CapCollabRead)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if s.deps.Collab == nil {
		writeError(w, r, s.log, domain.Errorf(domain.EUNAVAILABLE, "collaboration is not available on this agent"))
		return
	}
	doc := r.PathValue("doc")
	if !validDoc(doc) {
		writeError(w, r, s.log, domain.Errorf(domain.EINVALID, "bad document path"))
		return
	}
	s.deps.Collab.Serve(w, r, doc, CollabUser{ID: claims.UserID, Name: claims.Name, ReadOnly: !claims.Can(ticket.CapCollab)})
}

// validDoc accepts workspace-relative paths: no leading slash, no empty, "." or ".."
// segments, no control characters or backslashes, valid UTF-8, at most 1024 bytes. The hub
// may refuse more.
func validDoc(doc string) bool {
	if doc == "" || len(doc) > 1024 || !utf8.ValidString(doc) || strings.ContainsAny(doc, "\\") {
		return false
	}
	for _, r := range doc {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	for _, seg := range strings.Split(doc, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// authorize checks the Origin and the ticket (capability want, or any when want is "") and
// returns the ticket's claims.
func (s *Server) authorize(r *http.Request, want string) (*ticket.Claims, error) {
	if !s.originAllowed(r) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "origin not allowed")
	}
	if s.closing.Load() && r.Header.Get("Upgrade") != "" {
		return nil, domain.Errorf(domain.EUNAVAILABLE, "shutting down")
	}
	tok := r.URL.Query().Get("ticket")
	if tok == "" {
		tok = bearer(r)
	}
	if tok == "" {
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "a ticket is required")
	}
	claims, err := s.deps.Tickets.Verify(tok, s.cfg.WorkspaceID, s.deps.Now())
	if err != nil {
		s.log.Info("agent: ticket refused", "path", r.URL.Path, "err", err) // the error never contains the token
		return nil, domain.Errorf(domain.EUNAUTHORIZED, "invalid or expired ticket")
	}
	if want != "" && !claims.Can(want) {
		return nil, domain.Errorf(domain.EFORBIDDEN, "the ticket does not grant %s", want)
	}
	return claims, nil
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

func (s *Server) isAdmin(r *http.Request) bool {
	tok := bearer(r)
	return s.cfg.AdminToken != "" && tok != "" && s.originAllowed(r) &&
		subtle.ConstantTimeCompare([]byte(tok), []byte(s.cfg.AdminToken)) == 1
}

// originAllowed: requests without an Origin (non-browser clients) pass, since only browsers
// can be tricked into cross-site requests and browsers always send one on WebSockets; a
// browser's Origin must be in AllowedOrigins (or that must hold "*").
func (s *Server) originAllowed(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	if slices.Contains(s.cfg.AllowedOrigins, "*") {
		return true
	}
	n, ok := config.NormalizeOrigin(o)
	return ok && slices.Contains(s.cfg.AllowedOrigins, n)
}

// cors lets the web IDE (another origin than the agent's) read the JSON routes.
func (s *Server) cors(w http.ResponseWriter, r *http.Request) {
	if o := r.Header.Get("Origin"); o != "" && s.originAllowed(r) {
		w.Header().Set("Access-Control-Allow-Origin", o)
		w.Header().Add("Vary", "Origin")
	}
}

func (s *Server) preflight(w http.ResponseWriter, r *http.Request) {
	if (r.URL.Path != "/stats" && r.URL.Path != "/terminals") || r.Header.Get("Origin") == "" || !s.originAllowed(r) {
		writeError(w, r, s.log, domain.Errorf(domain.EFORBIDDEN, "origin not allowed"))
		return
	}
	s.cors(w, r)
	w.Header().Set("Access-Control-Allow-Methods", "GET")
	w.Header().Set("Access-Control-Allow-Headers", "Authorization")
	w.Header().Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
}

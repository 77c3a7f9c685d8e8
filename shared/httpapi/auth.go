package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
)

type principalKey struct{}

// principal returns the authenticated caller that authed put in the context.
func principal(ctx context.Context) *auth.Principal {
	p, _ := ctx.Value(principalKey{}).(*auth.Principal)
	return p
}

// credential returns the bearer credential of a request: "Authorization: Bearer <token>" or
// "X-API-Key: <key>".
func credential(r *http.Request) string {
	if k := r.Header.Get("X-API-Key"); k != "" {
		return k
	}
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// authed requires an authenticated principal and puts it in the request context.
func (a *core) authed(h func(http.ResponseWriter, *http.Request) error) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := a.auth.Authenticate(r.Context(), credential(r))
		if err != nil {
			if domain.ErrorCode(err) == domain.EUNAUTHORIZED {
				w.Header().Set("WWW-Authenticate", `Bearer realm="vibecode"`)
			}
			return err
		}
		return h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	}
}

type signupRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (a *API) signup(w http.ResponseWriter, r *http.Request) error {
	var req signupRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	t, err := a.auth.Signup(r.Context(), req.Email, req.Password, req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, t)
	return nil
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (a *API) login(w http.ResponseWriter, r *http.Request) error {
	var req loginRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	t, err := a.auth.Login(r.Context(), req.Email, req.Password)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (a *API) refresh(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.RefreshToken == "" {
		return domain.Errorf(domain.EINVALID, "refresh_token is required")
	}
	t, err := a.auth.Refresh(r.Context(), req.RefreshToken)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, t)
	return nil
}

// logout revokes the session named by the body's refresh_token, or else by the access token.
func (a *API) logout(w http.ResponseWriter, r *http.Request) error {
	var req refreshRequest
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
			return err
		}
	}
	var p *auth.Principal
	if c := credential(r); c != "" {
		var err error
		if p, err = a.auth.Authenticate(r.Context(), c); err != nil && req.RefreshToken == "" {
			return err
		}
	}
	if err := a.auth.Logout(r.Context(), p, req.RefreshToken); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) me(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, principal(r.Context()).User)
	return nil
}

type nameRequest struct {
	Name string `json:"name"`
}

func (a *API) listAPIKeys(w http.ResponseWriter, r *http.Request) error {
	keys, err := a.auth.ListAPIKeys(r.Context(), principal(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"api_keys": nonNil(keys)})
	return nil
}

func (a *API) createAPIKey(w http.ResponseWriter, r *http.Request) error {
	var req nameRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	key, k, err := a.auth.CreateAPIKey(r.Context(), principal(r.Context()), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"key": key, "api_key": k})
	return nil
}

func (a *API) revokeAPIKey(w http.ResponseWriter, r *http.Request) error {
	if err := a.auth.RevokeAPIKey(r.Context(), principal(r.Context()), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) createServiceAccount(w http.ResponseWriter, r *http.Request) error {
	var req nameRequest
	if err := decodeJSON(w, r, a.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	u, key, err := a.auth.CreateServiceAccount(r.Context(), principal(r.Context()), req.Name)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": u, "key": key})
	return nil
}

// nonNil makes empty lists encode as [] rather than null, which clients handle better.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

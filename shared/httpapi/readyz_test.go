package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/auth"
	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/httpapi"
	"github.com/vibecode/vibecode/shared/lru"
	"github.com/vibecode/vibecode/shared/sqlite"
)

// downCache is a cache whose every call fails, as Redis does when it is unreachable.
type downCache struct{ domain.Cache }

var errDown = errors.New("dial tcp 10.0.0.9:6379: connection refused")

func (downCache) Ping(context.Context) error { return errDown }
func (downCache) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errDown
}
func (downCache) Set(context.Context, string, []byte, time.Duration) error { return errDown }
func (downCache) DeletePrefix(context.Context, string) error               { return errDown }

func newAPI(t *testing.T, cache domain.Cache) http.Handler {
	t.Helper()
	store, err := sqlite.Open(context.Background(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = store.Close() })
	svc, err := auth.New(store, auth.Options{Secret: []byte(strings.Repeat("k", 32)), AccessTTL: time.Minute, RefreshTTL: time.Hour, BcryptCost: 4})
	if err != nil {
		t.Fatal(err)
	}
	return httpapi.New(store, cache, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), httpapi.Options{MaxBodyBytes: 1 << 20, MaxFileBytes: 1 << 20})
}

func TestReadyz(t *testing.T) {
	for _, tc := range []struct {
		name   string
		cache  domain.Cache
		status int
		cacheS string
	}{
		{"all up", lru.New(10), 200, "ok"},
		{"cache down", downCache{}, 503, "down"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			newAPI(t, tc.cache).ServeHTTP(rec, httptest.NewRequest("GET", "/api/readyz", nil))
			var body struct {
				Status string
				Checks map[string]struct{ Status, Error string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatal(err)
			}
			if rec.Code != tc.status || body.Checks["cache"].Status != tc.cacheS || body.Checks["database"].Status != "ok" {
				t.Fatalf("readyz = %d %s", rec.Code, rec.Body)
			}
			if strings.Contains(rec.Body.String(), "10.0.0.9") {
				t.Fatalf("readyz leaks the dependency's address: %s", rec.Body)
			}
		})
	}
}

// TestAPI_WorksWithCacheDown proves the cache is only an optimisation: with every cache call
// failing, signup, workspace and file requests still answer correctly.
func TestAPI_WorksWithCacheDown(t *testing.T) {
	h := newAPI(t, downCache{})
	do := func(method, path, token, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		if token != "" {
			r.Header.Set("Authorization", "Bearer "+token)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	rec := do("POST", "/api/auth/signup", "", `{"email":"c@example.com","password":"correct horse","name":"C"}`)
	var tok struct{ Token string }
	_ = json.Unmarshal(rec.Body.Bytes(), &tok)
	rec = do("POST", "/api/workspaces", tok.Token, `{"name":"w"}`)
	var ws struct{ ID string }
	_ = json.Unmarshal(rec.Body.Bytes(), &ws)
	if rec.Code != 201 || ws.ID == "" {
		t.Fatalf("create workspace = %d %s", rec.Code, rec.Body)
	}
	if rec = do("PUT", "/api/workspaces/"+ws.ID+"/files/a.txt", tok.Token, "hello"); rec.Code != 201 {
		t.Fatalf("put = %d %s", rec.Code, rec.Body)
	}
	if rec = do("GET", "/api/workspaces/"+ws.ID+"/files", tok.Token, ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), `"a.txt"`) {
		t.Fatalf("list = %d %s", rec.Code, rec.Body)
	}
}

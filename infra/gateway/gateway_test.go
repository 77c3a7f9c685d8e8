package gateway_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/vibecode/vibecode/infra/gateway"
)

func TestParseTemplate(t *testing.T) {
	b, err := os.ReadFile("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := gateway.ParseTemplate(b)
	if err != nil {
		t.Fatalf("ParseTemplate: %v", err)
	}
	want := []gateway.Route{
		{"FilesFunction", "GET", "/api/workspaces/{id}/files", "GET /api/workspaces/{id}/files"},
		{"FilesFunction", "GET", "/api/workspaces/{id}/files/{path+}", "GET /api/workspaces/{id}/files/{path...}"},
		{"FilesFunction", "PUT", "/api/workspaces/{id}/files/{path+}", "PUT /api/workspaces/{id}/files/{path...}"},
		{"HealthFunction", "ANY", "/api/health", "/api/health"},
		{"HealthFunction", "GET", "/api/status/", "GET /api/status/{$}"},
	}
	if !slices.Equal(routes, want) {
		t.Errorf("routes =\n%v\nwant\n%v", routes, want)
	}
}

func TestParseTemplate_DefaultRoute(t *testing.T) {
	routes, err := gateway.ParseTemplate([]byte(`
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        All:
          Type: HttpApi
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []gateway.Route{{"Fn", "ANY", "$default", "/"}}
	if !slices.Equal(routes, want) {
		t.Errorf("routes = %v", routes)
	}
}

func TestParseTemplate_Errors(t *testing.T) {
	tmpl := func(events string) []byte {
		return []byte("Resources:\n  Fn:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n" + events)
	}
	ev := func(name, method, path string) string {
		return "        " + name + ":\n          Type: HttpApi\n          Properties:\n            Method: " + method + "\n            Path: " + path + "\n"
	}
	tests := []struct {
		name, want string
		yaml       []byte
	}{
		{"not yaml", "parse template", []byte("Resources: [")},
		{"empty", "empty", nil},
		{"no resources", "no Resources", []byte("Outputs: {}\n")},
		{"greedy not last", "greedy parameter \"{path+}\" must be the last segment", tmpl(ev("A", "GET", "/a/{path+}/b"))},
		{"partial parameter", "whole segment", tmpl(ev("A", "GET", "/a/file-{id}"))},
		{"bad name", "not a Go identifier", tmpl(ev("A", "GET", "/a/{project-id}"))},
		{"repeated name", "repeated", tmpl(ev("A", "GET", "/a/{id}/b/{id}"))},
		{"no slash", "must start with /", tmpl(ev("A", "GET", "a"))},
		{"empty segment", "empty segment", tmpl(ev("A", "GET", "/a//b"))},
		{"unknown method", "unsupported method \"FETCH\"", tmpl(ev("A", "FETCH", "/a"))},
		{"tagged path", "plain strings", tmpl(ev("A", "GET", "!Sub /a/${X}"))},
		{"duplicate", "Fn.Events.B: duplicate route GET /a/{y}, already defined by Fn.Events.A", tmpl(ev("A", "GET", "/a/{x}") + ev("B", "get", "/a/{y}"))},
		{"mux conflict", "route", tmpl(ev("A", "GET", "/a/{x}") + ev("B", "ANY", "/a/b"))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := gateway.ParseTemplate(tt.yaml)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

// echo answers with the function name, method and path values it was routed with.
func echo(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, name+" "+r.Method+" id="+r.PathValue("id")+" path="+r.PathValue("path"))
	})
}

func newGateway(t *testing.T) http.Handler {
	t.Helper()
	b, err := os.ReadFile("testdata/template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	routes, err := gateway.ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	g, err := gateway.New(routes, map[string]http.Handler{
		"FilesFunction":  echo("files"),
		"HealthFunction": echo("health"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func TestNew_Routing(t *testing.T) {
	g := newGateway(t)
	tests := []struct{ method, target, want string }{
		{"GET", "/api/workspaces/w1/files", "files GET id=w1 path="},
		{"GET", "/api/workspaces/w1/files/src/main.go", "files GET id=w1 path=src/main.go"},
		{"PUT", "/api/workspaces/w1/files/a%20b/c%2Fd.txt", "files PUT id=w1 path=a b/c/d.txt"},
		{"GET", "/api/workspaces/w1/files/", "files GET id=w1 path="},
		{"POST", "/api/health", "health POST id= path="},
		{"DELETE", "/api/health", "health DELETE id= path="},
		{"GET", "/api/status/", "health GET id= path="},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != http.StatusOK || rec.Body.String() != tt.want {
				t.Errorf("got %d %q, want 200 %q", rec.Code, rec.Body.String(), tt.want)
			}
		})
	}
}

func TestNew_Errors(t *testing.T) {
	g := newGateway(t)
	tests := []struct {
		method, target string
		status         int
		code, message  string
		allow          string
	}{
		{"GET", "/x", 404, "not_found", "no route for GET /x", ""},
		{"GET", "/api/workspaces/w1", 404, "not_found", "no route for GET /api/workspaces/w1", ""},
		// ServeMux would redirect to /api/status/; API Gateway has no route for it.
		{"GET", "/api/status", 404, "not_found", "no route for GET /api/status", ""},
		// Likewise PUT /files would be redirected to the greedy route with an empty path.
		{"PUT", "/api/workspaces/w1/files", 404, "not_found", "no route for PUT /api/workspaces/w1/files", ""},
		{"DELETE", "/api/workspaces/w1/files/a.txt", 405, "method_not_allowed", "method DELETE not allowed for /api/workspaces/w1/files/a.txt", "GET, HEAD, PUT"},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.target, func(t *testing.T) {
			rec := httptest.NewRecorder()
			g.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, body %q", rec.Code, rec.Body.String())
			}
			if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if a := rec.Header().Get("Allow"); a != tt.allow {
				t.Errorf("Allow = %q, want %q", a, tt.allow)
			}
			if l := rec.Header().Get("Location"); l != "" {
				t.Errorf("Location = %q", l)
			}
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body %q is not JSON: %v", rec.Body.String(), err)
			}
			if body.Error.Code != tt.code || body.Error.Message != tt.message {
				t.Errorf("error = %+v", body.Error)
			}
		})
	}
}

func TestNew_UncleanPathRedirects(t *testing.T) {
	g := newGateway(t)
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/api/workspaces/w1/files/a/../b.txt", nil))
	if rec.Code != http.StatusTemporaryRedirect || rec.Header().Get("Location") != "/api/workspaces/w1/files/b.txt" {
		t.Errorf("got %d Location %q", rec.Code, rec.Header().Get("Location"))
	}
}

func TestNew_MissingHandler(t *testing.T) {
	routes := []gateway.Route{
		{"B", "GET", "/b", "GET /b"},
		{"A", "GET", "/a", "GET /a"},
		{"C", "GET", "/c", "GET /c"},
	}
	_, err := gateway.New(routes, map[string]http.Handler{"C": echo("c")})
	if err == nil || !strings.Contains(err.Error(), "no handler for function(s) A, B") {
		t.Errorf("err = %v", err)
	}
}

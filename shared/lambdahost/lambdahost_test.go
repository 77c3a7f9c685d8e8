package lambdahost_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	"github.com/vibecode/vibecode/shared/lambdahost"
)

// seen is what the test handler observed of one request.
type seen struct {
	method, id, path, rawQuery, host, remote string
	query                                    map[string][]string
	header                                   http.Header
	cookies                                  []string
	body                                     []byte
	routeKey                                 string
}

// pngish is not valid UTF-8, so httpadapter base64-encodes it on its own.
var pngish = []byte{0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0x00, 0xff, 0xfe, 'A'}

// utf8Binary is valid UTF-8 but served as application/octet-stream; only our wrapper
// base64-encodes it.
var utf8Binary = []byte{0x00, 0x01, 0x02, 'A', 'B', '\n', 0x7f}

func newMux(t *testing.T, got *seen) http.Handler {
	t.Helper()
	mux := http.NewServeMux()
	record := func(r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("read body: %v", err)
		}
		var cookies []string
		for _, c := range r.Cookies() {
			cookies = append(cookies, c.Name+"="+c.Value)
		}
		rc, _ := core.GetAPIGatewayV2ContextFromContext(r.Context())
		*got = seen{
			method: r.Method, id: r.PathValue("id"), path: r.PathValue("path"),
			rawQuery: r.URL.RawQuery, query: r.URL.Query(), header: r.Header.Clone(),
			host: r.Host, remote: r.RemoteAddr, cookies: cookies, body: body, routeKey: rc.RouteKey,
		}
	}
	mux.HandleFunc("PUT /api/workspaces/{id}/files/{path...}", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-Id", r.Header.Get("X-Request-Id"))
		w.Header().Add("Vary", "Accept")
		w.Header().Add("Vary", "Authorization")
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"saved":true}`)
	})
	mux.HandleFunc("GET /api/workspaces/{id}/files/{path...}", func(w http.ResponseWriter, r *http.Request) {
		record(r)
		switch r.PathValue("path") {
		case "logo.png":
			w.Header().Set("Content-Type", "image/png")
			_, _ = w.Write(pngish)
		case "blob.bin":
			w.Header().Set("Content-Type", "application/octet-stream")
			_, _ = w.Write(utf8Binary)
		case "empty":
			// Writes nothing: net/http would answer 200 with no body.
		default:
			http.NotFound(w, r)
		}
	})
	return mux
}

func loadEvent(t *testing.T) events.APIGatewayV2HTTPRequest {
	t.Helper()
	b, err := os.ReadFile("testdata/apigw-v2-request.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.APIGatewayV2HTTPRequest
	if err := json.Unmarshal(b, &ev); err != nil {
		t.Fatalf("decode event: %v", err)
	}
	return ev
}

// invoke sends ev through Handler the way the Lambda runtime does: as JSON in, JSON out.
func invoke(t *testing.T, h http.Handler, ev events.APIGatewayV2HTTPRequest) events.APIGatewayV2HTTPResponse {
	t.Helper()
	resp, err := lambdahost.Handler(h)(context.Background(), ev)
	if err != nil {
		t.Fatalf("handler: %v", err)
	}
	b, err := json.Marshal(resp)
	if err != nil {
		t.Fatal(err)
	}
	var out events.APIGatewayV2HTTPResponse
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func responseBody(t *testing.T, resp events.APIGatewayV2HTTPResponse) []byte {
	t.Helper()
	if !resp.IsBase64Encoded {
		return []byte(resp.Body)
	}
	b, err := base64.StdEncoding.DecodeString(resp.Body)
	if err != nil {
		t.Fatalf("response body is not base64: %v", err)
	}
	return b
}

func TestHandler_Request(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(*events.APIGatewayV2HTTPRequest)
		wantPath string
		wantBody []byte
	}{
		{
			name:     "base64 body, encoded path",
			edit:     func(*events.APIGatewayV2HTTPRequest) {},
			wantPath: "src/my notes/read me.md",
			wantBody: pngish,
		},
		{
			name: "plain body",
			edit: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.Body = "# Read me\n\nhéllo\n"
				ev.IsBase64Encoded = false
				ev.Headers["content-type"] = "text/markdown; charset=utf-8"
			},
			wantPath: "src/my notes/read me.md",
			wantBody: []byte("# Read me\n\nhéllo\n"),
		},
		{
			// API Gateway HTTP APIs hand rawPath over percent-decoded. Characters that are
			// URL syntax must still land in the path value, not the query or fragment.
			name: "decoded path with URL syntax characters",
			edit: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawPath = "/api/workspaces/ws_123/files/src/what?#100%.md"
			},
			wantPath: "src/what?#100%.md",
			wantBody: pngish,
		},
		{
			name: "empty rawPath falls back to requestContext.http.path",
			edit: func(ev *events.APIGatewayV2HTTPRequest) {
				ev.RawPath = ""
			},
			wantPath: "src/my notes/read me.md",
			wantBody: pngish,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := loadEvent(t)
			tt.edit(&ev)
			var got seen
			resp := invoke(t, newMux(t, &got), ev)

			if resp.StatusCode != http.StatusCreated {
				t.Fatalf("status = %d, body %q", resp.StatusCode, resp.Body)
			}
			if got.method != http.MethodPut {
				t.Errorf("method = %q", got.method)
			}
			if got.id != "ws_123" || got.path != tt.wantPath {
				t.Errorf("path values = %q, %q; want ws_123, %q", got.id, got.path, tt.wantPath)
			}
			if got.rawQuery != "overwrite=true&tag=a&tag=b&q=caf%C3%A9" {
				t.Errorf("raw query = %q", got.rawQuery)
			}
			if !slices.Equal(got.query["tag"], []string{"a", "b"}) || got.query["q"][0] != "café" {
				t.Errorf("query = %v", got.query)
			}
			if !bytes.Equal(got.body, tt.wantBody) {
				t.Errorf("body = %q, want %q", got.body, tt.wantBody)
			}
			if v := got.header.Get("Authorization"); v != "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig" {
				t.Errorf("Authorization = %q", v)
			}
			if v := got.header.Get("X-Request-Id"); v != "req-42" {
				t.Errorf("X-Request-Id = %q", v)
			}
			// Singleton headers keep their commas; the others are split on them.
			if v := got.header.Values("User-Agent"); !slices.Equal(v, []string{"vibecode-ide/1.0 (test, like curl)"}) {
				t.Errorf("User-Agent = %q", v)
			}
			if v := got.header.Values("Accept"); !slices.Equal(v, []string{"application/json", "text/plain"}) {
				t.Errorf("Accept = %q", v)
			}
			if !slices.Equal(got.cookies, []string{"session=abc", "theme=dark"}) {
				t.Errorf("cookies = %v", got.cookies)
			}
			if got.host != "abcdef1234.execute-api.eu-west-1.amazonaws.com" || got.remote != "203.0.113.7" {
				t.Errorf("host, remote = %q, %q", got.host, got.remote)
			}
			if got.routeKey != "PUT /api/workspaces/{id}/files/{path+}" {
				t.Errorf("API Gateway context route key = %q", got.routeKey)
			}
		})
	}
}

func TestHandler_Response(t *testing.T) {
	var got seen
	resp := invoke(t, newMux(t, &got), loadEvent(t))

	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("status = %d", resp.StatusCode)
	}
	if resp.IsBase64Encoded || resp.Body != `{"saved":true}` {
		t.Errorf("body = %q (base64 %v)", resp.Body, resp.IsBase64Encoded)
	}
	if v := resp.Headers["Content-Type"]; v != "application/json" {
		t.Errorf("Content-Type = %q", v)
	}
	if v := resp.Headers["X-Request-Id"]; v != "req-42" {
		t.Errorf("X-Request-Id = %q", v)
	}
	// Payload 2.0 has no multi-value headers: repeated ones are joined, cookies move out.
	if v := resp.Headers["Vary"]; v != "Accept,Authorization" {
		t.Errorf("Vary = %q", v)
	}
	if !slices.Equal(resp.Cookies, []string{"a=1", "b=2"}) {
		t.Errorf("cookies = %v", resp.Cookies)
	}
	if _, ok := resp.Headers["Set-Cookie"]; ok {
		t.Error("Set-Cookie left in headers")
	}
}

func TestHandler_BinaryDownload(t *testing.T) {
	tests := []struct {
		file, contentType string
		want              []byte
	}{
		{"logo.png", "image/png", pngish},
		{"blob.bin", "application/octet-stream", utf8Binary},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			ev := loadEvent(t)
			ev.RequestContext.HTTP.Method = http.MethodGet
			ev.RawPath = "/api/workspaces/ws_123/files/" + tt.file
			ev.Body, ev.IsBase64Encoded = "", false
			var got seen
			resp := invoke(t, newMux(t, &got), ev)

			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}
			if !resp.IsBase64Encoded {
				t.Fatalf("binary body not base64-encoded: %q", resp.Body)
			}
			if b := responseBody(t, resp); !bytes.Equal(b, tt.want) {
				t.Errorf("body = %x, want %x", b, tt.want)
			}
			if v := resp.Headers["Content-Type"]; v != tt.contentType {
				t.Errorf("Content-Type = %q", v)
			}
		})
	}
}

func TestHandler_EmptyResponseIs200(t *testing.T) {
	ev := loadEvent(t)
	ev.RequestContext.HTTP.Method = http.MethodGet
	ev.RawPath = "/api/workspaces/ws_123/files/empty"
	var got seen
	resp := invoke(t, newMux(t, &got), ev)
	if resp.StatusCode != http.StatusOK || resp.Body != "" {
		t.Errorf("status = %d, body %q; want 200 and empty", resp.StatusCode, resp.Body)
	}
}

func TestHandler_NotFound(t *testing.T) {
	ev := loadEvent(t)
	ev.RequestContext.HTTP.Method = http.MethodGet
	ev.RawPath = "/api/workspaces/ws_123/files/missing"
	var got seen
	resp := invoke(t, newMux(t, &got), ev)
	if resp.StatusCode != http.StatusNotFound || resp.IsBase64Encoded {
		t.Errorf("status = %d, base64 %v", resp.StatusCode, resp.IsBase64Encoded)
	}
}

func TestDetected(t *testing.T) {
	env := map[string]string{}
	getenv := func(k string) string { return env[k] }
	if lambdahost.Detected(getenv) {
		t.Error("detected without AWS_LAMBDA_RUNTIME_API")
	}
	env["AWS_LAMBDA_RUNTIME_API"] = "127.0.0.1:9001"
	if !lambdahost.Detected(getenv) {
		t.Error("not detected with AWS_LAMBDA_RUNTIME_API")
	}
}

package gcfhost_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/gcfhost"
)

// freePort finds a loopback port the framework can listen on; the framework cannot report the
// port it was given when asked for port 0.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

type seen struct {
	method, path, escaped, rawQuery, id, file, header string
	body                                              []byte
}

// The Functions Framework keeps a process-global registry and reads FUNCTION_TARGET when it
// starts, so this test sets the variable with t.Setenv (which also forbids t.Parallel) and uses
// a function name no other test registers. The framework's listener cannot be stopped and
// lives until the test binary exits.
func TestStart_ServesOriginalRequest(t *testing.T) {
	const name = "GcfhostTestAPI"
	t.Setenv("FUNCTION_TARGET", name)
	t.Setenv("K_SERVICE", "")
	t.Setenv("CLOUD_RUN_TIMEOUT_SECONDS", "")

	got := make(chan seen, 1)
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/workspaces/{id}/files/{path...}", func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got <- seen{
			method: r.Method, path: r.URL.Path, escaped: r.URL.EscapedPath(), rawQuery: r.URL.RawQuery,
			id: r.PathValue("id"), file: r.PathValue("path"), header: r.Header.Get("X-Request-Id"), body: body,
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"saved":true}`)
	})
	// A first registration that a second one must replace without the framework exiting.
	gcfhost.Register(name, http.NotFoundHandler())
	gcfhost.Register(name, mux)

	ctx, cancel := context.WithCancel(context.Background())
	port := freePort(t)
	errc := make(chan error, 1)
	go func() { errc <- gcfhost.Start(ctx, "127.0.0.1", port) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Start: %v", err)
		}
	}()

	base := "http://127.0.0.1:" + strconv.Itoa(port)
	url := base + "/api/workspaces/ws_1/files/src/my%20file%231.txt?overwrite=true"
	var resp *http.Response
	for deadline := time.Now().Add(10 * time.Second); ; {
		req, _ := http.NewRequest(http.MethodPut, url, strings.NewReader("hello\x00world"))
		req.Header.Set("X-Request-Id", "req-7")
		var err error
		resp, err = http.DefaultClient.Do(req)
		if err == nil {
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("Start returned early: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("framework did not come up: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)

	if resp.StatusCode != http.StatusCreated || string(body) != `{"saved":true}` {
		t.Fatalf("response = %d %q", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	s := <-got
	if s.method != http.MethodPut {
		t.Errorf("method = %q", s.method)
	}
	if s.path != "/api/workspaces/ws_1/files/src/my file#1.txt" || s.escaped != "/api/workspaces/ws_1/files/src/my%20file%231.txt" {
		t.Errorf("path = %q, escaped %q", s.path, s.escaped)
	}
	if s.id != "ws_1" || s.file != "src/my file#1.txt" {
		t.Errorf("path values = %q, %q", s.id, s.file)
	}
	if s.rawQuery != "overwrite=true" || s.header != "req-7" || string(s.body) != "hello\x00world" {
		t.Errorf("query %q, header %q, body %q", s.rawQuery, s.header, s.body)
	}

	// Paths the mux does not know are the handler's to answer, not the framework's.
	resp2, err := http.Get(base + "/api/nope")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusNotFound {
		t.Errorf("unknown path status = %d", resp2.StatusCode)
	}
}

func TestStart_RequiresFunctionTarget(t *testing.T) {
	t.Setenv("FUNCTION_TARGET", "")
	err := gcfhost.Start(context.Background(), "127.0.0.1", freePort(t))
	if err == nil || !strings.Contains(err.Error(), "FUNCTION_TARGET") {
		t.Fatalf("err = %v", err)
	}
}

func TestStart_UnknownTarget(t *testing.T) {
	t.Setenv("FUNCTION_TARGET", "GcfhostTestNobody")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := gcfhost.Start(ctx, "127.0.0.1", freePort(t))
	if err == nil || errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "GcfhostTestNobody") {
		t.Fatalf("err = %v", err)
	}
}

func TestDetected(t *testing.T) {
	for _, tt := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"K_SERVICE": "api"}, true},
		{map[string]string{"FUNCTION_TARGET": "Api"}, true},
		{map[string]string{"AWS_LAMBDA_RUNTIME_API": "x"}, false},
	} {
		if got := gcfhost.Detected(func(k string) string { return tt.env[k] }); got != tt.want {
			t.Errorf("Detected(%v) = %v", tt.env, got)
		}
	}
}

package host_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/config"
	"github.com/vibecode/vibecode/shared/host"
)

// urlHandler is a slog.Handler that hands over the "url" attribute the server logs, so tests
// can listen on port 0 and still find the server.
type urlHandler struct{ urls chan string }

func (h urlHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h urlHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h urlHandler) WithGroup(string) slog.Handler            { return h }
func (h urlHandler) Handle(_ context.Context, r slog.Record) error {
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "url" {
			h.urls <- a.Value.String()
		}
		return true
	})
	return nil
}

func newLogger() (*slog.Logger, <-chan string) {
	urls := make(chan string, 1)
	return slog.New(urlHandler{urls}), urls
}

func waitURL(t *testing.T, urls <-chan string, errc <-chan error) string {
	t.Helper()
	select {
	case u := <-urls:
		return u
	case err := <-errc:
		t.Fatalf("server returned before listening: %v", err)
	case <-time.After(5 * time.Second):
		t.Fatal("server did not log its URL")
	}
	return ""
}

func TestListenAndServe_GracefulShutdown(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(entered)
		<-release
		_, _ = io.WriteString(w, "finished")
	})
	log, urls := newLogger()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- host.ListenAndServe(ctx, "127.0.0.1:0", h, log) }()
	url := waitURL(t, urls, errc)
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0") {
		t.Fatalf("logged url = %q", url)
	}

	type result struct {
		body string
		err  error
	}
	inflight := make(chan result, 1)
	go func() {
		resp, err := http.Get(url + "/slow")
		if err != nil {
			inflight <- result{err: err}
			return
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		inflight <- result{string(b), err}
	}()
	<-entered
	cancel()

	// The listener closes at once; the in-flight request holds Shutdown open.
	addr := strings.TrimPrefix(url, "http://")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after cancel")
		}
	}
	select {
	case err := <-errc:
		t.Fatalf("returned with a request in flight: %v", err)
	case <-time.After(50 * time.Millisecond):
	}

	close(release)
	if r := <-inflight; r.err != nil || r.body != "finished" {
		t.Errorf("in-flight request = %q, %v", r.body, r.err)
	}
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("ListenAndServe = %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenAndServe did not return after shutdown")
	}
}

func TestListenAndServe_AddressInUse(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	log, _ := newLogger()
	err = host.ListenAndServe(context.Background(), l.Addr().String(), http.NotFoundHandler(), log)
	var opErr *net.OpError
	if !errors.As(err, &opErr) || !strings.HasPrefix(err.Error(), "host: listen on ") {
		t.Fatalf("err = %v, want a wrapped *net.OpError", err)
	}
}

func TestServe_Local(t *testing.T) {
	// Make sure no platform is detected, even on a CI machine that happens to be in one.
	for _, k := range []string{"AWS_LAMBDA_RUNTIME_API", "K_SERVICE", "FUNCTION_TARGET"} {
		t.Setenv(k, "")
	}
	cfg, err := config.FromEnv(func(k string) string {
		return map[string]string{"HOST": "127.0.0.1", "PORT": "0"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.Method+" "+r.URL.Path)
	})
	log, urls := newLogger()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- host.Serve(ctx, "ApiFunction", h, cfg, log) }()
	url := waitURL(t, urls, errc)

	resp, err := http.Get(url + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "GET /api/health" {
		t.Errorf("body = %q", b)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Serve = %v", err)
	}
}

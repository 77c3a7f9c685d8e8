package gemini_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/vibecode/vibecode/shared/domain"
)

// Test helpers for speaking SSE from an httptest server. Each adapter package keeps its own
// copy: adapters never import each other and there is no shared test-utility package.

// newServer starts a server for h that is closed when the test ends, and a client with its
// own transport, so a test can close its idle connections and count goroutines.
func newServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *http.Client) {
	t.Helper()
	srv := httptest.NewServer(h)
	tr := &http.Transport{}
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.CloseClientConnections() // so a stream a test failed to close cannot hang Close
		srv.Close()
	})
	return srv, &http.Client{Transport: tr}
}

// startSSE sends the headers of a 200 event stream.
func startSSE(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	w.(http.Flusher).Flush()
}

// cutConnection drops the connection in the middle of the chunked body, as a crashed upstream
// or a broken proxy would.
func cutConnection() {
	panic(http.ErrAbortHandler)
}

// collect reads a stream to its end: the deltas in order, the final event, and the error that
// ended it (nil after a clean io.EOF).
func collect(t *testing.T, st domain.ChatStream) (deltas []string, final *domain.ChatEvent, err error) {
	t.Helper()
	for i := 0; i < 10_000; i++ {
		ev, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return deltas, final, nil
		}
		if err != nil {
			return deltas, final, err
		}
		switch {
		case ev.Delta != "" && final != nil:
			t.Fatalf("delta %q after the final event", ev.Delta)
		case ev.Delta != "":
			deltas = append(deltas, ev.Delta)
		case ev.FinishReason != "":
			if final != nil {
				t.Fatalf("second final event %+v", ev)
			}
			final = &ev
		default:
			t.Fatalf("empty event %+v", ev)
		}
	}
	t.Fatal("stream did not end")
	return nil, nil, nil
}

// providerError asserts that err is a *domain.ProviderError of the kind.
func providerError(t *testing.T, err error, kind domain.ProviderErrorKind) *domain.ProviderError {
	t.Helper()
	var pe *domain.ProviderError
	if !errors.As(err, &pe) {
		t.Fatalf("err = %v (%T), want a *domain.ProviderError", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("kind = %s, want %s (%v)", pe.Kind, kind, err)
	}
	if !strings.HasPrefix(err.Error(), pe.Provider+": ") {
		t.Errorf("error %q does not start with the provider name", err)
	}
	return pe
}

// waitClosed fails the test if done is not closed within a few seconds.
func waitClosed(t *testing.T, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
	}
}

// checkGoroutines returns a function that fails the test if goroutines outlive the streams:
// first any client connection goroutine (net/http.(*persistConn)) or goroutine of the package
// under test, while the server is still up, so a stream that was not released shows; then,
// once the caller has closed the server, any goroutine over the count of now.
func checkGoroutines(t *testing.T, pkg string) (clientSide, total func()) {
	t.Helper()
	before := runtime.NumGoroutine()
	stacks := func() string {
		buf := make([]byte, 4<<20)
		return string(buf[:runtime.Stack(buf, true)])
	}
	clientSide = func() {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			var leaked []string
			for _, g := range strings.Split(stacks(), "\n\n") {
				if strings.Contains(g, "net/http.(*persistConn)") || strings.Contains(g, pkg+".") {
					leaked = append(leaked, g)
				}
			}
			if len(leaked) == 0 {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d client goroutines left:\n%s", len(leaked), strings.Join(leaked, "\n\n"))
			}
		}
	}
	total = func() {
		t.Helper()
		for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("goroutines: %d before, %d after:\n%s", before, runtime.NumGoroutine(), stacks())
			}
		}
	}
	return clientSide, total
}

// ctxTimeout returns a context that ends with the test or after a generous timeout, so a
// broken stream fails the test instead of hanging it.
func ctxTimeout(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

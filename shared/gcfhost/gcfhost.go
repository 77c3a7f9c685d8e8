// Package gcfhost runs one of VibeCode's http.Handlers on Google Cloud Functions (gen2) through
// the Functions Framework for Go.
//
// The framework keeps its functions in a process-global registry and chooses what to serve from
// the FUNCTION_TARGET environment variable when it starts:
//
//   - FUNCTION_TARGET set (always, on Cloud Functions): the function of that name is mounted at
//     "/" of a fresh http.ServeMux, which matches every path and strips nothing, so the handler
//     sees the original method, path (r.URL.Path and the escaped r.URL.RawPath), query and body.
//     Like any ServeMux it first redirects unclean paths ("//", "/./", "/../") to their clean form.
//   - FUNCTION_TARGET unset: every function is served only at "/<name>", exactly, which would
//     break our /api/... routes; Start refuses to run that way.
//
// Per request the framework also recovers panics (500, X-Google-Status: crash), bounds the
// request context by CLOUD_RUN_TIMEOUT_SECONDS when set, and, when K_SERVICE is set, prints an
// empty line to stdout and stderr to flush logs. Its server is a bare http.ListenAndServe with
// no timeouts and no way to stop it; see Start.
package gcfhost

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"sync"

	"github.com/GoogleCloudPlatform/functions-framework-go/funcframework"
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
)

var (
	mu       sync.RWMutex
	handlers = map[string]http.Handler{}
)

// Register makes h the Cloud Function called name (the entry point named in the deployment,
// and the value of FUNCTION_TARGET). The framework's registry is process-global and exits the
// process on a duplicate name, so Register registers each name once and a later call with the
// same name replaces the handler instead; that keeps tests and re-wiring safe.
func Register(name string, h http.Handler) {
	mu.Lock()
	defer mu.Unlock()
	_, known := handlers[name]
	handlers[name] = h
	if known {
		return
	}
	functions.HTTP(name, func(w http.ResponseWriter, r *http.Request) {
		mu.RLock()
		h := handlers[name]
		mu.RUnlock()
		h.ServeHTTP(w, r)
	})
}

// Start serves the function named by FUNCTION_TARGET on host:port through the Functions
// Framework, as Cloud Functions does after Register. An empty host listens on every interface,
// which Cloud Run requires. Port 0 is not useful: the framework does not report the port it got.
//
// Start returns the framework's error if the server cannot start, or nil once ctx is done. The
// framework has no shutdown, so its listener stays open until the process exits, which on Cloud
// Run follows SIGTERM within seconds.
func Start(ctx context.Context, host string, port int) error {
	if os.Getenv("FUNCTION_TARGET") == "" {
		return errors.New("gcfhost: FUNCTION_TARGET is not set, so the functions framework would serve each function only at /<name>")
	}
	errc := make(chan error, 1)
	go func() { errc <- funcframework.StartHostPort(host, strconv.Itoa(port)) }()
	select {
	case err := <-errc:
		return fmt.Errorf("gcfhost: functions framework: %w", err)
	case <-ctx.Done():
		return nil
	}
}

// Detected reports whether the process runs on Cloud Functions gen2 or Cloud Run, which set
// K_SERVICE, or under the Functions Framework, which is told its function by FUNCTION_TARGET.
// getenv is a parameter so the choice can be tested without touching the process environment.
func Detected(getenv func(string) string) bool {
	return getenv("K_SERVICE") != "" || getenv("FUNCTION_TARGET") != ""
}

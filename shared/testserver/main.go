package testserver

import (
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
)

var (
	stopMu sync.Mutex
	stops  []func()

	// mainRunning is set by Main; servers refuse to start without it, because nothing
	// else would stop them and they would outlive the test binary.
	mainRunning atomic.Bool

	// warned remembers which skip reasons were already printed to stderr.
	warned sync.Map
)

// Main runs the tests and then stops every server this package started, so no server
// outlives the test binary. Call it from TestMain: os.Exit(testserver.Main(m)).
func Main(m *testing.M) int {
	mainRunning.Store(true)
	code := m.Run()
	mainRunning.Store(false)
	stopAll()
	return code
}

// onStop registers f to be called by Main after the tests, in reverse order of
// registration (the last server started is the first stopped).
func onStop(f func()) {
	stopMu.Lock()
	defer stopMu.Unlock()
	stops = append(stops, f)
}

// stopAll calls the registered stop funcs in reverse order and forgets them.
func stopAll() {
	stopMu.Lock()
	fs := stops
	stops = nil
	stopMu.Unlock()
	for i := len(fs) - 1; i >= 0; i-- {
		fs[i]()
	}
}

// requireMain fails the test when the test binary's TestMain does not call Main.
func requireMain(tb testing.TB) {
	tb.Helper()
	if !mainRunning.Load() {
		tb.Fatalf("testserver: this package needs func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) } so its servers are stopped")
	}
}

// requireServers reports whether missing servers must fail tests instead of skipping them
// (VIBECODE_TEST_SERVERS=require, set by make test and CI).
func requireServers() bool {
	return os.Getenv("VIBECODE_TEST_SERVERS") == "require"
}

// unavailable ends the test because a server cannot be started for the given reason: it
// fails when servers are required and otherwise skips loudly (also on stderr, once per
// reason, so a plain `go test` run does not hide that half the suite did not run).
func unavailable(tb testing.TB, format string, args ...any) {
	tb.Helper()
	reason := fmt.Sprintf(format, args...)
	if requireServers() {
		tb.Fatalf("testserver: %s (VIBECODE_TEST_SERVERS=require)", reason)
	}
	msg := fmt.Sprintf("SKIPPED: %s; install it or run make test", reason)
	if _, dup := warned.LoadOrStore(reason, true); !dup {
		fmt.Fprintf(os.Stderr, "testserver: %s\n", msg)
	}
	tb.Skip(msg)
}

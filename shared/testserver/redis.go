package testserver

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// redisStartTimeout bounds how long redis-server may take to answer PING.
const redisStartTimeout = 10 * time.Second

// redisDatabases is the number of logical databases the server is started with; each call of
// Redis takes the next one, so it bounds the calls per test binary.
const redisDatabases = 10000

var (
	redisOnce   sync.Once
	redisShared *redisServer
	redisErr    error
)

// Redis returns the URL (redis://127.0.0.1:<port>/<db>) of an empty logical database on a
// throwaway redis-server, so tests get real Redis semantics (TTLs, SCAN, glob matching)
// without interfering with each other. One server is started on first use and stopped by
// Main; every call gets a database number no other call in the binary gets, which is far
// cheaper than a server per test and isolates just as well, since nothing outside the test
// binary knows the server. When redis-server is not installed the test is skipped (or fails,
// see requireServers).
func Redis(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	redisOnce.Do(func() {
		redisShared, redisErr = startRedis()
		if redisShared != nil {
			onStop(redisShared.stop)
		}
	})
	var u *redisUnavailableError
	if errors.As(redisErr, &u) {
		unavailable(tb, "%s", u.reason)
	}
	if redisErr != nil {
		tb.Fatalf("testserver: %v", redisErr)
	}
	db := redisShared.dbs.Add(1) - 1
	if db >= redisDatabases {
		tb.Fatalf("testserver: all %d redis databases of this test binary are taken; raise redisDatabases", redisDatabases)
	}
	return fmt.Sprintf("redis://127.0.0.1:%d/%d", redisShared.port, db)
}

// redisUnavailableError is a start failure that means "not installed here" rather than
// "broken": the test is skipped, not failed, unless servers are required.
type redisUnavailableError struct{ reason string }

func (e *redisUnavailableError) Error() string { return e.reason }

// redisServer is one running redis-server.
type redisServer struct {
	dir     string // working directory (--dir) and server.log
	logPath string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the server process has exited
	waitErr error         // the server's exit status, valid once exited is closed
	dbs     atomic.Int64  // databases handed out so far
}

func startRedis() (_ *redisServer, err error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, &redisUnavailableError{"Redis server is not installed (no redis-server on PATH)"}
	}
	dir, err := os.MkdirTemp(os.TempDir(), "vibecode-redis-")
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	s := &redisServer{dir: dir, logPath: filepath.Join(dir, "server.log")}
	// A free port can be taken by someone else before the server binds it; try again then.
	for attempt := 1; ; attempt++ {
		err = s.start(bin)
		if err == nil || attempt == 3 || !strings.Contains(s.logTail(), "Address already in use") {
			return s, err
		}
	}
}

// start starts the server on a free loopback port and waits until it answers PING.
func (s *redisServer) start(bin string) error {
	port, err := redisFreePort()
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	s.port = port
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	defer logf.Close() // the child holds its own descriptor

	// No persistence: the data is worthless once the tests end, and saving costs time.
	cmd := exec.Command(bin,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--dir", s.dir,
		"--databases", strconv.Itoa(redisDatabases),
		"--logfile", "", // log to stdout, which is the log file
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	// Have the kernel stop the server if the test binary dies without Main stopping it (a
	// panic, a -timeout). Pdeathsig exists only on Linux; reflection keeps this file portable
	// without a build-tagged twin.
	if f := reflect.ValueOf(cmd.SysProcAttr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGTERM))
	}
	if err := cmd.Start(); err != nil {
		return s.failure("start redis-server: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(redisStartTimeout)
	for {
		select {
		case <-s.exited:
			s.cmd = nil
			return s.failure("redis-server exited during startup: %v", s.waitErr)
		default:
		}
		err := redisPing(s.addr())
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			failure := s.failure("redis-server did not answer PING within %v: %v", redisStartTimeout, err)
			s.stop()
			return failure
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop shuts the server down (SIGTERM: without persistence it exits at once) and removes
// its directory.
func (s *redisServer) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		s.cmd = nil
	}
	os.RemoveAll(s.dir)
}

func (s *redisServer) addr() string {
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port))
}

// redisPing sends one PING in RESP and expects +PONG; it is all the protocol this package
// needs, so it does not pull a client library into every test binary that imports it.
func redisPing(addr string) error {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimRight(line, "\r\n"); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line) // e.g. -LOADING while it starts
	}
	return nil
}

// failure returns an error with the tail of the server log, which usually says why.
func (s *redisServer) failure(format string, args ...any) error {
	return fmt.Errorf("redis: %s\n--- %s (tail) ---\n%s", fmt.Sprintf(format, args...), s.logPath, s.logTail())
}

func (s *redisServer) logTail() string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return err.Error()
	}
	const max = 4 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// redisFreePort returns a loopback TCP port that was free a moment ago.
func redisFreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

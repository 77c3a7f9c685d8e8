package testserver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// pgBinDir is where Debian's postgresql-15 package installs the server binaries; they are
// not on PATH there, so it is searched first.
const pgBinDir = "/usr/lib/postgresql/15/bin"

// pgStartTimeout bounds how long the server may take to accept connections.
const pgStartTimeout = 30 * time.Second

var (
	pgOnce   sync.Once
	pgShared *pgServer
	pgErr    error
)

// Postgres returns the DSN (postgres://…) of a fresh, empty database on a throwaway
// PostgreSQL server with pgvector available, so every test gets its own schema without
// paying for a server each. The server starts on first use and is stopped by Main. When
// PostgreSQL or pgvector is not installed the test is skipped (or fails, see requireServers).
func Postgres(tb testing.TB) string {
	tb.Helper()
	requireMain(tb)
	pgOnce.Do(func() {
		pgShared, pgErr = startPostgres()
		if pgShared != nil {
			onStop(pgShared.stop)
		}
	})
	var u *unavailableError
	if errors.As(pgErr, &u) {
		unavailable(tb, "%s", u.reason)
	}
	if pgErr != nil {
		tb.Fatalf("testserver: %v", pgErr)
	}
	name, err := pgShared.createDatabase(tb.Name())
	if err != nil {
		tb.Fatalf("testserver: %v", err)
	}
	return pgShared.dsn(name)
}

// unavailableError is a start failure that means "not installed here" rather than
// "broken": the test is skipped, not failed, unless servers are required.
type unavailableError struct{ reason string }

func (e *unavailableError) Error() string { return e.reason }

// pgServer is one running PostgreSQL server.
type pgServer struct {
	dir     string // owned by the server's user: data/, the Unix socket, server.log
	logPath string
	port    int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the server process has exited
	waitErr error         // the server's exit status, valid once exited is closed
	dbs     atomic.Int64  // databases created so far, for unique names
}

type pgBinaries struct{ initdb, postgres, pgConfig string }

// findPostgres locates the server binaries: Debian's versioned directory first, then PATH.
func findPostgres() (pgBinaries, error) {
	if _, err := os.Stat(filepath.Join(pgBinDir, "postgres")); err == nil {
		return pgBinaries{
			initdb:   filepath.Join(pgBinDir, "initdb"),
			postgres: filepath.Join(pgBinDir, "postgres"),
			pgConfig: filepath.Join(pgBinDir, "pg_config"),
		}, nil
	}
	var b pgBinaries
	for _, p := range []struct {
		name string
		dst  *string
	}{{"initdb", &b.initdb}, {"postgres", &b.postgres}, {"pg_config", &b.pgConfig}} {
		path, err := exec.LookPath(p.name)
		if err != nil {
			return b, &unavailableError{fmt.Sprintf("PostgreSQL server is not installed (no %s in %s or on PATH)", p.name, pgBinDir)}
		}
		*p.dst = path
	}
	return b, nil
}

// checkPgvector reports whether the pgvector extension is installed for this server.
func checkPgvector(pgConfig string) error {
	out, err := exec.Command(pgConfig, "--sharedir").Output()
	if err != nil {
		return &unavailableError{fmt.Sprintf("pgvector is not installed (make test builds it): cannot run %s --sharedir: %v", pgConfig, err)}
	}
	control := filepath.Join(strings.TrimSpace(string(out)), "extension", "vector.control")
	if _, err := os.Stat(control); err != nil {
		return &unavailableError{fmt.Sprintf("pgvector is not installed (make test builds it): no %s", control)}
	}
	return nil
}

// unprivilegedUser returns the credential to run the server with when the tests run as
// root, because PostgreSQL refuses to run as root.
func unprivilegedUser() (*syscall.Credential, error) {
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
	}
	return nil, &unavailableError{"tests run as root, PostgreSQL refuses to, and neither a postgres nor a nobody user exists to run it as"}
}

func startPostgres() (_ *pgServer, err error) {
	bins, err := findPostgres()
	if err != nil {
		return nil, err
	}
	if err := checkPgvector(bins.pgConfig); err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		if cred, err = unprivilegedUser(); err != nil {
			return nil, err
		}
	}
	removeStalePostgresDirs()
	// Not t.TempDir: the server's user must be able to reach the directory, and a root-only
	// parent would stop it.
	dir, err := os.MkdirTemp(os.TempDir(), pgDirPrefix)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if cred != nil {
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return nil, fmt.Errorf("postgres: %w", err)
		}
	}
	s := &pgServer{dir: dir, logPath: filepath.Join(dir, "server.log")}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	defer logf.Close() // the children hold their own descriptors

	data := filepath.Join(dir, "data")
	initdb := s.command(bins.initdb, cred, logf,
		"-D", data, "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale=C", "--no-instructions")
	if err := initdb.Run(); err != nil {
		return nil, s.failure("initdb: %v", err)
	}
	// A free port can be taken by someone else before the server binds it; try again then.
	for attempt := 1; ; attempt++ {
		err = s.start(bins.postgres, cred, logf, data)
		if err == nil || attempt == 3 || !strings.Contains(s.logTail(), "could not bind") {
			return s, err
		}
	}
}

// pgDirPrefix names the servers' temporary directories.
const pgDirPrefix = "vibecode-pg-"

// removeStalePostgresDirs removes the directories of servers whose test binary died without
// Main (the kernel then kills the server, see command, but cannot remove its files). A
// directory is stale when no live process holds its postmaster.pid and it is over ten minutes
// old, so one still being set up by a concurrent test binary is left alone.
func removeStalePostgresDirs() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), pgDirPrefix+"*"))
	for _, dir := range dirs {
		if fi, err := os.Stat(dir); err != nil || time.Since(fi.ModTime()) < 10*time.Minute {
			continue
		}
		if b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid")); err == nil {
			pid, _ := strconv.Atoi(strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0]))
			if pid > 0 {
				if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
					continue // its server is running
				}
			}
		}
		os.RemoveAll(dir)
	}
}

// command returns a command that runs as cred (when not nil) with its output in the log, and
// that the kernel kills if the test binary dies without Main stopping it (a panic, a
// -timeout), so no server outlives its tests.
func (s *pgServer) command(path string, cred *syscall.Credential, logf *os.File, args ...string) *exec.Cmd {
	cmd := exec.Command(path, args...)
	cmd.Dir = s.dir
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	// Pdeathsig exists only on Linux; reflection keeps this file portable without a
	// build-tagged twin. SIGQUIT is PostgreSQL's immediate shutdown.
	if f := reflect.ValueOf(cmd.SysProcAttr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGQUIT))
	}
	return cmd
}

// sharedBuffers is the server's shared_buffers: 128MB, enough for any test, unless
// VIBECODE_TEST_PG_SHARED_BUFFERS says otherwise. Benchmarks over large tables set it
// (docs/benchmarks.md) so that, as on a production server sized for its data, the table and
// its indexes are read from PostgreSQL's own cache rather than through the kernel's.
func sharedBuffers() string {
	if v := os.Getenv("VIBECODE_TEST_PG_SHARED_BUFFERS"); v != "" {
		return v
	}
	return "128MB"
}

// start starts the server on a free loopback port and waits until it accepts connections.
func (s *pgServer) start(postgres string, cred *syscall.Credential, logf *os.File, data string) error {
	port, err := freePort()
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	s.port = port
	// Durability is pointless for a throwaway server and costs most of the test time.
	cmd := s.command(postgres, cred, logf, "-D", data, "-p", strconv.Itoa(port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories="+s.dir,
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
		"-c", "max_connections=200",
		"-c", "shared_buffers="+sharedBuffers(),
	)
	if err := cmd.Start(); err != nil {
		return s.failure("start postgres: %v", err)
	}
	s.cmd = cmd
	s.exited = make(chan struct{})
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	deadline := time.Now().Add(pgStartTimeout)
	for {
		select {
		case <-s.exited:
			return s.failure("postgres exited during startup: %v", s.waitErr)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, s.dsn("postgres"))
		if err == nil {
			conn.Close(ctx)
			cancel()
			return nil
		}
		cancel()
		if time.Now().After(deadline) {
			ferr := s.failure("postgres did not accept connections within %v: %v", pgStartTimeout, err)
			_ = cmd.Process.Kill()
			<-s.exited
			return ferr
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stop shuts the server down (SIGINT is PostgreSQL's fast shutdown: clients are
// disconnected, nothing is waited for) and removes its directory.
func (s *pgServer) stop() {
	if s.cmd != nil {
		_ = s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.exited:
		case <-time.After(15 * time.Second):
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
	}
	os.RemoveAll(s.dir)
}

func (s *pgServer) dsn(database string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, database)
}

// createDatabase creates an empty database named after the test, unique in this server.
func (s *pgServer) createDatabase(testName string) (string, error) {
	name := fmt.Sprintf("t%d_", s.dbs.Add(1))
	for _, r := range strings.ToLower(testName) {
		if len(name) >= 63 { // PostgreSQL truncates identifiers to 63 bytes
			break
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			name += string(r)
		} else if !strings.HasSuffix(name, "_") {
			name += "_"
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, s.dsn("postgres"))
	if err != nil {
		return "", s.failure("connect to create a database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", s.failure("create database %s: %v", name, err)
	}
	return name, nil
}

// failure returns an error with the tail of the server log, which usually says why.
func (s *pgServer) failure(format string, args ...any) error {
	return fmt.Errorf("postgres: %s\n--- %s (tail) ---\n%s", fmt.Sprintf(format, args...), s.logPath, s.logTail())
}

func (s *pgServer) logTail() string {
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

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

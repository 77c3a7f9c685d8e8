// Package testserver starts real, throwaway database servers for tests.
//
// Tests run against the real thing rather than mocks, because the behaviour that matters
// (transactions, locks, constraint errors, pgvector) is exactly what mocks get wrong. Each
// server is started lazily, at most once per test binary, on a free loopback port with its
// data in a temporary directory, and is stopped by Main when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(testserver.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		dsn := testserver.Postgres(t) // a fresh, empty database
//		...
//	}
//
// When a server's binaries are missing the test is skipped with a loud message, so `go test`
// works on any machine; `make test` sets VIBECODE_TEST_SERVERS=require, which turns every such
// skip into a failure so CI can never pass by skipping.
package testserver

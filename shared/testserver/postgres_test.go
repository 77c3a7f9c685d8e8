package testserver_test

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/vibecode/vibecode/shared/testserver"
)

func TestMain(m *testing.M) {
	os.Exit(testserver.Main(m))
}

func TestPostgres(t *testing.T) {
	ctx := context.Background()
	dsnA, dsnB := testserver.Postgres(t), testserver.Postgres(t)
	if dsnA == dsnB {
		t.Fatalf("Postgres returned the same DSN twice: %s", dsnA)
	}
	connect := func(dsn string) *pgx.Conn {
		t.Helper()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Fatalf("connect %s: %v", dsn, err)
		}
		t.Cleanup(func() { conn.Close(ctx) })
		return conn
	}
	a, b := connect(dsnA), connect(dsnB)

	for _, conn := range []*pgx.Conn{a, b} {
		var tables int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if tables != 0 {
			t.Fatalf("fresh database has %d tables, want 0", tables)
		}
		if _, err := conn.Exec(ctx, `CREATE EXTENSION vector`); err != nil {
			t.Fatalf("CREATE EXTENSION vector: %v", err)
		}
		var dist float64
		if err := conn.QueryRow(ctx, `SELECT '[1,0,0]'::vector <=> '[0,1,0]'::vector`).Scan(&dist); err != nil {
			t.Fatal(err)
		}
		if dist != 1 {
			t.Fatalf("cosine distance of orthogonal vectors = %v, want 1", dist)
		}
	}

	// The databases are separate: a table made in one is not in the other.
	if _, err := a.Exec(ctx, `CREATE TABLE only_in_a (x int)`); err != nil {
		t.Fatal(err)
	}
	var exists bool
	if err := b.QueryRow(ctx, `SELECT to_regclass('only_in_a') IS NOT NULL`).Scan(&exists); err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Fatal("a table created in one database is visible in the other")
	}
}

package sqlite

import (
	"context"
	"database/sql"
	"testing"
)

// TestOpen_Pragmas checks that the DSN pragmas reach connections of both pools, including ones
// the pool opens after Open returned.
func TestOpen_Pragmas(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	want := map[string]string{"journal_mode": "wal", "foreign_keys": "1", "busy_timeout": "10000", "synchronous": "1"}
	for name, db := range map[string]*sql.DB{"write": s.wdb, "read": s.rdb} {
		// Hold several connections at once so the read pool has to open new ones.
		var conns []*sql.Conn
		for range 3 {
			c, err := db.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			conns = append(conns, c)
			for pragma, v := range want {
				var got string
				if err := c.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got); err != nil {
					t.Fatal(err)
				}
				if got != v {
					t.Errorf("%s pool: PRAGMA %s = %q, want %q", name, pragma, got, v)
				}
			}
			if name == "write" {
				c.Close() // the write pool has one connection
				conns = conns[:0]
			}
		}
		for _, c := range conns {
			c.Close()
		}
	}
	if _, err := s.rdb.ExecContext(ctx, `DELETE FROM users`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/vibecode/vibecode/shared/domain"
	"github.com/vibecode/vibecode/shared/postgres"
	"github.com/vibecode/vibecode/shared/storetest"
	"github.com/vibecode/vibecode/shared/testserver"
)

func TestMain(m *testing.M) {
	os.Exit(testserver.Main(m))
}

func TestStore_Conformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) domain.Store {
		s, err := postgres.Open(context.Background(), testserver.Postgres(t))
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		return s
	})
}

func TestOpen_MigrationsAreIdempotent(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	for i := range 2 {
		s, err := postgres.Open(ctx, dsn)
		if err != nil {
			t.Fatalf("Open #%d: %v", i+1, err)
		}
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("Ping #%d: %v", i+1, err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
}

func TestOpen_Concurrent(t *testing.T) {
	ctx := context.Background()
	dsn := testserver.Postgres(t)
	const n = 2
	stores := make([]*postgres.Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, dsn)
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("concurrent Open #%d: %v", i+1, errs[i])
		}
		defer stores[i].Close()
	}
	// Both stores see one schema: a user created through one is visible through the other.
	u := &domain.User{ID: domain.NewID(), Email: "both@example.com", Role: domain.RoleUser}
	if err := stores[0].CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if _, err := stores[1].UserByEmail(ctx, "both@example.com"); err != nil {
		t.Fatalf("UserByEmail through the other store: %v", err)
	}
}

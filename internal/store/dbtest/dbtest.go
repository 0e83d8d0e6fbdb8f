// Package dbtest opens throwaway databases of both kinds for the contract
// tests of capabilities that keep their tables on the shared SQL layer
// (sqlkit.Schema): each test runs once on SQLite and once on PostgreSQL.
// PostgreSQL is the server VIGIL_TEST_POSTGRES names (test.sh starts one;
// scripts/postgres-test.sh starts one by hand); a missing server fails the
// test rather than skipping it, unless VIGIL_SKIP_POSTGRES=1 says to skip.
package dbtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/pgstore"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// Each runs fn as two subtests, "sqlite" and "postgres", each on a fresh
// store migrated with schemas (twice: a second Migrate must change
// nothing).
func Each(t *testing.T, schemas []sqlkit.Schema, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, SQLite(t, schemas...)) })
	t.Run("postgres", func(t *testing.T) { fn(t, Postgres(t, schemas...)) })
}

// SQLite returns a fresh SQLite store in a temporary directory, migrated
// with schemas and closed when the test ends.
func SQLite(t testing.TB, schemas ...sqlkit.Schema) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Synchronous: "OFF"})
	if err != nil {
		t.Fatalf("open SQLite: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	migrate(t, st, schemas)
	return st
}

// Postgres returns a fresh PostgreSQL store in a schema of its own on the
// VIGIL_TEST_POSTGRES server, migrated with schemas; the schema is
// dropped when the test ends.
func Postgres(t testing.TB, schemas ...sqlkit.Schema) store.Store {
	t.Helper()
	dsn := os.Getenv("VIGIL_TEST_POSTGRES")
	if dsn == "" {
		if os.Getenv("VIGIL_SKIP_POSTGRES") == "1" {
			t.Skip("VIGIL_SKIP_POSTGRES=1: PostgreSQL tests skipped")
		}
		t.Fatal("VIGIL_TEST_POSTGRES is not set: start a throwaway server with\n" +
			"\tscripts/postgres-test.sh start && export VIGIL_TEST_POSTGRES=\"$(scripts/postgres-test.sh dsn)\"\n" +
			"or set VIGIL_SKIP_POSTGRES=1 to skip the PostgreSQL half on purpose.")
	}
	var b [6]byte
	rand.Read(b[:])
	schema := "vigil_test_" + hex.EncodeToString(b[:])
	exec(t, dsn, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, dsn, "DROP SCHEMA "+schema+" CASCADE") })
	st, err := pgstore.Open(t.Context(), withSearchPath(t, dsn, schema))
	if err != nil {
		t.Fatalf("open PostgreSQL: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	migrate(t, st, schemas)
	return st
}

func migrate(t testing.TB, st store.Store, schemas []sqlkit.Schema) {
	t.Helper()
	for range 2 {
		if err := st.Migrate(t.Context(), schemas...); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
}

// exec runs one statement on its own connection (cleanups run after the
// test's context is canceled).
func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx := context.Background()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to VIGIL_TEST_POSTGRES: %v", err)
	}
	defer c.Close(ctx)
	if _, err := c.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// withSearchPath points dsn at schema.
func withSearchPath(t testing.TB, dsn, schema string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn + " search_path=" + schema // key=value form
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

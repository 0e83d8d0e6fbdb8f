package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// testDSN returns the DSN of the test server from VIGIL_TEST_POSTGRES. A
// missing server fails the test rather than skipping it, so CI cannot pass
// without running the PostgreSQL half of the contract; VIGIL_SKIP_POSTGRES=1
// skips explicitly.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("VIGIL_TEST_POSTGRES")
	if dsn != "" {
		return dsn
	}
	if os.Getenv("VIGIL_SKIP_POSTGRES") == "1" {
		t.Skip("VIGIL_SKIP_POSTGRES=1: PostgreSQL store tests skipped")
	}
	t.Fatal("VIGIL_TEST_POSTGRES is not set. Start a throwaway server with\n" +
		"\tscripts/postgres-test.sh start; export VIGIL_TEST_POSTGRES=\"$(scripts/postgres-test.sh dsn)\"\n" +
		"(from the repository root; stop it with scripts/postgres-test.sh stop),\n" +
		"or set VIGIL_SKIP_POSTGRES=1 to skip these tests on purpose.")
	return ""
}

// openFresh opens a store in a schema of its own, dropped when the test
// ends, so runs and subtests never see each other's rows.
func openFresh(t testing.TB) *Store {
	t.Helper()
	dsn := testDSN(t)
	ctx := t.Context()
	admin, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to VIGIL_TEST_POSTGRES: %v", err)
	}
	defer admin.Close(ctx)
	var b [6]byte
	rand.Read(b[:])
	schema := "vigil_test_" + hex.EncodeToString(b[:])
	if _, err := admin.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	t.Cleanup(func() {
		// t.Context is already canceled when cleanups run.
		ctx := context.Background()
		c, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	s, err := Open(ctx, withSearchPath(t, dsn, schema))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func withSearchPath(t testing.TB, dsn, schema string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		// key=value form
		return dsn + " search_path=" + schema
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func TestContract(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
}

package pgstore

import (
	"context"
	"testing"
	"testing/fstest"
	"time"

	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// TestCapabilityMigrateLockBySchema: while a store holds the lock of the
// capabilities' migrations, a store in another schema of the same
// database migrates its capabilities without waiting (the lock_timeout of
// inSchemaOf's store would fail it), and one in the same schema waits.
func TestCapabilityMigrateLockBySchema(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	holdLock(t, s, sqlkit.Postgres.MigrationLock())
	schema := sqlkit.Schema{Name: "lock_test", FS: fstest.MapFS{
		"postgres/0001_lock_test.sql": {Data: []byte(`CREATE TABLE lock_test (id BIGINT PRIMARY KEY)`)},
	}}
	other := inSchemaOf(t, openFresh(t))
	if err := other.Migrate(ctx, schema); err != nil {
		t.Fatalf("Migrate while another schema migrates its capabilities: %v", err)
	}
	same := inSchemaOf(t, s)
	short, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := same.Migrate(short, schema); err == nil {
		t.Fatal("Migrate in the same schema did not wait for the lock held there")
	}
}

package pgstore

import (
	"path/filepath"
	"testing"

	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// TestOutboxDifferential runs random sequences of outbox operations on a
// SQLite store and a PostgreSQL store and compares every answer.
func TestOutboxDifferential(t *testing.T) {
	for seed := range uint64(8) {
		t.Run("", func(t *testing.T) {
			lite, err := sqlitestore.Open(t.Context(), filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { lite.Close() })
			if err := lite.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			pg := openFresh(t)
			if err := pg.Migrate(t.Context()); err != nil {
				t.Fatal(err)
			}
			storetest.OutboxDifferential(t, lite, pg, seed, 300)
		})
	}
}

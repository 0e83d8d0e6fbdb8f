package outboxdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb/outboxtest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does.
func TestContractSQLite(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) (store.Store, outboxtest.Outbox) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, outboxdb.New(st.DB(), st)
	})
}

func TestContractPostgres(t *testing.T) {
	outboxtest.Run(t, func(t *testing.T) (store.Store, outboxtest.Outbox) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, outboxdb.New(st.DB(), st)
	})
}

// TestDifferential runs random sequences of outbox operations on SQLite
// and PostgreSQL and compares every answer.
func TestDifferential(t *testing.T) {
	for seed := range uint64(8) {
		t.Run("", func(t *testing.T) {
			outboxtest.Differential(t, dbtest.SQLite(t), dbtest.Postgres(t), seed, 300)
		})
	}
}

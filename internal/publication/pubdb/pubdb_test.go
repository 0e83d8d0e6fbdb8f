package pubdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/publication/pubdb/pubtest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does: a publication names accounts.
func TestContractSQLite(t *testing.T) {
	pubtest.Run(t, func(t *testing.T) (store.Store, publication.Publications) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, pubdb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	pubtest.Run(t, func(t *testing.T) (store.Store, publication.Publications) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, pubdb.New(st.DB())
	})
}

package savedsearchdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/savedsearch"
	"github.com/vigil-cert/vigil/internal/savedsearch/savedsearchdb"
	"github.com/vigil-cert/vigil/internal/savedsearch/savedsearchdb/savedsearchtest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does: a search belongs to an account.
func TestContractSQLite(t *testing.T) {
	savedsearchtest.Run(t, func(t *testing.T) (store.Store, savedsearch.Searches) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, savedsearchdb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	savedsearchtest.Run(t, func(t *testing.T) (store.Store, savedsearch.Searches) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, savedsearchdb.New(st.DB())
	})
}

package notifydb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/notify/notifydb/notifytest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does: deleting an organisation looks for its accounts.
func TestContractSQLite(t *testing.T) {
	notifytest.Run(t, func(t *testing.T) (store.Store, notifytest.Notifier) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, notifydb.New(st.DB(), st)
	})
}

func TestContractPostgres(t *testing.T) {
	notifytest.Run(t, func(t *testing.T) (store.Store, notifytest.Notifier) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, notifydb.New(st.DB(), st)
	})
}

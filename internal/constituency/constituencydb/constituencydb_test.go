package constituencydb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb/constituencytest"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The accounts' schema after the constituency's, as the database has
// them: users refer to organisations, and an organisation with users is
// not deleted.

func TestContractSQLite(t *testing.T) {
	constituencytest.Run(t, func(t *testing.T) (store.Store, constituency.Organisations) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, constituencydb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	constituencytest.Run(t, func(t *testing.T) (store.Store, constituency.Organisations) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, constituencydb.New(st.DB())
	})
}

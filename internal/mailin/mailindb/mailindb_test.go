package mailindb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/mailin/mailindb/mailintest"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does.
func TestContractSQLite(t *testing.T) {
	mailintest.Run(t, func(t *testing.T) sqlkit.DB { return dbtest.SQLite(t, database.Schemas...).DB() })
}

func TestContractPostgres(t *testing.T) {
	mailintest.Run(t, func(t *testing.T) sqlkit.DB { return dbtest.Postgres(t, database.Schemas...).DB() })
}

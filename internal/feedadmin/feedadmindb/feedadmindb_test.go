package feedadmindb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/feedadmin/feedadmindb"
	"github.com/vigil-cert/vigil/internal/feedadmin/feedadmindb/feedadmintest"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

func TestContractSQLite(t *testing.T) {
	feedadmintest.Run(t, func(t *testing.T) feedadmin.Data {
		return feedadmindb.New(dbtest.SQLite(t, database.Schemas...).DB())
	})
}

func TestContractPostgres(t *testing.T) {
	feedadmintest.Run(t, func(t *testing.T) feedadmin.Data {
		return feedadmindb.New(dbtest.Postgres(t, database.Schemas...).DB())
	})
}

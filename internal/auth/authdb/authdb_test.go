package authdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/auth/authdb/authtest"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

func TestContractSQLite(t *testing.T) {
	authtest.Run(t, func(t *testing.T) (store.Store, auth.Accounts) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, authdb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	authtest.Run(t, func(t *testing.T) (store.Store, auth.Accounts) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, authdb.New(st.DB())
	})
}

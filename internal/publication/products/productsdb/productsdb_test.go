package productsdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/publication/products/productsdb"
	"github.com/vigil-cert/vigil/internal/publication/products/productsdb/productstest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does: a declaration belongs to an organisation.
func TestContractSQLite(t *testing.T) {
	productstest.Run(t, func(t *testing.T) (store.Store, products.Declarations) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, productsdb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	productstest.Run(t, func(t *testing.T) (store.Store, products.Declarations) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, productsdb.New(st.DB())
	})
}

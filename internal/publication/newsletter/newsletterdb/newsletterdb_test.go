package newsletterdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb"
	"github.com/vigil-cert/vigil/internal/publication/newsletter/newsletterdb/newslettertest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does: a confirmation is queued in the outbox.
func TestContractSQLite(t *testing.T) {
	newslettertest.Run(t, func(t *testing.T) (store.Store, newsletter.Store) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, newsletterdb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	newslettertest.Run(t, func(t *testing.T) (store.Store, newsletter.Store) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, newsletterdb.New(st.DB())
	})
}

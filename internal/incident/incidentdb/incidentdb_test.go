package incidentdb_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb/incidenttest"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The contract runs on every capability's schema (database.Schemas), as
// Vigil does: an incident's assignee is an account.
func TestContractSQLite(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) (store.Store, incident.Incidents) {
		st := dbtest.SQLite(t, database.Schemas...)
		return st, incidentdb.New(st.DB())
	})
}

func TestContractPostgres(t *testing.T) {
	incidenttest.Run(t, func(t *testing.T) (store.Store, incident.Incidents) {
		st := dbtest.Postgres(t, database.Schemas...)
		return st, incidentdb.New(st.DB())
	})
}

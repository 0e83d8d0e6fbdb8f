package storetest

// Organisations for the event store's tests: events are tagged with them,
// notifications queued for them. The constituency's own contract is
// internal/constituency/constituencydb/constituencytest.

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/store"
)

// orgs returns the constituency kept on s's database, with the
// capabilities' hooks that deleting an organisation runs.
func orgs(s store.Store) *constituencydb.Store { return database.Constituency(s.DB()) }

// newOrg returns a small valid organisation.
func newOrg(handle string) constituency.Organisation {
	return constituency.Organisation{
		Handle: handle, Name: "Organisation " + handle, Sector: "research", Country: "BE", Language: "en",
		Contacts: []constituency.Contact{{Name: "Abuse desk", Email: "abuse@" + handle + ".example", Role: constituency.ContactAbuse, Notify: true}},
	}
}

func createOrg(t *testing.T, s store.Store, o constituency.Organisation) constituency.Organisation {
	t.Helper()
	if err := orgs(s).CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", o.Handle, err)
	}
	return o
}

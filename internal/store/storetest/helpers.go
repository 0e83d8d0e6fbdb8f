package storetest

import (
	"encoding/json"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Helpers the capabilities' contract suites share (authtest, notifytest,
// outboxtest): the events, queue and organisations their data refers to.

// Event builds an event through the validating Set, as parsers do, tagged
// with the organisations orgs.
func Event(t testing.TB, fields map[string]string, orgs ...string) *event.Event {
	t.Helper()
	e := event.New(len(fields) + 1)
	for _, k := range event.SortedKeys(fields) {
		if err := e.Set(k, fields[k]); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	if len(orgs) > 0 {
		b, err := json.Marshal(orgs)
		if err != nil {
			t.Fatal(err)
		}
		if err := e.Set(store.ConstituencyField, string(b)); err != nil {
			t.Fatalf("Set(%s): %v", store.ConstituencyField, err)
		}
	}
	return e
}

// Insert stores events.
func Insert(t testing.TB, st store.Store, events ...*event.Event) {
	t.Helper()
	if _, err := st.InsertEvents(t.Context(), events, nil); err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
}

// Pending returns org's queue of events to notify: the events' ids, which
// a message's EventIDs name.
func Pending(t testing.TB, st store.Store, org string) []store.PendingNotification {
	t.Helper()
	list, err := st.ListPendingNotifications(t.Context(), org, 0, 10000)
	if err != nil {
		t.Fatalf("ListPendingNotifications(%s): %v", org, err)
	}
	return list
}

// Organisation stores an organisation called handle, with one abuse
// contact that is notified, for a capability's rows to belong to.
func Organisation(t testing.TB, st store.Store, handle string) constituency.Organisation {
	t.Helper()
	o := constituency.Organisation{Handle: handle, Name: "Organisation " + handle, Sector: "research", Country: "BE", Language: "en",
		Contacts: []constituency.Contact{{Name: "Abuse desk", Email: "abuse@" + handle + ".example", Role: constituency.ContactAbuse, Notify: true}}}
	if err := constituencydb.New(st.DB()).CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", handle, err)
	}
	return o
}

// Package constituencytest is the contract suite of the constituency's
// store (constituency.Organisations): organisations with what they own,
// their handles, search, import, the constituency version, change
// requests and concurrent changes, and what deleting an organisation does
// to the rest of the database (its events, notification policy and
// users). internal/constituency/constituencydb runs it on both databases.
package constituencytest

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// Stores is what the suite runs on: the event store, and the
// constituency kept on its database (which the accounts' schema has
// migrated too, since an organisation with users is not deleted).
type Stores struct {
	store.Store
	constituency.Organisations
}

// Run runs the contract suite. open must return an empty database of its
// own for every call, migrated with the constituency's and the accounts'
// schemas, and arrange its cleanup with t.Cleanup.
func Run(t *testing.T, open func(t *testing.T) (store.Store, constituency.Organisations)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s Stores)
	}{
		{"organisations", testOrganisations},
		{"organisation search", testOrganisationSearch},
		{"organisation import", testImport},
		{"constituency version", testConstituencyVersion},
		{"change requests", testChangeRequests},
		{"concurrent organisation changes", testConcurrentOrganisations},
		{"disabled organisations", testDisabled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, orgs := open(t)
			tt.fn(t, Stores{Store: st, Organisations: orgs})
		})
	}
}

var base = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// ev builds an event through the validating Set, as parsers do.
func ev(t testing.TB, fields map[string]string) *event.Event {
	t.Helper()
	e := event.New(len(fields))
	for _, k := range event.SortedKeys(fields) {
		if err := e.Set(k, fields[k]); err != nil {
			t.Fatalf("Set(%s): %v", k, err)
		}
	}
	return e
}

// tagged sets extra.constituency to the JSON list of orgs, as the
// enricher does.
func tagged(t testing.TB, e *event.Event, orgs ...string) *event.Event {
	t.Helper()
	b, err := json.Marshal(orgs)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Set("extra.constituency", string(b)); err != nil {
		t.Fatalf("Set(extra.constituency): %v", err)
	}
	return e
}

func insert(t *testing.T, s store.Store, events []*event.Event) {
	t.Helper()
	if _, err := s.InsertEvents(t.Context(), events, nil); err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
}

// searchAll returns every event q selects, on one page.
func searchAll(t *testing.T, s store.Store, q store.EventQuery) []store.StoredEvent {
	t.Helper()
	q.Limit = 10000
	page, err := s.SearchEvents(t.Context(), q)
	if err != nil {
		t.Fatalf("SearchEvents(%+v): %v", q, err)
	}
	if page.Next != "" {
		t.Fatalf("SearchEvents(%+v): more than one page", q)
	}
	return page.Events
}

// eventLabels lists the events' comments, which label them in the tests.
func eventLabels(events []store.StoredEvent) string {
	l := make([]string, len(events))
	for i, e := range events {
		l[i] = e.Event.Value("comment")
	}
	return strings.Join(l, " ")
}

package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
)

// TestIncidentObservables: GET /incidents/{tag}/observables gives each
// observable its owners, its events counted with their search, and its
// first and last times, to the team only: a constituent (even the
// owner's) and a publisher get 403 and nothing of it.
func TestIncidentObservables(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	bank := constituency.Organisation{Handle: "bank", Name: "Evil Bank's real owner", Language: "en", Domains: []string{"evil-bank.com"}}
	if err := f.store.CreateOrganisation(t.Context(), &bank); err != nil {
		t.Fatal(err)
	}
	e := event.New(6)
	for k, v := range map[string]string{"time.source": "2026-03-01T12:00:00Z", "feed.name": "phishing", "classification.taxonomy": "fraud",
		"classification.type": "phishing", "source.fqdn": "evil-bank.com", "source.url": "https://evil-bank.com/login"} {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.store.InsertEvents(t.Context(), []*event.Event{e}, nil); err != nil {
		t.Fatal(err)
	}
	d := f.incidents()
	r := f.get("/incidents/"+d.a+"/observables", "ana")
	if r.status != http.StatusOK {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got incidentObservablesJSON
	if err := json.Unmarshal(r.body, &got); err != nil {
		t.Fatal(err)
	}
	if got.Incident != d.a || len(got.Observables) != 1 || got.MaxLookedUp != 50 || got.EventCap != 1000 {
		t.Fatalf("answer %s", r.body)
	}
	o := got.Observables[0]
	if o.Value != d.evil || !o.LookedUp || o.Host != "evil-bank.com" || o.Events != 1 || o.Search == nil ||
		o.Search.Field != "url" || o.FirstSeen == nil || o.LastSeen == nil || !o.FirstSeen.Equal(*o.LastSeen) {
		t.Errorf("observable %s", r.body)
	}
	if len(o.Owners) != 1 || o.Owners[0].OrganisationID != bank.ID || o.Owners[0].Rule != "domain" || o.Owners[0].Name != bank.Name {
		t.Errorf("owners %+v", o.Owners)
	}
	for _, who := range []string{"ca", "pub"} {
		r := f.get("/incidents/"+d.a+"/observables", who)
		if r.status != http.StatusForbidden || bytes.Contains(r.body, []byte("evil-bank")) {
			t.Errorf("%s: status %d, body %s", who, r.status, r.body)
		}
	}
	wantError(t, f.get("/incidents/2026-99999/observables", "ana"), http.StatusNotFound, "not_found", "")
}

package incidenttest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// eventReader reads events from the store and organisations from the
// constituency, as the database does.
type eventReader struct {
	events store.Store
	orgs   *constituencydb.Store
}

func (r eventReader) GetEvent(ctx context.Context, h event.Hash) (store.StoredEvent, error) {
	return r.events.GetEvent(ctx, h)
}

func (r eventReader) GetOrganisationByHandle(ctx context.Context, handle string) (constituency.Organisation, error) {
	return r.orgs.GetOrganisationByHandle(ctx, handle)
}

// eventService is the fixture's service with the events of its store.
func (f *fixture) eventService() *incident.EventService {
	return &incident.EventService{Service: f.svc, Events: eventReader{f.st, constituencydb.New(f.st.DB())}, Cases: f.inc}
}

// storeEvent stores an event of the type from ip (with a domain and a
// URL when fqdn is set) tagged with the handles, and returns its hash.
func (f *fixture) storeEvent(t *testing.T, typ, ip, fqdn string, at time.Time, handles ...string) string {
	t.Helper()
	e := event.New(8)
	tax, _ := taxonomy.TaxonomyOf(typ)
	kv := []string{"feed.name", "test", "source.ip", ip, "time.source", event.FormatTime(at),
		"classification.taxonomy", tax, "classification.type", typ}
	if fqdn != "" {
		kv = append(kv, "source.fqdn", fqdn, "source.url", "https://"+fqdn+"/login")
	}
	for i := 0; i < len(kv); i += 2 {
		if err := e.Set(kv[i], kv[i+1]); err != nil {
			t.Fatal(err)
		}
	}
	if len(handles) > 0 {
		e.SetTrusted(store.ConstituencyField, `["`+strings.Join(handles, `","`)+`"]`)
	}
	if _, err := f.st.InsertEvents(t.Context(), []*event.Event{e}, nil); err != nil {
		t.Fatal(err)
	}
	return e.Hash().String()
}

func (f *fixture) organisation(t *testing.T, handle string) int64 {
	t.Helper()
	o := constituency.Organisation{Handle: handle, Name: strings.ToUpper(handle), Language: "en"}
	if err := constituencydb.New(f.st.DB()).CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", handle, err)
	}
	return o.ID
}

func testEvents(t *testing.T, f *fixture) {
	ctx := t.Context()
	svc := f.eventService()
	uni, bank := f.organisation(t, "uni"), f.organisation(t, "bank")
	at := f.now.Add(-time.Hour)
	a := f.storeEvent(t, "phishing", "192.0.2.10", "login.evil.example", at, "bank")
	b := f.storeEvent(t, "phishing", "192.0.2.11", "", at.Add(time.Minute), "uni", "gone")
	c := f.storeEvent(t, "infected-system", "198.51.100.5", "", at.Add(2*time.Minute), "uni")

	inc, n, err := svc.OpenFromEvents(ctx, analyst, incident.Incident{}, []string{a, strings.ToUpper(b), a})
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 || inc.Type != "phishing" || inc.Taxonomy != "fraud" || inc.Kind != incident.KindPhishing ||
		inc.Title != "phishing: https://login.evil.example/login (+1)" || !slices.Equal(inc.OrgIDs, []int64{uni, bank}) {
		t.Errorf("opened %+v with %d events", inc, n)
	}
	got := f.incident(t, inc.ID)
	wantObservables := []extract.Observable{{Kind: extract.Domain, Value: "login.evil.example"}, {Kind: extract.IP, Value: "192.0.2.10"},
		{Kind: extract.IP, Value: "192.0.2.11"}, {Kind: extract.URL, Value: "https://login.evil.example/login"}}
	if !slices.Equal(got.Observables, wantObservables) || !slices.Equal(got.OrgIDs, []int64{uni, bank}) {
		t.Errorf("incident's observables %v, organisations %v", got.Observables, got.OrgIDs)
	}
	page, err := f.inc.IncidentEvents(ctx, inc.ID, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 2 || len(page.Events) != 2 {
		t.Fatalf("events page %+v", page)
	}
	var first incident.EventLink
	for _, l := range page.Events {
		if l.Hash == a {
			first = l
		}
	}
	if !first.Time.Equal(at) || first.Type != "phishing" || first.SourceIP != "192.0.2.10" || first.FQDN != "login.evil.example" ||
		first.URL != "https://login.evil.example/login" || !slices.Equal(first.Organisations, []string{"bank"}) ||
		first.AddedBy != "alice" || !first.Added.Equal(f.now) || first.IncidentID != inc.ID {
		t.Errorf("event kept as %+v", first)
	}
	if tl := f.timeline(t, inc.ID); tl != "created events_added" {
		t.Errorf("timeline %q", tl)
	}
	entries, _ := f.inc.Timeline(ctx, inc.ID)
	if e := entries[len(entries)-1]; e.Details["events"] != "2" || e.Actor != "alice" || !strings.Contains(e.Details["hashes"], a) {
		t.Errorf("entry %+v", e)
	}

	// Adding again adds only what the incident lacks.
	f.now = f.now.Add(time.Minute)
	if n, err := svc.AddEvents(ctx, analyst, inc.ID, []string{a, c}); err != nil || n != 1 {
		t.Errorf("AddEvents = %d, %v; want one new", n, err)
	}
	if n, err := svc.AddEvents(ctx, analyst, inc.ID, []string{a, c}); err != nil || n != 0 {
		t.Errorf("AddEvents again = %d, %v; want none new", n, err)
	}
	if tl := f.timeline(t, inc.ID); tl != "created events_added events_added" {
		t.Errorf("timeline after adding twice %q (nothing new, no line)", tl)
	}
	if page, _ := f.inc.IncidentEvents(ctx, inc.ID, 1, 0); page.Total != 3 || len(page.Events) != 1 || page.Events[0].Hash != c {
		t.Errorf("first page of one %+v, want the latest added", page)
	}
	if page, _ := f.inc.IncidentEvents(ctx, inc.ID, 10, 2); len(page.Events) != 1 {
		t.Errorf("the third event alone past an offset of 2: %+v", page)
	}
	if audit := f.audit(t); !slices.Equal(audit, []string{"incident.create", "incident.events", "incident.events"}) {
		t.Errorf("audit %v", audit)
	}

	// Broken and hostile input.
	_, err = svc.AddEvents(ctx, analyst, inc.ID, nil)
	wantInput(t, "adding no events", err)
	_, err = svc.AddEvents(ctx, analyst, inc.ID, []string{"not-a-hash"})
	wantInput(t, "adding a hash that is none", err)
	unknown := strings.Repeat("ab", len(a)/2)
	_, err = svc.AddEvents(ctx, analyst, inc.ID, []string{a, unknown})
	wantInput(t, "adding an unknown event", err)
	if err == nil || !strings.Contains(err.Error(), unknown) {
		t.Errorf("the refusal of an unknown event does not name it: %v", err)
	}
	many := make([]string, incident.MaxEvents+1)
	for i := range many {
		many[i] = fmt.Sprintf("%0*x", len(a), i)
	}
	_, err = svc.AddEvents(ctx, analyst, inc.ID, many)
	wantInput(t, "adding more events than one action may", err)
	if err == nil || !strings.Contains(err.Error(), "1000") {
		t.Errorf("the refusal of a huge selection does not give the bound: %v", err)
	}
	_, err = svc.AddEvents(ctx, analyst, 99999, []string{a})
	wantNotFound(t, "adding to an unknown incident", err)
	if _, _, err := svc.OpenFromEvents(ctx, analyst, incident.Incident{}, []string{unknown}); !errors.Is(err, incident.ErrInput) {
		t.Errorf("opening from an unknown event: %v", err)
	}
	if list, _ := f.inc.ListIncidents(ctx, incident.IncidentQuery{}); list.Total != 1 {
		t.Errorf("%d incidents after refused openings, want 1", list.Total)
	}
	if page, _ := f.inc.IncidentEvents(ctx, inc.ID, 0, 0); page.Total != 3 {
		t.Errorf("refused additions changed the events: %d", page.Total)
	}

	// A merge moves the events; one both hold is kept once, and a
	// merged incident takes no more.
	other, _, err := svc.OpenFromEvents(ctx, analyst, incident.Incident{Title: "Infected"}, []string{c})
	if err != nil {
		t.Fatal(err)
	}
	if other.Title != "Infected" || other.Type != "infected-system" || !slices.Equal(other.OrgIDs, []int64{uni}) {
		t.Errorf("opened with a title %+v", other)
	}
	if err := f.svc.Merge(ctx, analyst, other.ID, inc.ID, "one case"); err != nil {
		t.Fatal(err)
	}
	if page, _ := f.inc.IncidentEvents(ctx, other.ID, 0, 0); page.Total != 3 {
		t.Errorf("survivor holds %d events after the merge, want 3", page.Total)
	}
	if page, _ := f.inc.IncidentEvents(ctx, inc.ID, 0, 0); page.Total != 0 {
		t.Errorf("merged one holds %d events", page.Total)
	}
	_, err = svc.AddEvents(ctx, analyst, inc.ID, []string{a})
	wantInput(t, "adding to a merged incident", err)
}

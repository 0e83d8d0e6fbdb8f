package incident

// Incidents from the console's events: an analyst opens an incident from
// one event or a selection, or adds them to an incident. The incident
// holds the events' hashes with what a person reads of each (when, what,
// where from, whose), kept as it was when added, so the incident still
// lists an event that the store's retention has removed since. The
// events' source IP, domain and URL join the incident's observables and
// the organisations they are tagged with its organisations; one timeline
// entry and one audit entry say how many were added, and by whom.
//
// Events do not go through reports: a report is something someone sent
// the team, with a reporter to answer and a place in the triage queue,
// while an event is already classified and stored, and a thousand of
// them would fill the queue and the reports' counters with nothing to
// triage.

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

// MaxEvents bounds the events one action adds to an incident: a
// selection larger than this is refused whole, so that nobody adds a
// part of a search by accident.
const MaxEvents = 1000

// EntryEventsAdded is the timeline entry of events added to an incident;
// its Details say how many ("events") and the first hashes ("hashes").
const EntryEventsAdded EntryKind = "events_added"

// EventLink is an event an incident holds, with what a person reads of
// it as it was when it was added.
type EventLink struct {
	IncidentID int64
	// Hash is the event's hash in lower-case hex, as its page's address
	// writes it.
	Hash string
	// Time is the event's time.source, or time.observation without it.
	Time     time.Time
	Type     string // classification.type
	SourceIP string
	FQDN     string // source.fqdn
	URL      string // source.url
	// Organisations are the handles of the organisations the event is
	// tagged with (extra.constituency).
	Organisations []string
	Added         time.Time
	AddedBy       string
}

// EventPage is one page of an incident's events, the most recently added
// first, and how many it holds.
type EventPage struct {
	Events []EventLink
	Total  int
}

// EventCases is where the Service keeps the events incidents hold. Each
// method is one transaction.
type EventCases interface {
	// AddEvents links the events to the incident, skipping those it
	// holds already, merges observables and orgIDs into the incident's,
	// writes e (with Details["events"] set to the number added) when any
	// event was new, and returns how many were. An incident merged into
	// another is refused (*InputError); store.ErrNotFound for none.
	AddEvents(ctx context.Context, incidentID int64, events []EventLink, observables []extract.Observable, orgIDs []int64, e Entry) (int, error)
	// IncidentEvents returns a page of the incident's events.
	IncidentEvents(ctx context.Context, incidentID int64, limit, offset int) (EventPage, error)
}

// EventReader reads the events an analyst picks and the organisations
// they are tagged with; the database is one.
type EventReader interface {
	GetEvent(ctx context.Context, hash event.Hash) (store.StoredEvent, error)
	GetOrganisationByHandle(ctx context.Context, handle string) (constituency.Organisation, error)
}

// EventService is what opening incidents from events needs: the case
// service, the events and where the incident's events are kept.
type EventService struct {
	*Service
	Events EventReader
	Cases  EventCases
}

// pickedEvents are the events of an action read from the store, with
// what they give the incident.
type pickedEvents struct {
	links       []EventLink
	observables []extract.Observable
	orgIDs      []int64
	// first is the first event, whose classification an incident opened
	// from them takes.
	first *event.Event
}

// readEvents checks the hashes an analyst picked (hex, at least one, at
// most MaxEvents, each once) and reads the events: *InputError for a
// hash that is not one or names no stored event.
func (s *EventService) readEvents(ctx context.Context, hashes []string) (pickedEvents, error) {
	var out pickedEvents
	// The selection's size is checked before its hashes: a huge one is
	// refused as such, whatever it holds.
	seen := make(map[string]bool, min(len(hashes), MaxEvents+1))
	var distinct []string
	for _, raw := range hashes {
		raw = strings.ToLower(strings.TrimSpace(raw))
		if !seen[raw] {
			seen[raw] = true
			distinct = append(distinct, raw)
		}
	}
	switch {
	case len(distinct) == 0:
		return out, inputError("incident.error.events.none")
	case len(distinct) > MaxEvents:
		return out, inputError("incident.error.events.many", len(distinct), MaxEvents)
	}
	list := make([]event.Hash, len(distinct))
	for i, raw := range distinct {
		h, ok := event.ParseHash(raw)
		if !ok {
			return out, inputError("incident.error.event.hash", truncate(raw, 80))
		}
		list[i] = h
	}
	orgs := map[string]int64{}
	observables := map[extract.Observable]bool{}
	for _, h := range list {
		se, err := s.Events.GetEvent(ctx, h)
		if errors.Is(err, store.ErrNotFound) {
			return out, inputError("incident.error.event.unknown", h.String())
		}
		if err != nil {
			return out, fmt.Errorf("read event %s: %w", h, err)
		}
		if out.first == nil {
			out.first = se.Event
		}
		link := eventLink(se)
		for _, handle := range link.Organisations {
			if _, ok := orgs[handle]; ok {
				continue
			}
			o, err := s.Events.GetOrganisationByHandle(ctx, handle)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				return out, fmt.Errorf("organisation %s: %w", handle, err)
			}
			// A deleted organisation's handle names nobody now: the
			// event keeps it, the incident concerns nobody by it.
			orgs[handle] = o.ID
		}
		for _, o := range eventObservables(link) {
			observables[o] = true
		}
		out.links = append(out.links, link)
	}
	for _, id := range orgs {
		if id != 0 {
			out.orgIDs = append(out.orgIDs, id)
		}
	}
	slices.Sort(out.orgIDs)
	for o := range observables {
		out.observables = append(out.observables, o)
	}
	slices.SortFunc(out.observables, func(a, b extract.Observable) int {
		return cmp.Or(cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Value, b.Value))
	})
	return out, nil
}

// eventLink is what an incident keeps of a stored event.
func eventLink(se store.StoredEvent) EventLink {
	e := se.Event
	get := func(key string) string { v, _ := e.Get(key); return v }
	l := EventLink{Hash: se.Hash.String(), Type: get("classification.type"), SourceIP: get("source.ip"),
		FQDN: get("source.fqdn"), URL: get("source.url"), Organisations: store.EventOrganisations(e)}
	for _, key := range []string{"time.source", "time.observation"} {
		if t, err := time.Parse(time.RFC3339Nano, get(key)); err == nil {
			l.Time = t.UTC().Truncate(time.Microsecond)
			break
		}
	}
	return l
}

// eventObservables are the observables an event gives its incident:
// its source IP, domain and URL, bounded as a report's are.
func eventObservables(l EventLink) []extract.Observable {
	var out []extract.Observable
	for _, o := range []extract.Observable{{Kind: extract.IP, Value: l.SourceIP}, {Kind: extract.Domain, Value: strings.ToLower(l.FQDN)},
		{Kind: extract.URL, Value: l.URL}} {
		if o.Value != "" && len(o.Value) <= maxObservableLength && utf8.ValidString(o.Value) {
			out = append(out, o)
		}
	}
	return out
}

// AddEvents adds the events of the hashes to an incident, and returns
// how many it did not hold yet.
func (s *EventService) AddEvents(ctx context.Context, a Actor, incidentID int64, hashes []string) (int, error) {
	picked, err := s.readEvents(ctx, hashes)
	if err != nil {
		return 0, fmt.Errorf("add events: %w", err)
	}
	n, err := s.addPicked(ctx, a, incidentID, picked)
	if err != nil {
		return 0, fmt.Errorf("add events: %w", err)
	}
	return n, nil
}

func (s *EventService) addPicked(ctx context.Context, a Actor, incidentID int64, picked pickedEvents) (int, error) {
	at := s.now()
	hashes := make([]string, 0, min(len(picked.links), eventHashesShown))
	for i := range picked.links {
		picked.links[i].Added, picked.links[i].AddedBy = at, a.Name
		if i < eventHashesShown {
			hashes = append(hashes, picked.links[i].Hash)
		}
	}
	e := Entry{At: at, Actor: a.Name, Kind: EntryEventsAdded, Details: map[string]string{"hashes": strings.Join(hashes, ",")}}
	n, err := s.Cases.AddEvents(ctx, incidentID, picked.links, picked.observables, picked.orgIDs, e)
	if err != nil || n == 0 {
		return n, err
	}
	return n, s.audit(ctx, a, "incident.events", incidentID, strconv.Itoa(n)+" events: "+strings.Join(hashes, ","))
}

// eventHashesShown is how many of the hashes added the timeline entry
// and the audit entry name.
const eventHashesShown = 5

// OpenFromEvents opens an incident from events. Fields of inc left
// empty take their defaults as CreateIncident's do, with the first
// event's classification when it is an RSIT one and a title that names
// the first event's type and source.
func (s *EventService) OpenFromEvents(ctx context.Context, a Actor, inc Incident, hashes []string) (Incident, int, error) {
	picked, err := s.readEvents(ctx, hashes)
	if err != nil {
		return Incident{}, 0, fmt.Errorf("open incident from events: %w", err)
	}
	typ, _ := picked.first.Get("classification.type")
	if tax, ok := taxonomy.TaxonomyOf(typ); ok && inc.Type == "" {
		inc.Taxonomy, inc.Type = tax, typ
		inc.Kind = cmp.Or(inc.Kind, kindOfType(typ))
	}
	if strings.TrimSpace(inc.Title) == "" {
		inc.Title = s.eventsTitle(picked)
	}
	inc.OrgIDs = sortedUnique(append(slices.Clone(inc.OrgIDs), picked.orgIDs...))
	// The incident is opened first and the events added after it, in
	// two transactions: an incident whose events failed to be added is
	// still there, empty, with its timeline entry, and the analyst adds
	// them again.
	inc, err = s.CreateIncident(ctx, a, inc, nil)
	if err != nil {
		return Incident{}, 0, fmt.Errorf("open incident from events: %w", err)
	}
	n, err := s.addPicked(ctx, a, inc.ID, picked)
	if err != nil {
		return inc, 0, fmt.Errorf("open incident from events: %w", err)
	}
	// Read again: the events gave it observables.
	if inc, err = s.Store.GetIncident(ctx, inc.ID); err != nil {
		return inc, n, fmt.Errorf("open incident from events: %w", err)
	}
	return inc, n, nil
}

// eventsTitle is the title of an incident opened from events: "phishing:
// evil.example" after the first event, "(+11)" for the others.
func (s *EventService) eventsTitle(p pickedEvents) string {
	first := p.links[0]
	what := cmp.Or(first.Type, s.text("", KindKey(KindOther)))
	title := what
	if where := cmp.Or(first.URL, first.FQDN, first.SourceIP); where != "" {
		title = s.text("", "incident.title.grouped", what, where)
	}
	if len(p.links) > 1 {
		title = s.text("", "incident.title.events", title, len(p.links)-1)
	}
	return truncate(title, MaxFieldBytes)
}

// kindOfType returns the kind whose classification is the RSIT type typ,
// KindOther when none is.
func kindOfType(typ string) Kind {
	for _, k := range Kinds {
		if kindTypes[k] == typ {
			return k
		}
	}
	return KindOther
}

// truncate cuts s to at most n bytes of valid text.
func truncate(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

package alert

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// Events is what the worker reads of the event store.
type Events interface {
	EventsAfter(ctx context.Context, after int64, limit int) ([]store.StoredEvent, error)
}

// Store is where the worker keeps the alerts and its cursor
// (alertdb.Store).
type Store interface {
	// Cursor returns the Seq of the last event read, 0 at first.
	Cursor(ctx context.Context) (int64, error)
	// Record writes the groups and moves the cursor from from to to in
	// one transaction; ErrCursorMoved when it is not at from.
	Record(ctx context.Context, from, to int64, groups []Group) error
}

// Organisations is what the worker reads of the constituency: the
// organisations events are tagged with, by handle.
type Organisations interface {
	ListOrganisations(ctx context.Context, q constituency.OrganisationQuery) ([]constituency.Organisation, error)
}

// Worker turns newly stored events that match a rule into alerts. Zero
// fields other than Events, Store, Service and Rules take their defaults.
type Worker struct {
	Events  Events
	Store   Store
	Service *incident.Service
	// Organisations, when set, names the organisations of the events'
	// tags; without it every handle is one the constituency does not know.
	Organisations Organisations
	Rules         []Rule
	// Batch is how many events a pass reads; 5000 by default.
	Batch int
	Log   *slog.Logger
	Now   func() time.Time

	mu   sync.Mutex
	orgs map[string]Organisation
	read time.Time
}

// orgsEvery is how often the organisations are read again.
const orgsEvery = time.Minute

// Run follows the events every interval until ctx ends.
func (w *Worker) Run(ctx context.Context, interval time.Duration) error {
	return incident.RunBatches(ctx, interval, w.batch(), w.RunOnce, w.log(), "pipeline alerts")
}

// RunOnce reads up to Batch events after the cursor, adds those that
// match a rule to their alerts and moves the cursor past them, and
// returns how many events it read.
func (w *Worker) RunOnce(ctx context.Context) (int, error) {
	from, err := w.Store.Cursor(ctx)
	if err != nil {
		return 0, err
	}
	events, err := w.Events.EventsAfter(ctx, from, w.batch())
	if err != nil {
		return 0, fmt.Errorf("read events: %w", err)
	}
	if len(events) == 0 {
		return 0, nil
	}
	groups, err := w.Group(ctx, events)
	if err != nil {
		return 0, err
	}
	if err := w.Store.Record(ctx, from, events[len(events)-1].Seq, groups); err != nil {
		if errors.Is(err, ErrCursorMoved) {
			w.log().Warn("pipeline alerts: another process follows the events", "err", err)
		}
		return 0, err
	}
	return len(events), nil
}

// Group matches events against the rules and gathers those that match
// by organisation and classification type, in the order first seen.
func (w *Worker) Group(ctx context.Context, events []store.StoredEvent) ([]Group, error) {
	byKey := map[Key]*Group{}
	var order []Key
	seen := map[Key]map[extract.Observable]bool{}
	for _, se := range events {
		e := se.Event
		t := Target{Taxonomy: value(e, "classification.taxonomy"), Type: value(e, "classification.type"),
			Feed: value(e, "feed.name")}
		if t.Type == "" {
			continue
		}
		handles := store.EventOrganisations(e)
		if len(handles) == 0 {
			handles = []string{""}
		}
		for _, h := range handles {
			t.Org = w.organisation(ctx, h)
			i := Match(w.Rules, t)
			if i < 0 {
				continue
			}
			k := Key{OrgID: t.Org.ID, Handle: t.Org.Handle, Type: t.Type}
			g := byKey[k]
			if g == nil {
				r, err := w.report(t, w.Rules[i], i)
				if err != nil {
					return nil, err
				}
				g = &Group{Key: k, Taxonomy: t.Taxonomy, Rule: w.Rules[i].name(i), Severity: w.Rules[i].Severity,
					MinCount: w.Rules[i].minCount(), First: se.Stored, Report: r}
				byKey[k], seen[k] = g, map[extract.Observable]bool{}
				order = append(order, k)
			}
			g.Events++
			g.Last = se.Stored
			// The first MaxLines events are listed with their
			// observables; past them only the counter rises, so that
			// a flood costs a counter update per batch.
			if len(g.Lines) >= MaxLines {
				continue
			}
			g.Lines = append(g.Lines, line(se))
			for _, o := range observables(e) {
				if len(g.Observables) < incident.MaxObservables && !seen[k][o] {
					seen[k][o] = true
					g.Observables = append(g.Observables, o)
				}
			}
			g.LineEnds = append(g.LineEnds, len(g.Observables))
		}
	}
	groups := make([]Group, len(order))
	for i, k := range order {
		groups[i] = *byKey[k]
	}
	return groups, nil
}

// report is the report an alert of t opens, prepared to be received.
func (w *Worker) report(t Target, r Rule, i int) (*incident.Report, error) {
	label := cmp.Or(t.Org.Name, t.Org.Handle, "-")
	rep := &incident.Report{
		Channel:  incident.ChannelAlert,
		Kind:     KindOf(t.Type),
		Received: w.now(),
		Reporter: incident.Reporter{Name: clip(r.name(i), incident.MaxFieldBytes), OrgID: t.Org.ID},
		Subject:  clip(label+": "+t.Taxonomy+" / "+t.Type, incident.MaxSubjectBytes),
	}
	if _, _, err := w.Service.Prepare(rep); err != nil {
		return nil, fmt.Errorf("alert of %s: %w", t.Type, err)
	}
	return rep, nil
}

// KindOf is the report kind filed under a classification type, "other"
// for a type no kind is.
func KindOf(classificationType string) incident.Kind {
	for _, k := range incident.Kinds {
		if _, t := k.Classification(); t == classificationType {
			return k
		}
	}
	return incident.KindOther
}

// organisation returns the organisation of a handle, read from the
// constituency at most every orgsEvery.
func (w *Worker) organisation(ctx context.Context, handle string) Organisation {
	if handle == "" {
		return Organisation{}
	}
	if w.Organisations == nil {
		return Organisation{Handle: handle}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.orgs == nil || w.now().Sub(w.read) > orgsEvery {
		list, err := w.Organisations.ListOrganisations(ctx, constituency.OrganisationQuery{})
		if err != nil {
			// Tried again after orgsEvery, not for each event.
			w.log().Warn("pipeline alerts: read the constituency", "err", err)
			w.read = w.now()
			if w.orgs == nil {
				w.orgs = map[string]Organisation{}
			}
		} else {
			w.orgs, w.read = make(map[string]Organisation, len(list)), w.now()
			for _, o := range list {
				w.orgs[o.Handle] = Organisation{ID: o.ID, Handle: o.Handle, Name: o.Name}
			}
		}
	}
	if o, ok := w.orgs[handle]; ok {
		return o
	}
	return Organisation{Handle: handle}
}

// lineFields are the fields an event's line in an alert shows.
var lineFields = []string{"time.source", "feed.name", "source.ip", "source.port", "source.fqdn", "source.url",
	"destination.ip", "destination.fqdn"}

// line describes one event in an alert's report.
func line(se store.StoredEvent) string {
	parts := make([]string, 0, len(lineFields)+1)
	for _, f := range lineFields {
		if v := value(se.Event, f); v != "" {
			parts = append(parts, v)
		}
	}
	parts = append(parts, "#"+se.Hash.String()[:12])
	return clip(strings.Join(parts, "  "), 500)
}

// observableFields map event fields to the observables they are.
var observableFields = []struct {
	field string
	kind  extract.Kind
}{
	{"source.ip", extract.IP}, {"destination.ip", extract.IP},
	{"source.fqdn", extract.Domain}, {"destination.fqdn", extract.Domain},
	{"source.url", extract.URL}, {"destination.url", extract.URL},
}

func observables(e *event.Event) []extract.Observable {
	var out []extract.Observable
	for _, f := range observableFields {
		if v := value(e, f.field); v != "" && len(v) <= 2000 {
			out = append(out, extract.Observable{Kind: f.kind, Value: v})
		}
	}
	return out
}

func value(e *event.Event, key string) string {
	v, _ := e.Get(key)
	return v
}

// clip cuts s to at most n bytes of valid UTF-8.
func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
	}
	return strings.ToValidUTF8(s, "")
}

func (w *Worker) batch() int {
	if w.Batch > 0 {
		return w.Batch
	}
	return 5000
}

func (w *Worker) now() time.Time {
	if w.Now != nil {
		return w.Now()
	}
	return time.Now()
}

func (w *Worker) log() *slog.Logger {
	if w.Log != nil {
		return w.Log
	}
	return slog.Default()
}

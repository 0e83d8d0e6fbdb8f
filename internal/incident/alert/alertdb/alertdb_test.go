package alertdb_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/incident/alert/alertdb"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

type rig struct {
	t      *testing.T
	st     store.Store
	db     *database.DB
	alerts *alertdb.Store
	rules  []alert.Rule
	now    time.Time
	n      int
}

func newRig(t *testing.T, st store.Store, rules ...alert.Rule) *rig {
	db := database.On(st)
	return &rig{t: t, st: st, db: db, alerts: db.Alerts, rules: rules, now: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}
}

// worker is a new worker, as a restarted process has: it knows only
// what the database keeps.
func (r *rig) worker(batch int) *alert.Worker {
	svc := &incident.Service{Store: r.db, Audit: r.db, Now: func() time.Time { return r.now }}
	return &alert.Worker{Events: r.st, Store: r.alerts, Service: svc, Organisations: r.db, Rules: r.rules,
		Batch: batch, Now: func() time.Time { return r.now }}
}

// store inserts n events of a classification type, tagged with orgs.
func (r *rig) store(n int, taxonomy, typ string, orgs ...string) {
	r.t.Helper()
	events := make([]*event.Event, n)
	for i := range events {
		r.n++
		events[i] = storetest.Event(r.t, map[string]string{
			"time.source":             event.FormatTime(r.now.Add(time.Duration(r.n) * time.Second)),
			"classification.taxonomy": taxonomy,
			"classification.type":     typ,
			"feed.name":               "Shadowserver scan_rdp",
			"source.ip":               fmt.Sprintf("198.51.%d.%d", r.n/250, 1+r.n%250),
		}, orgs...)
	}
	storetest.Insert(r.t, r.st, events...)
}

// drain runs the worker until it has read every event.
func (r *rig) drain(w *alert.Worker) {
	r.t.Helper()
	for range 1000 {
		n, err := w.RunOnce(r.t.Context())
		if err != nil {
			r.t.Fatalf("RunOnce: %v", err)
		}
		if n == 0 {
			return
		}
	}
	r.t.Fatal("the worker never caught up")
}

// counts returns every alert as "handle/type=events[+report]", sorted.
func (r *rig) counts() []string {
	r.t.Helper()
	list, err := r.alerts.Alerts(r.t.Context(), 1000)
	if err != nil {
		r.t.Fatal(err)
	}
	var out []string
	for _, a := range list {
		s := fmt.Sprintf("%s/%s=%d", a.Handle, a.Type, a.Events)
		if a.ReportID != 0 {
			s += "+report"
		}
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

func (r *rig) queue() []incident.Report {
	r.t.Helper()
	page, err := r.db.ListReports(r.t.Context(), incident.ReportQuery{States: []incident.ReportState{incident.ReportNew},
		Channels: []incident.Channel{incident.ChannelAlert}, Limit: 100, Oldest: true})
	if err != nil {
		r.t.Fatal(err)
	}
	return page.Reports
}

func same(t *testing.T, what string, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("%s:\n got %q\nwant %q", what, got, want)
	}
}

// TestGroupedPerConstituentAndType: many events of one organisation and
// type make one alert whose counter is their number; each organisation
// and each type has its own; events no rule chooses make none.
func TestGroupedPerConstituentAndType(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Name: "vulnerable systems", Taxonomy: "vulnerable"},
			alert.Rule{Type: "infected-system", Severity: incident.SeverityHigh})
		acme := storetest.Organisation(t, st, "acme")
		storetest.Organisation(t, st, "beta")
		r.store(130, "vulnerable", "vulnerable-system", "acme")
		r.store(10, "vulnerable", "vulnerable-system", "beta")
		r.store(5, "malicious-code", "infected-system", "acme", "beta")
		r.store(4, "vulnerable", "vulnerable-system")
		r.store(7, "information-gathering", "scanner", "acme")
		r.drain(r.worker(17))
		same(t, "alerts", r.counts(), []string{"/vulnerable-system=4+report", "acme/infected-system=5+report",
			"acme/vulnerable-system=130+report", "beta/infected-system=5+report", "beta/vulnerable-system=10+report"})
		queue := r.queue()
		if len(queue) != 5 {
			t.Fatalf("queue holds %d alerts, want 5", len(queue))
		}
		first := queue[0]
		full, err := r.db.GetReport(t.Context(), first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if full.Reporter.OrgID != acme.ID || full.Kind != incident.KindVulnerability || full.Reporter.Name != "vulnerable systems" ||
			!strings.Contains(full.Subject, "Organisation acme") || !strings.Contains(full.Subject, "vulnerable-system") {
			t.Errorf("acme's alert: org %d kind %s reporter %q subject %q", full.Reporter.OrgID, full.Kind, full.Reporter.Name, full.Subject)
		}
		if lines := strings.Count(full.Text, "\n") + 1; lines != alert.MaxLines || !strings.Contains(full.Text, "198.51.0.2  #") {
			t.Errorf("acme's alert lists %d events, want the first %d:\n%.300s", lines, alert.MaxLines, full.Text)
		}
		if len(full.Observables) != alert.MaxLines {
			t.Errorf("acme's alert has %d observables, want the addresses of the %d events listed", len(full.Observables), alert.MaxLines)
		}
		alerts, err := r.alerts.AlertsOfReports(t.Context(), []int64{first.ID, queue[1].ID, 999999})
		if err != nil {
			t.Fatal(err)
		}
		if a := alerts[first.ID]; len(alerts) != 2 || a.OrgID != acme.ID || a.Events != 130 || a.Taxonomy != "vulnerable" {
			t.Errorf("AlertsOfReports = %+v", alerts)
		}
		for _, rep := range queue {
			if a := alerts[rep.ID]; a.Type == "infected-system" && a.Severity != incident.SeverityHigh {
				t.Errorf("infected-system alert has severity %q, want the rule's high", a.Severity)
			}
		}
	})
}

// TestHandledAlertMakesWayForANewOne: once the alert left the triage
// queue, the next events of its organisation and type open another;
// until then they add to it.
func TestHandledAlertMakesWayForANewOne(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Type: "vulnerable-system", Constituent: "Organisation ACME"})
		storetest.Organisation(t, st, "acme")
		storetest.Organisation(t, st, "beta")
		w := r.worker(0)
		r.store(3, "vulnerable", "vulnerable-system", "acme")
		r.store(3, "vulnerable", "vulnerable-system", "beta")
		r.drain(w)
		r.store(2, "vulnerable", "vulnerable-system", "acme")
		r.drain(w)
		same(t, "before triage", r.counts(), []string{"acme/vulnerable-system=5+report"})
		queue := r.queue()
		if _, err := r.db.TriageReports(t.Context(), []int64{queue[0].ID}); err != nil {
			t.Fatal(err)
		}
		r.store(4, "vulnerable", "vulnerable-system", "acme")
		r.drain(w)
		same(t, "after triage", r.counts(), []string{"acme/vulnerable-system=4+report", "acme/vulnerable-system=5+report"})
		if q := r.queue(); len(q) != 1 || q[0].ID == queue[0].ID {
			t.Errorf("queue = %+v, want the new alert only", q)
		}
	})
}

// TestMinCount: an alert reaches the queue once min_count events were
// counted, listing them all.
func TestMinCount(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Type: "vulnerable-system", MinCount: 5})
		storetest.Organisation(t, st, "acme")
		w := r.worker(0)
		r.store(3, "vulnerable", "vulnerable-system", "acme")
		r.drain(w)
		same(t, "3 events", r.counts(), []string{"acme/vulnerable-system=3"})
		if q := r.queue(); len(q) != 0 {
			t.Fatalf("queue holds %d alerts below min_count", len(q))
		}
		r.store(2, "vulnerable", "vulnerable-system", "acme")
		r.drain(w)
		same(t, "5 events", r.counts(), []string{"acme/vulnerable-system=5+report"})
		q := r.queue()
		if len(q) != 1 {
			t.Fatalf("queue holds %d alerts, want 1", len(q))
		}
		if lines := strings.Count(q[0].Text, "\n") + 1; lines != 5 {
			t.Errorf("the alert lists %d events, want 5:\n%s", lines, q[0].Text)
		}
	})
}

// TestCrashBetweenAlertsAndCursor: a crash after the alerts are written
// and before the cursor is leaves neither (one commit), and the next
// worker, started afresh, counts every event exactly once.
func TestCrashBetweenAlertsAndCursor(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Type: "vulnerable-system"})
		storetest.Organisation(t, st, "acme")
		r.store(25, "vulnerable", "vulnerable-system", "acme")
		crash := errors.New("killed")
		calls := 0
		r.alerts.SetBetweenSteps(func() error {
			calls++
			if calls == 2 {
				return crash
			}
			return nil
		})
		w := r.worker(10)
		if _, err := w.RunOnce(t.Context()); err != nil {
			t.Fatal(err)
		}
		if _, err := w.RunOnce(t.Context()); !errors.Is(err, crash) {
			t.Fatalf("second pass: %v, want the crash", err)
		}
		same(t, "after the crash", r.counts(), []string{"acme/vulnerable-system=10+report"})
		if at, err := r.alerts.Cursor(t.Context()); err != nil || at == 0 {
			t.Fatalf("cursor after the crash = %d, %v", at, err)
		}
		r.alerts.SetBetweenSteps(nil)
		r.drain(r.worker(10))
		same(t, "after the restart", r.counts(), []string{"acme/vulnerable-system=25+report"})
		if q := r.queue(); len(q) != 1 || strings.Count(q[0].Text, "\n")+1 != 25 {
			t.Errorf("queue = %d alerts, want one listing 25 events", len(q))
		}
	})
}

// TestCursorMoved: a second follower whose cursor is behind writes
// nothing.
func TestCursorMoved(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Type: "vulnerable-system"})
		r.store(3, "vulnerable", "vulnerable-system")
		r.drain(r.worker(0))
		g := alert.Group{Key: alert.Key{Type: "vulnerable-system"}, Taxonomy: "vulnerable", Events: 3, MinCount: 1}
		err := r.alerts.Record(t.Context(), 0, 3, []alert.Group{g})
		if !errors.Is(err, alert.ErrCursorMoved) {
			t.Fatalf("Record from 0 = %v, want ErrCursorMoved", err)
		}
		same(t, "alerts", r.counts(), []string{"/vulnerable-system=3+report"})
	})
}

// TestRecordersAtOnce: two recorders from the same cursor at the same
// time: one writes its alerts and moves the cursor, the other (which in
// PostgreSQL waits for the first's commit) finds the cursor moved and
// writes nothing.
func TestRecordersAtOnce(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Type: "vulnerable-system"})
		for from, round := int64(0), 0; round < 5; from, round = from+3, round+1 {
			errs := make(chan error, 2)
			for range 2 {
				go func() { errs <- r.alerts.Record(t.Context(), from, from+3, nil) }()
			}
			var moved int
			for range 2 {
				err := <-errs
				switch {
				case errors.Is(err, alert.ErrCursorMoved):
					moved++
				case err != nil:
					t.Fatal(err)
				}
			}
			if moved != 1 {
				t.Fatalf("round %d: %d of 2 recorders found the cursor moved, want 1", round, moved)
			}
		}
		if at, err := r.alerts.Cursor(t.Context()); err != nil || at != 15 {
			t.Errorf("cursor at %d (%v), want 15", at, err)
		}
	})
}

// TestOrganisationDeleted: deleting an organisation deletes its alerts
// (database.DeleteHooks) and keeps their reports, without it.
func TestOrganisationDeleted(t *testing.T) {
	dbtest.Each(t, database.Schemas, func(t *testing.T, st store.Store) {
		r := newRig(t, st, alert.Rule{Type: "vulnerable-system"})
		acme := storetest.Organisation(t, st, "acme")
		storetest.Organisation(t, st, "beta")
		r.store(3, "vulnerable", "vulnerable-system", "acme")
		r.store(2, "vulnerable", "vulnerable-system", "beta")
		r.drain(r.worker(0))
		if err := database.Constituency(st.DB()).DeleteOrganisation(t.Context(), acme.ID); err != nil {
			t.Fatal(err)
		}
		same(t, "alerts", r.counts(), []string{"beta/vulnerable-system=2+report"})
		q := r.queue()
		if len(q) != 2 || q[0].Reporter.OrgID != 0 {
			t.Errorf("queue after the delete: %+v, want both reports, acme's without it", q)
		}
	})
}

// Package incidenttest is the contract of the team's reports and
// incidents (incident.Incidents), answered alike by incidentdb on SQLite
// and on PostgreSQL, and run through incident.Service as the console and
// the intake use it.
package incidenttest

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/extract"
	"github.com/vigil-cert/vigil/internal/store"
)

// Opener returns a fresh database of its own for every call, migrated
// with every capability's schema, and the incidents on it.
type Opener func(t *testing.T) (store.Store, incident.Incidents)

// Run runs the contract.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(t *testing.T, f *fixture)
	}{
		{"receive a report, follow its status link", testReceive},
		{"broken and hostile input", testBrokenInput},
		{"reports of one URL group into one incident", testGrouping},
		{"a subject's tag threads onto its incident", testThreading},
		{"a closed incident groups nothing", testClosedDoesNotGroup},
		{"two receivers of one URL at once make one incident", testConcurrentPairs},
		{"500 reports of one URL received at once make one incident", testFiveHundred},
		{"reports whose keys lead to two incidents in opposite orders", testCrossingKeys},
		{"create, link, change, assign and move an incident", testOperations},
		{"the status workflow", testWorkflow},
		{"tasks from the playbook, notes and attachments", testTasks},
		{"merge incidents", testMerge},
		{"merge incidents while their reports arrive", testMergeWhileReceiving},
		{"split a report", testSplit},
		{"close and triage reports from the queue", testCloseReports},
		{"the triage queue", testTriageQueue},
		{"the incident list and the overdue view", testIncidentList},
		{"deleting an organisation", testDeleteOrganisation},
		{"what a constituent organisation may follow", testConstituent},
		{"the observables of a list of reports", testReportObservables},
		{"an incident's attachments and its reports'", testIncidentAttachments},
		{"incidents from events", testEvents},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, inc := open(t)
			f := &fixture{st: st, inc: inc, accounts: authdb.New(st.DB()), now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
			f.svc = &incident.Service{Store: inc, Audit: f.accounts, Now: f.clock}
			tt.fn(t, f)
		})
	}
}

// fixture is one test's database, its incidents and the service over
// them, with a clock the test moves.
type fixture struct {
	st       store.Store
	inc      incident.Incidents
	accounts *authdb.Store
	svc      *incident.Service
	now      time.Time
}

func (f *fixture) clock() time.Time { return f.now }

// analyst is who does things in the tests.
var analyst = incident.Actor{UserID: 0, Name: "alice"}

// url returns a phishing report of a URL.
func phishing(url string) incident.Report {
	return incident.Report{Channel: incident.ChannelWeb, Kind: incident.KindPhishing, Language: "nl",
		Subject: "Verdachte mail", Text: "Ik kreeg een mail met de link " + url, Concerned: url,
		Reporter:    incident.Reporter{Name: "Jan", Email: "jan@example.org"},
		Observables: []extract.Observable{{Kind: extract.URL, Value: url}, {Kind: extract.IP, Value: "192.0.2.7"}}}
}

func (f *fixture) receive(t *testing.T, r incident.Report) incident.Receipt {
	t.Helper()
	got, err := f.svc.Receive(t.Context(), &r)
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	return got
}

func (f *fixture) report(t *testing.T, id int64) incident.Report {
	t.Helper()
	r, err := f.inc.GetReport(t.Context(), id)
	if err != nil {
		t.Fatalf("GetReport(%d): %v", id, err)
	}
	return r
}

func (f *fixture) incident(t *testing.T, id int64) incident.Incident {
	t.Helper()
	inc, err := f.inc.GetIncident(t.Context(), id)
	if err != nil {
		t.Fatalf("GetIncident(%d): %v", id, err)
	}
	return inc
}

// timeline writes an incident's timeline as its kinds, "created
// report_linked …".
func (f *fixture) timeline(t *testing.T, id int64) string {
	t.Helper()
	list, err := f.inc.Timeline(t.Context(), id)
	if err != nil {
		t.Fatalf("Timeline(%d): %v", id, err)
	}
	kinds := make([]string, len(list))
	for i, e := range list {
		kinds[i] = string(e.Kind)
	}
	return strings.Join(kinds, " ")
}

// audit returns the audit log's actions, oldest first.
func (f *fixture) audit(t *testing.T) []string {
	t.Helper()
	list, err := f.accounts.ListAudit(t.Context(), auth.AuditQuery{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range slices.Backward(list) {
		out = append(out, e.Action)
	}
	return out
}

func (f *fixture) user(t *testing.T, name string) auth.User {
	t.Helper()
	u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RoleAnalyst,
		PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
	if err := f.accounts.CreateUser(t.Context(), &u); err != nil {
		t.Fatalf("CreateUser(%s): %v", name, err)
	}
	return u
}

// wantInput fails unless err is a refusal of input.
func wantInput(t *testing.T, what string, err error) {
	t.Helper()
	var ie *incident.InputError
	if !errors.As(err, &ie) || !errors.Is(err, incident.ErrInput) {
		t.Errorf("%s: %v, want a refusal of input", what, err)
	}
}

func wantNotFound(t *testing.T, what string, err error) {
	t.Helper()
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("%s: %v, want ErrNotFound", what, err)
	}
}

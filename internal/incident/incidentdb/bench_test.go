package incidentdb_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/incident"
	"github.com/vigil-cert/vigil/internal/incident/incidentdb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/store/sqlkit"
)

// The sizes of issue 12's target: the triage queue and the incident list
// answer in under 100 ms with 100,000 open reports and 10,000 incidents.
const (
	benchOpenReports   = 100_000
	benchIncidents     = 10_000
	benchLinkedPerInc  = 5
	benchAnalysts      = 10
	benchReportsPerDay = 5_000
)

// BenchmarkQueries times the triage queue's and the incident list's
// queries (a page of 50 and the count) on SQLite holding 100,000 new
// reports, 10,000 incidents in every status and 50,000 reports linked to
// them:
//
//	go test -run '^$' -bench Queries -benchtime 50x ./internal/incident/incidentdb/
func BenchmarkQueries(b *testing.B) {
	st := dbtest.SQLite(b, database.Schemas...)
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	analysts := seed(b, st.DB(), now)
	inc := incidentdb.New(st.DB())
	open := []incident.Status{incident.StatusNew, incident.StatusTriage, incident.StatusInProgress, incident.StatusWaiting}
	newReports := []incident.ReportState{incident.ReportNew}
	for _, bm := range []struct {
		name string
		run  func() (int, error)
	}{
		{"triage queue", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{States: newReports})
			return p.Total, err
		}},
		{"triage queue by kind", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{States: newReports, Kinds: []incident.Kind{incident.KindMalware}})
			return p.Total, err
		}},
		{"triage queue by channel, oldest first", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{States: newReports, Channels: []incident.Channel{incident.ChannelPhone}, Oldest: true})
			return p.Total, err
		}},
		{"triage queue, page 100", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{States: newReports, Offset: 5000})
			return p.Total, err
		}},
		{"incident list", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{Statuses: open})
			return p.Total, err
		}},
		{"incident list, mine", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{Statuses: open, AssigneeID: analysts[3]})
			return p.Total, err
		}},
		{"incident list, overdue", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{OverdueAt: now, Sort: incident.SortDue})
			return p.Total, err
		}},
		{"incident list, all by due", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{Sort: incident.SortDue})
			return p.Total, err
		}},
		// The searches and views of the console's lists (views12).
		{"search reports by text, any state", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{Text: "SITE-123456."})
			return p.Total, err
		}},
		{"search reports by observable, any state", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{Observable: benchURL(123456)})
			return p.Total, err
		}},
		{"search new reports by text and dates", func() (int, error) {
			p, err := inc.ListReports(b.Context(), incident.ReportQuery{States: newReports, Text: "evil.example",
				From: now.Add(-48 * time.Hour), To: now.Add(-24 * time.Hour)})
			return p.Total, err
		}},
		{"search incidents by text, any status", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{Text: "incident 4242"})
			return p.Total, err
		}},
		{"search incidents by observable", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{Observable: benchURL(4242*benchLinkedPerInc + 1)})
			return p.Total, err
		}},
		{"search open incidents by kind, severity and date", func() (int, error) {
			p, err := inc.ListIncidents(b.Context(), incident.IncidentQuery{Statuses: open, Kinds: []incident.Kind{incident.KindPhishing},
				Severities: []incident.Severity{incident.SeverityHigh}, From: now.Add(-60 * 24 * time.Hour)})
			return p.Total, err
		}},
		{"the six views' counts", func() (int, error) {
			total := 0
			for _, q := range []incident.IncidentQuery{{Statuses: open}, {Statuses: open, AssigneeID: analysts[3]},
				{Statuses: open, Unassigned: true}, {Statuses: open, OverdueAt: now},
				{Statuses: []incident.Status{incident.StatusWaiting}}, {Statuses: []incident.Status{incident.StatusClosed}}} {
				q.Limit = 1
				p, err := inc.ListIncidents(b.Context(), q)
				if err != nil {
					return 0, err
				}
				total += p.Total
			}
			return total, nil
		}},
	} {
		b.Run(bm.name, func(b *testing.B) {
			cpu := cputime.Process()
			for b.Loop() {
				n, err := bm.run()
				if err != nil || n == 0 {
					b.Fatalf("%d, %v", n, err)
				}
			}
			// The process's CPU time, less sensitive than the wall time
			// to the other jobs on the machine.
			b.ReportMetric(float64((cputime.Process()-cpu).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// benchURL is the URL the seed's nth report names.
func benchURL(n int) string { return fmt.Sprintf("https://site-%d.evil.example/login", n) }

// seed writes the data set in one transaction and returns the analysts'
// ids.
func seed(b *testing.B, db sqlkit.DB, now time.Time) []int64 {
	b.Helper()
	ctx := b.Context()
	accounts := authdb.New(db)
	var analysts []int64
	for i := range benchAnalysts {
		u := auth.User{Name: fmt.Sprintf("analyst%d", i), Email: fmt.Sprintf("a%d@cert.example", i), Role: auth.RoleAnalyst,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := accounts.CreateUser(ctx, &u); err != nil {
			b.Fatal(err)
		}
		analysts = append(analysts, u.ID)
	}
	start := time.Now()
	err := db.Tx(ctx, func(tx sqlkit.DB) error {
		d := tx.Dialect()
		incStmt, err := sqlkit.Prepare(ctx, tx, `INSERT INTO incidents (year, seq, title, kind, taxonomy, type, tlp, pap, severity, impact,
			assignee_id, status, status_reason, created, updated, due, closed, reports, merged_into)
			VALUES (2026, ?, ?, ?, ?, ?, 'AMBER', 'AMBER', ?, '', ?, ?, '', ?, ?, ?, NULL, ?, NULL)`)
		if err != nil {
			return err
		}
		defer incStmt.Close()
		repStmt, err := sqlkit.Prepare(ctx, tx, `INSERT INTO reports (tracking, token_hash, channel, kind, received, reporter_name,
			reporter_email, reporter_phone, org_id, language, subject, text, concerned, state, close_reason, incident_id, split_from)
			VALUES (?, ?, ?, ?, ?, 'Reporter', 'reporter@example.org', '', NULL, 'en', 'Suspicious mail', ?, ?, ?, '', ?, NULL)`)
		if err != nil {
			return err
		}
		defer repStmt.Close()
		// Every report names its URL and the URL's host as observables
		// (the searches by observable), and every incident the URL of
		// its first report.
		obsStmt, err := sqlkit.Prepare(ctx, tx, `INSERT INTO report_observables (report_id, kind, value) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer obsStmt.Close()
		incObsStmt, err := sqlkit.Prepare(ctx, tx, `INSERT INTO incident_observables (incident_id, kind, value) VALUES (?, 'url', ?)`)
		if err != nil {
			return err
		}
		defer incObsStmt.Close()
		hash := incident.TokenHash("x")
		report := func(n int, k incident.Kind, c incident.Channel, at time.Time, state incident.ReportState, incidentID any) error {
			url := benchURL(n)
			id, err := repStmt.Insert(ctx, incident.FormatTracking(2026, n), hash, string(c), string(k), d.Time(at),
				"Please look at "+url, url, string(state), incidentID)
			if err != nil {
				return err
			}
			if _, err := obsStmt.Exec(ctx, id, "url", url); err != nil {
				return err
			}
			_, err = obsStmt.Exec(ctx, id, "domain", fmt.Sprintf("site-%d.evil.example", n))
			return err
		}
		n := 0
		for i := range benchIncidents {
			k := incident.Kinds[i%len(incident.Kinds)]
			tax, typ := k.Classification()
			sev := incident.Severities[i%len(incident.Severities)]
			status := incident.Statuses[i%len(incident.Statuses)]
			created := now.Add(-time.Duration(benchIncidents-i) * 10 * time.Minute)
			var assignee any
			if i%4 != 0 {
				assignee = analysts[i%benchAnalysts]
			}
			id, err := incStmt.Insert(ctx, i+1, fmt.Sprintf("Incident %d", i), string(k), tax, typ, string(sev), assignee,
				string(status), d.Time(created), d.Time(created.Add(time.Duration(i%97)*time.Minute)),
				d.NullTime(incident.DefaultSLA.Due(sev, created)), benchLinkedPerInc)
			if err != nil {
				return err
			}
			if _, err := incObsStmt.Exec(ctx, id, benchURL(n+1)); err != nil {
				return err
			}
			for range benchLinkedPerInc {
				n++
				if err := report(n, k, incident.ChannelEmail, created, incident.ReportLinked, id); err != nil {
					return err
				}
			}
		}
		for i := range benchOpenReports {
			n++
			at := now.Add(-time.Duration(benchOpenReports-i) * 24 * time.Hour / benchReportsPerDay)
			if err := report(n, incident.Kinds[i%len(incident.Kinds)], incident.Channels[i%len(incident.Channels)], at, incident.ReportNew, nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatalf("seed: %v", err)
	}
	if _, err := db.Exec(ctx, `ANALYZE`); err != nil {
		b.Fatal(err)
	}
	b.Logf("seeded %d new reports, %d incidents with %d reports each in %v", benchOpenReports, benchIncidents, benchLinkedPerInc, time.Since(start))
	return analysts
}

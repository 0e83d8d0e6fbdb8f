package alertdb_test

import (
	"context"
	"fmt"
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

// benchEvents is how many events a benchmark's store holds: 50
// organisations, 4 types of which 3 have a rule, spread evenly.
const benchEvents = 100_000

var benchTypes = [][2]string{{"vulnerable", "vulnerable-system"}, {"malicious-code", "infected-system"},
	{"fraud", "phishing"}, {"information-gathering", "scanner"}}

func fillBench(b *testing.B, st store.Store) {
	b.Helper()
	for i := range 50 {
		storetest.Organisation(b, st, fmt.Sprintf("org-%02d", i))
	}
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]*event.Event, 0, 5000)
	for i := range benchEvents {
		typ := benchTypes[i%len(benchTypes)]
		batch = append(batch, storetest.Event(b, map[string]string{
			"time.source":             event.FormatTime(start.Add(time.Duration(i) * time.Second)),
			"classification.taxonomy": typ[0],
			"classification.type":     typ[1],
			"feed.name":               "Shadowserver bench",
			"source.ip":               fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255),
			"source.port":             "3389",
		}, fmt.Sprintf("org-%02d", i/len(benchTypes)%50)))
		if len(batch) == cap(batch) {
			storetest.Insert(b, st, batch...)
			batch = batch[:0]
		}
	}
	storetest.Insert(b, st, batch...)
}

// BenchmarkWorker times the alerts worker following a store of
// benchEvents events from the start: reading them in order, matching
// each against the rules, grouping by organisation and type, and
// writing the alerts (150 of them, with their reports) and the cursor in
// one transaction per batch of 1000. Each round starts from an empty
// cursor and alerts table.
func BenchmarkWorker(b *testing.B) {
	for _, backend := range []string{"sqlite", "postgres"} {
		b.Run(backend, func(b *testing.B) {
			var st store.Store
			if backend == "sqlite" {
				st = dbtest.SQLite(b, database.Schemas...)
			} else {
				st = dbtest.Postgres(b, database.Schemas...)
			}
			fillBench(b, st)
			db := database.On(st)
			rules := []alert.Rule{{Taxonomy: "vulnerable"}, {Type: "infected-system", Severity: incident.SeverityHigh},
				{Type: "phishing", MinCount: 10}}
			ctx := context.Background()
			b.ResetTimer()
			for range b.N {
				b.StopTimer()
				for _, q := range []string{`UPDATE reports SET state = 'closed' WHERE channel = 'alert'`, `DELETE FROM incident_alerts`,
					`DELETE FROM state WHERE key = '` + alertdb.CursorKey + `'`} {
					if _, err := st.DB().Exec(ctx, q); err != nil {
						b.Fatal(err)
					}
				}
				w := &alert.Worker{Events: st, Store: db.Alerts, Service: &incident.Service{Store: db, Audit: db},
					Organisations: db, Rules: rules}
				b.StartTimer()
				read := 0
				for {
					n, err := w.RunOnce(ctx)
					if err != nil {
						b.Fatal(err)
					}
					if n == 0 {
						break
					}
					read += n
				}
				if read != benchEvents {
					b.Fatalf("read %d events, want %d", read, benchEvents)
				}
			}
			b.ReportMetric(float64(b.N*benchEvents)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

package notify

import (
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/constituency/constituencydb"
	"github.com/vigil-cert/vigil/internal/notify/falsepositive"
	"github.com/vigil-cert/vigil/internal/notify/told"
	"github.com/vigil-cert/vigil/internal/pgpmime"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

var (
	benchOrgs     = flag.Int("bench.orgs", 1000, "BenchmarkDigests: organisations")
	benchPrefixes = flag.Int("bench.prefixes", 10000, "BenchmarkDigests: /24 networks")
	benchEvents   = flag.Int("bench.events", 100000, "BenchmarkDigests: stored events")
)

// BenchmarkDigests times one notifier pass that builds, signs and commits
// every organisation's digest, over a store loaded once and copied afresh
// for every iteration (a pass consumes its queue). The default scale is a
// tenth of the target (10,000 organisations, 100,000 prefixes, 1,000,000
// events: `vigil bench notify` measures that); -bench.orgs,
// -bench.prefixes and -bench.events change it.
func BenchmarkDigests(b *testing.B) {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := b.Context()
	dir := b.TempDir()
	template := filepath.Join(dir, "template.db")
	db, orgs := openTestStore(b, template, sqlitestore.Options{Synchronous: "OFF", Logger: quiet})
	now := time.Now()
	spec := BenchSpec{Organisations: *benchOrgs, Prefixes: *benchPrefixes, Events: *benchEvents, Seed: 3, Now: now}
	if err := LoadBench(ctx, withSettings{db, orgs, told.New(db.DB(), db), newMemSettings(), falsepositive.New(db.DB())}, spec, nil); err != nil {
		b.Fatal(err)
	}
	if err := db.Close(); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(template)
	if err != nil {
		b.Fatal(err)
	}
	armored, err := pgpmime.GenerateIdentity("Vigil bench", "bench@example.org", now.Add(-time.Hour))
	if err != nil {
		b.Fatal(err)
	}
	id, err := pgpmime.ParseIdentity(armored, "")
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.Enabled, cfg.From = true, "Vigil bench <bench@example.org>"
	var rep Report
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		path := filepath.Join(dir, "run", filepath.Base(b.Name())+"-"+time.Now().Format("150405.000000"), "vigil.db")
		if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(path, raw, 0o640); err != nil {
			b.Fatal(err)
		}
		st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		n, err := New(cfg, Deps{Store: withSettings{st, constituencydb.New(st.DB()), told.New(st.DB(), st), newMemSettings(), falsepositive.New(st.DB())}, Identity: id, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		rep, err = n.RunOnce(ctx, now)
		b.StopTimer()
		if err != nil {
			b.Fatal(err)
		}
		if rep.Consumed != spec.Events || len(rep.Errors) > 0 {
			b.Fatalf("pass handled %d of %d events, %d organisations failed", rep.Consumed, spec.Events, len(rep.Errors))
		}
		st.Close()
		os.RemoveAll(filepath.Dir(path))
		b.StartTimer()
	}
	b.ReportMetric(float64(rep.Messages), "messages")
	b.ReportMetric(float64(spec.Events)*float64(i)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(rep.Committing.Seconds(), "s-committing/op")
}

// BenchmarkRender measures rendering one digest of 100 events, the
// average organisation of BenchmarkDigests.
func BenchmarkRender(b *testing.B) {
	r := testRenderer(b, testConfig())
	events := manyEvents(100)
	in := renderInput{Kind: NameDigest, Org: SampleOrganisation(), Language: "en", Format: FormatSummary, Events: events, Now: renderNow}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.render(in); err != nil {
			b.Fatal(err)
		}
	}
}

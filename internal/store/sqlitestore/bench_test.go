package sqlitestore

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// BenchmarkInsertEvents stores batches of 1000 Shadowserver-like events, one
// transaction (one fsync) each, and reports events/s. Building the events
// is not timed.
func BenchmarkInsertEvents(b *testing.B) {
	for _, sync := range []string{"FULL", "OFF"} {
		b.Run("synchronous="+sync, func(b *testing.B) { benchmarkInsert(b, sync, nil) })
	}
}

// BenchmarkInsertEventsTagged is BenchmarkInsertEvents with half of the
// events belonging to a constituent (extra.constituency, one of 16
// organisations), which the store indexes and queues for notification.
func BenchmarkInsertEventsTagged(b *testing.B) {
	tag := func(i int, e *event.Event) {
		if i%2 == 0 {
			e.SetTrusted("extra.constituency", fmt.Sprintf(`["org-%d"]`, i%16))
		}
	}
	for _, sync := range []string{"FULL", "OFF"} {
		b.Run("synchronous="+sync, func(b *testing.B) { benchmarkInsert(b, sync, tag) })
	}
}

func benchmarkInsert(b *testing.B, sync string, tag func(int, *event.Event)) {
	s := openTemp(b, Options{Synchronous: sync})
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	g := storetest.NewGenerator(1)
	const batch = 1000
	var (
		events int
		cpu    time.Duration
	)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		evs := g.Batch(batch)
		if tag != nil {
			for i, e := range evs {
				tag(i, e)
			}
		}
		b.StartTimer()
		c := cputime.Process()
		n, err := s.InsertEvents(b.Context(), evs, nil)
		if err != nil {
			b.Fatal(err)
		}
		cpu += cputime.Process() - c
		events += n
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(events)/cpu.Seconds(), "events/cpu-s")
	}
}

// benchDB returns a store holding rows generated events, built once and kept
// at VIGIL_BENCH_DB when that is set (building 10 million rows takes
// minutes), else in a temporary directory. VIGIL_BENCH_ROWS sets the size
// (default 1,000,000).
func benchDB(b *testing.B) (*Store, *storetest.Generator) {
	b.Helper()
	rows := 1_000_000
	if v := os.Getenv("VIGIL_BENCH_ROWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("VIGIL_BENCH_ROWS: %v", err)
		}
		rows = n
	}
	path := os.Getenv("VIGIL_BENCH_DB")
	if path == "" {
		path = filepath.Join(b.TempDir(), "bench.db")
	}
	g := storetest.NewGenerator(7)
	ctx := context.Background()
	s, err := Open(ctx, path, Options{Synchronous: "OFF", CacheMiB: 1024})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	have, err := s.CountEvents(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if have < int64(rows) {
		start := time.Now()
		// Regenerate the rows already stored so the generator's state
		// matches; they are skipped as duplicates.
		for done := 0; done < rows; done += 5000 {
			if _, err := s.InsertEvents(ctx, g.Batch(min(5000, rows-done)), nil); err != nil {
				b.Fatal(err)
			}
		}
		b.Logf("built %d events in %v", rows, time.Since(start).Round(time.Second))
	}
	return s, g
}

// BenchmarkSearchEvents measures the first page (50 events) of the
// searches an analyst makes most, on the database of benchDB.
func BenchmarkSearchEvents(b *testing.B) {
	s, g := benchDB(b)
	// An address that occurs: the generator's first event's.
	first := storetest.NewGenerator(7).Event()
	ip := netip.MustParseAddr(first.Value("source.ip"))
	cases := []struct {
		name string
		q    store.EventQuery
	}{
		{"newest", store.EventQuery{}},
		{"IP", store.EventQuery{IP: ip}},
		{"CIDR/24", store.EventQuery{Prefix: netip.PrefixFrom(ip, 24).Masked()}},
		{"CIDR/16", store.EventQuery{Prefix: g.NetworkPrefix(3)}},
		{"CIDR/8", store.EventQuery{Prefix: netip.MustParsePrefix("100.0.0.0/8")}},
		{"ASN largest", store.EventQuery{ASN: g.ASN(0)}},
		{"ASN small", store.EventQuery{ASN: g.ASN(150)}},
		{"feed", store.EventQuery{Feed: "Shadowserver open-rdp"}},
		{"ASN and time range", store.EventQuery{ASN: g.ASN(0), From: g.Start.Add(24 * time.Hour), To: g.Start.Add(48 * time.Hour)}},
		{"CIDR/16 and feed", store.EventQuery{Prefix: g.NetworkPrefix(3), Feed: "Shadowserver open-rdp"}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				page, err := s.SearchEvents(b.Context(), c.q)
				if err != nil {
					b.Fatal(err)
				}
				n = len(page.Events)
			}
			b.ReportMetric(float64(n), "events/page")
		})
	}
}

// BenchmarkEventTable measures what the console's table of events adds
// to a search: the bounded count, a grouping and the first page of a sort
// by a column, each over at most store.SearchWindow matches.
func BenchmarkEventTable(b *testing.B) {
	s, g := benchDB(b)
	queries := []struct {
		name string
		q    store.EventQuery
	}{
		{"all", store.EventQuery{}},
		{"CIDR16", store.EventQuery{Prefix: g.NetworkPrefix(3)}},
		{"ASN largest", store.EventQuery{ASN: g.ASN(0)}},
		{"feed", store.EventQuery{Feed: "Shadowserver open-rdp"}},
	}
	for _, c := range queries {
		b.Run("count/"+c.name, func(b *testing.B) {
			var n int
			for b.Loop() {
				var err error
				if n, err = s.CountMatches(b.Context(), c.q, store.SearchWindow); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "counted")
		})
		b.Run("group by source IP/"+c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.GroupEvents(b.Context(), c.q, store.GroupSourceIP, 25); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("sort by source IP/"+c.name, func(b *testing.B) {
			q := c.q
			q.Sort = store.SortSourceIP
			for b.Loop() {
				if _, err := s.SearchEvents(b.Context(), q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

package pgstore

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// BenchmarkInsertEvents stores batches of 1000 Shadowserver-like events,
// one transaction each, and reports events/s. "copy" is InsertEvents (COPY
// straight into events); "unnest" is the INSERT … SELECT FROM unnest … ON
// CONFLICT it falls back to; "staging" is COPY into a temporary table,
// then INSERT … SELECT … ON CONFLICT DO NOTHING.
func BenchmarkInsertEvents(b *testing.B) {
	for _, method := range []string{"copy", "unnest", "staging"} {
		b.Run(method, func(b *testing.B) {
			s := openFresh(b)
			if err := s.Migrate(b.Context()); err != nil {
				b.Fatal(err)
			}
			g := storetest.NewGenerator(1)
			insert := map[string]func(context.Context, []*event.Event, []store.DedupKey) (int, error){
				"copy": s.InsertEvents, "unnest": s.insertByUnnest, "staging": s.insertByCopy,
			}[method]
			var events int
			for b.Loop() {
				b.StopTimer()
				evs := g.Batch(1000)
				b.StartTimer()
				n, err := insert(b.Context(), evs, nil)
				if err != nil {
					b.Fatal(err)
				}
				events += n
			}
			b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
		})
	}
}

// insertByUnnest stores events by the INSERT that InsertBatch falls back to.
func (s *Store) insertByUnnest(ctx context.Context, events []*event.Event, _ []store.DedupKey) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	now := time.Now()
	var b batchColumns
	b.fill(events, now)
	n, err := insertEvents(ctx, tx, &b, now)
	if err != nil {
		return 0, err
	}
	return n, tx.Commit(ctx)
}

// insertByCopy is the staging variant, kept for the benchmark.
func (s *Store) insertByCopy(ctx context.Context, events []*event.Event, _ []store.DedupKey) (int, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMPORARY TABLE IF NOT EXISTS events_in ON COMMIT DELETE ROWS AS
		SELECT hash, time_source, stored, feed, taxonomy, type, tlp, src_ip, dst_ip, src_asn, dst_asn,
		src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, data FROM events WITH NO DATA`); err != nil {
		return 0, err
	}
	now := time.Now()
	var b batchColumns
	b.fill(events, now)
	rows := make([][]any, len(events))
	data := eventRecords(events)
	for i := range events {
		rows[i] = []any{b.hash[i], b.timeSource[i], now, b.feed[i], b.taxonomy[i], b.typ[i], b.tlp[i],
			b.srcIP[i], b.dstIP[i], b.srcASN[i], b.dstASN[i], b.srcFQDN[i], b.dstFQDN[i], b.srcURL[i], b.dstURL[i],
			b.md5[i], b.sha1[i], b.sha256[i], data[i]}
	}
	cols := []string{"hash", "time_source", "stored", "feed", "taxonomy", "type", "tlp", "src_ip", "dst_ip",
		"src_asn", "dst_asn", "src_fqdn", "dst_fqdn", "src_url", "dst_url", "md5", "sha1", "sha256", "data"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"events_in"}, cols, pgx.CopyFromRows(rows)); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `INSERT INTO events (hash, time_source, stored, feed, taxonomy, type, tlp, src_ip, dst_ip,
		src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, data)
		SELECT hash, time_source, stored, feed, taxonomy, type, tlp, src_ip, dst_ip,
		src_asn, dst_asn, src_fqdn, dst_fqdn, src_url, dst_url, md5, sha1, sha256, data FROM events_in
		ORDER BY time_source ON CONFLICT (hash) DO NOTHING`)
	if err != nil {
		return 0, err
	}
	return int(tag.RowsAffected()), tx.Commit(ctx)
}

// BenchmarkSearchEvents measures first pages on 200,000 events, in the hot
// partition.
func BenchmarkSearchEvents(b *testing.B) { benchSearch(b, false) }

// BenchmarkSearchSealed measures the same searches once the partition is
// sealed (SealEvents): by its indexes, and without those of the columns
// it holds no value of (the generator's events have no destination).
func BenchmarkSearchSealed(b *testing.B) { benchSearch(b, true) }

func benchSearch(b *testing.B, seal bool) {
	s := openFresh(b)
	if err := s.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	g := storetest.NewGenerator(7)
	ip := netip.MustParseAddr(storetest.NewGenerator(7).Event().Value("source.ip"))
	for range 40 {
		if _, err := s.InsertEvents(b.Context(), g.Batch(5000), nil); err != nil {
			b.Fatal(err)
		}
	}
	if seal {
		if err := s.SealEvents(b.Context()); err != nil {
			b.Fatal(err)
		}
	}
	if _, err := s.pool.Exec(b.Context(), "ANALYZE events"); err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		q    store.EventQuery
	}{
		{"newest", store.EventQuery{}},
		{"IP", store.EventQuery{IP: ip}},
		{"CIDR/16", store.EventQuery{Prefix: g.NetworkPrefix(3)}},
		{"CIDR/8", store.EventQuery{Prefix: netip.MustParsePrefix("100.0.0.0/8")}},
		{"ASN largest", store.EventQuery{ASN: g.ASN(0)}},
		{"FQDN", store.EventQuery{FQDN: "example.be"}},
		{"feed", store.EventQuery{Feed: "Shadowserver open-rdp"}},
		{"CIDR/16 and feed", store.EventQuery{Prefix: g.NetworkPrefix(3), Feed: "Shadowserver open-rdp"}},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if _, err := s.SearchEvents(b.Context(), c.q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClosedLookup asks whether 30 closed partitions of 2,000 events
// each hold any of a batch of 2,000 new hashes, as copyEvents does before
// its COPY: "sql" probes every closed partition's hash index (a process
// that has not read them into its set yet), "set" asks the set first
// (closedset.go). It reports the server's time an event (wall time of the
// query on an idle server), which grows with the partitions for "sql".
func BenchmarkClosedLookup(b *testing.B) {
	ctx := b.Context()
	s := openFresh(b)
	if err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	g := storetest.NewGenerator(5)
	day := time.Now().UTC().Add(-40 * 24 * time.Hour)
	const parts, size = 30, 2000
	for i := range parts + 1 {
		evs := g.Batch(size)
		for _, e := range evs {
			e.SetTime("time.observation", day.Add(time.Duration(i)*24*time.Hour))
		}
		if n, err := s.InsertEvents(ctx, evs, nil); err != nil || n != size {
			b.Fatalf("InsertEvents = %d, %v", n, err)
		}
	}
	s.parts.wg.Wait()
	fresh := g.Batch(size)
	hashes := make([][]byte, size)
	for i, e := range fresh {
		h := e.Hash()
		hashes[i] = h[:]
	}
	start := partitionStart(s.parts.num)
	for _, mode := range []string{"sql", "set"} {
		b.Run(mode, func(b *testing.B) {
			set := &s.closed
			if mode == "sql" {
				set = &closedSet{}
			} else if got := set.covered.Load(); got != s.parts.num {
				b.Fatalf("covered below %d, want %d", got, s.parts.num)
			}
			for b.Loop() {
				err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
					stored := make(map[string]bool)
					err := closedStored(ctx, tx, set, &hotSet{}, hashes, start, stored)
					if len(stored) > 0 {
						b.Fatal("a new hash found stored")
					}
					return err
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N*size), "µs/event")
		})
	}
}

package pgstore

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// copyCorpus is a batch of generated events of every searchable field, a
// third of them tagged with one or two organisations, and some with a
// raw line long enough that PostgreSQL compresses the row.
func copyCorpus(t *testing.T, n int) []*event.Event {
	t.Helper()
	events := storetest.NewGenerator(3).Batch(n)
	for i, e := range events {
		switch i % 3 {
		case 1:
			e.SetTrusted("extra.constituency", `["uni"]`)
		case 2:
			e.SetTrusted("extra.constituency", `["uni","city"]`)
		}
		if i%4 == 0 {
			e.SetRawString(strings.Repeat(fmt.Sprintf("line %d of a long report,", i), 200))
		}
		if i%5 == 0 {
			// Every other column, with an IPv6 address and an IPv4-mapped one.
			for k, v := range map[string]string{
				"destination.ip": fmt.Sprintf("2001:db8::%x", i+1), "destination.asn": fmt.Sprint(64000 + i),
				"destination.fqdn": fmt.Sprintf("www.d%d.example.nl", i), "source.fqdn": fmt.Sprintf("s%d.example.be", i),
				"source.url": fmt.Sprintf("http://s%d.example.be/a?b=c", i), "destination.url": fmt.Sprintf("https://d%d.example.nl/", i),
				"malware.hash.md5": fmt.Sprintf("%032x", i), "malware.hash.sha1": fmt.Sprintf("%040x", i),
				"malware.hash.sha256": fmt.Sprintf("%064x", i),
			} {
				e.SetTrusted(k, v)
			}
			if i%10 == 0 {
				e.SetTrusted("source.ip", fmt.Sprintf("::ffff:192.0.2.%d", i%250))
				// Text beyond ASCII, copied as the INSERT binds it.
				e.SetTrusted("feed.name", fmt.Sprintf("café-flux-%d", i))
				e.SetTrusted("source.url", fmt.Sprintf("http://s%d.example.be/überblick?q=é", i))
			}
		}
	}
	return events
}

// dumpEvents reads every row of the store's events, event_orgs and
// notify_queue as text, in id order, with the time the batch was stored
// left out (each insert reads its own clock), and each event's record
// wherever it is kept (in data or in a block).
func dumpEvents(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.pool.Query(t.Context(), `SELECT format('event %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s %s', id, encode(hash, 'hex'), time_source,
			quote_nullable(feed), quote_nullable(taxonomy), quote_nullable(type), quote_nullable(tlp), quote_nullable(src_ip), quote_nullable(dst_ip),
			quote_nullable(src_asn), quote_nullable(dst_asn), quote_nullable(src_fqdn), quote_nullable(dst_fqdn), quote_nullable(src_url), quote_nullable(dst_url),
			quote_nullable(md5), quote_nullable(sha1), quote_nullable(sha256)), `+recordCols("")+` FROM events ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var (
		out  []string
		refs []*recordRef
		line string
	)
	for rows.Next() {
		ref := new(recordRef)
		if err := rows.Scan(append([]any{&line}, ref.dest()...)...); err != nil {
			t.Fatal(err)
		}
		out, refs = append(out, line), append(refs, ref)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	for i, ref := range refs {
		record := ref.data
		if record == nil {
			var block []byte
			if err := s.pool.QueryRow(t.Context(), `SELECT data FROM event_blocks WHERE id = $1`, ref.block).Scan(&block); err != nil {
				t.Fatalf("block %d: %v", ref.block.Int64, err)
			}
			recs, err := unpackBlock(block)
			if err != nil || int(ref.slot.Int32) >= len(recs) {
				t.Fatalf("block %d: %d records, %v; want record %d", ref.block.Int64, len(recs), err, ref.slot.Int32)
			}
			record = recs[ref.slot.Int32]
		}
		out[i] += " " + hex.EncodeToString(record)
	}
	for _, q := range []string{
		// quote_nullable tells NULL from empty text.
		`SELECT format('org %s %s %s', org, time_source, event_id) FROM event_orgs ORDER BY event_id, org`,
		`SELECT format('queue %s %s', org, event_id) FROM notify_queue ORDER BY event_id, org`,
	} {
		rows, err := s.pool.Query(t.Context(), q)
		if err != nil {
			t.Fatal(err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, lines...)
	}
	return out
}

// TestCopyMatchesInsert stores one corpus by COPY (InsertBatch) and by
// the INSERT it falls back to, in two new databases, and checks that both
// hold the same rows, byte for byte, and that every event reads back as
// it was given. Then it stores the corpus again with a few new events in
// front: COPY fails on the stored hashes and the fallback stores only the
// new ones.
func TestCopyMatchesInsert(t *testing.T) {
	ctx := t.Context()
	events := copyCorpus(t, 600)
	byCopy, byInsert := openFresh(t), openFresh(t)
	for _, s := range []*Store{byCopy, byInsert} {
		if err := s.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
	}
	n, err := byCopy.InsertBatch(ctx, store.EventBatch{Events: events})
	if err != nil || n != len(events) {
		t.Fatalf("InsertBatch = %d, %v; want %d", n, err, len(events))
	}
	tx, err := byInsert.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var b batchColumns
	now := time.Now()
	b.fill(events, now)
	if n, err := insertEvents(ctx, tx, &b, now); err != nil || n != len(events) {
		t.Fatalf("insertEvents = %d, %v; want %d", n, err, len(events))
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	copied, inserted := dumpEvents(t, byCopy), dumpEvents(t, byInsert)
	if want := 3 * len(events); len(inserted) != want { // a row each in events, event_orgs and notify_queue per event or tag
		t.Fatalf("the INSERT stored %d rows of events, organisations and queue; want %d", len(inserted), want)
	}
	if !slices.Equal(copied, inserted) {
		for i := range min(len(copied), len(inserted)) {
			if copied[i] != inserted[i] {
				t.Fatalf("row %d differs:\n COPY   %.200s\n INSERT %.200s", i, copied[i], inserted[i])
			}
		}
		t.Fatalf("COPY stored %d rows, INSERT %d", len(copied), len(inserted))
	}
	for _, e := range events {
		got, err := byCopy.GetEvent(ctx, e.Hash())
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(event.AppendRecord(nil, got.Event), event.AppendRecord(nil, e)) {
			t.Fatalf("event %s reads back changed", e.Hash())
		}
	}

	fresh := storetest.NewGenerator(4).Batch(3)
	again := append(fresh, events...)
	n, err = byCopy.InsertBatch(ctx, store.EventBatch{Events: again})
	if err != nil || n != len(fresh) {
		t.Fatalf("InsertBatch of 3 new and %d stored events = %d, %v; want 3", len(events), n, err)
	}
	if got, err := byCopy.CountEvents(ctx); err != nil || got != int64(len(events)+len(fresh)) {
		t.Fatalf("CountEvents = %d, %v; want %d", got, err, len(events)+len(fresh))
	}
}

// TestCopyRepeatsInBatch stores a batch holding one event twice, tagged:
// as before, the first is stored and tagged once.
func TestCopyRepeatsInBatch(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	events := copyCorpus(t, 6)
	batch := append(slices.Clone(events), events[2])
	if n, err := s.InsertBatch(ctx, store.EventBatch{Events: batch}); err != nil || n != len(events) {
		t.Fatalf("InsertBatch = %d, %v; want %d", n, err, len(events))
	}
	var queued int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM notify_queue`).Scan(&queued); err != nil {
		t.Fatal(err)
	}
	if want := 0 + 1 + 2 + 0 + 1 + 2; queued != want {
		t.Fatalf("%d queue rows; want %d", queued, want)
	}
}

// TestMigrateEventCompression stores events as migration 9 left the
// table (compressed with pglz), migrates, stores more, and checks that
// every event reads back as given and that the new rows are compressed
// with lz4.
func TestMigrateEventCompression(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	events := copyCorpus(t, 40)
	old, later := events[:20], events[20:]
	storeBeforeMigration(t, s, 9, old)
	// By the INSERT of copyEvents' fallback, the one that still writes
	// records into data (COPY writes blocks).
	insertByStatement(t, s, later)
	methods := map[string][]string{}
	for i, e := range events {
		h := e.Hash()
		var method *string
		if err := s.pool.QueryRow(ctx, `SELECT pg_column_compression(data) FROM events WHERE hash = $1`, h[:]).Scan(&method); err != nil {
			t.Fatal(err)
		}
		if method != nil {
			era := "before"
			if i >= len(old) {
				era = "after"
			}
			methods[era] = append(methods[era], *method)
		}
		got, err := s.GetEvent(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(event.AppendRecord(nil, got.Event), event.AppendRecord(nil, e)) {
			t.Fatalf("event %d reads back changed", i)
		}
	}
	want := map[string][]string{"before": {"pglz", "pglz", "pglz", "pglz", "pglz"}, "after": {"lz4", "lz4", "lz4", "lz4", "lz4"}}
	got, _ := json.Marshal(methods)
	if w, _ := json.Marshal(want); !bytes.Equal(got, w) {
		t.Fatalf("compression of the long rows = %s; want %s", got, w)
	}
}

// storeBeforeMigration migrates a fresh store up to version, stores
// events as that version's table takes them, and migrates the rest.
func storeBeforeMigration(t *testing.T, s *Store, version int, events []*event.Event) {
	t.Helper()
	if err := s.migrateTo(t.Context(), version); err != nil {
		t.Fatal(err)
	}
	insertByStatement(t, s, events)
	if err := s.Migrate(t.Context()); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
}

// insertByStatement stores events with the INSERT of copyEvents'
// fallback, in a transaction of their own.
func insertByStatement(t *testing.T, s *Store, events []*event.Event) {
	t.Helper()
	ctx := t.Context()
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var b batchColumns
	now := time.Now()
	b.fill(events, now)
	if _, err := insertEvents(ctx, tx, &b, now); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
}

// TestClosedHoldPrunesGeneric: closedHold's statement, planned once for
// any parameters (a generic plan, which PostgreSQL may choose after five
// executions of a prepared statement), scans only the partitions within
// its bounds: of partitions 0 to 4, the uncovered ones asked from 2 up to
// 4, and one covered partition, 0 (no lower bound) or 1.
func TestClosedHoldPrunesGeneric(t *testing.T) {
	ctx := t.Context()
	s, events, today := partitionedToday(t, 40)
	for i := range 3 {
		if err := s.SealEvents(ctx); err != nil {
			t.Fatal(err)
		}
		if n, err := s.InsertEvents(ctx, observedOn(events[10+i*10:20+i*10], today), nil); err != nil || n != 10 {
			t.Fatalf("InsertEvents = %d, %v", n, err)
		}
	}
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	for _, q := range []string{
		`SET plan_cache_mode = force_generic_plan`,
		`PREPARE hold AS ` + closedRangeHold,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	defer conn.Exec(context.Background(), `RESET plan_cache_mode; DEALLOCATE hold`)
	h := events[0].Hash()
	hashes := `'{"\\x` + hex.EncodeToString(h[:]) + `"}'`
	scanned := regexp.MustCompile(` on (events_\d+)`)
	for _, c := range []struct {
		explain string
		want    []string
	}{
		{fmt.Sprintf(`EXPLAIN EXECUTE hold(%d, %d, %s)`, partitionStart(2), partitionStart(4), hashes), []string{"events_2", "events_3"}},
		{fmt.Sprintf(`EXPLAIN EXECUTE hold(%d, %d, %s)`, int64(math.MinInt64), partitionStart(1), hashes), []string{"events_0"}},
		{fmt.Sprintf(`EXPLAIN EXECUTE hold(%d, %d, %s)`, partitionStart(1), partitionStart(2), hashes), []string{"events_1"}},
	} {
		rows, err := conn.Query(ctx, c.explain)
		if err != nil {
			t.Fatalf("%s: %v", c.explain, err)
		}
		lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			t.Fatalf("%s: %v", c.explain, err)
		}
		plan := strings.Join(lines, "\n")
		var got []string
		for _, m := range scanned.FindAllStringSubmatch(plan, -1) {
			if !slices.Contains(got, m[1]) {
				got = append(got, m[1])
			}
		}
		slices.Sort(got)
		// "Subplans Removed" is the pruning of a generic plan as it starts
		// (a custom plan leaves the partitions out when it plans).
		if !slices.Equal(got, c.want) || !strings.Contains(plan, "Subplans Removed") {
			t.Errorf("%s scans %v, want %v, pruned as a generic plan starts:\n%s", c.explain, got, c.want, plan)
		}
	}
}

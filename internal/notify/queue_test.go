package notify

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestOrgQueue: entries added to an organisation's queue from two pages
// (the second reusing the first's arrays, as a store may) read back as
// they were given, from the pass's copy of the pages; events that are
// gone without a record.
func TestOrgQueue(t *testing.T) {
	at := time.Date(2026, 12, 4, 22, 0, 0, 123000, time.UTC)
	type entry struct {
		seq    int64
		hash   event.Hash
		stored time.Time
		record []byte
	}
	in := []entry{
		{3, event.Hash{3}, at, []byte("three")},
		{5, event.Hash{5}, at.Add(time.Second), nil}, // gone
		{7, event.Hash{7}, at.Add(2 * time.Second), []byte("a longer record of seven")},
		{8, event.Hash{8}, at.Add(3 * time.Second), nil}, // gone
		{9, event.Hash{9}, at.Add(4 * time.Second), []byte{}},
		{11, event.Hash{11}, at.Add(5 * time.Second), []byte("x")},
		{12, event.Hash{12}, at.Add(6 * time.Second), []byte("twelve")},
	}
	// Made for fewer entries than come, as when more are queued while
	// the pass reads.
	q := &orgQueue{seq: make([]int64, 0, 2)}
	var pages []string
	page := &store.PendingPage{Orgs: []string{"a"}}
	for _, part := range [][]entry{in[:4], in[4:]} {
		page.Reset()
		for _, e := range part {
			page.Add(e.seq, e.hash, e.stored.UnixMicro(), e.record, 0)
		}
		pages = append(pages, string(page.Records))
		for i := range part {
			q.add(page, i, int32(len(pages)-1))
		}
	}
	if q.len() != len(in) || q.held != 5 {
		t.Fatalf("%d entries, %d records, want %d and 5", q.len(), q.held, len(in))
	}
	// From a store that keeps no hashes: no array of zero hashes.
	none := &orgQueue{}
	page.Reset()
	page.Add(1, event.Hash{}, 0, []byte("one"), 0)
	none.add(page, 0, 0)
	if none.hash != nil || none.hashOf(0) != (event.Hash{}) {
		t.Errorf("hashes kept from a page without them: %v", none.hash)
	}
	for i, want := range in {
		got, ok := q.record(i, pages)
		if q.seq[i] != want.seq || q.hashOf(i) != want.hash || !time.UnixMicro(q.stored[i]).Equal(want.stored) ||
			ok != (want.record != nil) || got != string(want.record) {
			t.Errorf("entry %d reads back as %d %x %v %q, want %d %x %v %q", i, q.seq[i], q.hash[i][:1], q.stored[i], got, want.seq, want.hash[:1], want.stored, want.record)
		}
	}
}

// record returns the record of entry i in pages, false when its event
// is gone.
func (q *orgQueue) record(i int, pages []string) (string, bool) {
	at := q.where[i]
	if at.page < 0 {
		return "", false
	}
	return pages[at.page][at.start:at.end], true
}

// TestScanMarkUntilDigest: between digests the organisation's queue counts
// as looked at (the pass reads only what is new); from its next digest
// time on it does not, so that the digest pass reads the whole queue
// alongside what the pass shares.
func TestScanMarkUntilDigest(t *testing.T) {
	e := newEnv(t, nil)
	e.put([]map[string]string{scan("192.0.2.1")})
	if rep := e.run(day1); rep.Messages != 1 {
		t.Fatalf("%+v, want the digest", rep)
	}
	e.put([]map[string]string{scan("192.0.2.2")})
	if rep := e.run(day1.Add(time.Hour)); rep.Waiting != 1 {
		t.Fatalf("%+v, want the scan waiting", rep)
	}
	pending, err := e.db.PendingNotificationOrgs(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !e.n.mostlyScanned(pending, day1.Add(2*time.Hour)) {
		t.Error("between digests: the queue does not count as looked at")
	}
	if e.n.mostlyScanned(pending, day1.Add(24*time.Hour)) {
		t.Error("at the next digest time: the queue counts as looked at, and the digest pass would not read it alongside")
	}
}

// TestQueueReadBesideTheCounts: a pass that may read the queue at once
// starts reading it before it has the counts by organisation that decide
// whether it does (here the counts wait for a read of the queue to start:
// a pass that started it only after them would never get them). When the
// counts then say organisation by organisation, the read is dropped and
// the queue listed as before.
func TestQueueReadBesideTheCounts(t *testing.T) {
	defer func(old int) { bulkOrganisations = old }(bulkOrganisations)
	for _, c := range []struct {
		name   string
		bulk   int
		atOnce bool
	}{{"read at once", 1, true}, {"organisation by organisation", 2, false}} {
		t.Run(c.name, func(t *testing.T) {
			bulkOrganisations = c.bulk
			e := newEnv(t, nil)
			e.put([]map[string]string{scan("192.0.2.1"), scan("192.0.2.2")})
			e.db.scanning = make(chan struct{})
			// Bounds the wait of a pass that would never start the read.
			ctx, cancel := context.WithTimeout(e.ctx, time.Minute)
			defer cancel()
			rep, err := e.n.RunOnce(ctx, day1)
			if err != nil {
				t.Fatal(err)
			}
			if rep.Notified != 2 || rep.Messages != 1 || e.pending() != 0 || (rep.Reading > 0) != c.atOnce {
				t.Errorf("%+v, %d pending", rep, e.pending())
			}
			if lists := e.db.lists.Load(); e.db.scans.Load() != 1 || (lists == 0) != c.atOnce {
				t.Errorf("%d scans and %d lists of the queue", e.db.scans.Load(), lists)
			}
		})
	}
}

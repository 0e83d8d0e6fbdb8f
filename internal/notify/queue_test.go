package notify

import (
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
	for i, want := range in {
		got, ok := q.record(i, pages)
		if q.seq[i] != want.seq || q.hash[i] != want.hash || !time.UnixMicro(q.stored[i]).Equal(want.stored) ||
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

package notify

import (
	"bytes"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestOrgQueue: entries added to an organisation's queue read back as
// they were given, records end to end, events that are gone without one.
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
	}
	page := &store.PendingPage{Orgs: []string{"a"}}
	for _, e := range in {
		page.Add(e.seq, e.hash, e.stored.UnixMicro(), e.record, 0)
	}
	// Made for fewer entries than come, as when more are queued while
	// the pass reads.
	q := &orgQueue{seq: make([]int64, 0, 2)}
	for i := range in {
		q.add(page, i)
	}
	if q.len() != len(in) {
		t.Fatalf("%d entries, want %d", q.len(), len(in))
	}
	for i, want := range in {
		got := q.record(i)
		if q.seq[i] != want.seq || q.hash[i] != want.hash || !time.UnixMicro(q.stored[i]).Equal(want.stored) ||
			(got == nil) != (want.record == nil) || !bytes.Equal(got, want.record) {
			t.Errorf("entry %d reads back as %d %x %v %q, want %d %x %v %q", i, q.seq[i], q.hash[i][:1], q.stored[i], got, want.seq, want.hash[:1], want.stored, want.record)
		}
	}
	// A record handed out cannot grow into the next one.
	if r := append(q.record(0), '!'); string(q.record(2)) != "a longer record of seven" || string(r) != "three!" {
		t.Errorf("appending to a record changed the next: %q", q.record(2))
	}
}

// TestOrgQueueRoomFollowsTheAverage: an organisation whose first record
// is large and whose others are small does not reserve the large size
// for every entry it expects (100,000 here, as a pass reading the queue
// at once sizes it): what is reserved stays within twice what is held
// plus minRoom.
func TestOrgQueueRoomFollowsTheAverage(t *testing.T) {
	q := &orgQueue{seq: make([]int64, 0, 100000)}
	big := bytes.Repeat([]byte("r"), 10<<10)
	small := bytes.Repeat([]byte("s"), 300)
	page := &store.PendingPage{Orgs: []string{"a"}}
	page.Add(1, event.Hash{}, 0, big, 0)
	for i := range 999 {
		page.Add(int64(i+2), event.Hash{}, 0, small, 0)
	}
	for i := range page.Len() {
		q.add(page, i)
	}
	if used, limit := len(q.records), 2*len(q.records)+minRoom+len(big); cap(q.records) > limit {
		t.Errorf("%d bytes reserved for %d held, want at most %d", cap(q.records), used, limit)
	}
	if !bytes.Equal(q.record(0), big) || !bytes.Equal(q.record(999), small) {
		t.Error("records do not read back")
	}
}

// record returns the record of entry i, nil when its event is gone (the
// tests read a queue back with it; eachPending walks the records in order).
func (q *orgQueue) record(i int) []byte {
	end := q.ends[i]
	if end < 0 {
		return nil
	}
	start := 0
	for j := i - 1; j >= 0; j-- {
		if q.ends[j] >= 0 {
			start = q.ends[j]
			break
		}
	}
	return q.records[start:end:end]
}

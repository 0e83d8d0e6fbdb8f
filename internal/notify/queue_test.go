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
	in := []store.PendingRecord{
		{Seq: 3, Hash: event.Hash{3}, Stored: at, Record: []byte("three")},
		{Seq: 5, Hash: event.Hash{5}, Stored: at.Add(time.Second)}, // gone
		{Seq: 7, Hash: event.Hash{7}, Stored: at.Add(2 * time.Second), Record: []byte("a longer record of seven")},
		{Seq: 8, Hash: event.Hash{8}, Stored: at.Add(3 * time.Second)}, // gone
		{Seq: 9, Hash: event.Hash{9}, Stored: at.Add(4 * time.Second), Record: []byte{}},
		{Seq: 11, Hash: event.Hash{11}, Stored: at.Add(5 * time.Second), Record: []byte("x")},
	}
	// Made for fewer entries than come, as when more are queued while
	// the pass reads.
	q := &orgQueue{seq: make([]int64, 0, 2)}
	for i := range in {
		q.add(&in[i])
	}
	if q.len() != len(in) {
		t.Fatalf("%d entries, want %d", q.len(), len(in))
	}
	for i, want := range in {
		got := q.record(i)
		if q.seq[i] != want.Seq || q.hash[i] != want.Hash || !time.UnixMicro(q.stored[i]).Equal(want.Stored) ||
			(got == nil) != (want.Record == nil) || !bytes.Equal(got, want.Record) {
			t.Errorf("entry %d reads back as %d %x %v %q, want %d %x %v %q", i, q.seq[i], q.hash[i][:1], q.stored[i], got, want.Seq, want.Hash[:1], want.Stored, want.Record)
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
	q.add(&store.PendingRecord{Seq: 1, Record: big})
	for i := range 999 {
		q.add(&store.PendingRecord{Seq: int64(i + 2), Record: small})
	}
	if used, limit := len(q.records), 2*len(q.records)+minRoom+len(big); cap(q.records) > limit {
		t.Errorf("%d bytes reserved for %d held, want at most %d", cap(q.records), used, limit)
	}
	if !bytes.Equal(q.record(0), big) || !bytes.Equal(q.record(999), small) {
		t.Error("records do not read back")
	}
}

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

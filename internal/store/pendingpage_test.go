package store

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestPendingPageSized checks that a page made the size of another holds
// nothing, shares its Orgs, and takes as many entries as the other
// without growing its arrays.
func TestPendingPageSized(t *testing.T) {
	p := &PendingPage{Orgs: []string{"a", "b"}}
	for i := range 100 {
		var record []byte
		if i%7 != 0 {
			record = make([]byte, 10+i%13)
		}
		p.Add(int64(i+1), event.Hash{byte(i)}, int64(i), record, int32(i%2), 1)
	}
	q := p.Sized()
	if q.Len() != 0 || len(q.Records) != 0 || len(q.Waiting) != 0 || &q.Orgs[0] != &p.Orgs[0] {
		t.Fatalf("sized page: %+v", q)
	}
	before := [...]int{cap(q.Seq), cap(q.Hash), cap(q.Stored), cap(q.Records), cap(q.RecordEnds), cap(q.Gone), cap(q.Waiting), cap(q.WaitingEnds)}
	for i := range p.Len() {
		q.Add(p.Seq[i], p.HashOf(i), p.Stored[i], p.Record(i), p.OrgsOf(i)...)
	}
	after := [...]int{cap(q.Seq), cap(q.Hash), cap(q.Stored), cap(q.Records), cap(q.RecordEnds), cap(q.Gone), cap(q.Waiting), cap(q.WaitingEnds)}
	if before != after {
		t.Errorf("arrays grew: %v, then %v", before, after)
	}
	for i := range p.Len() {
		if q.Seq[i] != p.Seq[i] || string(q.Record(i)) != string(p.Record(i)) || (q.Record(i) == nil) != (p.Record(i) == nil) {
			t.Fatalf("entry %d differs", i)
		}
	}
}

// TestPendingPageHashes: a page whose events come without hashes (a
// store that keeps none) holds no array of them, nor does a page sized
// from it; one whose hashes begin later reads back zero before them.
func TestPendingPageHashes(t *testing.T) {
	p := &PendingPage{Orgs: []string{"a"}}
	for i := range 10 {
		p.Add(int64(i+1), event.Hash{}, int64(i), []byte("r"), 0)
	}
	if len(p.Hash) != 0 || p.HashOf(9) != (event.Hash{}) {
		t.Errorf("without hashes: %d of them, the last %x", len(p.Hash), p.HashOf(9))
	}
	if q := p.Sized(); cap(q.Hash) != 0 {
		t.Errorf("sized from a page without hashes: room for %d", cap(q.Hash))
	}
	p.Add(11, event.Hash{11}, 10, []byte("r"), 0)
	p.Add(12, event.Hash{}, 11, nil, 0) // gone
	for i := range p.Len() {
		want := event.Hash{}
		if i == 10 {
			want = event.Hash{11}
		}
		if got := p.HashOf(i); got != want {
			t.Errorf("event %d: hash %x, want %x", i, got[:1], want[:1])
		}
	}
	if len(p.Hash) != p.Len() {
		t.Errorf("%d hashes for %d events", len(p.Hash), p.Len())
	}
}

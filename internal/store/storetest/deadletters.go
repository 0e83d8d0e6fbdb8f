package storetest

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/store"
)

// testDeadLettersBulk adds and marks more letters at once than one
// statement of the shared layer names (it splits the ids), with the
// defaults a letter gets: a zero Time is the time it was added, a nil
// Input is empty (which SQLite reads back as nil). A letter added as retried is not pending.
func testDeadLettersBulk(t *testing.T, s store.Store) {
	ctx := t.Context()
	const n = 1234
	letters := make([]store.DeadLetter, n)
	for i := range letters {
		letters[i] = store.DeadLetter{Feed: "bulk", Parser: "csv", Error: "short line"}
	}
	letters = append(letters, store.DeadLetter{Feed: "done", Parser: "csv", Input: []byte("x"), Error: "e", Time: base, Retried: true})
	before := time.Now().Add(-time.Second)
	if err := s.AddDeadLetters(ctx, letters); err != nil {
		t.Fatalf("AddDeadLetters: %v", err)
	}
	after := time.Now().Add(time.Second)
	if letters[0].Input != nil || !letters[0].Time.IsZero() {
		t.Errorf("AddDeadLetters changed its argument: %+v", letters[0])
	}
	counts, err := s.CountDeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts["bulk"] != n {
		t.Errorf("CountDeadLetters = %v, want bulk:%d only", counts, n)
	}
	all, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "bulk", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != n {
		t.Fatalf("ListDeadLetters: %d letters, want %d", len(all), n)
	}
	ids := make([]int64, 0, n)
	for _, l := range all {
		if len(l.Input) != 0 || l.Time.Before(before) || l.Time.After(after) || l.Time.Location() != time.UTC {
			t.Fatalf("letter added with defaults = %+v, want an empty input and a time in UTC between %v and %v", l, before, after)
		}
		ids = append(ids, l.ID)
	}
	if err := s.MarkDeadLettersRetried(ctx, ids[1:]); err != nil {
		t.Fatalf("MarkDeadLettersRetried: %v", err)
	}
	counts, err = s.CountDeadLetters(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(counts) != 1 || counts["bulk"] != 1 {
		t.Errorf("after marking all but one, CountDeadLetters = %v, want bulk:1", counts)
	}
	pending, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "bulk"})
	if err != nil {
		t.Fatal(err)
	}
	if len(pending) != 1 || pending[0].ID != ids[0] {
		t.Errorf("pending letters = %+v, want only id %d", pending, ids[0])
	}
	done, err := s.ListDeadLetters(ctx, store.DeadLetterQuery{Feed: "done", IncludeRetried: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || !done[0].Retried || !done[0].Time.Equal(base) {
		t.Errorf("letter added as retried = %+v", done)
	}
}

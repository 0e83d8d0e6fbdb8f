package storetest

import (
	"maps"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// testEventIDs checks store.EventLookup.EventIDs, what the notifier, the
// outbox and the dedup confirmation read of stored events: the id of
// each hash stored, none for a hash not stored, one answer for a hash
// asked twice, ids that are the events' Seq (what EventsAfter and the
// queue of events to notify give, what outbox messages and notifier
// commits name) increasing in the order events were stored, and any
// number of hashes at once.
func testEventIDs(t *testing.T, s store.Store) {
	ids := func(hashes ...event.Hash) map[event.Hash]int64 {
		t.Helper()
		got, err := s.EventIDs(t.Context(), hashes)
		if err != nil {
			t.Fatalf("EventIDs(%d hashes): %v", len(hashes), err)
		}
		return got
	}
	if got := ids(); len(got) != 0 {
		t.Errorf("EventIDs() = %v, want none", got)
	}
	g := NewGenerator(53)
	first, second := g.Batch(30), g.Batch(20)
	if got := ids(first[0].Hash()); len(got) != 0 {
		t.Errorf("EventIDs on no events = %v, want none", got)
	}
	first[3] = tagged(t, first[3], "a")
	second[7] = tagged(t, second[7], "a", "b")
	insert(t, s, first, nil)
	insert(t, s, second, nil)
	all := append(first[:len(first):len(first)], second...)

	// The ids are the events' Seq, in the order they were stored.
	stored, _ := readAfter(t, s, 0, 1000)
	if len(stored) != len(all) {
		t.Fatalf("EventsAfter read %d events, want %d", len(stored), len(all))
	}
	want := make(map[event.Hash]int64, len(all))
	for _, se := range stored {
		want[se.Hash] = se.Seq
	}
	hashes := make([]event.Hash, len(all))
	for i, e := range all {
		hashes[i] = e.Hash()
	}
	got := ids(hashes...)
	if !maps.Equal(got, want) {
		t.Errorf("EventIDs of every stored event = %v, want their Seq %v", got, want)
	}
	for i := 1; i < len(all); i++ {
		if got[all[i-1].Hash()] >= got[all[i].Hash()] {
			t.Errorf("event %d has id %d, event %d (stored after it) %d: ids must increase in the order stored",
				i-1, got[all[i-1].Hash()], i, got[all[i].Hash()])
		}
	}
	for _, org := range []string{"a", "b"} {
		for _, p := range pending(t, s, org) {
			if got[p.Hash] != p.Seq {
				t.Errorf("%s's queue names %s by %d, EventIDs by %d", org, p.Hash, p.Seq, got[p.Hash])
			}
		}
	}

	t.Run("stored, not stored, repeated", func(t *testing.T) {
		missing := g.Event().Hash()
		a, b := first[5].Hash(), second[2].Hash()
		got := ids(b, missing, a, b, a, missing)
		if w := map[event.Hash]int64{a: want[a], b: want[b]}; !maps.Equal(got, w) {
			t.Errorf("EventIDs = %v, want %v (the missing hash left out, the repeated ones once)", got, w)
		}
		if got := ids(missing); len(got) != 0 {
			t.Errorf("EventIDs of a hash not stored = %v, want none", got)
		}
		// Stored again, an event keeps its id.
		if n := insert(t, s, []*event.Event{first[5], second[2]}, nil); n != 0 {
			t.Fatalf("stored again: %d inserted", n)
		}
		if got := ids(a, b); got[a] != want[a] || got[b] != want[b] {
			t.Errorf("after storing them again: %v, want %d and %d", got, want[a], want[b])
		}
	})

	t.Run("more hashes than a statement takes", func(t *testing.T) {
		// SQLite binds at most 32766 parameters in a statement.
		many := make([]event.Hash, 40000)
		for i := range many {
			many[i] = event.Hash{0xEE, byte(i), byte(i >> 8), byte(i >> 16)}
		}
		at := []int{0, 999, 1000, 32766, 39999}
		w := map[event.Hash]int64{}
		for j, i := range at {
			many[i] = all[j*7].Hash()
			w[many[i]] = want[many[i]]
		}
		if got := ids(many...); !maps.Equal(got, w) {
			t.Errorf("EventIDs of %d hashes = %v, want %v", len(many), got, w)
		}
	})
}

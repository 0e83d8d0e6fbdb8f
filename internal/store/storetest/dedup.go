package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// testDedupKeysExist checks the deduplicator's confirmation: a key is
// claimed while its stored dedup key has not expired, and for good when
// an event is stored under it.
func testDedupKeysExist(t *testing.T, s store.Store) {
	k := func(b ...byte) event.Hash { var h event.Hash; copy(h[:], b); return h }
	now := base
	e := ev(t, map[string]string{"time.source": event.FormatTime(now), "source.ip": "192.0.2.1"})
	insert(t, s, []*event.Event{e}, []store.DedupKey{
		{Key: k(1), Expires: now.Add(time.Hour)},
		{Key: k(2), Expires: now.Add(-time.Hour)},
		{Key: k(3), Expires: now.Add(2 * time.Hour)},
	})
	exist := func(at time.Time, keys ...event.Hash) []bool {
		t.Helper()
		got, err := s.DedupKeysExist(t.Context(), keys, at)
		if err != nil {
			t.Fatalf("DedupKeysExist: %v", err)
		}
		return got
	}
	keys := []event.Hash{k(1), k(2), k(3), k(4), e.Hash(), k(1)}
	if got, want := exist(now, keys...), []bool{true, false, true, false, true, true}; !slices.Equal(got, want) {
		t.Errorf("at the start: %v, want %v (key 2 expired, key 4 never claimed, the event's hash stored)", got, want)
	}
	if got, want := exist(now.Add(90*time.Minute), keys...), []bool{false, false, true, false, true, false}; !slices.Equal(got, want) {
		t.Errorf("90 minutes later: %v, want %v (key 1 expired; the stored event does not)", got, want)
	}
	if got := exist(now); len(got) != 0 {
		t.Errorf("no keys: %v", got)
	}
	t.Run("more keys than one query takes", func(t *testing.T) {
		many := make([]event.Hash, 2500)
		for i := range many {
			many[i] = k(9, byte(i), byte(i>>8))
		}
		many[2400] = k(3)
		many[7] = e.Hash()
		got := exist(now, many...)
		for i, found := range got {
			if want := i == 2400 || i == 7; found != want {
				t.Errorf("key %d: found %v, want %v", i, found, want)
			}
		}
		if len(got) != len(many) {
			t.Errorf("%d answers for %d keys", len(got), len(many))
		}
	})
}

package storetest

import (
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// testBatchIdentity: a batch of the pipeline is recognised as a whole by
// its identity, recorded with it, whatever its events are; a batch
// without one is stored as InsertEvents stores.
func testBatchIdentity(t *testing.T, s store.Store) {
	mk := func(ip string) *event.Event {
		e := ev(t, map[string]string{"time.source": "2024-05-01T10:00:00Z", "source.ip": ip, "feed.name": "f"})
		e.Seal()
		return e
	}
	a, b, c := mk("192.0.2.1"), mk("192.0.2.2"), mk("192.0.2.3")
	batch := store.EventBatch{ID: store.BatchID([]*event.Event{a, b}), Events: []*event.Event{a, b},
		Dedup: []store.DedupKey{{Key: event.Hash{1}, Expires: time.Now().Add(time.Hour)}}}
	put := func(what string, b store.EventBatch, want int) {
		t.Helper()
		n, err := s.InsertBatch(t.Context(), b)
		if err != nil {
			t.Fatalf("%s: InsertBatch: %v", what, err)
		}
		if n != want {
			t.Errorf("%s: inserted = %d, want %d", what, n, want)
		}
	}
	if ok, err := s.BatchRecorded(t.Context(), batch.ID); err != nil || ok {
		t.Fatalf("BatchRecorded before the batch = %v, %v; want false", ok, err)
	}
	put("first delivery", batch, 2)
	if ok, err := s.BatchRecorded(t.Context(), batch.ID); err != nil || !ok {
		t.Fatalf("BatchRecorded after the batch = %v, %v; want true", ok, err)
	}
	put("the same batch again", batch, 0)
	// A batch is recognised by its identity alone: what it holds is not
	// read again, so a new event under a recorded identity is not
	// stored (the identity is the content's, so this only happens here).
	put("a recorded identity with other events", store.EventBatch{ID: batch.ID, Events: []*event.Event{c}}, 0)
	if _, err := s.GetEvent(t.Context(), c.Hash()); err == nil {
		t.Errorf("an event under a recorded batch identity was stored")
	}
	put("a new batch", store.EventBatch{ID: store.BatchID([]*event.Event{c}), Events: []*event.Event{c}}, 1)
	if n, err := s.CountEvents(t.Context()); err != nil || n != 3 {
		t.Errorf("CountEvents = %d, %v; want 3", n, err)
	}
	var keys int
	if err := s.LoadDedupKeys(t.Context(), time.Now(), func(store.DedupKey) { keys++ }); err != nil {
		t.Fatal(err)
	}
	if keys != 1 {
		t.Errorf("dedup keys after the replays = %d, want the first delivery's 1", keys)
	}
}

// testBatchIDOrder: the identity depends on the events and their order only.
func testBatchIDOrder(t *testing.T, _ store.Store) {
	a := ev(t, map[string]string{"source.ip": "192.0.2.1"})
	b := ev(t, map[string]string{"source.ip": "192.0.2.2"})
	a.Seal()
	b.Seal()
	ab, ba := store.BatchID([]*event.Event{a, b}), store.BatchID([]*event.Event{b, a})
	if ab == ba {
		t.Errorf("BatchID ignores the order of the events")
	}
	if ab != store.BatchID([]*event.Event{a.Clone(), b.Clone()}) {
		t.Errorf("BatchID of the same events differs")
	}
	if store.BatchID(nil) == ab {
		t.Errorf("an empty batch has the identity of a full one")
	}
}

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

// testBatchCount: a batch's count is added to its feed's totals with it:
// its new events out, its events stored before and those dropped before
// the store duplicates; a batch stored before counts every event a
// duplicate; a batch left with no events counts only; the newest event
// time only moves forward.
func testBatchCount(t *testing.T, s store.Store) {
	ctx := t.Context()
	mk := func(ip, at string) *event.Event {
		e := ev(t, map[string]string{"time.source": at, "source.ip": ip, "feed.name": "counted"})
		e.Seal()
		return e
	}
	a, b := mk("192.0.2.1", "2024-05-01T10:00:00Z"), mk("192.0.2.2", "2024-05-01T11:00:00Z")
	c := mk("192.0.2.3", "2024-05-01T09:00:00Z")
	key := store.FeedKey{Feed: "counted", Report: "scan"}
	count := func(dropped int64, newest string) *store.BatchCount {
		t.Helper()
		last, err := time.Parse(time.RFC3339, newest)
		if err != nil {
			t.Fatal(err)
		}
		return &store.BatchCount{Key: key, Dropped: dropped, LastEvent: last}
	}
	put := func(what string, b store.EventBatch, want int) {
		t.Helper()
		if n, err := s.InsertBatch(ctx, b); err != nil || n != want {
			t.Fatalf("%s: InsertBatch = %d, %v; want %d", what, n, err, want)
		}
	}
	first := store.EventBatch{ID: store.BatchID([]*event.Event{a, b}), Events: []*event.Event{a, b}, Count: count(3, "2024-05-01T11:00:00Z")}
	put("first delivery", first, 2)
	put("the same batch again", first, 0)
	// c is new, a stored before (in another batch).
	put("a batch with a stored event", store.EventBatch{ID: store.BatchID([]*event.Event{c, a}), Events: []*event.Event{c, a},
		Count: count(0, "2024-05-01T10:00:00Z")}, 1)
	put("a batch whose events were all dropped", store.EventBatch{Count: count(4, "0001-01-01T00:00:00Z")}, 0)
	put("a batch without a count", store.EventBatch{ID: store.BatchID([]*event.Event{mk("192.0.2.4", "2024-06-01T00:00:00Z")}),
		Events: []*event.Event{mk("192.0.2.4", "2024-06-01T00:00:00Z")}}, 1)
	rows, err := s.ListFeedStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got *store.FeedStatus
	for i := range rows {
		if rows[i].Name == key.Feed && rows[i].Report == key.Report {
			got = &rows[i]
		}
	}
	if got == nil {
		t.Fatalf("no row of %+v among %+v", key, rows)
	}
	// Out: 2 + 1. Duplicates: 3 dropped; the batch again, its 3 dropped
	// and its 2; a; 4 dropped.
	if got.EventsOut != 3 || got.Duplicates != 13 {
		t.Errorf("events out %d, duplicates %d; want 3 and 13", got.EventsOut, got.Duplicates)
	}
	if want := time.Date(2024, 5, 1, 11, 0, 0, 0, time.UTC); !got.LastEvent.Equal(want) {
		t.Errorf("last event %v; want %v", got.LastEvent, want)
	}
	if !got.LastRun.IsZero() || got.LastError != "" {
		t.Errorf("a batch's count set the last run: %v %q", got.LastRun, got.LastError)
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

package enricher

import (
	"context"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// delivery is one delivery of a batch of events, named as the runner
// names it: by store.BatchID of its sealed events.
func delivery(events ...*event.Event) *pipeline.Batch {
	for _, e := range events {
		e.Seal()
	}
	return &pipeline.Batch{Feed: "dshield", ID: store.BatchID(events), Events: events}
}

func enrich(t *testing.T, d *Dedup, b *pipeline.Batch) {
	t.Helper()
	if err := d.Enrich(context.Background(), b); err != nil {
		t.Fatalf("Enrich: %v", err)
	}
}

// TestDedupRedeliveries: what a batch delivered again may claim, and what
// another batch may not.
func TestDedupRedeliveries(t *testing.T) {
	dbtest.Each(t, nil, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cfg := DedupConfig{Window: time.Hour, FilterKeys: []string{"time.source"}}
		env := pipeline.Env{Store: st, Now: newTestClock(time.Now().Truncate(time.Hour)).Now}

		t.Run("a released claim is the batch's own", func(t *testing.T) {
			d, err := NewDedup(ctx, cfg, env)
			if err != nil {
				t.Fatal(err)
			}
			a := delivery(seenEvent(t, 1, 1))
			enrich(t, d, a)
			// Stored, then an output after the store failed: released.
			if _, err := st.InsertBatch(ctx, store.EventBatch{ID: a.ID, Events: a.Events, Dedup: a.Dedup}); err != nil {
				t.Fatal(err)
			}
			d.Release(a)
			// Another batch with the same key (the same scanner at
			// another hour) is a duplicate, not the released batch.
			b := delivery(seenEvent(t, 1, 2))
			enrich(t, d, b)
			if len(b.Events) != 0 {
				t.Errorf("another batch took a released claim: kept %d events, want 0", len(b.Events))
			}
		})

		t.Run("a stored batch delivered again passes whole", func(t *testing.T) {
			d, err := NewDedup(ctx, cfg, env)
			if err != nil {
				t.Fatal(err)
			}
			first := delivery(seenEvent(t, 10, 1), seenEvent(t, 11, 1))
			enrich(t, d, first)
			if _, err := st.InsertBatch(ctx, store.EventBatch{ID: first.ID, Events: first.Events, Dedup: first.Dedup}); err != nil {
				t.Fatal(err)
			}
			// Committed rather than released (or released and forgotten):
			// its delivery again still finds its events its own.
			d.Committed(first)
			again := delivery(seenEvent(t, 10, 1), seenEvent(t, 11, 1))
			enrich(t, d, again)
			if len(again.Events) != 2 || again.Duplicates != 0 {
				t.Errorf("a stored batch delivered again kept %d events (%d duplicates), want 2 (0)", len(again.Events), again.Duplicates)
			}
			if n, err := st.InsertBatch(ctx, store.EventBatch{ID: again.ID, Events: again.Events, Dedup: again.Dedup}); err != nil || n != 0 {
				t.Errorf("the store stored %d events of the batch again (%v), want 0", n, err)
			}
		})

		t.Run("two deliveries of one batch at once", func(t *testing.T) {
			d, err := NewDedup(ctx, cfg, env)
			if err != nil {
				t.Fatal(err)
			}
			first := delivery(seenEvent(t, 20, 1))
			enrich(t, d, first)
			// Redelivered while the first is still at work: not a
			// duplicate of itself (the store keeps one of the two).
			second := delivery(seenEvent(t, 20, 1))
			enrich(t, d, second)
			if len(second.Events) != 1 {
				t.Errorf("a second delivery in flight kept %d events, want 1", len(second.Events))
			}
			// A different batch with that key is still a duplicate.
			other := delivery(seenEvent(t, 20, 2), seenEvent(t, 21, 2))
			enrich(t, d, other)
			if len(other.Events) != 1 {
				t.Errorf("another batch kept %d events, want 1 (the other key)", len(other.Events))
			}
		})
	})
}

package enricher

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// commit stores a batch as the store output and the runner do: the events
// with the keys that are not their own identities, then Committed.
func commit(t testing.TB, st store.Store, d *Dedup, b *pipeline.Batch) int {
	t.Helper()
	own := make(map[event.Hash]bool, len(b.Events))
	for _, e := range b.Events {
		own[e.Hash()] = true
	}
	var keys []store.DedupKey
	for _, k := range b.Dedup {
		if !own[k.Key] {
			keys = append(keys, k)
		}
	}
	n, err := st.InsertEvents(context.Background(), b.Events, keys)
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	d.Committed(b)
	return n
}

// seenEvent is report n of a scanner seen at hour: with filter_keys
// time.source its dedup key is n's alone, while every sighting is a
// different event to the store.
func seenEvent(t testing.TB, n, hour int) *event.Event {
	return scanEvent(t, n, "time.source", time.Date(2026, 11, 19, hour%24, 0, 0, 0, time.UTC).Format(time.RFC3339))
}

// TestDedupExactWithStore runs a stream of reports, many seen again
// within and after the window, through deduplicators made to err: 4-bit
// fingerprints (nearly every lookup a false "maybe") and one-bucket
// tables (full after a few keys), and checks that they keep exactly the
// events a reference that remembers every key keeps: no duplicate
// passes, no new event is lost. With filter_keys the stream crosses
// windows and the deduplicator restarts halfway, rebuilding its memory
// from the store.
func TestDedupExactWithStore(t *testing.T) {
	const rounds, size, distinct = 40, 150, 3000
	dbtest.Each(t, nil, func(t *testing.T, st store.Store) {
		for ci, tc := range []struct {
			name string
			cfg  DedupConfig
		}{
			{"colliding fingerprints", DedupConfig{fingerprintBits: 4}},
			{"full tables", DedupConfig{bucketsPerShard: 1}},
			{"colliding fingerprints, filter", DedupConfig{fingerprintBits: 4, FilterKeys: []string{"time.source"}}},
			{"full tables, filter", DedupConfig{bucketsPerShard: 1, FilterKeys: []string{"time.source"}}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				ctx := context.Background()
				// Each case has its own keys: the store is shared.
				base := ci * distinct
				tc.cfg.Window = time.Hour
				filtered := len(tc.cfg.FilterKeys) > 0
				clock := newTestClock(time.Now().Truncate(time.Hour))
				env := pipeline.Env{Store: st, Now: clock.Now}
				d, err := NewDedup(ctx, tc.cfg, env)
				if err != nil {
					t.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, uint64(base)))
				claims := map[event.Hash]time.Time{} // the reference
				for round := range rounds {
					step := time.Duration(rng.IntN(50)) * time.Second // within the window
					if filtered {
						step = time.Duration(rng.IntN(40)) * time.Minute // across windows
					}
					clock.Advance(step)
					if filtered && round == rounds/2 {
						if d, err = NewDedup(ctx, tc.cfg, env); err != nil {
							t.Fatal(err)
						}
					}
					events := make([]*event.Event, size)
					for i := range events {
						events[i] = seenEvent(t, base+rng.IntN(distinct), rng.IntN(3))
						events[i].Seal()
					}
					var want []event.Hash
					now := clock.Now()
					for _, e := range events {
						k := d.Key(e)
						if exp, ok := claims[k]; ok && exp.After(now) {
							continue
						}
						claims[k] = now.Add(time.Hour)
						want = append(want, e.Hash())
					}
					b := enrichBatch(t, d, events...)
					if len(b.Events) != len(want) {
						t.Fatalf("round %d: kept %d events, want %d", round, len(b.Events), len(want))
					}
					for i, e := range b.Events {
						if e.Hash() != want[i] {
							t.Fatalf("round %d: event %d kept is not the one the reference keeps", round, i)
						}
					}
					commit(t, st, d, b)
				}
				keys, dups := d.Confirmations()
				t.Logf("%d keys confirmed against the store, %d of them duplicates, %d false positives", keys, dups, keys-dups)
				if keys == dups {
					t.Error("no false positive reached the store: the test does not test the confirmation")
				}
			})
		}
	})
}

// TestDedupConcurrentWithStore has batches of four workers claim the same
// keys at once through a store, with colliding fingerprints: every key is
// stored once, as one event, though each worker's copy is a different
// event (another time.source).
func TestDedupConcurrentWithStore(t *testing.T) {
	dbtest.Each(t, nil, func(t *testing.T, st store.Store) {
		d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, FilterKeys: []string{"time.source"}, fingerprintBits: 4},
			pipeline.Env{Store: st})
		if err != nil {
			t.Fatal(err)
		}
		const workers, batches, size, distinct = 4, 15, 100, 500
		var wg sync.WaitGroup
		for w := range workers {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(w), 7))
				for range batches {
					events := make([]*event.Event, size)
					for j := range events {
						events[j] = seenEvent(t, rng.IntN(distinct), w)
						events[j].Seal()
					}
					commit(t, st, d, enrichBatch(t, d, events...))
				}
			})
		}
		wg.Wait()
		// Every worker claimed keys at random: nearly all 500 are hit.
		seen := map[event.Hash]bool{}
		for w := range workers {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for range batches * size {
				seen[d.Key(seenEvent(t, rng.IntN(distinct), 0))] = true
			}
		}
		n, err := st.CountEvents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(seen)) {
			t.Errorf("%d events stored for %d distinct keys", n, len(seen))
		}
	})
}

// TestDedupReleaseAfterStore: the store output committed a batch, then a
// later output failed and the runner released it. Its redelivery must not
// be dropped as a duplicate of itself, though the store holds its keys.
func TestDedupReleaseAfterStore(t *testing.T) {
	st := dbtest.SQLite(t)
	for _, filter := range [][]string{nil, {"time.source"}} {
		t.Run("filter "+strconv.Itoa(len(filter)), func(t *testing.T) {
			d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, FilterKeys: filter}, pipeline.Env{Store: st})
			if err != nil {
				t.Fatal(err)
			}
			n := 40 + 10*len(filter)
			b := enrichBatch(t, d, scanEvent(t, n), scanEvent(t, n+1))
			if _, err := st.InsertEvents(context.Background(), b.Events, b.Dedup); err != nil {
				t.Fatal(err)
			}
			d.Release(b)
			if again := enrichBatch(t, d, scanEvent(t, n), scanEvent(t, n+1)); len(again.Events) != 2 {
				t.Errorf("redelivery: kept %d of 2", len(again.Events))
			} else {
				commit(t, st, d, again)
			}
			if third := enrichBatch(t, d, scanEvent(t, n)); third.Duplicates != 1 {
				t.Error("a third copy passed")
			}
		})
	}
}

// BenchmarkDedupConfirm measures what a duplicate costs when the memory
// cannot settle it: every event of the batch was stored by an earlier
// batch that is no longer in flight, so every key is confirmed against
// SQLite (one query a batch of 1,000).
func BenchmarkDedupConfirm(b *testing.B) {
	for _, filter := range [][]string{nil, {"time.source"}} {
		b.Run("filter-"+strconv.Itoa(len(filter)), func(b *testing.B) {
			st := dbtest.SQLite(b)
			d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, FilterKeys: filter}, pipeline.Env{Store: st})
			if err != nil {
				b.Fatal(err)
			}
			const size = 1000
			events := make([]*event.Event, size)
			for i := range events {
				events[i] = scanEvent(b, i)
				events[i].Seal()
			}
			first := &pipeline.Batch{Events: slices.Clone(events)}
			if err := d.Enrich(context.Background(), first); err != nil {
				b.Fatal(err)
			}
			commit(b, st, d, first)
			batch := &pipeline.Batch{}
			n := 0
			cpu := cputime.Process()
			for b.Loop() {
				batch.Events = append(batch.Events[:0], events...)
				batch.Duplicates = 0
				if err := d.Enrich(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				if batch.Duplicates != size {
					b.Fatalf("%d duplicates of %d", batch.Duplicates, size)
				}
				n += size
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(n), "cpu-ns/event")
		})
	}
}

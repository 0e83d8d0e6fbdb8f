package enricher

import (
	"context"
	"fmt"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// testClock is a settable clock for env.Now.
type testClock struct{ ns atomic.Int64 }

func newTestClock(t time.Time) *testClock {
	c := &testClock{}
	c.ns.Store(t.UnixNano())
	return c
}
func (c *testClock) Now() time.Time          { return time.Unix(0, c.ns.Load()).UTC() }
func (c *testClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

var dedupStart = time.Date(2026, 11, 20, 8, 0, 0, 0, time.UTC)

// scanEvent is a typical scanner report; n tells reports apart.
func scanEvent(t testing.TB, n int, extra ...string) *event.Event {
	t.Helper()
	m := map[string]string{
		"feed.name":           "dshield",
		"classification.type": "scanner",
		"source.ip":           fmt.Sprintf("192.0.2.%d", n%250+1),
		"source.port":         strconv.Itoa(1024 + n/250),
		"time.source":         "2026-11-20T03:00:00+00:00",
		"time.observation":    "2026-11-20T07:00:00+00:00",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return newEvent(t, m)
}

func enrichBatch(t testing.TB, en pipeline.Enricher, events ...*event.Event) *pipeline.Batch {
	t.Helper()
	b := &pipeline.Batch{Feed: "dshield", Events: events}
	if err := en.Enrich(context.Background(), b); err != nil {
		t.Fatalf("Enrich: %v", err)
	}
	return b
}

func TestDedup(t *testing.T) {
	type step struct {
		advance    time.Duration
		events     []*event.Event
		kept, dups int
	}
	tests := []struct {
		name  string
		cfg   DedupConfig
		steps []step
	}{
		{"within one batch", DedupConfig{Window: time.Hour}, []step{
			{events: []*event.Event{scanEvent(t, 1), scanEvent(t, 1), scanEvent(t, 2)}, kept: 2, dups: 1},
		}},
		{"across batches within the window", DedupConfig{Window: time.Hour}, []step{
			{events: []*event.Event{scanEvent(t, 1)}, kept: 1},
			{advance: 59 * time.Minute, events: []*event.Event{scanEvent(t, 1), scanEvent(t, 3)}, kept: 1, dups: 1},
		}},
		{"again after the window", DedupConfig{Window: time.Hour}, []step{
			{events: []*event.Event{scanEvent(t, 1)}, kept: 1},
			{advance: 30 * time.Minute, events: []*event.Event{scanEvent(t, 1)}, dups: 1},
			// The duplicate did not extend the window.
			{advance: 30 * time.Minute, events: []*event.Event{scanEvent(t, 1)}, kept: 1},
		}},
		{"time.observation and raw do not count", DedupConfig{Window: time.Hour}, []step{
			{events: []*event.Event{scanEvent(t, 1), scanEvent(t, 1, "time.observation", "2026-11-20T07:30:00+00:00", "raw", "eA==")}, kept: 1, dups: 1},
		}},
		{"time.source counts by default", DedupConfig{Window: time.Hour}, []step{
			{events: []*event.Event{scanEvent(t, 1), scanEvent(t, 1, "time.source", "2026-11-21T03:00:00+00:00")}, kept: 2},
		}},
		{"filter_keys leaves time.source out", DedupConfig{Window: 48 * time.Hour, FilterKeys: []string{"time.source"}}, []step{
			{events: []*event.Event{scanEvent(t, 1)}, kept: 1},
			{advance: 24 * time.Hour, events: []*event.Event{scanEvent(t, 1, "time.source", "2026-11-21T03:00:00+00:00")}, dups: 1},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newTestClock(dedupStart)
			d, err := NewDedup(context.Background(), tt.cfg, pipeline.Env{Now: clock.Now})
			if err != nil {
				t.Fatal(err)
			}
			for i, s := range tt.steps {
				clock.Advance(s.advance)
				events := make([]*event.Event, len(s.events))
				for j, e := range s.events {
					events[j] = e.Clone()
				}
				b := enrichBatch(t, d, events...)
				if len(b.Events) != s.kept || b.Duplicates != s.dups {
					t.Errorf("step %d: kept %d, duplicates %d; want %d, %d", i, len(b.Events), b.Duplicates, s.kept, s.dups)
				}
				if len(b.Dedup) != len(b.Events) {
					t.Errorf("step %d: %d keys claimed for %d events", i, len(b.Dedup), len(b.Events))
				}
				for j, k := range b.Dedup {
					if want := b.Events[j].HashExcept(d.skip); k.Key != want {
						t.Errorf("step %d: key %d is %s, want %s", i, j, k.Key, want)
					}
					if want := clock.Now().Add(tt.cfg.Window); !k.Expires.Equal(want) {
						t.Errorf("step %d: expires %v, want %v", i, k.Expires, want)
					}
				}
			}
		})
	}
}

func TestDedupRelease(t *testing.T) {
	d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour}, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	b := enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 2))
	// The outputs failed: the runner releases the claims and the bus
	// delivers the batch again.
	d.Release(b)
	again := enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 2))
	if len(again.Events) != 2 || again.Duplicates != 0 {
		t.Errorf("redelivered batch: kept %d, duplicates %d", len(again.Events), again.Duplicates)
	}
	if third := enrichBatch(t, d, scanEvent(t, 1)); third.Duplicates != 1 {
		t.Errorf("claims not taken again after the redelivery")
	}
}

func TestDedupBoundedMemory(t *testing.T) {
	const maxKeys = 64 * 16
	d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, MaxKeys: maxKeys}, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		events := make([]*event.Event, 500)
		for j := range events {
			events[j] = scanEvent(t, i*500+j)
		}
		if b := enrichBatch(t, d, events...); len(b.Events) != 500 {
			t.Fatalf("batch %d: distinct events dropped: kept %d", i, len(b.Events))
		}
	}
	if n := d.Len(); n > maxKeys || n < maxKeys/2 {
		t.Errorf("%d keys held, want at most %d (and not far fewer)", n, maxKeys)
	}
}

func TestDedupPrune(t *testing.T) {
	clock := newTestClock(dedupStart)
	d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour}, pipeline.Env{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 2))
	clock.Advance(30 * time.Minute)
	enrichBatch(t, d, scanEvent(t, 3))
	clock.Advance(45 * time.Minute) // the first two expired, the third not
	if n := d.pruneMemory(clock.Now()); n != 2 {
		t.Errorf("pruned %d keys, want 2", n)
	}
	if n := d.Len(); n != 1 {
		t.Errorf("%d keys left, want 1", n)
	}
	t.Run("Enrich prunes in the background", func(t *testing.T) {
		clock.Advance(2 * time.Hour)
		deadline := time.Now().Add(5 * time.Second)
		for enrichBatch(t, d); d.Len() != 0; enrichBatch(t, d) { // an empty batch is enough to notice the time
			if time.Now().After(deadline) {
				t.Fatalf("%d keys never pruned", d.Len())
			}
			time.Sleep(5 * time.Millisecond)
		}
	})
}

func TestDedupConcurrent(t *testing.T) {
	d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour}, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	const workers, batches, size, distinct = 4, 20, 100, 700
	var kept, dups atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range batches {
				events := make([]*event.Event, size)
				for j := range events {
					events[j] = scanEvent(t, (w*7919+i*size+j)%distinct)
				}
				b := enrichBatch(t, d, events...)
				kept.Add(int64(len(b.Events)))
				dups.Add(int64(b.Duplicates))
			}
		})
	}
	wg.Wait()
	if kept.Load() != distinct || kept.Load()+dups.Load() != workers*batches*size {
		t.Errorf("kept %d, duplicates %d; want %d kept of %d", kept.Load(), dups.Load(), distinct, workers*batches*size)
	}
}

func TestDedupFactory(t *testing.T) {
	if _, err := pipeline.NewEnricher("dedup", pipeline.Env{}, pipeline.Options{"window": "2h", "filter_keys": []any{"time.source", "extra.seen"}, "max_keys": 1000}); err != nil {
		t.Errorf("good options: %v", err)
	}
	for name, opts := range map[string]pipeline.Options{
		"unknown filter key":   {"filter_keys": []any{"time.sauce"}},
		"window not duration":  {"window": 24},
		"window too short":     {"window": "10ms"},
		"misspelt option":      {"windows": "1h"},
		"filter keys not list": {"filter_keys": map[string]any{}},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewEnricher("dedup", pipeline.Env{}, opts); err == nil {
				t.Error("no error")
			}
		})
	}
}

// TestDedupRestart runs the deduplicator against a real SQLite store: keys
// committed with their events survive a restart, keys of a batch that never
// reached the store do not, and old keys are pruned from the store.
func TestDedupRestart(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "vigil.db")
	open := func() *sqlitestore.Store {
		t.Helper()
		st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		return st
	}
	clock := newTestClock(dedupStart)
	cfg := DedupConfig{Window: 24 * time.Hour}

	st := open()
	d, err := NewDedup(ctx, cfg, pipeline.Env{Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	committed := enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 2), scanEvent(t, 2))
	if n, err := st.InsertEvents(ctx, committed.Events, committed.Dedup); err != nil || n != 2 {
		t.Fatalf("InsertEvents: %d, %v", n, err)
	}
	// This batch is enriched, then the process dies before the store
	// commit: the bus will deliver it again.
	lost := enrichBatch(t, d, scanEvent(t, 3))
	if len(lost.Events) != 1 {
		t.Fatal("setup: event 3 dropped")
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Hour)
	st = open()
	defer st.Close()
	d, err = NewDedup(ctx, cfg, pipeline.Env{Store: st, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Len(); n != 2 {
		t.Errorf("%d keys loaded, want 2", n)
	}
	b := enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 2), scanEvent(t, 3))
	if b.Duplicates != 2 || len(b.Events) != 1 || b.Events[0].Value("source.ip") != "192.0.2.4" {
		t.Errorf("after restart: duplicates %d, kept %d; want the redelivered event 3 kept", b.Duplicates, len(b.Events))
	}
	if _, err := st.InsertEvents(ctx, b.Events, b.Dedup); err != nil {
		t.Fatal(err)
	}

	t.Run("stored keys pruned", func(t *testing.T) {
		clock.Advance(48 * time.Hour)
		deadline := time.Now().Add(10 * time.Second)
		for {
			enrichBatch(t, d)
			left := 0
			if err := st.LoadDedupKeys(ctx, time.Unix(0, 0), func(store.DedupKey) { left++ }); err != nil {
				t.Fatal(err)
			}
			if left == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d expired keys still stored", left)
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}

func BenchmarkDedup(b *testing.B) {
	for _, bc := range []struct {
		name   string
		filter []string
		fresh  bool // every event new (the common case) or every one a duplicate
	}{
		{"new", nil, true},
		{"duplicate", nil, false},
		{"new-filter", []string{"time.source"}, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, FilterKeys: bc.filter, MaxKeys: 1 << 30}, pipeline.Env{})
			if err != nil {
				b.Fatal(err)
			}
			const size = 1000
			events := make([]*event.Event, size)
			for i := range events {
				events[i] = scanEvent(b, i, "source.asn", "64496", "source.as_name", "EXAMPLE-NET", "source.geolocation.cc", "BE",
					"destination.port", "22", "protocol.transport", "tcp", "feed.provider", "DShield", "tlp", "CLEAR")
			}
			batch := &pipeline.Batch{Events: make([]*event.Event, size)}
			b.ReportAllocs()
			n, round := 0, 0
			for b.Loop() {
				b.StopTimer()
				round++
				batch.Events = batch.Events[:size]
				copy(batch.Events, events)
				if bc.fresh { // a new comment makes every key new
					for _, e := range events {
						e.SetTrusted("comment", strconv.Itoa(round))
					}
				}
				batch.Dedup = batch.Dedup[:0]
				b.StartTimer()
				if err := d.Enrich(context.Background(), batch); err != nil {
					b.Fatal(err)
				}
				n += size
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
		})
	}
}

// BenchmarkDedupMemory measures the heap held per key.
func BenchmarkDedupMemory(b *testing.B) {
	for b.Loop() {
		const keys = 1_000_000
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, MaxKeys: 2 * keys}, pipeline.Env{})
		if err != nil {
			b.Fatal(err)
		}
		var h event.Hash
		for i := range keys {
			h[0], h[1], h[2], h[31] = byte(i), byte(i>>8), byte(i>>16), byte(i>>3)
			d.claim(h, 1, 2)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/keys, "bytes/key")
		runtime.KeepAlive(d)
	}
}

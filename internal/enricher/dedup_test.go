package enricher

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
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

// TestDedupExpiryByBucket follows claims through time with an injected
// clock: a claim counts until its window ends, and its bucket of the
// table is emptied by the next sweep, not key by key.
func TestDedupExpiryByBucket(t *testing.T) {
	clock := newTestClock(dedupStart)
	d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour}, pipeline.Env{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	settled := func(b *pipeline.Batch) *pipeline.Batch { d.Committed(b); return b }
	settled(enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 2)))
	clock.Advance(30 * time.Minute)
	settled(enrichBatch(t, d, scanEvent(t, 3)))
	if n := d.Len(); n != 3 {
		t.Fatalf("%d keys held, want 3", n)
	}
	clock.Advance(45 * time.Minute) // the first two expired, the third not
	if b := settled(enrichBatch(t, d, scanEvent(t, 1), scanEvent(t, 3))); len(b.Events) != 1 || b.Duplicates != 1 {
		t.Errorf("after 75 minutes: kept %d, duplicates %d; want event 1 kept again and event 3 a duplicate", len(b.Events), b.Duplicates)
	}
	if n := d.Len(); n != 2 {
		t.Errorf("%d keys held, want 2 (event 2's claim expired with its bucket)", n)
	}
	t.Run("a sweep empties expired buckets", func(t *testing.T) {
		held := func() int {
			n := 0
			for i := range d.shards {
				for _, s := range d.shards[i].table.slots {
					if s != 0 {
						n++
					}
				}
			}
			return n
		}
		clock.Advance(2 * time.Hour)
		enrichBatch(t, d) // an empty batch is enough to notice the time
		if n := held(); n == 0 {
			t.Fatal("setup: the expired slots are gone before the sweep")
		}
		// Len sweeps the shards it reads, as a claim does: 2 hours are
		// more than sweepEvery buckets of a 1-hour window.
		if n := d.Len(); n != 0 {
			t.Errorf("%d keys alive after their window", n)
		}
		if n := held(); n != 0 {
			t.Errorf("%d slots left after the sweep", n)
		}
	})
}

// TestDedupBoundedMemory adds far more keys than max_bytes holds: the
// table's bytes stay within max_bytes (and so does the heap it grows), and
// with a store behind it no event is lost.
func TestDedupBoundedMemory(t *testing.T) {
	const maxBytes = 256 << 10
	d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, MaxBytes: maxBytes}, pipeline.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if n := d.Bytes(); n > maxBytes || n < maxBytes*9/10 {
		t.Errorf("a new deduplicator holds %d bytes, want at most %d (and not far less)", n, maxBytes)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	c := claimTime{bucket: d.current.Load(), now: 1, expires: 1 << 31}
	c.epoch = uint8(c.bucket + 10)
	var b pipeline.Batch
	const keys = 1_000_000 // about 20 times what fits
	fresh := 0
	for i := range keys {
		h := hashOf(i)
		if d.claim(&h, &b, c) == claimed {
			fresh++
		}
		d.settle(&h, &b, i%100 == 0, c.expires) // a released batch now and then
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if n := d.Bytes(); n > maxBytes {
		t.Errorf("after %d keys: %d bytes, want at most %d", keys, n, maxBytes)
	}
	if grown := int64(after.HeapAlloc) - int64(before.HeapAlloc); grown > maxBytes/4 {
		t.Errorf("the heap grew by %d bytes for %d keys", grown, keys)
	}
	if !d.warnedFull.Load() {
		t.Error("the table never filled up")
	}
	// Without a store the table's "maybe" is final: once full, most new
	// keys look claimed. The exactness tests show a store confirming them.
	if fresh == keys {
		t.Error("every key was new: the table did not fill")
	}
}

// hashOf is a key as SHA-256 makes them: every bit uniform.
func hashOf(i int) event.Hash {
	return event.Hash(sha256.Sum256(binary.LittleEndian.AppendUint64(nil, uint64(i))))
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
	for name, opts := range map[string]pipeline.Options{
		"max_bytes":             {"window": "2h", "filter_keys": []any{"time.source", "extra.seen"}, "max_bytes": 1 << 20},
		"max_bytes as a string": {"max_bytes": "1048576"},
		"deprecated max_keys":   {"max_keys": 1000},
	} {
		if _, err := pipeline.NewEnricher("dedup", pipeline.Env{}, opts); err != nil {
			t.Errorf("good options, %s: %v", name, err)
		}
	}
	for name, opts := range map[string]pipeline.Options{
		"max_bytes and max_keys": {"max_bytes": 1 << 20, "max_keys": 1000},
		"max_bytes too small":    {"max_bytes": 4096},
		"max_bytes negative":     {"max_bytes": -1},
		"max_bytes with a unit":  {"max_bytes": "64MiB"},
		"unknown filter key":     {"filter_keys": []any{"time.sauce"}},
		"window not duration":    {"window": 24},
		"window too short":       {"window": "10ms"},
		"misspelt option":        {"windows": "1h"},
		"filter keys not list":   {"filter_keys": map[string]any{}},
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
			d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour, FilterKeys: bc.filter}, pipeline.Env{})
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
			cpu := cputime.Process()
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
				d.Committed(batch) // as the runner does once the batch is stored
				n += size
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
			b.ReportMetric(float64(cputime.Process()-cpu)/float64(n), "cpu-ns/event")
		})
	}
}

// BenchmarkDedupMemory measures the heap a deduplicator holds (the
// default max_bytes) after claiming 1 and 10 million keys, and how many
// of the keys a store would have been asked to confirm (false positives:
// every key is new).
func BenchmarkDedupMemory(b *testing.B) {
	for _, keys := range []int{1_000_000, 10_000_000} {
		b.Run(strconv.Itoa(keys), func(b *testing.B) {
			for b.Loop() {
				runtime.GC()
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour}, pipeline.Env{})
				if err != nil {
					b.Fatal(err)
				}
				c := claimTime{bucket: d.current.Load(), now: 1, expires: 1 << 31}
				c.epoch = uint8(c.bucket + 10)
				var batch pipeline.Batch
				maybe := 0
				for i := range keys {
					h := hashOf(i)
					if d.claim(&h, &batch, c) != claimed {
						maybe++
					}
					d.settle(&h, &batch, false, 0)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				// The table lives off the heap (offheap.Make): its bytes
				// and the heap's growth together are the memory held.
				held := float64(int64(after.HeapAlloc) - int64(before.HeapAlloc))
				for i := range d.shards {
					held += float64(len(d.shards[i].table.slots) * 4)
				}
				b.ReportMetric(held/float64(keys), "bytes/key")
				b.ReportMetric(held/(1<<20), "MiB")
				b.ReportMetric(float64(maybe)/float64(keys), "confirmations/key")
				runtime.KeepAlive(d)
			}
		})
	}
}

// BenchmarkDedupFill claims a million new keys, in batches of 2,000 as
// the pipeline hands them, in a fresh deduplicator of the default size
// (64 MiB): what an ingest of a million events asks of the table, whose
// pages are first touched then and whose lookups land anywhere in it.
// The events are sealed with their keys (event.Resealed) on the way,
// which is in the CPU time too:
// go test ./internal/enricher -run '^$' -bench DedupFill -cpu 1 -count 4
func BenchmarkDedupFill(b *testing.B) {
	const batchSize, batches = 2000, 500
	events := make([]*event.Event, batchSize)
	for i := range events {
		events[i] = event.New(1)
	}
	batch := &pipeline.Batch{Events: make([]*event.Event, batchSize)}
	rng := rand.New(rand.NewPCG(1, 2))
	var key event.Hash
	n := 0
	cpu := cputime.Process()
	for b.Loop() {
		d, err := NewDedup(context.Background(), DedupConfig{Window: time.Hour}, pipeline.Env{})
		if err != nil {
			b.Fatal(err)
		}
		for range batches {
			for _, e := range events {
				for i := 0; i < len(key); i += 8 {
					binary.LittleEndian.PutUint64(key[i:], rng.Uint64())
				}
				e.SetTrusted("event_hash", strings.ToUpper(key.String()))
				if !e.Resealed() {
					b.Fatal("not resealed")
				}
			}
			batch.Events = batch.Events[:batchSize]
			copy(batch.Events, events)
			batch.Dedup = batch.Dedup[:0]
			if err := d.Enrich(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			d.Committed(batch)
			n += batchSize
		}
		runtime.KeepAlive(d)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n), "ns/event")
	b.ReportMetric(float64(cputime.Process()-cpu)/float64(n), "cpu-ns/event")
}

// claim is claimAll for one key: under its shard's lock, caught up.
func (d *Dedup) claim(h *event.Hash, owner *pipeline.Batch, c claimTime) verdict {
	sh := d.shardOf(h)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	d.catchUp(sh, c)
	return d.claimLocked(sh, h, owner, c)
}

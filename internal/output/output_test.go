package output

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/sqlitestore"
)

// testEvents returns n distinct, realistic events of one feed.
func testEvents(t testing.TB, n int) []*event.Event { return moreEvents(t, 0, n) }

// moreEvents returns events first..first+n-1 of an endless distinct series.
func moreEvents(t testing.TB, first, n int) []*event.Event {
	t.Helper()
	events := make([]*event.Event, 0, n)
	for i := first; i < first+n; i++ {
		e := event.New(12)
		for _, kv := range [][2]string{
			{"feed.name", "shadowserver-scan-rdp"},
			{"feed.provider", "Shadowserver"},
			{"time.source", fmt.Sprintf("2026-11-20T06:%02d:%02d+00:00", i/60%60, i%60)},
			{"source.ip", fmt.Sprintf("10.%d.%d.%d", i/62500%250, i/250%250, 1+i%250)},
			{"source.port", "3389"},
			{"source.asn", "2611"},
			{"source.geolocation.cc", "BE"},
			{"protocol.transport", "tcp"},
			{"classification.taxonomy", "vulnerable"},
			{"classification.type", "vulnerable-system"},
			{"classification.identifier", "accessible-rdp"},
			{"extra.naics", "611310"},
		} {
			if err := e.Set(kv[0], kv[1]); err != nil {
				t.Fatalf("set %s: %v", kv[0], err)
			}
		}
		events = append(events, e)
	}
	return events
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func openStore(t testing.TB) store.Store {
	t.Helper()
	ctx := context.Background()
	s, err := sqlitestore.Open(ctx, filepath.Join(t.TempDir(), "vigil.db"), sqlitestore.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStore(t *testing.T) {
	ctx := context.Background()
	s := openStore(t)
	out, err := pipeline.NewOutput("store", pipeline.Env{Store: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	so := out.(*Store)
	events := testEvents(t, 3)
	expires := time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)
	batch := &pipeline.Batch{
		Feed:   "shadowserver-scan-rdp",
		Events: events[:2],
		Dedup: []store.DedupKey{
			{Key: events[0].Hash(), Expires: expires},
			{Key: events[0].HashExcept(map[string]bool{"time.source": true}), Expires: expires},
		},
	}

	t.Run("new events are inserted", func(t *testing.T) {
		n, err := so.WriteCount(ctx, batch)
		if err != nil || n != 2 {
			t.Fatalf("WriteCount = %d, %v; want 2", n, err)
		}
	})
	t.Run("a replayed batch inserts nothing", func(t *testing.T) {
		n, err := so.WriteCount(ctx, batch)
		if err != nil || n != 0 {
			t.Fatalf("WriteCount = %d, %v; want 0", n, err)
		}
		if err := so.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a partly new batch counts the new ones", func(t *testing.T) {
		n, err := so.WriteCount(ctx, &pipeline.Batch{Feed: batch.Feed, Events: events})
		if err != nil || n != 1 {
			t.Fatalf("WriteCount = %d, %v; want 1", n, err)
		}
		if total, err := s.CountEvents(ctx); err != nil || total != 3 {
			t.Errorf("CountEvents = %d, %v; want 3", total, err)
		}
	})
	t.Run("dedup keys are stored with the batch, except the events' own identities", func(t *testing.T) {
		var keys []store.DedupKey
		err := s.LoadDedupKeys(ctx, expires.Add(-time.Hour), func(k store.DedupKey) { keys = append(keys, k) })
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 || keys[0].Key != events[0].HashExcept(map[string]bool{"time.source": true}) {
			t.Errorf("dedup keys %v, want only the filtered key of the batch", keys)
		}
	})
	t.Run("empty batch", func(t *testing.T) {
		if n, err := so.WriteCount(ctx, &pipeline.Batch{Feed: "x"}); err != nil || n != 0 {
			t.Errorf("WriteCount = %d, %v", n, err)
		}
	})
	t.Run("needs a store", func(t *testing.T) {
		if _, err := pipeline.NewOutput("store", pipeline.Env{}, nil); err == nil {
			t.Error("no error without a store")
		}
	})
}

func BenchmarkStoreWrite(b *testing.B) {
	ctx := context.Background()
	s := openStore(b)
	out, err := NewStore(s)
	if err != nil {
		b.Fatal(err)
	}
	const batchSize = 1000
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		events := moreEvents(b, i*batchSize, batchSize)
		b.StartTimer()
		if err := out.Write(ctx, &pipeline.Batch{Feed: "bench", Events: events}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "events/s")
}

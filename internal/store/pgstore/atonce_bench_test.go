//go:build unix

package pgstore

import (
	"math/rand/v2"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/shadowserver"
	"github.com/vigil-cert/vigil/internal/store"
)

// BenchmarkInsertBatchesAtOnce stores 100 batches of 2,000 generated
// scan_rdp events (200,000), two goroutines at once as the bench's two
// pipeline workers do, without the pipeline: how many events a second the
// store alone takes, when its batches wait for each other (hotLock) and
// for their commits. It reports events/s and the client's CPU an event.
// Run it with
//
//	VIGIL_TEST_POSTGRES=DSN go test -run '^$' -bench InsertBatchesAtOnce -benchtime 1x ./internal/store/pgstore
func BenchmarkInsertBatchesAtOnce(b *testing.B) {
	const batches, size = 100, 2000
	rng := rand.New(rand.NewPCG(1, 2))
	events, err := shadowserver.GenerateEvents("2026-11-20-scan_rdp-bench-geo.csv", "scan_rdp", batches*size, rng, shadowserver.GenerateOptions{
		Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 10 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	today := time.Now().UTC()
	for _, e := range events {
		e.SetTime("time.observation", today)
		e.Seal()
	}
	for range b.N {
		b.StopTimer()
		s := openFresh(b)
		if err := s.Migrate(b.Context()); err != nil {
			b.Fatal(err)
		}
		work := make(chan []*event.Event, batches)
		for i := 0; i < len(events); i += size {
			work <- events[i : i+size]
		}
		close(work)
		b.StartTimer()
		start, before := time.Now(), cputime.Process()
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for batch := range work {
					if n, err := s.InsertBatch(b.Context(), store.EventBatch{ID: store.BatchID(batch), Events: batch}); err != nil || n != len(batch) {
						b.Errorf("InsertBatch = %d, %v", n, err)
						return
					}
				}
			})
		}
		wg.Wait()
		elapsed, cpu := time.Since(start), cputime.Process()-before
		b.ReportMetric(float64(len(events))/elapsed.Seconds(), "events/s")
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(len(events))/1000, "cpu-µs/event")
		b.StopTimer()
		s.Close()
	}
}

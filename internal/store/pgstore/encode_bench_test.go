//go:build unix

package pgstore

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/shadowserver"
)

// BenchmarkEncodeBatch measures the client's share of storing a batch of
// 1,000 generated scan_rdp events by COPY, without a server: the columns
// and records (fill), the blocks (packBatch) and the COPY rows of events
// and blocks. Run it with
//
//	go test -run '^$' -bench EncodeBatch -cpu 1 ./internal/store/pgstore
func BenchmarkEncodeBatch(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	events, err := shadowserver.GenerateEvents("2026-11-20-scan_rdp-bench-geo.csv", "scan_rdp", 1000, rng, shadowserver.GenerateOptions{
		Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, Start: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC), Step: 100 * time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range events {
		e.Seal() // as the pipeline's events come
	}
	now := time.Now()
	ids := make([]int64, len(events))
	for i := range ids {
		ids[i] = 1<<36 + int64(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	before := cputime.Process()
	for range b.N {
		var cols batchColumns
		cols.fill(events, now)
		cols.packBatch(now)
		cols.copy.setIDs(ids, cols.starts)
		cols.release()
	}
	// The machine is shared: the process's CPU time, not the wall's.
	b.ReportMetric(float64((cputime.Process()-before).Nanoseconds())/float64(b.N*len(events))/1000, "cpu-µs/event")
}

package pgstore

import (
	"crypto/sha256"
	"encoding/binary"
	"testing"
)

// BenchmarkHotSetAdd records a million hashes in a hot partition's set, as
// a million events' batches do (hotSet.record), then looks each up once
// (hotSet.check of a batch stored again): the table grows to 1.28 million
// slots (15 MB), larger than a core's caches, so each probe is a miss.
func BenchmarkHotSetAdd(b *testing.B) {
	const n = 1_000_000
	hashes := make([][]byte, n)
	for i := range hashes {
		h := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(i)))
		hashes[i] = h[:]
	}
	found := 0
	for b.Loop() {
		p := newPartitionHashes(1)
		for i, h := range hashes {
			p.add(h, partitionStart(1)+int64(i))
		}
		for _, h := range hashes {
			p.find(h, func(uint32) { found++ })
		}
	}
	if found < n*b.N {
		b.Fatalf("found %d of %d", found, n*b.N)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(n*b.N), "ns/event")
}

package sqlitestore

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/cputime"
)

// TestBucketSorted: items of keys spread evenly, crowded into a few
// buckets, all equal, over a span of one key or of 2^64, come out in the
// comparisons' order, every item once.
func TestBucketSorted(t *testing.T) {
	type item struct {
		key uint64
		id  int
	}
	byKeyThenID := func(a, b item) int { return cmp.Or(cmp.Compare(a.key, b.key), cmp.Compare(a.id, b.id)) }
	r := rand.New(rand.NewPCG(4, 3))
	for _, c := range []struct {
		name string
		n    int
		span uint64
		key  func(i int) uint64
	}{
		{"none", 0, 100, nil},
		{"one", 1, 100, func(int) uint64 { return 7 }},
		{"spread", 100_000, 1<<24 - 1, func(int) uint64 { return r.Uint64N(1 << 24) }},
		{"spread over 2^64", 50_000, 1<<64 - 1, func(int) uint64 { return r.Uint64() }},
		{"crowded", 50_000, 1<<40 - 1, func(int) uint64 { return 1<<39 + r.Uint64N(1000) }},
		{"all equal", 5_000, 1 << 30, func(int) uint64 { return 12345 }},
		{"span of one key", 5_000, 0, func(int) uint64 { return 0 }},
		{"descending", 50_000, 1 << 20, func(i int) uint64 { return uint64(1<<20 - i) }},
		{"runs", 50_000, 1 << 30, func(i int) uint64 { return uint64((i%2000)*1000 + i/2000) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			items := make([]item, c.n)
			for i := range items {
				// ids in no order, so that the sort must compare them too.
				items[i] = item{c.key(i), r.IntN(c.n)}
			}
			got := bucketSorted(c.n, c.span, func(i int) item { return items[i] }, func(x item) uint64 { return x.key }, byKeyThenID)
			want := slices.Clone(items)
			slices.SortFunc(want, byKeyThenID)
			if !slices.Equal(got, want) {
				for i := range got {
					if got[i] != want[i] {
						t.Fatalf("item %d of %d: %v, want %v", i, c.n, got[i], want[i])
					}
				}
				t.Fatalf("%d items, want %d", len(got), len(want))
			}
		})
	}
}

// BenchmarkSealSorts: a full partition's hashes and times sorted as a
// sealing sorts them, by bucket and by comparisons alone.
func BenchmarkSealSorts(b *testing.B) {
	r := rand.New(rand.NewPCG(2, 9))
	const n = defaultPartitionEvents
	hashes := make([]hashEntry, n)
	times := make([]posting, n)
	for i := range n {
		hashes[i] = hashEntry{h3Of(r.Uint64()), uint64(i)}
		// Batches of 2000 in time order, the batches a little out of it.
		times[i] = posting{int64(i/2000*2000+r.IntN(4000))*100_000 + int64(i%2000)*100_000, int64(i + 1)}
	}
	for _, c := range []struct {
		name string
		sort func()
	}{
		{"hashes/buckets", func() {
			bucketSorted(n, 1<<24-1, func(i int) hashEntry { return hashes[i] }, func(e hashEntry) uint64 { return uint64(e.h3 + 1<<23) }, compareHashEntries)
		}},
		{"hashes/comparisons", func() { slices.SortFunc(slices.Clone(hashes), compareHashEntries) }},
		{"times/buckets", func() {
			lo, hi := slices.MinFunc(times, comparePostings).ts, slices.MaxFunc(times, comparePostings).ts
			bucketSorted(n, uint64(hi-lo), func(i int) posting { return times[i] }, func(p posting) uint64 { return uint64(p.ts - lo) }, comparePostings)
		}},
		{"times/comparisons", func() { slices.SortFunc(slices.Clone(times), comparePostings) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			cpu := cputime.Process()
			for b.Loop() {
				c.sort()
			}
			// The process's CPU: on a shared machine the time elapsed
			// mostly measures the neighbours.
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N*n), "cpu-ns/event")
		})
	}
}

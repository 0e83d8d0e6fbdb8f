package sqlitestore

import (
	"cmp"
	"math/bits"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopHitsLikeSort offers random hits, some twice and many with equal
// times, and compares what topHits keeps with the first k of all of them
// sorted, in both orders.
func TestTopHitsLikeSort(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, asc := range []bool{false, true} {
		for _, k := range []int{1, 2, 7, 100, 1000} {
			var all []partHit
			top := topHits{k: k, asc: asc}
			seen := map[int64]bool{}
			for range 3000 {
				h := partHit{ts: rng.Int64N(500), id: rng.Int64N(2500)}
				if rng.IntN(2) == 0 {
					h.ts = h.id / 3 // the same id comes with the same time
				}
				if old, ok := seen[h.id]; ok && old {
					continue
				}
				seen[h.id] = true
				all = append(all, h)
				again := rng.IntN(4) == 0
				top.offer(h, again)
				if again {
					top.offer(h, true) // offered by both sides
				}
			}
			want := slices.Clone(all)
			slices.SortFunc(want, func(a, b partHit) int {
				c := cmp.Or(cmp.Compare(b.ts, a.ts), cmp.Compare(b.id, a.id))
				if asc {
					return -c
				}
				return c
			})
			want = want[:min(k, len(want))]
			if got := top.sorted(); !slices.Equal(got, want) {
				t.Errorf("asc=%v k=%d: kept %d hits, not the first %d of the sorted ones", asc, k, len(got), len(want))
			}
		}
	}
}

// TestTopHitsCost offers 200,000 hits in id order, the order a hot
// partition is scanned in, to a newest-first search of k = 10,000: each
// one is the newest so far, which a sorted slice paid with k moves; the
// heap writes at most 1 + 2·log2(k) hits an offer.
func TestTopHitsCost(t *testing.T) {
	const n, k = 200_000, 10_000
	top := topHits{k: k}
	for i := range int64(n) {
		top.offer(partHit{ts: i, id: i + 1}, false)
	}
	if bound := n * (1 + 2*bits.Len(k)); top.moves > bound {
		t.Errorf("%d moves for %d offers to k = %d, want at most %d", top.moves, n, k, bound)
	}
	got := top.sorted()
	if len(got) != k || got[0].id != n || got[k-1].id != n-k+1 {
		t.Errorf("kept %d hits, from id %d to %d", len(got), got[0].id, got[len(got)-1].id)
	}
}

// BenchmarkTopHitsHot is the cost of a newest-first top 10,000 over
// 200,000 hot entries scanned in id order.
func BenchmarkTopHitsHot(b *testing.B) {
	for b.Loop() {
		top := topHits{k: 10_000}
		for i := range int64(200_000) {
			top.offer(partHit{ts: i, id: i + 1}, false)
		}
		_ = top.sorted()
	}
}

// BenchmarkTopHitsHotNewestFirst is the same search with the entries
// walked newest first, as match does for a newest-first search.
func BenchmarkTopHitsHotNewestFirst(b *testing.B) {
	for b.Loop() {
		top := topHits{k: 10_000}
		for i := int64(200_000); i > 0; i-- {
			top.offer(partHit{ts: i - 1, id: i}, false)
		}
		_ = top.sorted()
	}
}

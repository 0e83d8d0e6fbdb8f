package sqlitestore

// Sorting a sealing's lists by bucket: a partition's half a million hashes
// or times sorted whole by comparisons (slices.SortFunc) took 0.23 s a
// million events for the hashes alone, some 19 comparisons an event, each
// a call; the hashes are spread evenly, and the times over a range the
// copy in memory knows, so most events are put in their place by their
// key's leading bits, and only the few of each bucket are compared.

import (
	"math/bits"
	"slices"
)

// bucketSmall is the most events of a bucket sorted by insertion; a
// larger bucket (keys crowded in a part of their range) by slices.SortFunc.
const bucketSmall = 24

// bucketSorted returns the n items item gives (item(0) … item(n-1)) in
// cmp's order, in an array of its own, a sort by buckets. key is a
// number in [0, span] that never orders two items against cmp (cmp(a, b)
// < 0 implies key(a) <= key(b)). A first pass counts the items by bucket
// (the key's leading bits: two to four items a bucket when the keys are
// spread evenly), a second puts each in its bucket's place, in the order
// given, and each bucket is then sorted alone. item is called twice for
// each i and must give the same item both times; the memory besides the
// result is a counter a bucket.
func bucketSorted[T any](n int, span uint64, item func(int) T, key func(T) uint64, cmp func(a, b T) int) []T {
	out := make([]T, n)
	if n == 0 {
		return out
	}
	bucketBits := max(1, bits.Len(uint(n))-2)
	shift := max(0, bits.Len64(span)-bucketBits)
	// ends[b+1] counts bucket b's items, then, summed, is where bucket b
	// ends, ends[b] where it starts.
	ends := make([]int32, (span>>shift)+2)
	for i := range n {
		ends[key(item(i))>>shift+1]++
	}
	for b := 1; b < len(ends); b++ {
		ends[b] += ends[b-1]
	}
	// next[b] is where bucket b's next item goes: ends shifted by one.
	next := ends[:len(ends)-1]
	for i := range n {
		x := item(i)
		b := key(x) >> shift
		out[next[b]] = x
		next[b]++
	}
	// next[b] is now where bucket b ends, and bucket b starts where
	// bucket b-1 ends.
	start := int32(0)
	for _, end := range next {
		bucket := out[start:end]
		if len(bucket) > bucketSmall {
			slices.SortFunc(bucket, cmp)
		} else {
			insertionSort(bucket, cmp)
		}
		start = end
	}
	return out
}

// insertionSort sorts a few items in cmp's order.
func insertionSort[T any](s []T, cmp func(a, b T) int) {
	for i := 1; i < len(s); i++ {
		x := s[i]
		j := i
		for ; j > 0 && cmp(s[j-1], x) > 0; j-- {
			s[j] = s[j-1]
		}
		s[j] = x
	}
}

// Package hashset is the duplicate check's set of the 8 first bytes of the
// stored events' hashes, kept by each event store over the partitions no
// insert writes again: a blocked Bloom filter whose answer "not stored"
// spares asking every partition, in layers that grow with the set and list
// the partitions they hold, each layer's tags saying which of its
// partitions may hold a key it admits.
package hashset

import (
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/vigil-cert/vigil/internal/offheap"
)

// Set is a blocked Bloom filter of 8-byte keys (the start of an event's
// SHA-256, random already: no hashing) in layers: a key's 8 probes are one
// bit in each of the 8 words of one 64-byte block, one cache line. When
// the last layer holds its capacity, a layer of half the set's capacity
// is added (growth); a key is asked of every layer, newest first. Each
// layer lists the partitions whose keys it holds and names, of those, only
// the ones whose tags a key it admits matches, so that the caller asks
// only those and needs no filter of its own a partition. Adds are serialised by mu; asks
// take no lock (the words are read and set atomically, the list of layers
// and each layer's list of partitions replaced whole), so that a writer's
// lookup never waits behind the reading of a partition into the set.
type Set struct {
	mu     sync.Mutex
	layers atomic.Pointer[[]*layer]
}

// layer is one layer, its blocks and tags off the Go heap
// (offheap.Make): at bitsPerKey and tagBitsPerKey bits a key, 2.75 bytes
// an event, 275 MB at 100 million events, which on the heap would count toward the collector's goal and
// the pipeline's soft memory limit.
type layer struct {
	blocks []block
	// tags is a second blocked Bloom filter of the
	// layer's keys, each keyed by its partition's index in parts: a key's
	// probes as every partition are in one block, one 64-byte line
	// (tagBlock, tagBits), asked only when the layer admits the key.
	tags     []block
	capacity int64
	n        int64 // keys added, under Set.mu
	// parts lists the partitions whose keys were added, each once,
	// replaced whole under Set.mu.
	parts atomic.Pointer[[]int64]
}

type block [8]uint64

// bitsPerKey is the filter's bits a key at capacity: a layer full to its
// capacity admits about 0.18 % of the keys not in it
// (TestFalsePositives: 0.14 % if keys spread evenly over the blocks, more
// as some blocks get more). A set of L layers admits at most L times
// that; but a layer's admission asks only the partitions it holds, so an
// absent key asks at most about 0.18 % of the partitions however many
// layers there are (TestLayers), fewer still through the tags
// (tagBitsPerKey).
const bitsPerKey = 14

// minKeys is the capacity of a layer at least: 2.75 MB.
const minKeys = 1 << 20

// growth: a layer added is 1/growth of the set's capacity (at least
// minKeys), so that at most a third of the set's capacity waits for keys
// (half of it when layers doubled: 15 million keys of room, 41 MB, at 10
// million events, against 10.6 million now), for a layer more every time
// the set grows by half.
const growth = 2

// tagBitsPerKey and tagProbes size a layer's tags: 8 bits a key of
// capacity (1 byte a key of room), 5 probes in 5 of a block's 8 words. A key
// matches the tags of a partition of a full layer that does not hold it
// about 2.5 % of the time (TestTags: 2.48 %, 16 partitions): a hash
// stored nowhere asks about 0.18 % × 2.5 % of the partitions, 0.005 %
// (TestTags: 0.0042 %), where the partitions' own filters were asked for
// 0.18 % of them; one stored asks its own and 2.5 % of the others its
// layer lists.
const (
	tagBitsPerKey = 8
	tagProbes     = 5
)

// New returns an empty set whose first layer holds keys and a quarter
// more (at least 2^20 keys): the caller passes the keys it is about to
// add, when it knows them.
func New(keys int64) *Set {
	s := &Set{}
	s.layers.Store(&[]*layer{newLayer(max(keys+keys/4, minKeys))})
	return s
}

func newLayer(capacity int64) *layer {
	l := &layer{capacity: capacity}
	l.blocks = offheap.Make[block](int((capacity*bitsPerKey+511)/512), l)
	l.tags = offheap.Make[block](int((capacity*tagBitsPerKey+511)/512), l)
	l.parts.Store(&[]int64{})
	return l
}

// probe returns a key's block in a layer of n blocks and the bit of each
// of its 8 words. The key is random: the block is its high bits (a
// multiply, no modulo), the bits 6-bit fields of its product by an odd
// constant, which mixes the low bits in.
func probe(key uint64, n uint64) (uint64, uint64) {
	b, _ := bits.Mul64(key, n)
	return b, key * 0xff51afd7ed558ccd
}

// tagBlock returns a key's block in tags of n blocks: the high bits of
// its product by an odd constant, not the block probe gives.
func tagBlock(key uint64, n uint64) uint64 {
	b, _ := bits.Mul64(key*0xbf58476d1ce4e5b9, n)
	return b
}

// tagBits returns a key's tag as the partition of index j: a mix of the
// key and j (SplitMix64's finaliser), whose low 3 bits are the first of
// tagProbes consecutive words of the block and each next 6 bits a bit of
// one.
func tagBits(key uint64, j int) uint64 {
	z := key ^ uint64(j+1)*0x9e3779b97f4a7c15
	z = (z ^ z>>30) * 0xbf58476d1ce4e5b9
	z = (z ^ z>>27) * 0x94d049bb133111eb
	return z ^ z>>31
}

// hasTag reports whether the tag m (tagBits of a key and a partition
// index) is set in b.
func hasTag(b *block, m uint64) bool {
	for w := range uint64(tagProbes) {
		if atomic.LoadUint64(&b[(m+w)&7])&(1<<(m>>(3+6*w)&63)) == 0 {
			return false
		}
	}
	return true
}

func (l *layer) has(key uint64) bool {
	i, m := probe(key, uint64(len(l.blocks)))
	b := &l.blocks[i]
	for w := range b {
		if atomic.LoadUint64(&b[w])&(1<<(m>>(16+6*w)&63)) == 0 {
			return false
		}
	}
	return true
}

// add adds key, a key of partition part (under Set.mu). The partition is
// listed, and the key's tag as it set, before the key's bits in blocks: a
// lookup that finds those (has) finds the partition listed and its tag,
// and so names it (Admit).
func (l *layer) add(key uint64, part int64) {
	parts := *l.parts.Load()
	j := len(parts) - 1
	if j < 0 || parts[j] != part {
		j = slices.Index(parts, part)
		if j < 0 {
			j = len(parts)
			grown := append(parts[:len(parts):len(parts)], part)
			l.parts.Store(&grown)
		}
	}
	tb, tm := &l.tags[tagBlock(key, uint64(len(l.tags)))], tagBits(key, j)
	for w := range uint64(tagProbes) {
		atomic.OrUint64(&tb[(tm+w)&7], 1<<(tm>>(3+6*w)&63))
	}
	i, m := probe(key, uint64(len(l.blocks)))
	b := &l.blocks[i]
	for w := range b {
		atomic.OrUint64(&b[w], 1<<(m>>(16+6*w)&63))
	}
	l.n++
}

// Admit calls fn, for each layer that admits key, newest first, with
// those of the layer's partitions whose tags key matches, until fn
// returns false: a partition that holds key is in one of the lists. A
// layer none of whose partitions key matches is passed over. fn must not
// keep parts.
func (s *Set) Admit(key uint64, fn func(parts []int64) bool) {
	layers := s.layers.Load()
	defer runtime.KeepAlive(layers)
	list := *layers
	var matched []int64
	for i := len(list) - 1; i >= 0; i-- {
		l := list[i]
		if !l.has(key) {
			continue
		}
		matched = matched[:0]
		b := &l.tags[tagBlock(key, uint64(len(l.tags)))]
		for j, p := range *l.parts.Load() {
			if hasTag(b, tagBits(key, j)) {
				matched = append(matched, p)
			}
		}
		if len(matched) == 0 {
			continue
		}
		if !fn(matched) {
			return
		}
	}
}

// Add adds keys, those of partition part, growing the set by a layer
// whenever the last is full.
func (s *Set) Add(keys []uint64, part int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	layers := s.layers.Load()
	defer runtime.KeepAlive(layers)
	list := *layers
	last := list[len(list)-1]
	for _, k := range keys {
		if last.n >= last.capacity {
			var capacity int64
			for _, l := range list {
				capacity += l.capacity
			}
			last = newLayer(max(capacity/growth, minKeys))
			grown := append(list[:len(list):len(list)], last)
			s.layers.Store(&grown)
			list = grown
		}
		last.add(k, part)
	}
}

// Len returns how many keys were added, each time it was.
func (s *Set) Len() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int64
	for _, l := range *s.layers.Load() {
		n += l.n
	}
	return n
}

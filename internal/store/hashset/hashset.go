// Package hashset is the duplicate check's set of the 8 first bytes of the
// stored events' hashes, kept by each event store over the partitions no
// insert writes again: a blocked Bloom filter whose answer "not stored"
// spares asking every partition, in layers that grow with the set and list
// the partitions they hold.
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
// layer lists the partitions whose keys it holds, so that a key a layer
// admits asks only those partitions. Adds are serialised by mu; asks take
// no lock (the words are read and set atomically, the list of layers and
// each layer's list of partitions replaced whole), so that a writer's
// lookup never waits behind the reading of a partition into the set.
type Set struct {
	mu     sync.Mutex
	layers atomic.Pointer[[]*layer]
}

// layer is one layer, its blocks off the Go heap (offheap.Make): at
// bitsPerKey bits a key, 1.75 bytes an event, 175 MB at 100 million
// events, which on the heap would count toward the collector's goal and
// the pipeline's soft memory limit.
type layer struct {
	blocks   []block
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
// layers there are (TestLayers).
const bitsPerKey = 14

// minKeys is the capacity of a layer at least: 1.75 MB.
const minKeys = 1 << 20

// growth: a layer added is 1/growth of the set's capacity (at least
// minKeys), so that at most a third of the set's capacity waits for keys
// (half of it when layers doubled: 15 million keys of room, 26 MB, at 10
// million events, against 10.6 million now), for a layer more every time
// the set grows by half.
const growth = 2

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
	n := (capacity*bitsPerKey + 511) / 512
	l.blocks = offheap.Make[block](int(n), l)
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

// add adds key, a key of partition part (under Set.mu).
func (l *layer) add(key uint64, part int64) {
	i, m := probe(key, uint64(len(l.blocks)))
	b := &l.blocks[i]
	for w := range b {
		atomic.OrUint64(&b[w], 1<<(m>>(16+6*w)&63))
	}
	l.n++
	if parts := *l.parts.Load(); len(parts) == 0 || parts[len(parts)-1] != part {
		if !slices.Contains(parts, part) {
			grown := append(parts[:len(parts):len(parts)], part)
			l.parts.Store(&grown)
		}
	}
}

// Has reports whether key may have been added.
func (s *Set) Has(key uint64) bool {
	found := false
	s.Admit(key, func([]int64) bool {
		found = true
		return false
	})
	return found
}

// Admit calls fn with the partitions of each layer that admits key,
// newest first, until fn returns false: a partition that holds key is in
// one of the lists. fn must not keep parts.
func (s *Set) Admit(key uint64, fn func(parts []int64) bool) {
	layers := s.layers.Load()
	defer runtime.KeepAlive(layers)
	list := *layers
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].has(key) && !fn(*list[i].parts.Load()) {
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

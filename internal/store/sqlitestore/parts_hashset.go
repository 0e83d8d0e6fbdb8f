package sqlitestore

// The duplicate check's set of the sealed partitions' hashes
// (docs/EVENTSTORE.md, "The duplicate check"). Every insert asks whether
// each of its events' hashes is stored. A sealed partition answers from
// its own Bloom filter of hashes, but asking each of them costs two cache
// misses a partition an event: at 220 partitions, two thirds of a load's
// CPU. One set over the h8 of every covered sealed partition answers
// instead, in a few cache lines whatever the number of partitions; only a
// hash it admits (a duplicate, or a false positive) asks the covered
// partitions' own filters.

import (
	"cmp"
	"context"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vigil-cert/vigil/internal/offheap"
)

// hashSet is a blocked Bloom filter of h8 values (hashKey) in layers: a
// key's 8 probes are one bit in each of the 8 words of one 64-byte block,
// one cache line. When the last layer holds its capacity, a layer of half
// the set's capacity is added (hashSetGrowth); a key is asked of every
// layer, newest first. Each layer lists the partitions whose keys it
// holds, so that a hash a layer admits asks only those partitions.
// Adds are serialised by mu; asks take no lock (the words are read and
// set atomically, a layer's list of partitions replaced whole), so a
// writer's lookup never waits behind the covering of a partition.
type hashSet struct {
	mu     sync.Mutex
	layers atomic.Pointer[[]*hashLayer]
}

// hashLayer is one layer, its blocks off the Go heap (offheap.Make): at
// hashSetBits bits a key, 1.75 bytes an event, 175 MB at 100 million
// events, which on the heap would count toward the collector's goal and
// the pipeline's soft memory limit.
type hashLayer struct {
	blocks   []hashBlock
	capacity int64
	n        int64 // keys added, under hashSet.mu
	// parts lists the numbers (partition.n) of the partitions whose keys
	// were added, each once, replaced whole under hashSet.mu.
	parts atomic.Pointer[[]int64]
}

type hashBlock [8]uint64

// hashSetBits is the filter's bits a key at capacity: a layer full to its
// capacity admits about 0.18 % of the keys not in it
// (TestHashSetFalsePositives: 0.14 % if keys spread evenly over the
// blocks, more as some blocks get more). A set of L layers admits at most
// L times that; but a layer's admission asks only the partitions it
// holds, so an absent hash asks at most about 0.18 % of the covered
// partitions however many layers there are (TestHashSetLayers).
const hashSetBits = 14

// hashSetMinKeys is the capacity of a layer at least: 1.7 MB.
const hashSetMinKeys = 1 << 20

// hashSetGrowth: a layer added is 1/hashSetGrowth of the set's capacity
// (at least hashSetMinKeys), so that at most a third of the set's
// capacity waits for keys (half of it when layers doubled: 15 million
// keys of room, 26 MB, at 10 million events, against 10.6 million now),
// for a layer more every time the set grows by half.
const hashSetGrowth = 2

func newHashSet(keys int64) *hashSet {
	s := &hashSet{}
	s.layers.Store(&[]*hashLayer{newHashLayer(max(keys+keys/4, hashSetMinKeys))})
	return s
}

func newHashLayer(capacity int64) *hashLayer {
	l := &hashLayer{capacity: capacity}
	n := (capacity*hashSetBits + 511) / 512
	l.blocks = offheap.Make[hashBlock](int(n), l)
	l.parts.Store(&[]int64{})
	return l
}

// hashSetProbe returns a key's block in a layer of n blocks and the bit
// of each of its 8 words. h8 is the start of a SHA-256, random: the
// block is its high bits (a multiply, no modulo), the bits 6-bit fields
// of its product by an odd constant, which mixes the low bits in.
func hashSetProbe(h8 uint64, n uint64) (uint64, uint64) {
	block, _ := bits.Mul64(h8, n)
	return block, h8 * 0xff51afd7ed558ccd
}

func (l *hashLayer) has(h8 uint64) bool {
	i, m := hashSetProbe(h8, uint64(len(l.blocks)))
	b := &l.blocks[i]
	for w := range b {
		if atomic.LoadUint64(&b[w])&(1<<(m>>(16+6*w)&63)) == 0 {
			return false
		}
	}
	return true
}

// add adds h8, a key of partition part (under hashSet.mu).
func (l *hashLayer) add(h8 uint64, part int64) {
	i, m := hashSetProbe(h8, uint64(len(l.blocks)))
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

// has reports whether h8 may have been added.
func (s *hashSet) has(h8 uint64) bool {
	found := false
	s.admit(h8, func([]int64) bool {
		found = true
		return false
	})
	return found
}

// admit calls fn with the partitions of each layer that admits h8, newest
// first, until fn returns false: a partition that holds h8 is in one of
// the lists.
func (s *hashSet) admit(h8 uint64, fn func(parts []int64) bool) {
	layers := s.layers.Load()
	defer runtime.KeepAlive(layers)
	list := *layers
	for i := len(list) - 1; i >= 0; i-- {
		if list[i].has(h8) && !fn(*list[i].parts.Load()) {
			return
		}
	}
}

// add adds keys, those of partition part, growing the set by a layer
// whenever the last is full.
func (s *hashSet) add(keys []uint64, part int64) {
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
			last = newHashLayer(max(capacity/hashSetGrowth, hashSetMinKeys))
			grown := append(list[:len(list):len(list)], last)
			s.layers.Store(&grown)
			list = grown
		}
		last.add(k, part)
	}
}

// startCovering makes the set and starts covering the sealed partitions
// it does not hold, once: at the first lookup of a writer, not at open, so
// that a process that only searches pays neither.
func (ps *parts) startCovering() {
	ps.coverStart.Do(func() {
		ps.mu.RLock()
		var sealed int64
		for _, p := range ps.list {
			if p.sealed {
				sealed += p.sum.count
			}
		}
		ps.mu.RUnlock()
		ps.hashSet.Store(newHashSet(sealed))
		go ps.coverLoop(ps.coverCtx)
	})
}

// coverSealing adds the hashes of a partition being sealed, keys, to
// set, the duplicate check's set as the sealing read the partition's rows
// (nil when not made yet); it reports whether it did, which the sealing
// records as partition.covered once it commits. The sealing calls it once
// every statement has succeeded, so that a failed seal, retried, does not
// add them again (and count them again toward a layer's capacity); should
// the commit itself fail, they only cost false positives.
func coverSealing(set *hashSet, keys []uint64, part int64) bool {
	if set == nil {
		return false
	}
	set.add(keys, part)
	return true
}

// sealedCovered records, as p's sealing commits (the caller holds mu),
// whether coverSealing added its hashes; if not, the covering loop, which
// may have started meanwhile, is woken to cover it.
func (ps *parts) sealedCovered(p *partition, covered bool) {
	p.covered = covered
	if !covered && ps.hashSet.Load() != nil {
		ps.wakeCovering()
	}
}

// wakeCovering tells the covering loop a sealed partition it may not
// cover appeared (another store sealed it).
func (ps *parts) wakeCovering() {
	select {
	case ps.coverWake <- struct{}{}:
	default:
	}
}

// coverLoop covers the sealed partitions the set does not hold (those
// there were when the set was made, those another store sealed), one at a
// time, until close: it reads each one's h8 column and adds them. A
// partition that cannot be read stays uncovered, asked through its own
// filter as before, until the loop reads it again: when it is woken, or
// after a wait that doubles from coverRetryFirst to coverRetryMax while
// reads fail.
func (ps *parts) coverLoop(ctx context.Context) {
	defer close(ps.coverDone)
	set := ps.hashSet.Load()
	failed := map[*partition]bool{}
	first := cmp.Or(ps.coverRetry, coverRetryFirst)
	wait := first
	for {
		var next *partition
		ps.mu.RLock()
		for _, p := range ps.list {
			if p.sealed && !p.covered && !failed[p] {
				next = p
				break
			}
		}
		ps.mu.RUnlock()
		if next == nil {
			var (
				timer *time.Timer
				retry <-chan time.Time // none while no read failed
			)
			if len(failed) > 0 {
				timer = time.NewTimer(wait)
				retry = timer.C
			} else {
				wait = first
			}
			select {
			case <-ctx.Done():
				return
			case <-ps.coverWake:
			case <-retry:
				wait = min(2*wait, coverRetryMax)
			}
			if timer != nil {
				timer.Stop()
			}
			clear(failed) // read again: the cause may have passed
			continue
		}
		if ps.coverHook != nil {
			ps.coverHook(next)
		}
		err := ps.cover(ctx, set, next)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			failed[next] = true
			ps.s.log.Warn("event partition's hashes not in the duplicate check's set; its own filter answers until read again", "partition", next.n, "err", err)
		}
	}
}

// coverRetryFirst and coverRetryMax bound the covering loop's wait before
// it reads again the partitions it failed to read.
const (
	coverRetryFirst = time.Minute
	coverRetryMax   = time.Hour
)

// coverChunk is how many keys the loop reads before it adds them.
const coverChunk = 8192

// cover adds sealed partition p's hashes to set and marks it covered.
func (ps *parts) cover(ctx context.Context, set *hashSet, p *partition) error {
	err := ps.sealedHashes(ctx, p, func(keys []uint64) { set.add(keys, p.n) })
	if err != nil {
		return err
	}
	ps.mu.Lock()
	p.covered = true
	ps.mu.Unlock()
	return nil
}

// stopCovering stops the covering loop and waits for it.
func (ps *parts) stopCovering() {
	ps.stopCover()
	ps.coverStart.Do(func() { close(ps.coverDone) }) // never started
	<-ps.coverDone
}

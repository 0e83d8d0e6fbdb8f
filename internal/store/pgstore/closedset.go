package pgstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"

	"github.com/vigil-cert/vigil/internal/offheap"
)

// The duplicate check's set of the closed partitions' hashes. A batch's
// COPY must not store a hash a closed partition holds (copyEvents); asking
// the closed partitions in SQL probes each one's hash index for every
// event of the batch, a cost that grows with the partitions (a year of
// daily partitions: 365 probes an event). A process instead keeps a Bloom
// filter of the 8 first bytes of every hash of the closed partitions it
// has read (covered), and asks in SQL only the hashes the filter admits
// (a duplicate, or about 0.2 % of the others), and every hash of the
// closed partitions it has not read yet. A closed partition is never
// written again (roll), so a partition read once stays covered. The
// filter is the design of sqlitestore's set of the sealed partitions'
// hashes (parts_hashset.go): blocked, 8 probes in one 64-byte block, in
// layers of doubling capacity.

// closedSet is the filter and how far it covers.
type closedSet struct {
	mu      sync.Mutex                  // serialises adds and covering
	layers  atomic.Pointer[[]*setLayer] // asks take no lock
	covered atomic.Int64                // the partitions below this number are in the set
	started sync.Once
}

// setLayer is one layer, off the Go heap (offheap.Make): 1.75 bytes a
// key at capacity.
type setLayer struct {
	blocks   [][8]uint64
	capacity int64
	n        int64 // keys added, under closedSet.mu
}

// setBits is the filter's bits a key at capacity, setMinKeys a first
// layer's capacity (1.75 MB), as sqlitestore's.
const (
	setBits    = 14
	setMinKeys = 1 << 20
)

func newSetLayer(capacity int64) *setLayer {
	l := &setLayer{capacity: capacity}
	l.blocks = offheap.Make[[8]uint64](int((capacity*setBits+511)/512), l)
	return l
}

// setProbe is a key's block among n and the bits of its 8 words: the
// block from the key's high bits, the bits 6-bit fields of its product by
// an odd constant.
func setProbe(h8, n uint64) (uint64, uint64) {
	block, _ := bits.Mul64(h8, n)
	return block, h8 * 0xff51afd7ed558ccd
}

func (l *setLayer) has(h8 uint64) bool {
	i, m := setProbe(h8, uint64(len(l.blocks)))
	b := &l.blocks[i]
	for w := range b {
		if atomic.LoadUint64(&b[w])&(1<<(m>>(16+6*w)&63)) == 0 {
			return false
		}
	}
	return true
}

func (l *setLayer) add(h8 uint64) {
	i, m := setProbe(h8, uint64(len(l.blocks)))
	b := &l.blocks[i]
	for w := range b {
		atomic.OrUint64(&b[w], 1<<(m>>(16+6*w)&63))
	}
	l.n++
}

// hashKey is the set's key of a hash: its first 8 bytes.
func hashKey(hash []byte) uint64 { return binary.BigEndian.Uint64(hash) }

// admit returns the hashes the set may hold: a hash it does not admit is
// in no covered partition. A set not made yet admits every hash.
func (c *closedSet) admit(hashes [][]byte) [][]byte {
	layers := c.layers.Load()
	if layers == nil {
		return hashes
	}
	defer runtime.KeepAlive(layers)
	var admitted [][]byte
	for _, h := range hashes {
		k := hashKey(h)
		for _, l := range *layers {
			if l.has(k) {
				admitted = append(admitted, h)
				break
			}
		}
	}
	return admitted
}

// add adds keys, growing the set by a layer whenever the last is full.
// c.mu is held.
func (c *closedSet) add(keys []uint64) {
	layers := c.layers.Load()
	if layers == nil {
		layers = &[]*setLayer{newSetLayer(setMinKeys)}
		c.layers.Store(layers)
	}
	defer runtime.KeepAlive(layers)
	list := *layers
	last := list[len(list)-1]
	for _, k := range keys {
		if last.n >= last.capacity {
			last = newSetLayer(2 * last.capacity)
			list = append(list[:len(list):len(list)], last)
			c.layers.Store(&list)
		}
		last.add(k)
	}
}

// startCovering starts reading the closed partitions into the set, once:
// at a writer's first batch, so that a process that only reads pays
// nothing. Each roll covers the partitions it closed (cover).
func (s *Store) startCovering() {
	s.closed.started.Do(func() { s.coverClosed() })
}

// coverClosed covers the closed partitions in the background (after one
// in progress: cover holds the set's mutex).
func (s *Store) coverClosed() {
	p := &s.parts
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		if err := s.cover(p.background); err != nil && p.background.Err() == nil {
			s.log.Warn("reading the closed event partitions' hashes", "store", "postgres", "err", err)
		}
	}()
}

// cover adds the hashes of every closed partition the set does not cover
// yet, in order (a partition is covered once all below it are).
func (s *Store) cover(ctx context.Context) error {
	c := &s.closed
	c.mu.Lock()
	defer c.mu.Unlock()
	h, err := readHot(ctx, s.pool)
	if err != nil {
		return err
	}
	hot := (h.last + 1) >> partitionBits // the partition the sequence is in
	// The partitions below it, which may skip numbers (hotState.want).
	rows, err := s.pool.Query(ctx, `SELECT num FROM event_partitions WHERE num >= $1 AND num < $2 ORDER BY num`, c.covered.Load(), hot)
	if err != nil {
		return err
	}
	nums, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	keys := make([]uint64, 0, 1<<16)
	for _, n := range nums {
		// Partition 0 is the events table of before migration 13, events_0.
		rows, err := s.pool.Query(ctx, `SELECT hash FROM events_`+strconv.FormatInt(n, 10))
		if err != nil {
			return fmt.Errorf("partition %d: %w", n, err)
		}
		var hash []byte
		for rows.Next() {
			if err := rows.Scan(&hash); err != nil {
				rows.Close()
				return fmt.Errorf("partition %d: %w", n, err)
			}
			if len(hash) >= 8 {
				keys = append(keys, hashKey(hash))
			}
			if len(keys) == cap(keys) {
				c.add(keys)
				keys = keys[:0]
			}
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("partition %d: %w", n, err)
		}
		c.add(keys)
		keys = keys[:0]
		c.covered.Store(n + 1)
	}
	c.covered.Store(max(c.covered.Load(), hot))
	return nil
}

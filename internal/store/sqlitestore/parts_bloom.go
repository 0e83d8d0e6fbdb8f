package sqlitestore

import (
	"container/list"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sync"
)

// bloom is a Bloom filter with k probes derived from one 64-bit FNV-1a
// hash by double hashing. It is small and its encoding is ours, so a
// partition's summary reads the same whatever library version wrote it.
type bloom struct {
	k    uint32
	bits []uint64
}

// newBloom sizes a filter for n keys at a false-positive rate of about 1%.
func newBloom(n int) *bloom {
	n = max(n, 1)
	m := uint64(math.Ceil(float64(n) * 9.6)) // bits for 1% at the best k
	words := (m + 63) / 64
	return &bloom{k: 7, bits: make([]uint64, words)}
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

func (f *bloom) probes(key []byte, fn func(bit uint64) bool) bool {
	h := fnv64(key)
	h1, h2 := h&0xffffffff, h>>32|1
	m := uint64(len(f.bits)) * 64
	for i := range uint64(f.k) {
		if !fn((h1 + i*h2) % m) {
			return false
		}
	}
	return true
}

func (f *bloom) add(key []byte) {
	f.probes(key, func(bit uint64) bool {
		f.bits[bit/64] |= 1 << (bit % 64)
		return true
	})
}

// has reports whether key may have been added; a nil filter admits all.
func (f *bloom) has(key []byte) bool {
	if f == nil {
		return true
	}
	return f.probes(key, func(bit uint64) bool { return f.bits[bit/64]&(1<<(bit%64)) != 0 })
}

func (f *bloom) marshal() []byte {
	b := binary.LittleEndian.AppendUint32(nil, f.k)
	for _, w := range f.bits {
		b = binary.LittleEndian.AppendUint64(b, w)
	}
	return b
}

var errBadBloom = errors.New("malformed Bloom filter")

// maxBloomProbes bounds k as read from disk: newBloom gives 7 at 1%; a
// larger k is a damaged summary, which would otherwise cost a probe loop
// of up to 2^32 steps a key.
const maxBloomProbes = 32

// unmarshalBloom reads a filter; with check only, it checks b and
// returns nil.
func unmarshalBloom(b []byte, check bool) (*bloom, error) {
	if len(b) < 12 || (len(b)-4)%8 != 0 {
		return nil, errBadBloom
	}
	k := binary.LittleEndian.Uint32(b)
	if k == 0 || k > maxBloomProbes {
		return nil, errBadBloom
	}
	if check {
		return nil, nil
	}
	f := &bloom{k: k, bits: make([]uint64, (len(b)-4)/8)}
	for i := range f.bits {
		f.bits[i] = binary.LittleEndian.Uint64(b[4+8*i:])
	}
	return f, nil
}

// partFilters are the Bloom filters of a sealed partition that searches
// ask (partSummary); the filter of hashes, which every insert asks, stays
// with the partition.
type partFilters struct {
	// ips holds each address key and, for IPv4, its /16 (prefix16Key).
	ips   *bloom
	asns  *bloom
	fqdns *bloom // every label suffix of each reversed name
}

func (f *partFilters) all() []*bloom { return []*bloom{f.ips, f.asns, f.fqdns} }

// bytes is the memory the filters hold.
func (f *partFilters) bytes() int {
	n := 0
	for _, b := range f.all() {
		n += 8 * len(b.bits)
	}
	return n
}

// bloomCacheBytes bounds the Bloom filters of sealed partitions that
// searches ask, held in memory. They are some 3.75 bytes an event (2 MB a
// full partition), so all of them would grow with the store: most of the
// 45 MB of Bloom filters on the heap at 10 million events in bench ingest.
// A partition's filters are put here when it is sealed, and read back
// from its summary row when a search needs them and they were evicted,
// the least recently used first; a partition's time range, count and
// filter of hashes stay in memory (partition.sum).
const bloomCacheBytes = 16 << 20

// bloomCache holds the filters of some sealed partitions, by partition,
// within a budget of bytes.
type bloomCache struct {
	max int

	mu    sync.Mutex
	size  int
	order *list.List // of *bloomEntry, most recently used first
	byN   map[int64]*list.Element
	// loads counts the filters read back from the database (tests).
	loads int64
}

type bloomEntry struct {
	n int64
	f *partFilters
}

func newBloomCache(maxBytes int) *bloomCache {
	return &bloomCache{max: maxBytes, order: list.New(), byN: map[int64]*list.Element{}}
}

// cached returns partition n's filters if they are held.
func (c *bloomCache) cached(n int64) *partFilters {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byN[n]
	if !ok {
		return nil
	}
	c.order.MoveToFront(e)
	return e.Value.(*bloomEntry).f
}

// put holds f as partition n's filters, evicting the least recently used
// beyond the budget; filters larger than the whole budget are not held.
func (c *bloomCache) put(n int64, f *partFilters) {
	size := f.bytes()
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byN[n]; ok {
		c.size -= e.Value.(*bloomEntry).f.bytes()
		c.order.Remove(e)
		delete(c.byN, n)
	}
	if size > c.max {
		return
	}
	c.byN[n] = c.order.PushFront(&bloomEntry{n: n, f: f})
	c.size += size
	for c.size > c.max {
		e := c.order.Back()
		old := e.Value.(*bloomEntry)
		c.order.Remove(e)
		delete(c.byN, old.n)
		c.size -= old.f.bytes()
	}
}

// filters returns sealed partition p's filters: from the cache, or read
// from its summary row through db. A summary that does not parse is an
// error, as when the partition was loaded.
func (c *bloomCache) filters(ctx context.Context, db *sql.DB, p *partition) (*partFilters, error) {
	if f := c.cached(p.n); f != nil {
		return f, nil
	}
	var raw []byte
	if err := db.QueryRowContext(ctx, `SELECT summary FROM event_parts WHERE id = ?`, p.n).Scan(&raw); err != nil {
		return nil, fmt.Errorf("partition %d: its summary: %w", p.n, err)
	}
	var sum partSummary
	if err := sum.unmarshal(raw, true); err != nil {
		return nil, fmt.Errorf("partition %d: %w", p.n, err)
	}
	c.mu.Lock()
	c.loads++
	c.mu.Unlock()
	c.put(p.n, sum.filters)
	return sum.filters, nil
}

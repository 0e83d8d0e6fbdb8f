package sqlitestore

import (
	"encoding/binary"
	"errors"
	"math"
	"path/filepath"
	"runtime"

	"github.com/vigil-cert/vigil/internal/offheap"
)

// bloom is a Bloom filter with k probes derived from one 64-bit FNV-1a
// hash by double hashing. It is small and its encoding is ours, so a
// partition's summary reads the same whatever library version wrote it.
type bloom struct {
	k    uint32
	bits []uint64
	// region, when set, is the mapping of the file that bits are in
	// (spillFilters): read only, unmapped once no filter refers to it.
	region *bloomRegion
}

// bloomRegion owns the mapping of a sealed partition's filters. It is
// 16 bytes, not 1: the runtime batches smaller objects without pointers
// in its tiny allocator, whose cleanups (which unmap) may never run.
type bloomRegion struct{ _ [16]byte }

// newBloom sizes a filter for n keys at a false-positive rate of about 1%.
func newBloom(n int) *bloom { return newBloomBits(n, 9.6, 7) }

// newHashBloom sizes a partition's filter of event hashes for n keys at a
// false-positive rate of about 0.1% (TestBloomFalsePositives). An insert
// asks it of every sealed partition the duplicate check's set does not
// cover (parts_hashset.go; the set names itself the covered ones that
// may hold a hash); each false positive costs a query of that
// partition's runs of hashes (its hash index before layout version 6),
// whose pages the reader's page cache then keeps: at 1% a store of 19
// sealed partitions (10 million events) would send about 0.19 queries an
// event, at 0.1% 0.019. 14.4 bits a key are 0.6 bytes an event more than
// 9.6.
func newHashBloom(n int) *bloom { return newBloomBits(n, 14.4, 10) }

// newBloomBits sizes a filter of k probes for n keys at bitsPerKey bits
// each.
func newBloomBits(n int, bitsPerKey float64, k uint32) *bloom {
	n = max(n, 1)
	m := uint64(math.Ceil(float64(n) * bitsPerKey))
	words := (m + 63) / 64
	return &bloom{k: k, bits: make([]uint64, words)}
}

func fnv64(b []byte) uint64 {
	h := uint64(14695981039346656037)
	for _, c := range b {
		h ^= uint64(c)
		h *= 1099511628211
	}
	return h
}

// first returns the first of key's probes (bit numbers), the step from
// one to the next and the filter's bits' count. The probes are
// (h1 + i*h2) % m for i < k, with h1 and h2 the hash's halves: as h1 +
// i*h2 cannot overflow (both under 2^32, i under maxBloomProbes), each is
// the one before + h2 % m, less m when that reaches m. Two divisions a
// key instead of one a probe: a sealing adds every event's addresses,
// AS numbers, host names and hash.
func (f *bloom) first(key []byte) (bit, step, m uint64) {
	h := fnv64(key)
	h1, h2 := h&0xffffffff, h>>32|1
	m = uint64(len(f.bits)) * 64
	return h1 % m, h2 % m, m
}

func (f *bloom) add(key []byte) {
	bit, step, m := f.first(key)
	for range f.k {
		f.bits[bit/64] |= 1 << (bit % 64)
		if bit += step; bit >= m {
			bit -= m
		}
	}
}

// has reports whether key may have been added; a nil filter admits all.
func (f *bloom) has(key []byte) bool {
	if f == nil {
		return true
	}
	bit, step, m := f.first(key)
	ok := true
	for range f.k {
		if f.bits[bit/64]&(1<<(bit%64)) == 0 {
			ok = false
			break
		}
		if bit += step; bit >= m {
			bit -= m
		}
	}
	runtime.KeepAlive(f)
	return ok
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

func unmarshalBloom(b []byte) (*bloom, error) {
	if len(b) < 12 || (len(b)-4)%8 != 0 {
		return nil, errBadBloom
	}
	k := binary.LittleEndian.Uint32(b)
	if k == 0 || k > maxBloomProbes {
		return nil, errBadBloom
	}
	f := &bloom{k: k, bits: make([]uint64, (len(b)-4)/8)}
	for i := range f.bits {
		f.bits[i] = binary.LittleEndian.Uint64(b[4+8*i:])
	}
	return f, nil
}

// spillFilters moves the Bloom filters of a sealed partition's summary
// out of the Go heap into the store's file of filters (offheap.File), a
// region of it mapped read only: the address, AS and host-name filters
// are read by searches only, so during an ingest they cost no resident
// memory, and the hash filters, which every insert asks, cost their
// size as file pages the kernel may drop. On the heap they were about 5
// bytes an event (45 MB at 10 million events, session 27's profile) that
// counted toward the collector's goal and its soft memory limit. Where the
// file cannot be made or mapped, the filters stay on the heap. The
// summary's filters are new ones; the ones it held are left to the
// collector.
func (ps *parts) spillFilters(sum *partSummary) {
	filters := []**bloom{&sum.ips, &sum.asns, &sum.fqdns, &sum.hashes}
	tables := make([][]uint64, len(filters))
	for i, f := range filters {
		if *f == nil || (*f).region != nil || len((*f).bits) == 0 {
			return
		}
		tables[i] = (*f).bits
	}
	file := ps.filterFile()
	if file == nil {
		return
	}
	region := &bloomRegion{}
	mapped, err := offheap.Put(file, region, tables...)
	if err != nil {
		ps.filterFileFailed(err)
		return
	}
	for i, f := range filters {
		*f = &bloom{k: (*f).k, bits: mapped[i], region: region}
	}
}

// filterFile returns the store's file of Bloom filters, made beside the
// database at the first call; nil when it cannot be.
func (ps *parts) filterFile() *offheap.File {
	ps.filtersOnce.Do(func() {
		f, err := offheap.CreateFile(filepath.Dir(ps.s.walFile))
		if err != nil {
			ps.filterFileFailed(err)
			return
		}
		ps.filters = f
	})
	return ps.filters
}

// filterFileFailed logs, once, that the filters stay on the heap.
func (ps *parts) filterFileFailed(err error) {
	if ps.filtersFailed.CompareAndSwap(false, true) {
		ps.s.log.Warn("the partitions' Bloom filters stay in memory: no file for them", "err", err)
	}
}

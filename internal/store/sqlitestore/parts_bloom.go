package sqlitestore

import (
	"encoding/binary"
	"errors"
	"math"
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

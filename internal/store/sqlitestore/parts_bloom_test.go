package sqlitestore

import (
	"encoding/binary"
	"errors"
	"slices"
	"testing"
)

// TestBloomProbesBounded reads a filter whose k is beyond any the writer
// makes: a damaged summary, refused.
func TestBloomProbesBounded(t *testing.T) {
	f := newBloom(100)
	b := f.marshal()
	if _, err := unmarshalBloom(b); err != nil {
		t.Fatal(err)
	}
	binary.LittleEndian.PutUint32(b, 1<<31)
	if _, err := unmarshalBloom(b); !errors.Is(err, errBadBloom) {
		t.Errorf("k = 2^31: %v, want %v", err, errBadBloom)
	}
}

// TestBloomFalsePositives: filters of 100,000 keys asked 100,000 others
// admit about their rate: under 1.5% for newBloom (1%), under 0.2% for
// newHashBloom (0.1%), and every key added.
func TestBloomFalsePositives(t *testing.T) {
	const n = 100_000
	for _, c := range []struct {
		name string
		f    *bloom
		max  int
	}{{"newBloom", newBloom(n), n * 15 / 1000}, {"newHashBloom", newHashBloom(n), n * 2 / 1000}} {
		var key [8]byte
		for i := range n {
			binary.BigEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15)
			c.f.add(key[:])
		}
		false_ := 0
		for i := range n {
			binary.BigEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15)
			if !c.f.has(key[:]) {
				t.Fatalf("%s: key %d added, not found", c.name, i)
			}
			binary.BigEndian.PutUint64(key[:], uint64(n+i)*0x9e3779b97f4a7c15)
			if c.f.has(key[:]) {
				false_++
			}
		}
		if false_ > c.max {
			t.Errorf("%s: %d false positives of %d, want at most %d", c.name, false_, n, c.max)
		}
		t.Logf("%s: %d false positives of %d", c.name, false_, n)
	}
}

// TestBloomProbesAsWritten: a filter's bits are those the probes (h1 +
// i*h2) % m set, as every layout version wrote them (filters are read
// from disk), for filters of a word to many, their m a power of two or
// not, and k up to maxBloomProbes; has finds each key added and, asked
// of a filter of one key, agrees with the same probes.
func TestBloomProbesAsWritten(t *testing.T) {
	var key [8]byte
	for _, words := range []int{1, 2, 3, 7, 64, 1000, 4093} {
		for _, k := range []uint32{1, 7, 10, maxBloomProbes} {
			for i := range 200 {
				binary.LittleEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15+uint64(words))
				f := &bloom{k: k, bits: make([]uint64, words)}
				f.add(key[:])
				want := make([]uint64, words)
				h := fnv64(key[:])
				h1, h2 := h&0xffffffff, h>>32|1
				m := uint64(words) * 64
				for j := range uint64(k) {
					bit := (h1 + j*h2) % m
					want[bit/64] |= 1 << (bit % 64)
				}
				if !slices.Equal(f.bits, want) {
					t.Fatalf("%d words, k %d, key %d: bits %x, want %x", words, k, i, f.bits, want)
				}
				if !f.has(key[:]) {
					t.Fatalf("%d words, k %d, key %d: added, not found", words, k, i)
				}
				binary.LittleEndian.PutUint64(key[:], uint64(i)*0xbf58476d1ce4e5b9)
				h = fnv64(key[:])
				h1, h2 = h&0xffffffff, h>>32|1
				in := true
				for j := range uint64(k) {
					if bit := (h1 + j*h2) % m; want[bit/64]&(1<<(bit%64)) == 0 {
						in = false
					}
				}
				if got := f.has(key[:]); got != in {
					t.Fatalf("%d words, k %d, key %d asked: %v, want %v", words, k, i, got, in)
				}
			}
		}
	}
}

// BenchmarkBloomAdd: what a sealing's filter of hashes costs a key
// (newHashBloom, a full partition's 524,288 keys of 8 bytes, as h8).
func BenchmarkBloomAdd(b *testing.B) {
	const n = 524_288
	keys := make([]byte, 8*n)
	for i := range n {
		binary.LittleEndian.PutUint64(keys[8*i:], uint64(i)*0x9e3779b97f4a7c15)
	}
	for b.Loop() {
		f := newHashBloom(n)
		for i := range n {
			f.add(keys[8*i : 8*i+8])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/key")
}

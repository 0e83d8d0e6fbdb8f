package sqlitestore

import (
	"encoding/binary"
	"errors"
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

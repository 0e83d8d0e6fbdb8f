package sqlitestore

import (
	"encoding/binary"
	"errors"
	"testing"

	"github.com/vigil-cert/vigil/internal/offheap"
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

// TestBloomHasRead: a hash filter put in a filter file after another
// table answers the same read from the file (hasRead) as through its
// mapping (has), for keys added and others, and still once the file is
// closed (from the mapping).
func TestBloomHasRead(t *testing.T) {
	file, err := offheap.CreateFile(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const n = 20_000
	other, f := newBloom(n), newHashBloom(n)
	var key [8]byte
	for i := range n {
		binary.BigEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15)
		f.add(key[:])
	}
	region := &bloomRegion{}
	mapped, at, err := offheap.PutAt(file, region, other.bits, f.bits)
	if err != nil {
		t.Fatal(err)
	}
	if at[1] == 0 {
		t.Fatal("the hash filter is at the file's start: its offset is not tried")
	}
	put := &bloom{k: f.k, bits: mapped[1], region: region, file: file, at: at[1]}
	check := func(when string) {
		admitted := 0
		for i := range 2 * n {
			binary.BigEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15)
			got, want := put.hasRead(key[:]), f.has(key[:])
			if got != want {
				t.Fatalf("%s: key %d: hasRead %v, has %v", when, i, got, want)
			}
			if got {
				admitted++
			}
		}
		if admitted < n {
			t.Fatalf("%s: %d keys admitted, want at least the %d added", when, admitted, n)
		}
	}
	check("open")
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed")
}

// BenchmarkBloomAsk asks a partition's hash filter (524,288 keys) of keys
// it holds and keys it does not, through its mapping (has) and from its
// file (hasRead): what a covered partition's ask costs the duplicate check.
func BenchmarkBloomAsk(b *testing.B) {
	file, err := offheap.CreateFile(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	defer file.Close()
	const n = 524_288
	f := newHashBloom(n)
	var key [8]byte
	for i := range n {
		binary.BigEndian.PutUint64(key[:], uint64(i)*0x9e3779b97f4a7c15)
		f.add(key[:])
	}
	region := &bloomRegion{}
	mapped, at, err := offheap.PutAt(file, region, f.bits)
	if err != nil {
		b.Fatal(err)
	}
	put := &bloom{k: f.k, bits: mapped[0], region: region, file: file, at: at[0]}
	for _, c := range []struct {
		name string
		ask  func([]byte) bool
		from uint64
	}{
		{"mapped/held", put.has, 0}, {"mapped/absent", put.has, n},
		{"read/held", put.hasRead, 0}, {"read/absent", put.hasRead, n},
	} {
		b.Run(c.name, func(b *testing.B) {
			var key [8]byte
			i := uint64(0)
			for b.Loop() {
				binary.BigEndian.PutUint64(key[:], (c.from+i%n)*0x9e3779b97f4a7c15)
				c.ask(key[:])
				i++
			}
		})
	}
}

package sqlitestore

import (
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/offheap"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestHotCopyKeepsEntries: every entry added to a hot partition's copy
// reads back equal, over several chunks of rows and of the arena, with
// and without addresses, names and keys (one larger than an arena chunk),
// and the hash index finds every id of an h8, shared ones too.
func TestHotCopyKeepsEntries(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 4))
	const n = 2*hotChunkRows + 77
	p := &partition{}
	var want []partEntry
	byH8 := map[uint64][]int64{}
	for i := range n {
		en := partEntry{ts: rng.Int64N(1 << 50), id: int64(1000 + 2*i), h8: rng.Uint64(), loc: rng.Int64N(1<<32)<<8 | int64(rng.IntN(256)),
			srcASN: int64(rng.Uint32()), feed: rng.Int64N(1 << 31), taxonomy: int64(rng.IntN(9)), typ: int64(rng.IntN(3)), tlp: int64(rng.IntN(2))}
		if i%5 == 4 {
			en.h8 = want[len(want)-1].h8 // shared prefixes
		}
		switch i % 3 {
		case 0:
			en.srcIP = store.MakeIPKey(netip.AddrFrom4([4]byte{10, byte(i), byte(i >> 8), 1}))
		case 1:
			en.srcIP = store.MakeIPKey(netip.MustParseAddr("2001:db8::" + strconv.FormatInt(int64(i), 16)))
			en.dstIP = store.MakeIPKey(netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}))
			en.dstASN = 64512
		}
		if i%4 == 0 {
			en.srcFQDN = "be.example.host" + strconv.Itoa(i) + "."
		}
		if i%6 == 0 {
			en.dstFQDN = "org.example."
			en.keys = []partKey{{keySourceURL, "http://example.org/" + strconv.Itoa(i)}, {keyMD5, "d41d8cd98f00b204e9800998ecf8427e"}}
		}
		if i == 100 {
			en.keys = append(en.keys, partKey{keyDestinationURL, "http://example.org/" + string(make([]byte, 2*hotArenaChunk))})
		}
		p.add(en)
		want = append(want, en)
		byH8[en.h8] = append(byH8[en.h8], en.id)
	}
	if len(p.hot.arena) < 3 {
		t.Fatalf("the arena has %d chunks: the test wants several", len(p.hot.arena))
	}
	hot := p.hot.snap()
	if hot.n != n {
		t.Fatalf("%d rows, want %d", hot.n, n)
	}
	for i, en := range want {
		if got := hot.entry(i); !reflect.DeepEqual(got, en) {
			t.Fatalf("row %d = %+v, want %+v", i, got, en)
		}
		if j := hot.find(en.id); j != i {
			t.Fatalf("find(%d) = %d, want %d", en.id, j, i)
		}
		if j := hot.find(en.id - 1); j != i {
			t.Fatalf("find(%d) = %d, want %d (the next id)", en.id-1, j, i)
		}
	}
	for h8, ids := range byH8 {
		var got []int64
		p.hot.byHash(h8, func(r *hotRow) { got = append(got, r.id) })
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Fatalf("byHash(%x) = %v, want %v", h8, got, ids)
		}
	}
	var none []int64
	p.hot.byHash(12345, func(r *hotRow) { none = append(none, r.id) })
	if len(none) > 0 && byH8[12345] == nil {
		t.Fatalf("byHash of an absent h8 found %v", none)
	}
	if p.sum.count != n {
		t.Fatalf("count %d, want %d", p.sum.count, n)
	}
}

// TestHotIndexOnHugePages: the hot copy's index of hashes, written and
// read at random and filled as a whole, is advised huge pages (the
// mapping's "hg" flag in /proc/self/smaps), before and after it grows;
// the rows and the arena, written in order and used in part, are not.
func TestHotIndexOnHugePages(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("huge pages are advised on Linux only")
	}
	hasHG := func(at unsafe.Pointer) bool { return strings.Contains(" "+vmFlags(t, uintptr(at))+" ", " hg ") }
	probe := &struct{}{}
	if reference := offheap.MakeScattered[uint32](1024, probe); !hasHG(unsafe.Pointer(&reference[0])) {
		t.Skip("the kernel refused MADV_HUGEPAGE (no transparent huge pages)")
	}
	runtime.KeepAlive(probe)
	h := &hotCopy{}
	for _, n := range []int{1, hotChunkRows + 1} {
		for h.n < n {
			h.add(&partEntry{id: int64(h.n + 1), h8: uint64(h.n) * 0x9e3779b97f4a7c15, srcFQDN: "be.example."})
		}
		if !hasHG(unsafe.Pointer(&h.index.slots[0])) {
			t.Errorf("%d rows: the index (%d slots) is not advised huge pages", n, len(h.index.slots))
		}
	}
	if hasHG(unsafe.Pointer(&h.chunks[0].rows[0])) {
		t.Error("the rows are advised huge pages")
	}
	if hasHG(unsafe.Pointer(&h.arena[0].b[0])) {
		t.Error("the arena is advised huge pages")
	}
	runtime.KeepAlive(h)
}

// BenchmarkHotScan measures a search's scan of a hot partition's copy of
// 131,072 events: by AS (most refused on one field), by address and by a
// host name's suffix (which reads the arena).
func BenchmarkHotScan(b *testing.B) {
	rng := rand.New(rand.NewPCG(3, 3))
	p := &partition{}
	for i := range 1 << 17 {
		en := partEntry{ts: int64(i), id: int64(i + 1), h8: rng.Uint64(), loc: int64(i),
			srcIP:  store.MakeIPKey(netip.AddrFrom4([4]byte{10, byte(rng.IntN(256)), byte(rng.IntN(256)), byte(i)})),
			srcASN: int64(64512 + rng.IntN(1000)), feed: 1, typ: 2}
		if i%4 == 0 {
			en.srcFQDN = "be.example.h" + strconv.Itoa(rng.IntN(1000)) + "."
		}
		p.add(en)
	}
	from, to := store.FQDNRange("h7.example.be")
	for _, c := range []struct {
		name string
		f    partFilter
	}{
		{"ASN", partFilter{asn: 64600}},
		{"IP", func() partFilter {
			f := partFilter{ip: store.MakeIPKey(netip.AddrFrom4([4]byte{10, 1, 2, 3}))}
			f.ipBytes = [16]byte(f.ip.Bytes())
			return f
		}()},
		{"FQDN", partFilter{from: from, to: to}},
	} {
		b.Run(c.name, func(b *testing.B) {
			hot := p.hot.snap()
			n := 0
			for b.Loop() {
				n = 0
				for i := range hot.n {
					if c.f.match(&hot, hot.row(i)) {
						n++
					}
				}
			}
			hot.done()
			b.ReportMetric(float64(n), "matches")
		})
	}
}

// BenchmarkHotIndex times the hot copy's index of hashes as a writer uses
// it over a full partition of defaultPartitionEvents rows of random h8:
// "fill" places each row as add does, the table growing fourfold to its
// 2^20 slots (4 MiB), each size fresh memory; "lookup" asks the full
// index hashes it does not hold, as the duplicate check asks of every new
// event. Both report the process's CPU a row, which counts the kernel's
// page faults.
func BenchmarkHotIndex(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	h := &hotCopy{}
	for i := range defaultPartitionEvents {
		h.add(&partEntry{id: int64(i + 1), h8: rng.Uint64()})
	}
	n := h.n
	b.Run("fill", func(b *testing.B) {
		rows, cpu := 0, cputime.Process()
		for b.Loop() {
			h.index = nil
			for i := range n {
				h.n = i + 1
				h.indexRow(i)
			}
			rows += n
		}
		b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(rows), "cpu-ns/row")
	})
	b.Run("lookup", func(b *testing.B) {
		found, asked, cpu := 0, 0, cputime.Process()
		for b.Loop() {
			h.byHash(rng.Uint64(), func(*hotRow) { found++ })
			asked++
		}
		b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(asked), "cpu-ns/lookup")
		if found > 0 {
			b.Logf("%d hashes found of %d asked", found, asked)
		}
	})
}

// TestHotIndexReadsTaggedRows: a lookup of a hash the index does not hold
// reads (almost) no row: a slot's tag tells most rows of other hashes
// apart without them. 200,000 rows of random h8, 100,000 lookups of
// others: a row read for fewer than one in a hundred (8 rows in all
// with the tags' 12 bits in a table of 2^20 slots), where reading the
// row of every slot probed read 26,300.
func TestHotIndexReadsTaggedRows(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	h := &hotCopy{}
	held := map[uint64]bool{}
	for i := range 200_000 {
		k := rng.Uint64()
		held[k] = true
		h.add(&partEntry{id: int64(i + 1), h8: k})
	}
	read, asked := 0, 0
	for asked < 100_000 {
		k := rng.Uint64()
		if held[k] {
			continue
		}
		asked++
		h.tagged(k, func(*hotRow) { read++ })
	}
	if read*100 >= asked {
		t.Errorf("%d rows read for %d lookups of absent hashes", read, asked)
	}
	// Every row is still found by its hash.
	found := 0
	for k := range held {
		h.byHash(k, func(r *hotRow) {
			if r.h8 == k {
				found++
			}
		})
	}
	if found != len(held) {
		t.Errorf("%d rows found by their hash, want %d", found, len(held))
	}
}

package sqlitestore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// slotSets are the sets of slots of a block of n events a test reads:
// the first, the last, one in the middle, each alone and together, all,
// every third, and random ones (rng's).
func slotSets(n int, rng *rand.Rand) [][]int {
	sets := [][]int{{0}, {n - 1}, {n / 2}, {0, n - 1}, {0, n / 2, n - 1}}
	var all, thirds []int
	for i := range n {
		all = append(all, i)
		if i%3 == 1 {
			thirds = append(thirds, i)
		}
	}
	sets = append(sets, all, thirds)
	for range 4 {
		var some []int
		for i := range n {
			if rng.IntN(8) == 0 {
				some = append(some, i)
			}
		}
		if len(some) > 0 {
			sets = append(sets, some)
		}
	}
	var out [][]int
	for _, set := range sets {
		if len(set) > 0 {
			slices.Sort(set)
			out = append(out, slices.Compact(set))
		}
	}
	return out
}

// TestBlockSlots: a block read for some of its events (appendBlock with
// slots, one reader for all the blocks) gives, byte for byte, the records a read of the whole block
// gives at those slots, with raw and without, for blocks in columns of
// many shapes (every Shadowserver report, raw as bytes, as text, absent,
// header lines shared or not, references and hex), plain blocks of
// several events (layout version 1) and blocks of one event.
func TestBlockSlots(t *testing.T) {
	skipUnderRace(t) // decodes on the test's goroutine, sharing nothing
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ps := s.parts
	type block struct {
		name string
		body []byte
		n    int
	}
	var blocks []block
	events := fieldTestEvents(t)
	for start := 0; start < len(events); start += 300 {
		batch := events[start:min(start+300, len(events))]
		for i, b := range recordBlocks(ps, batch) {
			blocks = append(blocks, block{fmt.Sprintf("events %d, block %d", start, i), b.body, b.end - b.start})
		}
	}
	recs := blockRecords()
	blocks = append(blocks, block{"blockRecords", compressBlock(ps.enc, recs, nil), len(recs)})
	var raw []byte
	for _, r := range recs {
		raw = binary.AppendUvarint(raw, uint64(len(r)))
		raw = append(raw, r...)
	}
	blocks = append(blocks, block{"plain", ps.enc.EncodeAll(raw, nil), len(recs)},
		block{"one event", compressBlock(ps.enc, recs[7:8], nil), 1})
	rng := rand.New(rand.NewPCG(35, 6))
	shapes, ones := 0, 0
	// One reader for every block, as a read of several blocks has.
	br := &blockReader{ps: ps}
	for _, b := range blocks {
		if b.n == 1 {
			ones++
		}
		if b.body[0] == blockColumns {
			cols, err := ps.dec.DecodeAll(b.body[1:], nil)
			if err != nil {
				t.Fatal(err)
			}
			r := columnReader{index: map[streamKey]int{}}
			_, i, _ := uvarintAt(cols, 0)
			nh, i, _ := uvarintAt(cols, i)
			for range nh {
				var h []byte
				h, i, _ = stringAt(cols, i)
				r.headers = append(r.headers, h)
			}
			r.shapes, _, _ = stringAt(cols, i)
			for range b.n {
				if err := r.shape(); err != nil {
					t.Fatal(err)
				}
			}
			shapes = max(shapes, len(r.known))
		}
		for _, withoutRaw := range []bool{false, true} {
			whole, wholeEnds, err := (&blockReader{ps: ps}).appendBlock(nil, nil, b.body, int64(b.n), nil, withoutRaw)
			if err != nil {
				t.Fatalf("%s: %v", b.name, err)
			}
			record := func(out []byte, ends []int, i, from int) []byte {
				start := from
				if i > 0 {
					start = ends[i-1]
				}
				return out[start:ends[i]]
			}
			for _, slots := range slotSets(b.n, rng) {
				// Appended after other records, as a read of several blocks does.
				prefix := []byte("before")
				out, ends, err := br.appendBlock(prefix, []int{len(prefix)}, b.body, int64(b.n), slots, withoutRaw)
				if err != nil {
					t.Fatalf("%s, slots %v: %v", b.name, slots, err)
				}
				if len(ends) != 1+len(slots) || !bytes.Equal(out[:len(prefix)], prefix) {
					t.Fatalf("%s, slots %v: %d records", b.name, slots, len(ends)-1)
				}
				for k, slot := range slots {
					got, want := record(out, ends, k+1, 0), record(whole, wholeEnds, slot, 0)
					if !bytes.Equal(got, want) {
						t.Fatalf("%s, without raw %v, slots %v: record at %d differs:\n got %q\nwant %q", b.name, withoutRaw, slots, slot, got, want)
					}
				}
			}
		}
		// A slot past the block's events is refused.
		if _, _, err := br.appendBlock(nil, nil, b.body, int64(b.n), []int{b.n}, false); !errors.Is(err, errBadBlock) {
			t.Errorf("%s: slot %d of %d: %v, want %v", b.name, b.n, b.n, err, errBadBlock)
		}
		if b.body[0] == blockColumns {
			if _, err := appendColumnsSlots(ps, b.body, []int{b.n}); !errors.Is(err, errBadBlock) {
				t.Errorf("%s: columns' slot %d of %d: %v, want %v", b.name, b.n, b.n, err, errBadBlock)
			}
		}
	}
	if shapes < 4 || ones < 2 {
		t.Errorf("at most %d shapes a block, %d blocks of one event: the test wants blocks of several shapes and of one event", shapes, ones)
	}
}

// appendColumnsSlots reads slots of a block in columns.
func appendColumnsSlots(ps *parts, body []byte, slots []int) ([]byte, error) {
	cols, err := ps.dec.DecodeAll(body[1:], nil)
	if err != nil {
		return nil, err
	}
	out, _, err := appendColumns(nil, nil, cols, slots, blockMaxRaw, false)
	return out, err
}

// TestReadsOfSomeEvents stores events of many shapes (with raw and
// without, in batches of several blocks and of one event) in partitions
// of 150, most sealed in chunks of 64 ids, the last hot, and reads sets
// of them by id (the first, last and middle of runs, single ones, whole
// runs, every seventh, across blocks and partitions): each event read is
// the one stored, record for record, with and without raw (the
// notifier's queue read, which leaves raw out of blocks in columns), and
// GetEvent finds each.
func TestReadsOfSomeEvents(t *testing.T) {
	skipUnderRace(t)
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts, PartitionEvents: 150})
	defer s.Close()
	ps := s.parts
	ps.rowsChunk = 64
	ctx := t.Context()
	var batches [][]*event.Event
	events := fieldTestEvents(t)
	for start, size := 0, 1; start < len(events); start, size = start+size, size%300+37 {
		batches = append(batches, events[start:min(start+size, len(events))])
	}
	// The last few in the hot partition.
	batches = append(batches, storetest.NewGenerator(35).Batch(5))
	// Stored first of a hash: the store keeps the first of duplicates.
	want := map[event.Hash][]byte{}
	var order []event.Hash
	for _, batch := range batches {
		if _, err := s.InsertEvents(ctx, batch, nil); err != nil {
			t.Fatal(err)
		}
		for _, e := range batch {
			if _, ok := want[e.Hash()]; !ok {
				want[e.Hash()] = event.AppendRecord(nil, e)
				order = append(order, e.Hash())
			}
		}
	}
	byID, err := ps.idsByHash(ctx, order)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, 0, len(order))
	wantOf := map[int64][]byte{}
	for _, h := range order {
		id, ok := byID[h]
		if !ok {
			t.Fatalf("event %s not stored", h)
		}
		ids = append(ids, id)
		wantOf[id] = want[h]
	}
	slices.Sort(ids)
	sealed := 0
	for _, p := range ps.list {
		if p.sealed {
			sealed++
		}
	}
	if sealed < 3 || ps.list[len(ps.list)-1].sealed {
		t.Fatalf("%d events, %d sealed partitions of %d, the last sealed: the test wants several sealed and a hot one", len(ids), sealed, len(ps.list))
	}
	rng := rand.New(rand.NewPCG(35, 7))
	var sets [][]int64
	for start := 0; start < len(ids); start += 256 {
		run := ids[start:min(start+256, len(ids))]
		for _, slots := range slotSets(len(run), rng) {
			var set []int64
			for _, k := range slots {
				set = append(set, run[k])
			}
			sets = append(sets, set)
		}
	}
	var sevenths []int64
	for i := 0; i < len(ids); i += 7 {
		sevenths = append(sevenths, ids[i])
	}
	sets = append(sets, sevenths, ids)
	queue := queueReader{ps: ps}
	for _, set := range sets {
		found, err := ps.eventsByID(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		if len(found) != len(set) {
			t.Fatalf("%d of %d events read", len(found), len(set))
		}
		recs, err := ps.records(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range set {
			if got := recs[id].record; !bytes.Equal(got, wantOf[id]) {
				t.Fatalf("event %d of a read of %d: record %q, want %q", id, len(set), got, wantOf[id])
			}
			if se := found[id]; !bytes.Equal(event.AppendRecord(nil, se.Event), wantOf[id]) || se.Seq != id || se.Stored.IsZero() {
				t.Fatalf("event %d of a read of %d: %+v", id, len(set), se)
			}
		}
		// The notifier's read: each record the event without raw.
		queued, err := queue.read(ctx, set)
		if err != nil {
			t.Fatal(err)
		}
		for k, id := range set {
			f := queued[k]
			if !f.ok {
				t.Fatalf("event %d not found by the queue's read", id)
			}
			e, err := event.DecodeRecord(wantOf[id])
			if err != nil {
				t.Fatal(err)
			}
			e.Delete("raw")
			// A plain block's records come as they are (appendBlock).
			if got := queue.out[f.start:f.end]; !bytes.Equal(got, event.AppendRecord(nil, e)) && !bytes.Equal(got, wantOf[id]) {
				t.Fatalf("event %d of the queue's read of %d: record %q, want it without raw", id, len(set), got)
			}
		}
	}
	for _, h := range order {
		se, err := s.GetEvent(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(event.AppendRecord(nil, se.Event), want[h]) {
			t.Fatalf("GetEvent(%s): another record", h)
		}
	}
}

// subsetBlockEvents are 256 events of a kind a block holds: "generated"
// the contract's generator's (no raw), "report" scan-report-like events
// each with a raw row of 32 columns under a header line.
func subsetBlockEvents(kind string) []*event.Event {
	if kind == "generated" {
		return storetest.NewGenerator(1).Batch(256)
	}
	var header strings.Builder
	for c := range 32 {
		if c > 0 {
			header.WriteByte(',')
		}
		fmt.Fprintf(&header, "column_%d", c)
	}
	var events []*event.Event
	for i := range 256 {
		e := event.New(16)
		ip := fmt.Sprintf("198.51.%d.%d", i/200, i%200)
		e.SetTrusted("source.ip", ip)
		e.SetTrusted("source.port", "3389")
		e.SetTrusted("time.source", "2026-11-01T00:00:00+00:00")
		e.SetTrusted("classification.type", "vulnerable-system")
		e.SetTrusted("feed.name", "shadowserver-scan_rdp")
		e.SetTrusted("extra.sha1_fingerprint", fmt.Sprintf("%040x", 0xabcdef0123+i*7919))
		e.Seal()
		row := []string{"2026-11-01 00:00:00", ip, "3389", fmt.Sprintf("%040x", 0xabcdef0123+i*7919)}
		for c := len(row); c < 32; c++ {
			row = append(row, fmt.Sprintf("value-%d-%d", c, (i*31+c)%97))
		}
		e.SetRawString(header.String() + "\n" + strings.Join(row, ","))
		events = append(events, e)
	}
	return events
}

// BenchmarkBlockRead times the parts of a read of a block of 256 events:
// decompressing it (zstd), writing back all its records from the
// decompressed columns (columns), reading it whole into new memory as
// records did for any of its events (splitBlock), and reading it for all
// its records, for the one in its middle, for its last and for 8 spread
// over it (appendBlock, its reader reused as a read of several blocks
// does).
func BenchmarkBlockRead(b *testing.B) {
	s := openLayout(b, b.TempDir()+"/parts.db", Options{EventLayout: LayoutParts})
	defer s.Close()
	ps := s.parts
	for _, kind := range []string{"generated", "report"} {
		var recs [][]byte
		for _, e := range subsetBlockEvents(kind) {
			recs = append(recs, event.AppendRecord(nil, e))
		}
		body := compressBlock(ps.enc, recs, nil)
		cols, _ := ps.dec.DecodeAll(body[1:], nil)
		b.Logf("%s: %d records, %d bytes compressed, %d of columns", kind, len(recs), len(body), len(cols))
		b.Run(kind+"/zstd", func(b *testing.B) {
			var buf []byte
			for b.Loop() {
				buf, _ = ps.dec.DecodeAll(body[1:], buf[:0])
			}
		})
		b.Run(kind+"/columns", func(b *testing.B) {
			var (
				out  []byte
				ends []int
			)
			for b.Loop() {
				var err error
				if out, ends, err = appendColumns(out[:0], ends[:0], cols, nil, blockMaxRaw, false); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(kind+"/splitBlock", func(b *testing.B) {
			// What records did for any events of a block until session
			// 35: all its records, in new memory.
			for b.Loop() {
				if _, err := ps.splitBlock(body, int64(len(recs))); err != nil {
					b.Fatal(err)
				}
			}
		})
		for _, read := range []struct {
			name  string
			slots []int
		}{
			{"all", nil},
			{"middle", []int{128}},
			{"last", []int{255}},
			{"eight", []int{3, 40, 77, 110, 150, 181, 220, 250}},
		} {
			b.Run(kind+"/"+read.name, func(b *testing.B) {
				var (
					out  []byte
					ends []int
					br   = blockReader{ps: ps}
				)
				for b.Loop() {
					var err error
					if out, ends, err = br.appendBlock(out[:0], ends[:0], body, int64(len(recs)), read.slots, false); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// TestChunkFind: the places findInChunk finds of a chunk's events are
// those decodeChunk gives, for the first, last and middle event, each
// alone and together, all, every third and random ones, with ids the
// chunk does not hold among them (gaps, before its first, after its
// last); its last id is the chunk's.
func TestChunkFind(t *testing.T) {
	ps, enc := chunkCodec(t)
	const first, base = 1_000_001, 1_700_000_000_000_000
	for _, n := range []int{1, 2, 3000} {
		rows := testChunkRows(n, first, base)
		data := encodeChunk(enc, rows, base, first)
		whole, _, err := ps.decodeChunk(data, base, first, chunkLocs, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(35, uint64(n)))
		var (
			found []chunkPlace
			buf   []byte
		)
		for _, slots := range slotSets(n, rng) {
			var ids []int64
			for _, k := range slots {
				// An id the chunk lacks before each (a gap, or before the first).
				ids = append(ids, whole[k].id-1, whole[k].id)
			}
			ids = append(ids, whole[n-1].id+1, whole[n-1].id+5)
			ids = slices.Compact(ids)
			var last int64
			last, found, buf, err = ps.chunkFind(data, base, first, ids, found[:0], buf)
			if err != nil {
				t.Fatal(err)
			}
			if last != whole[n-1].id {
				t.Fatalf("%d events, slots %v: last id %d, want %d", n, slots, last, whole[n-1].id)
			}
			var want []chunkPlace
			for i, r := range whole {
				if _, ok := slices.BinarySearch(ids, r.id); ok {
					want = append(want, chunkPlace{id: r.id, ts: r.ts, loc: r.loc(), low: r.h8, i: i})
				}
			}
			if !slices.Equal(found, want) {
				t.Fatalf("%d events, slots %v: found %+v, want %+v", n, slots, found, want)
			}
		}
	}
}

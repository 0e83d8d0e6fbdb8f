package pgstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// packRaw packs records as they are, with S2 or, when bound and compress
// are given, another codec.
func packRaw(records [][]byte, bound func(int) int, compress func(dst, plain []byte) []byte) packedBlocks {
	if bound == nil {
		bound, compress = s2.MaxEncodedLen, func(dst, plain []byte) []byte {
			dst[0] = codecS2
			return dst[:1+len(s2.Encode(dst[1:], plain))]
		}
	}
	return packRecords(len(records), func() recordEncoder {
		return func(dst []byte, i int) []byte { return append(dst, records[i]...) }
	}, bound, compress)
}

// checkBlocks reads every record back from the blocks p packed records
// into, block k holding those from p.starts[k] on.
func checkBlocks(t *testing.T, name string, p packedBlocks, records [][]byte) {
	t.Helper()
	if len(p.blocks) != len(p.starts) {
		t.Fatalf("%s: %d blocks, %d starts", name, len(p.blocks), len(p.starts))
	}
	for k, block := range p.blocks {
		recs, err := unpackBlock(block)
		if err != nil {
			t.Fatalf("%s: block %d: %v", name, k, err)
		}
		end := len(records)
		if k+1 < len(p.starts) {
			end = p.starts[k+1]
		}
		if len(recs) != end-p.starts[k] {
			t.Fatalf("%s: block %d holds %d records; want %d", name, k, len(recs), end-p.starts[k])
		}
		for j, r := range recs {
			if want := records[p.starts[k]+j]; !bytes.Equal(r, want) {
				t.Fatalf("%s: block %d record %d = %.40q; want %.40q", name, k, j, r, want)
			}
		}
	}
}

// TestBlocksRoundTrip packs records of several lengths (none, short, long,
// a last block not full) into blocks with S2 and with zstd, and reads each
// record back from its block and slot; a block cut short, of an unknown
// codec, or with bytes past its records, is refused.
func TestBlocksRoundTrip(t *testing.T) {
	var records [][]byte
	for i := range 3*blockEvents + 7 {
		records = append(records, bytes.Repeat([]byte(fmt.Sprintf("record %d;", i)), i%50))
	}
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	// zstd may need more than its bound: the blocks that do not fit go
	// elsewhere.
	zstdBlocks := packRaw(records, func(n int) int { return n / 4 }, func(dst, plain []byte) []byte {
		return enc.EncodeAll(plain, append(dst[:0], codecZstd))
	})
	defer zstdBlocks.release()
	s2Blocks := packRaw(records, nil, nil)
	defer s2Blocks.release()
	for name, p := range map[string]packedBlocks{"s2": s2Blocks, "zstd": zstdBlocks} {
		if fmt.Sprint(p.starts) != fmt.Sprint([]int{0, blockEvents, 2 * blockEvents, 3 * blockEvents}) {
			t.Fatalf("%s: blocks start at %v; want every %d records", name, p.starts, blockEvents)
		}
		checkBlocks(t, name, p, records)
	}
	for name, block := range map[string][]byte{
		"empty":         nil,
		"unknown codec": {9, 1, 2, 3},
		// An S2 length of 2 GiB, with no data to make it: refused before
		// it is allocated.
		"huge length": append([]byte{codecS2}, binary.AppendUvarint(nil, 2<<30)...),
		"cut short":   s2Blocks.blocks[0][:20],
		"trailing bytes": func() []byte {
			b, _ := zstd.NewWriter(nil)
			return b.EncodeAll([]byte{2, 3, 1, 'a', 'b', 'c', 'd', 'e'}, []byte{codecZstd})
		}(),
		"too few bytes": func() []byte {
			b, _ := zstd.NewWriter(nil)
			return b.EncodeAll([]byte{2, 3, 1, 'a', 'b'}, []byte{codecZstd})
		}(),
	} {
		if _, err := unpackBlock(block); !errors.Is(err, errBadBlock) {
			t.Errorf("%s: unpackBlock = %v; want errBadBlock", name, err)
		}
	}
	if p := packRaw(nil, nil, nil); len(p.blocks) != 0 || len(p.starts) != 0 {
		t.Errorf("no records: %d blocks", len(p.blocks))
	}
}

// TestBlockStarts closes a block at blockEvents records, or before its
// records pass blockBytes; a record larger than that has a block of its
// own, and the records read back from blocks cut by size. The buffers of
// a batch of small records are then reused by large ones, and those of
// large ones by small ones.
func TestBlockStarts(t *testing.T) {
	small := make([][]byte, 2*blockEvents+1)
	for i := range small {
		small[i] = []byte{byte(i)}
	}
	var large [][]byte
	for i, n := range []int{400_000, 400_000, blockBytes - 800_000, 1, 2 * blockBytes, 5, 400_000, blockBytes - 400_005, 1} {
		large = append(large, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	// Then the same past a block of small records: a block is cut by
	// size inside the records a goroutine took at once.
	mixed := append(append([][]byte{}, small[:blockEvents+2]...), large...)
	for _, c := range []struct {
		name    string
		records [][]byte
		want    []int
	}{
		{"small", small, []int{0, blockEvents, 2 * blockEvents}},
		// Three records of blockBytes fit, a byte more does not; the big
		// record is alone; the next three make blockBytes again.
		{"large", large, []int{0, 3, 4, 5, 8}},
		// Two small records and the first two large pass blockBytes by
		// two bytes, so the second block closes before the third large.
		{"mixed", mixed, []int{0, blockEvents, blockEvents + 4, blockEvents + 6, blockEvents + 7, blockEvents + 10}},
		{"small again", small, []int{0, blockEvents, 2 * blockEvents}},
	} {
		p := packRaw(c.records, nil, nil)
		if fmt.Sprint(p.starts) != fmt.Sprint(c.want) {
			t.Fatalf("%s: blocks start at %v; want %v", c.name, p.starts, c.want)
		}
		checkBlocks(t, c.name, p, c.records)
		p.release()
	}
}

// TestMigrateEventBlocks stores events as migration 10 left the table
// (records in data), migrates, stores more by COPY (records in blocks),
// and reads all of them back through every reader of records: by hash,
// followed by id, searched newest first and sorted by a column, queued
// for an organisation, scanned for the notifier, and grouped by
// organisation.
func TestMigrateEventBlocks(t *testing.T) {
	ctx := t.Context()
	s := openFresh(t)
	events := copyCorpus(t, 300)
	old, later := events[:100], events[100:]
	storeBeforeMigration(t, s, 10, old)
	if n, err := s.InsertBatch(ctx, store.EventBatch{Events: later}); err != nil || n != len(later) {
		t.Fatalf("InsertBatch = %d, %v; want %d", n, err, len(later))
	}
	var inData, inBlocks int
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE data IS NOT NULL), count(*) FILTER (WHERE block_id IS NOT NULL) FROM events`).Scan(&inData, &inBlocks); err != nil {
		t.Fatal(err)
	}
	if inData != len(old) || inBlocks != len(later) {
		t.Fatalf("%d records in data and %d in blocks; want %d and %d", inData, inBlocks, len(old), len(later))
	}

	want := map[event.Hash][]byte{}
	for _, e := range events {
		want[e.Hash()] = event.AppendRecord(nil, e)
	}
	check := func(reader string, h event.Hash, e *event.Event) {
		t.Helper()
		w, ok := want[h]
		if !ok {
			t.Fatalf("%s: event %s was not stored", reader, h)
		}
		if e != nil && !bytes.Equal(event.AppendRecord(nil, e), w) {
			t.Fatalf("%s: event %s reads back changed", reader, h)
		}
	}
	for h := range want {
		got, err := s.GetEvent(ctx, h)
		if err != nil {
			t.Fatal(err)
		}
		check("GetEvent", h, got.Event)
	}
	followed, err := s.EventsAfter(ctx, 0, 1000)
	if err != nil || len(followed) != len(events) {
		t.Fatalf("EventsAfter = %d events, %v; want %d", len(followed), err, len(events))
	}
	for i, se := range followed {
		if se.Hash != events[i].Hash() {
			t.Fatalf("EventsAfter: event %d is %s; want %s", i, se.Hash, events[i].Hash())
		}
		check("EventsAfter", se.Hash, se.Event)
	}
	for _, q := range []store.EventQuery{{Limit: 1000}, {Limit: 1000, Sort: store.SortFeed}} {
		page, err := s.SearchEvents(ctx, q)
		if err != nil || len(page.Events) != len(events) {
			t.Fatalf("SearchEvents(sort %q) = %d events, %v; want %d", q.Sort, len(page.Events), err, len(events))
		}
		for _, se := range page.Events {
			check("SearchEvents", se.Hash, se.Event)
		}
	}
	pending, err := s.ListPendingNotifications(ctx, "city", 0, 1000)
	if err != nil || len(pending) != len(events)/3 {
		t.Fatalf("ListPendingNotifications = %d, %v; want %d", len(pending), err, len(events)/3)
	}
	for _, p := range pending {
		if p.Event == nil {
			t.Fatalf("ListPendingNotifications: event %s without its record", p.Hash)
		}
		// This reader withholds what a constituent is not shown.
		check("ListPendingNotifications", p.Hash, nil)
		e, err := event.DecodeRecord(want[p.Hash])
		if err != nil {
			t.Fatal(err)
		}
		store.WithoutWithheld(e)
		if !bytes.Equal(event.AppendRecord(nil, p.Event), event.AppendRecord(nil, e)) {
			t.Fatalf("ListPendingNotifications: event %s reads back changed", p.Hash)
		}
	}
	scanned := 0
	err = s.ScanPendingNotifications(ctx, func(p *store.PendingPage) error {
		for i := range p.Len() {
			e, err := event.DecodeRecord(p.Record(i))
			if err != nil {
				return err
			}
			check("ScanPendingNotifications", p.HashOf(i), e)
			scanned++
		}
		return nil
	})
	if err != nil || scanned != 2*len(events)/3 {
		t.Fatalf("ScanPendingNotifications = %d events, %v; want %d", scanned, err, 2*len(events)/3)
	}
	groups, err := s.GroupEvents(ctx, store.EventQuery{}, store.GroupOrganisation, 10)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(groups) != fmt.Sprintf("[{uni %d} {city %d}]", 2*len(events)/3, len(events)/3) {
		t.Fatalf("GroupEvents by organisation = %v", groups)
	}
}

package pgstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

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
	starts := blockStarts(records)
	// zstd may need more than its bound: the blocks that do not fit go
	// elsewhere.
	zstdBlocks := packBlocksWith(records, starts, nil, func(n int) int { return n / 4 }, func(dst, plain []byte) []byte {
		return enc.EncodeAll(plain, append(dst[:0], codecZstd))
	})
	// A pooled buffer of blocks, too small at first, then reused for
	// other records.
	arena := new([]byte)
	s2Blocks := packBlocks(records, starts, arena)
	for name, blocks := range map[string][][]byte{"s2": s2Blocks, "zstd": zstdBlocks} {
		if len(blocks) != 4 {
			t.Fatalf("%s: %d blocks; want 4", name, len(blocks))
		}
		for i, want := range records {
			recs, err := unpackBlock(blocks[i/blockEvents])
			if err != nil {
				t.Fatalf("%s: block %d: %v", name, i/blockEvents, err)
			}
			if got := recs[i%blockEvents]; !bytes.Equal(got, want) {
				t.Fatalf("%s: record %d = %q; want %q", name, i, got, want)
			}
		}
	}
	for name, block := range map[string][]byte{
		"empty":         nil,
		"unknown codec": {9, 1, 2, 3},
		// An S2 length of 2 GiB, with no data to make it: refused before
		// it is allocated.
		"huge length": append([]byte{codecS2}, binary.AppendUvarint(nil, 2<<30)...),
		"cut short":   packBlocks(records, starts, nil)[0][:20],
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
}

// TestBlockStarts closes a block at blockEvents records, or before its
// records pass blockBytes; a record larger than that has a block of its
// own, and the records read back from blocks cut by size.
func TestBlockStarts(t *testing.T) {
	small := make([][]byte, 2*blockEvents+1)
	for i := range small {
		small[i] = []byte{byte(i)}
	}
	if got := fmt.Sprint(blockStarts(small)); got != fmt.Sprint([]int{0, blockEvents, 2 * blockEvents}) {
		t.Errorf("blockStarts of %d small records = %s", len(small), got)
	}
	if got := blockStarts(nil); len(got) != 0 {
		t.Errorf("blockStarts(nil) = %v", got)
	}
	var large [][]byte
	for i, n := range []int{400_000, 400_000, blockBytes - 800_000, 1, 2 * blockBytes, 5, 400_000, blockBytes - 400_005, 1} {
		large = append(large, bytes.Repeat([]byte{byte('a' + i)}, n))
	}
	// Three records of blockBytes fit, a byte more does not; the big
	// record is alone; the next three make blockBytes again.
	want := []int{0, 3, 4, 5, 8}
	starts := blockStarts(large)
	if fmt.Sprint(starts) != fmt.Sprint(want) {
		t.Fatalf("blockStarts of large records = %v; want %v", starts, want)
	}
	// Into a buffer that held smaller blocks before: it grows.
	arena := new([]byte)
	packBlocks(small, blockStarts(small), arena)
	blocks := packBlocks(large, starts, arena)
	for k, block := range blocks {
		recs, err := unpackBlock(block)
		if err != nil {
			t.Fatalf("block %d: %v", k, err)
		}
		end := len(large)
		if k+1 < len(starts) {
			end = starts[k+1]
		}
		if len(recs) != end-starts[k] {
			t.Fatalf("block %d holds %d records; want %d", k, len(recs), end-starts[k])
		}
		for j, r := range recs {
			if !bytes.Equal(r, large[starts[k]+j]) {
				t.Fatalf("block %d record %d differs", k, j)
			}
		}
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

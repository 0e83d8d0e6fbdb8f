package sqlitestore

import (
	"reflect"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestHotChunkRoundTrip encodes a batch's entries as a hot chunk and
// decodes them back: every column, h8 whole, names, NULLs, IPv6, ids
// with gaps (a conversion from the rows layout keeps its ids).
func TestHotChunkRoundTrip(t *testing.T) {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	ps := testChunkParts(t)
	const base = int64(1_700_000_000_000_000)
	var entries []partEntry
	for i := range 300 {
		en := partEntry{id: 1000 + int64(i) + int64(i/100)*7, ts: base + int64(i%17)*1_000_003 - 5, h8: 0xfedcba9876543210 ^ uint64(i)*0x9e3779b97f4a7c15,
			loc: int64(3+i/256)<<8 | int64(i%256)}
		if i%3 != 0 {
			en.srcIP = ipKeyOf([]byte{10, byte(i), 0, 1})
		}
		if i%7 == 0 {
			en.dstIP = ipKeyOf([]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(i)})
		}
		if i%2 == 0 {
			en.srcASN, en.feed, en.typ = int64(64500+i%4), 1, int64(2+i%3)
		}
		if i%5 == 0 {
			en.srcFQDN, en.dstFQDN = "example.h"+string(rune('a'+i%26)), "example.d."
		}
		en.dstASN, en.taxonomy, en.tlp = int64(i%2), int64(i%4), int64(i%2)
		entries = append(entries, en)
	}
	rows := make([]sealedRow, len(entries))
	for i := range entries {
		rows[i] = sealedRowOf(&entries[i])
	}
	data := encodeHotChunk(enc, rows, base)
	got, _, err := ps.decodeChunk(data, base, entries[0].id, chunkAll, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(entries) {
		t.Fatalf("%d rows back, want %d", len(got), len(entries))
	}
	for i := range got {
		if back := entryOfRow(&got[i]); !reflect.DeepEqual(back, entries[i]) {
			t.Fatalf("row %d: got %+v, want %+v", i, back, entries[i])
		}
	}
	// A hot chunk is not a sealed partition's: its hashes are whole.
	if _, _, _, err := chunkHashes(data); err == nil {
		t.Error("chunkHashes read a hot chunk as a sealed one")
	}
	for _, cut := range []int{0, 1, 2, 100, len(data) - 1} {
		if _, _, err := ps.decodeChunk(data[:cut], base, entries[0].id, chunkAll, nil, nil); err == nil {
			t.Errorf("a hot chunk cut at %d decoded", cut)
		}
	}
}

// testChunkParts is a parts layout's decoder alone, for the chunks'
// codec.
func testChunkParts(t *testing.T) *parts {
	t.Helper()
	dec, err := zstd.NewReader(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(dec.Close)
	return &parts{dec: dec}
}

// TestPartsOfVersion7HotRows upgrades a database of version 7 whose hot
// partition keeps its compact rows a row an event (ev_N): the next
// batches go into that partition as chunks (ev_N_hot), a reopened store
// reads both forms back into its copy, another store reading the
// database catches up with both, every search answers as the rows
// layout does, and the sealing drops both tables.
func TestPartsOfVersion7HotRows(t *testing.T) {
	lp := newLayoutPair(t, 37)
	lp.mixAddrs = true
	lp.parts.parts.writeVersion = 7
	lp.insertWith(1, moreFields)
	lp.upgrade(`UPDATE event_layout SET version = 7`)
	forms := func(p *partition) (rows, chunks bool) {
		t.Helper()
		f, err := hotForms(t.Context(), lp.parts.read, p)
		if err != nil {
			t.Fatal(err)
		}
		return f.rows, f.chunks
	}
	list := lp.partitions()
	p := list[len(list)-1]
	if rows, chunks := forms(p); p.sealed || !rows || chunks {
		t.Fatalf("partition %d at the upgrade: sealed %v, rows %v, chunks %v; want hot in rows only", p.n, p.sealed, rows, chunks)
	}
	// Larger partitions: the next batches stay in that one.
	lp.parts.parts.partitionEvents = 1000
	reader := openLayout(t, lp.partsPath, Options{EventLayout: LayoutParts})
	defer reader.Close()
	lp.insertWith(2, moreFields)
	if rows, chunks := forms(p); !rows || !chunks {
		t.Fatalf("partition %d written on: rows %v, chunks %v; want both", p.n, rows, chunks)
	}
	want := hotEntries(lp.parts, p)
	if len(want) != 750 {
		t.Fatalf("%d events in the hot partition, want 750", len(want))
	}
	// Another store catches up from its copy of the first batch.
	if err := reader.parts.refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := hotEntries(reader, reader.parts.partitionOf(p.firstID)); !reflect.DeepEqual(got, want) {
		t.Errorf("caught up: %d entries, not the writer's %d", len(got), len(want))
	}
	lp.upgrade() // reopened: the copy read from both forms
	if got := hotEntries(lp.parts, lp.parts.parts.partitionOf(p.firstID)); !reflect.DeepEqual(got, want) {
		t.Errorf("reopened: %d entries, not the %d before", len(got), len(want))
	}
	lp.compare()
	// A full partition is left for a new one and sealed: both forms dropped.
	lp.insertWith(1, moreFields)
	q := lp.parts.parts.partitionOf(p.firstID)
	if rows, chunks := forms(q); !q.sealed || rows || chunks {
		t.Errorf("partition %d after sealing: sealed %v, rows %v, chunks %v", q.n, q.sealed, rows, chunks)
	}
	lp.compare()
	compareMore(t, lp)
}

// hotEntries returns the entries of hot partition p's copy in s.
func hotEntries(s *Store, p *partition) []partEntry {
	s.parts.mu.RLock()
	hot := p.hot.snap()
	s.parts.mu.RUnlock()
	out := make([]partEntry, hot.n)
	for i := range out {
		out[i] = hot.entry(i)
	}
	return out
}

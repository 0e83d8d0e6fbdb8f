package sqlitestore

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"slices"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
	"github.com/vigil-cert/vigil/internal/store/storetest"
)

// chunkCodec returns a parts with the zstd coders a chunk needs.
func chunkCodec(t *testing.T) (*parts, *zstd.Encoder) {
	t.Helper()
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(blockLevel))
	if err != nil {
		t.Fatal(err)
	}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderMaxMemory(blockMaxRaw))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { enc.Close(); dec.Close() })
	return &parts{dec: dec, rowsChunk: defaultRowsChunk}, enc
}

// testChunkRows returns n rows from first on (a gap of 3 ids after every
// 50th), of every kind of column: none, IPv4 and IPv6 addresses on either
// side, AS numbers, host names and dictionary codes, each missing in some.
func testChunkRows(n int, first, base int64) []sealedRow {
	rnd := rand.New(rand.NewPCG(1, 2))
	rows := make([]sealedRow, n)
	id, ts := first, base+5_000_000
	for i := range rows {
		r := &rows[i]
		r.id, r.h8 = id, rnd.Uint64()
		id++
		if i%50 == 49 {
			id += 3
		}
		ts += rnd.Int64N(2_000_000) - 500_000
		r.ts = ts
		r.block, r.slot = uint32(1+i/256), uint8(i%256)
		switch i % 5 {
		case 1:
			r.srcIP, r.flags = netip.AddrFrom4([4]byte{10, byte(i), byte(i >> 8), 1}).As16(), r.flags|hotSrcIP
		case 2:
			r.srcIP, r.flags = netip.MustParseAddr(fmt.Sprintf("2001:db8::%x", i+1)).As16(), r.flags|hotSrcIP
			r.dstIP, r.flags = netip.AddrFrom4([4]byte{192, 0, 2, byte(i)}).As16(), r.flags|hotDstIP
		case 3:
			r.srcIP, r.flags = netip.AddrFrom4([4]byte{198, 51, 100, byte(i)}).As16(), r.flags|hotSrcIP
			r.dstIP, r.flags = netip.MustParseAddr("::ffff:0:1").As16(), r.flags|hotDstIP // IPv4-mapped form of 0.0.0.1 — still 4 bytes
		case 4:
			r.dstIP, r.flags = netip.MustParseAddr("2001:db8:1::1").As16(), r.flags|hotDstIP
		}
		if i%3 != 0 {
			r.srcASN = uint32(64500 + i%7)
		}
		if i%4 == 1 {
			r.dstASN = 4_200_000_000
		}
		if i%6 == 2 {
			r.src = []byte(fmt.Sprintf("be.example.h%d.", i))
		}
		if i%10 == 3 {
			r.dst = []byte("org.example.")
		}
		if i%9 != 0 {
			r.feed, r.taxonomy, r.typ = uint32(1+i%3), 7, uint32(20+i%2)
		}
		if i%2 == 0 {
			r.tlp = 40
		}
	}
	return rows
}

func sameRows(t *testing.T, got, want []sealedRow, all bool) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d rows decoded, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		w.h8 &= hashLowMask // the runs of hashes hold the rest
		if !all {
			w = sealedRow{hotRow: hotRow{id: w.id, ts: w.ts, h8: w.h8, block: w.block, slot: w.slot}}
		}
		if g.hotRow != w.hotRow || !bytes.Equal(g.src, w.src) || !bytes.Equal(g.dst, w.dst) {
			t.Fatalf("row %d: decoded %+v, want %+v", i, g, w)
		}
	}
}

// TestChunkRoundTrip encodes rows of every kind of column, NULLs, IPv6
// addresses and gaps of ids among them, and decodes them whole and up to
// their locations.
func TestChunkRoundTrip(t *testing.T) {
	ps, enc := chunkCodec(t)
	const first, base = 1_000_001, 1_700_000_000_000_000
	rows := testChunkRows(3000, first, base)
	data := encodeChunk(enc, rows, base, first)
	got, buf, err := ps.decodeChunk(data, base, first, chunkAll, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, got, rows, true)
	got, _, err = ps.decodeChunk(data, base, first, chunkLocs, got, buf)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, got, rows, false)
	n, h8s, _, err := chunkHashes(data)
	if err != nil || n != len(rows) || len(h8s) != chunkHashBytes*len(rows) {
		t.Fatalf("chunkHashes: %d events, %d bytes, %v", n, len(h8s), err)
	}
	// A chunk of one event, without any column but its own.
	one := []sealedRow{{hotRow: hotRow{id: first, ts: base, h8: 42, block: 1}}}
	got, _, err = ps.decodeChunk(encodeChunk(enc, one, base, first), base, first, chunkAll, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	sameRows(t, got, one, true)
	if findRow(rows, first+49) == nil || findRow(rows, first+50) != nil || findRow(rows, first+53).id != first+53 {
		t.Error("findRow does not find the rows around a gap of ids as they are")
	}
}

// TestChunkCorrupt decodes a chunk cut short at every length and with
// bytes changed: each gives an error, or (a change within the hashes or
// one the columns take) rows, never a panic.
func TestChunkCorrupt(t *testing.T) {
	skipUnderRace(t) // decodes on the test's goroutine, sharing nothing
	ps, enc := chunkCodec(t)
	rows := testChunkRows(200, 1, 0)
	data := encodeChunk(enc, rows, 0, 1)
	for n := range len(data) {
		if _, _, err := ps.decodeChunk(data[:n], 0, 1, chunkAll, nil, nil); !errors.Is(err, errBadChunk) {
			t.Fatalf("cut at %d of %d bytes: %v, want errBadChunk", n, len(data), err)
		}
	}
	// The columns, decompressed, cut short or changed, then compressed
	// again behind the same head.
	n, _, _, _ := chunkHashes(data)
	head := 1 + len(binary.AppendUvarint(nil, uint64(n))) + chunkHashBytes*n
	cols, err := ps.dec.DecodeAll(data[head:], nil)
	if err != nil {
		t.Fatal(err)
	}
	for cut := range len(cols) {
		bad := enc.EncodeAll(cols[:cut], bytes.Clone(data[:head]))
		if _, _, err := ps.decodeChunk(bad, 0, 1, chunkAll, nil, nil); !errors.Is(err, errBadChunk) {
			t.Fatalf("columns cut at %d of %d bytes: %v, want errBadChunk", cut, len(cols), err)
		}
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 2000 {
		c := bytes.Clone(cols)
		c[rnd.IntN(len(c))] = byte(rnd.Uint32())
		bad := enc.EncodeAll(c, bytes.Clone(data[:head]))
		ps.decodeChunk(bad, 0, 1, chunkAll, nil, nil) // must not panic
	}
	for _, bad := range [][]byte{nil, {9}, {chunkVersion}, {chunkVersion, 0}, {chunkVersion, 0xff, 0xff, 0xff, 0xff, 0x0f}} {
		if _, _, err := ps.decodeChunk(bad, 0, 1, chunkAll, nil, nil); !errors.Is(err, errBadChunk) {
			t.Errorf("%x: %v, want errBadChunk", bad, err)
		}
	}
}

// TestChunkedPartitions stores events in partitions of 300 sealed in
// chunks of 64 ids (several a partition), with IPv6 sources, destination
// addresses and host names among them: every search answers as the rows
// layout does, every event is found by its hash, and each sealed
// partition has its chunks and no compact rows.
func TestChunkedPartitions(t *testing.T) {
	lp := newLayoutPair(t, 23)
	lp.mixAddrs = true
	lp.parts.parts.rowsChunk = 64
	lp.insertWith(8, moreFields)
	sealed := 0
	for _, p := range lp.partitions() {
		if !p.sealed {
			continue
		}
		sealed++
		var tables, chunks int
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FROM sqlite_master WHERE name IN (?, ?)`, p.table, p.table+"_hot").Scan(&tables); err != nil {
			t.Fatal(err)
		}
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FROM `+p.table+`_rows`).Scan(&chunks); err != nil {
			t.Fatal(err)
		}
		if tables != 0 || chunks < 4 || p.sealedAs < rowsVersion {
			t.Errorf("partition %d: %d tables of compact rows, %d chunks, sealed as %d", p.n, tables, chunks, p.sealedAs)
		}
	}
	if sealed < 4 {
		t.Fatalf("%d sealed partitions, the test wants 4", sealed)
	}
	// The duplicate check's set reads each sealed partition's hashes:
	// those of its events, each once.
	want := map[uint64]int{}
	for _, e := range lp.all {
		want[hashKey(e.Hash())] = 1
	}
	var read, events int64
	for _, p := range lp.partitions() {
		if !p.sealed {
			continue
		}
		events += p.sum.count
		err := lp.parts.parts.sealedHashes(t.Context(), p, func(keys []uint64) {
			for _, k := range keys {
				read++
				if want[k] != 1 {
					t.Fatalf("partition %d: hash %x read %d times before, or of no event", p.n, k, want[k]-1)
				}
				want[k]++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if read != events {
		t.Errorf("%d hashes read of the sealed partitions, which hold %d events", read, events)
	}
	lp.compare()
	compareMore(t, lp)
	// Read back by a store that opens the database anew.
	lp.upgrade()
	lp.compare()
}

// compareMore compares searches by host name, URL, malware hash and
// organisation, and the events after an id, between both layouts.
func compareMore(t *testing.T, lp *layoutPair) {
	t.Helper()
	ctx := t.Context()
	queries := map[string]store.EventQuery{}
	var picks []int
	for i := range 12 {
		picks = append(picks, 100+i, len(lp.all)/2+i)
	}
	for _, e := range picks {
		ev := lp.all[e]
		for _, k := range []struct{ field, kind string }{
			{"source.fqdn", "fqdn"}, {"source.url", "url"}, {"malware.hash.md5", "md5"}, {"malware.hash.sha256", "sha256"},
		} {
			v := ev.Value(k.field)
			if v == "" {
				continue
			}
			var q store.EventQuery
			switch k.kind {
			case "fqdn":
				q.FQDN = v
			case "url":
				q.URL = v
			default:
				q.Hash = v
			}
			queries[k.kind+" "+v] = q
		}
		for _, o := range store.EventOrganisations(ev) {
			queries["org "+o] = store.EventQuery{Organisation: o}
			queries["org+feed "+o] = store.EventQuery{Organisation: o, Feed: ev.Value("feed.name")}
		}
	}
	queries["fqdn all"] = store.EventQuery{FQDN: "example"}
	for name, q := range queries {
		for _, asc := range []bool{false, true} {
			q.Ascending, q.Limit = asc, 50
			want, got := allPages(t, lp.rows, q), allPages(t, lp.parts, q)
			if !slices.Equal(want, got) {
				t.Errorf("%s asc=%v: parts gave %d events, rows %d, or another order", name, asc, len(got), len(want))
			}
		}
	}
	for _, after := range []int64{0, 1, 299, 300, 777, int64(len(lp.all)) - 5} {
		a, err1 := lp.rows.EventsAfter(ctx, after, 120)
		b, err2 := lp.parts.EventsAfter(ctx, after, 120)
		if err := errors.Join(err1, err2); err != nil {
			t.Fatal(err)
		}
		if len(a) != len(b) {
			t.Fatalf("EventsAfter(%d): %d on parts, %d on rows", after, len(b), len(a))
		}
		for i := range a {
			if a[i].Hash != b[i].Hash || a[i].Seq != b[i].Seq {
				t.Fatalf("EventsAfter(%d): event %d differs", after, i)
			}
		}
	}
	if len(queries) < 20 {
		t.Fatalf("%d queries by name, URL, hash or organisation: the generator's events give too few", len(queries))
	}
}

// insertWith is insert, each event given more by fn (when not nil) with
// its number.
func (lp *layoutPair) insertWith(batches int, fn func(t *testing.T, e *event.Event, n int)) {
	lp.t.Helper()
	for range batches {
		batch := lp.g.Batch(250)
		for i, e := range batch {
			if lp.mixAddrs {
				mixAddrs(lp.t, e, len(lp.all)+i)
			}
			if fn != nil {
				fn(lp.t, e, len(lp.all)+i)
			}
		}
		lp.all = append(lp.all, batch...)
		insertOnBoth(lp.t, lp.rows, lp.parts, batch)
	}
}

// moreFields gives the n-th event a host name, a URL, malware hashes and
// organisations, some each, that the generator does not make.
func moreFields(t *testing.T, e *event.Event, n int) {
	t.Helper()
	set := func(k, v string) {
		if err := e.Set(k, v); err != nil {
			t.Fatal(err)
		}
	}
	if n%3 == 0 {
		set("source.fqdn", fmt.Sprintf("h%d.part%d.example", n%13, n%5))
	}
	if n%8 == 5 {
		set("destination.fqdn", fmt.Sprintf("d%d.example", n%3))
	}
	if n%4 == 1 {
		set("source.url", fmt.Sprintf("http://h%d.example/%d", n%3, n%17))
	}
	if n%5 == 2 {
		set("malware.hash.md5", fmt.Sprintf("%032x", n%19))
	}
	if n%7 == 3 {
		set("malware.hash.sha256", fmt.Sprintf("%064x", n%23))
	}
	switch {
	case n%11 == 0:
		set(store.ConstituencyField, `["org-b","org-a"]`)
	case n%3 == 1:
		set(store.ConstituencyField, `["org-a"]`)
	}
}

// eachChunk (tests) calls fn with each chunk of sealed partition p (sealed as
// rowsVersion or later) holding one of ids (in order), decoded up to
// what, and the ids of ids within its range. A chunk is found by the
// greatest first_id not above an id: the chunks' span is the sealing's
// (rowsChunk then), not this store's.
func (ps *parts) eachChunk(ctx context.Context, p *partition, ids []int64, what int, fn func(rows []sealedRow, ids []int64) error) error {
	var (
		rows []sealedRow
		buf  []byte
		err  error
	)
	for i := 0; i < len(ids); {
		var found bool
		rows, buf, found, err = ps.chunkAt(ctx, p, ids[i], what, rows, buf)
		if err != nil {
			return err
		}
		j := i + 1
		if found {
			last := rows[len(rows)-1].id
			for j < len(ids) && ids[j] <= last {
				j++
			}
			if err := fn(rows, ids[i:j]); err != nil {
				return err
			}
		}
		i = j
	}
	return nil
}

// sealedRowsOf returns the rows of the chunks of s's sealed partition p
// (sealed as rowsVersion or later), ts absolute.
func sealedRowsOf(t *testing.T, s *Store, p *partition) []sealedRow {
	t.Helper()
	ids, err := s.parts.sealedIDs(t.Context(), p, 0, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var out []sealedRow
	err = s.parts.eachChunk(t.Context(), p, ids, chunkAll, func(rows []sealedRow, ids []int64) error {
		for _, id := range ids {
			r := *findRow(rows, id)
			r.src, r.dst = bytes.Clone(r.src), bytes.Clone(r.dst)
			out = append(out, r)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatalf("partition %d: no rows in its chunks", p.n)
	}
	return out
}

// TestPartsOfVersion6Rows seals partitions as layout version 6 did
// (compact rows kept, indexed by host name), reopens the database with
// this version and writes on, so that sealed partitions of both kinds
// are searched together; every search answers as the rows layout does.
func TestPartsOfVersion6Rows(t *testing.T) {
	lp := newLayoutPair(t, 29)
	lp.mixAddrs = true
	lp.parts.parts.writeVersion = 6
	// Three batches: a partition (two batches) sealed as 6, the third
	// batch in the hot one.
	lp.insertWith(3, moreFields)
	lp.upgrade(`UPDATE event_layout SET version = 6`)
	lp.parts.parts.rowsChunk = 100
	// Three more: that one and another sealed in chunks.
	lp.insertWith(3, moreFields)
	var kept, chunked int
	for _, p := range lp.partitions() {
		if !p.sealed {
			continue
		}
		var rows, chunks int
		if err := lp.parts.write.QueryRowContext(t.Context(), `SELECT count(*) FILTER (WHERE name IN (?, ?)), count(*) FILTER (WHERE name = ?) FROM sqlite_master`,
			p.table, p.table+"_hot", p.table+"_rows").Scan(&rows, &chunks); err != nil {
			t.Fatal(err)
		}
		switch {
		case p.sealedAs == 6 && rows == 1 && chunks == 0:
			kept++
		case p.sealedAs >= rowsVersion && rows == 0 && chunks == 1:
			chunked++
		default:
			t.Errorf("partition %d: sealed as %d, %d tables of compact rows, %d of chunks", p.n, p.sealedAs, rows, chunks)
		}
	}
	if kept == 0 || chunked == 0 {
		t.Fatalf("sealed partitions: %d with compact rows, %d in chunks; the test wants each", kept, chunked)
	}
	lp.compare()
	compareMore(t, lp)
}

// TestAutoVacuum opens a new database, which is made with
// auto_vacuum=INCREMENTAL, and one made before without it, which keeps
// its own; in the new one, a sealing leaves no free page behind.
func TestAutoVacuum(t *testing.T) {
	withSealInline(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "vigil.db"), Options{EventLayout: LayoutParts, PartitionEvents: 2000})
	defer s.Close()
	g := storetest.NewGenerator(31)
	for range 5 {
		if _, err := s.InsertEvents(t.Context(), g.Batch(1000), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SealEvents(t.Context()); err != nil {
		t.Fatal(err)
	}
	var mode, free, sealed int
	if err := s.write.QueryRowContext(t.Context(), `SELECT auto_vacuum, freelist_count FROM pragma_auto_vacuum, pragma_freelist_count`).Scan(&mode, &free); err != nil {
		t.Fatal(err)
	}
	if err := s.write.QueryRowContext(t.Context(), `SELECT count(*) FROM event_parts WHERE sealed_as >= ?`, rowsVersion).Scan(&sealed); err != nil {
		t.Fatal(err)
	}
	if mode != 2 || free != 0 || sealed < 3 {
		t.Errorf("new database: auto_vacuum %d, %d free pages after %d partitions sealed in chunks; want 2, 0 and at least 3", mode, free, sealed)
	}

	old := filepath.Join(t.TempDir(), "old.db")
	db, err := sql.Open("sqlite", old)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`CREATE TABLE made_before (x INTEGER)`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	o := openLayout(t, old, Options{EventLayout: LayoutParts})
	defer o.Close()
	if err := o.write.QueryRowContext(t.Context(), `PRAGMA auto_vacuum`).Scan(&mode); err != nil {
		t.Fatal(err)
	}
	if mode != 0 {
		t.Errorf("a database made without auto_vacuum has it %d after Open", mode)
	}
}

// partitionIDs returns the ids of s's partition p: from its chunks when
// it is sealed as rowsVersion or later, else from its compact rows.
func partitionIDs(t *testing.T, s *Store, p *partition) []int64 {
	t.Helper()
	if p.sealed && p.sealedAs >= rowsVersion {
		ids, err := s.parts.sealedIDs(t.Context(), p, 0, 1<<30)
		if err != nil {
			t.Fatal(err)
		}
		return ids
	}
	if p.sealed {
		var ids []int64
		rows, err := s.read.Query(`SELECT id FROM ` + p.table)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
		return ids
	}
	// Hot: its rows, its chunks or both, as the database holds them.
	entries, _, err := s.parts.readRows(t.Context(), s.read, p, 0)
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]int64, len(entries))
	for i := range entries {
		ids[i] = entries[i].id
	}
	return ids
}

// TestVacuumInSteps frees more pages than a step of vacuum gives back:
// the steps go on until none are free.
func TestVacuumInSteps(t *testing.T) {
	// The steps run on the test's goroutine and share no memory but the
	// database's; a sealing's vacuum runs under -race in TestAutoVacuum.
	skipUnderRace(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "vigil.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ctx := t.Context()
	for _, q := range []string{
		`CREATE TABLE filler (b BLOB)`,
		`WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000) INSERT INTO filler SELECT randomblob(3000) FROM n`,
		`DROP TABLE filler`,
	} {
		if _, err := s.write.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	var free int
	if err := s.write.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
		t.Fatal(err)
	}
	if free <= 2*s.vacuumStep() {
		t.Fatalf("%d free pages, the test wants more than %d", free, 2*s.vacuumStep())
	}
	if err := s.parts.vacuum(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.write.QueryRowContext(ctx, `PRAGMA freelist_count`).Scan(&free); err != nil {
		t.Fatal(err)
	}
	if free != 0 {
		t.Errorf("%d free pages after vacuum", free)
	}
}

package sqlitestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/shadowserver"
)

// blockRecords makes records of the kinds a block meets: a wide report's
// rows with their header line in raw and their digests again in extra
// fields, two reports' headers in one block, upper-case, mixed-case and
// odd-length hex, a row of more pieces than a block cuts, raw without a
// header line, no raw at all, and names without a code.
func blockRecords() [][]byte {
	var recs [][]byte
	for _, e := range blockTestEvents(false) {
		recs = append(recs, event.AppendRecord(nil, e))
	}
	return recs
}

// blockTestEvents are blockRecords' events. With shared, raw's header
// line is held apart (event.SetRawParts), one string for the events of a
// header, as a report's parser gives it.
func blockTestEvents(shared bool) []*event.Event {
	heads := map[string]string{}
	setRaw := func(e *event.Event, head, rest string) {
		if !shared {
			e.SetRawString(head + rest)
			return
		}
		if h, ok := heads[head]; ok {
			head = h
		} else {
			head = strings.Clone(head)
			heads[head] = head
		}
		e.SetRawParts(head, rest)
	}
	var events []*event.Event
	for i := range 40 {
		e := event.New(12)
		sha1 := fmt.Sprintf("%040x", 0xabcdef0123+i*7919)
		md5 := strings.ToUpper(fmt.Sprintf("%032x", 0xfeed+i))
		header := "timestamp,ip,sha1,md5,note\n"
		if i%3 == 0 {
			header = "ts,ip,sha1,md5,note\n"
		}
		note := "plain"
		switch i % 5 {
		case 1:
			note = `"a, quoted, note"`
		case 2:
			note = "" // an empty last piece
		case 3:
			note = "0123456789abcdefABCDEF" // mixed case: stays text
		case 4:
			note = "abc" // shorter than a reference
		}
		e.SetTrusted("source.ip", fmt.Sprintf("192.0.2.%d", i))
		e.SetTrusted("time.source", "2026-11-01T00:00:00+00:00")
		e.SetTrusted("extra.sha1_fingerprint", `"`+sha1+`"`)
		e.SetTrusted("malware.hash.md5", md5)
		e.SetTrusted("extra.odd", "0123456789abcdef0") // odd length: text
		e.SetTrusted("comment", "two\nlines, no header")
		e.Seal()
		switch i % 4 {
		case 0, 1:
			setRaw(e, header, fmt.Sprintf("2026-11-01 00:00:00,192.0.2.%d,%s,%s,%s", i, sha1, md5, note))
		case 2:
			setRaw(e, "", `{"json": "raw without a header line", "sha1": "`+sha1+`"}`)
		}
		switch i {
		case 7:
			setRaw(e, "h\n", strings.Repeat("x,", 100)+"end")
		case 11:
			// A head of two lines is joined: the first line is the header.
			setRaw(e, "a\nb\n", "1,2")
		case 13:
			// A head without its newline is joined too.
			setRaw(e, "ts,ip", "\n1,2")
		case 17:
			setRaw(e, header, "") // a row of nothing after its header
		}
		events = append(events, e)
	}
	return events
}

// TestColumnsOfSharedHeaders: events whose raw holds its header line
// apart (event.SetRawParts, the header one string for a report) give the
// same records as with raw in one piece, written whole and written from
// their fields, the same columns, and the columns give the records back.
func TestColumnsOfSharedHeaders(t *testing.T) {
	whole, shared := blockTestEvents(false), blockTestEvents(true)
	var (
		recs   [][]byte
		w      columnWriter
		wholeW columnWriter
		coder  event.RecordCoder
	)
	w.reset()
	wholeW.reset()
	apart := 0
	for i, e := range shared {
		rec := event.AppendRecord(nil, e)
		if want := event.AppendRecord(nil, whole[i]); !bytes.Equal(rec, want) {
			t.Fatalf("event %d: record %q, with raw whole %q", i, rec, want)
		}
		fields := coder.AppendFields(nil, e)
		if got := event.AppendFieldsRecord(nil, fields); !bytes.Equal(got, rec) {
			t.Fatalf("event %d: record from fields %q, want %q", i, got, rec)
		}
		if n := event.RecordSize(fields); n != len(rec) {
			t.Fatalf("event %d: RecordSize %d, want %d", i, n, len(rec))
		}
		for _, f := range fields {
			if f.Head != "" {
				apart++
			}
		}
		if !bytes.Equal(e.Raw(), whole[i].Raw()) || e.Value("raw") != whole[i].Value("raw") {
			t.Fatalf("event %d: raw %q, want %q", i, e.Raw(), whole[i].Raw())
		}
		w.add(fields)
		wholeW.add(event.AppendRecordFields(nil, whole[i]))
		recs = append(recs, rec)
	}
	if apart < 10 {
		t.Fatalf("%d records with their header apart, want the shared events' (at least 10)", apart)
	}
	cols := w.appendTo(nil)
	if want := wholeW.appendTo(nil); !bytes.Equal(cols, want) {
		t.Fatalf("columns of shared headers differ from those of raw whole")
	}
	if want, _ := encodeColumns(nil, recs); !bytes.Equal(cols, want) {
		t.Fatalf("columns of shared headers differ from those of the records")
	}
	got, err := decodeColumns(cols, blockMaxRaw)
	if err != nil {
		t.Fatal(err)
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Errorf("record %d differs:\n got %q\nwant %q", i, got[i], recs[i])
		}
	}
}

func TestColumnsGiveBackTheRecords(t *testing.T) {
	recs := blockRecords()
	cols := columnsRoundTrip(t, recs)
	var plain int
	for _, r := range recs {
		plain += len(r)
	}
	// The header lines once, the digests as bytes and raw's copies of
	// fields as references: the columns are smaller before compression.
	if len(cols) >= plain {
		t.Errorf("columns of %d bytes, the records %d", len(cols), plain)
	}
}

// TestColumnsRefuseOtherRecords: a record that writing again would not
// give back (a longer uvarint than needed, bytes left over, a value past
// the end) keeps its block plain.
func TestColumnsRefuseOtherRecords(t *testing.T) {
	good := blockRecords()[0]
	for name, rec := range map[string][]byte{
		"long uvarint": append([]byte{0x81, 0x00}, good[1:]...),
		"left over":    append(bytes.Clone(good), 0),
		"cut short":    good[:len(good)-1],
		"empty":        {},
	} {
		if _, ok := encodeColumns(nil, [][]byte{good, rec}); ok {
			t.Errorf("%s: encoded in columns", name)
		}
	}
}

// TestColumnsOfDamagedBlocks: columns cut anywhere or with a byte changed
// give an error or records, never a panic, and a block that claims more
// than the limit is refused.
func TestColumnsOfDamagedBlocks(t *testing.T) {
	skipUnderRace(t) // decodes on the test's goroutine, sharing nothing
	cols, _ := encodeColumns(nil, blockRecords())
	for i := range cols {
		if _, err := decodeColumns(cols[:i], blockMaxRaw); !errors.Is(err, errBadBlock) {
			t.Fatalf("columns cut at %d: %v, want %v", i, err, errBadBlock)
		}
		damaged := bytes.Clone(cols)
		damaged[i] ^= 0x5a
		decodeColumns(damaged, blockMaxRaw)
	}
	if _, err := decodeColumns(cols, 1000); !errors.Is(err, errBadBlock) {
		t.Errorf("columns past the limit: %v, want %v", err, errBadBlock)
	}
}

func TestBlockFormats(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ps := s.parts
	recs := blockRecords()
	for name, b := range map[string][][]byte{"columns": recs, "one event": recs[:1]} {
		body := compressBlock(ps.enc, b, nil)
		if columns := body[0] == blockColumns; columns != (len(b) > 1) {
			t.Errorf("%s: in columns %v", name, columns)
		}
		got, err := ps.splitBlock(body, int64(len(b)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(b) {
			t.Fatalf("%s: %d records, want %d", name, len(got), len(b))
		}
		for i := range b {
			if !bytes.Equal(got[i], b[i]) {
				t.Errorf("%s: record %d differs", name, i)
			}
		}
		if _, err := ps.splitBlock(body, int64(len(b)+1)); len(b) > 1 && !errors.Is(err, errBadBlock) {
			t.Errorf("%s: a block of another count: %v", name, err)
		}
	}
	// A plain block of several events, as the first version wrote them,
	// is read still.
	var raw []byte
	for _, r := range recs {
		raw = binary.AppendUvarint(raw, uint64(len(r)))
		raw = append(raw, r...)
	}
	got, err := ps.splitBlock(ps.enc.EncodeAll(raw, nil), int64(len(recs)))
	if err != nil || len(got) != len(recs) || !bytes.Equal(got[3], recs[3]) {
		t.Errorf("plain block: %d records, %v", len(got), err)
	}
}

// FuzzDecodeColumns: columns that decode whole decode the same read for
// some of their records, and encode again to records that decode the
// same.
func FuzzDecodeColumns(f *testing.F) {
	cols, _ := encodeColumns(nil, blockRecords()[:4])
	f.Add(cols)
	f.Fuzz(func(t *testing.T, b []byte) {
		recs, err := decodeColumns(b, 1<<20)
		if err != nil {
			return
		}
		// What decodes whole decodes the same read for some records.
		for _, slots := range [][]int{{0}, {len(recs) - 1}, {len(recs) / 2, len(recs) - 1}} {
			if len(recs) == 0 || (len(slots) > 1 && slots[0] == slots[1]) {
				continue
			}
			out, ends, err := appendColumns(nil, nil, b, slots, 1<<20, false)
			if err != nil || len(ends) != len(slots) {
				t.Fatalf("slots %v: %d records, %v", slots, len(ends), err)
			}
			sameRecordsAt(t, out, ends, slots, recs)
		}
		// What decodes encodes again to records that decode the same.
		again, ok := encodeColumns(nil, recs)
		if !ok {
			return // records of no event: kept plain by a writer
		}
		back, err := decodeColumns(again, 1<<20)
		if err != nil || len(back) != len(recs) {
			t.Fatalf("again: %d records of %d, %v", len(back), len(recs), err)
		}
		for i := range recs {
			if !bytes.Equal(back[i], recs[i]) {
				t.Fatalf("record %d differs", i)
			}
		}
	})
}

// TestLayoutVersions: a database of version 1 (plain blocks) opens and is
// recorded as this version; one of a later version is refused.
func TestLayoutVersions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "parts.db")
	s := openLayout(t, path, Options{EventLayout: LayoutParts})
	setVersion := func(v int) {
		if _, err := s.write.ExecContext(t.Context(), `UPDATE event_layout SET version = ?`, v); err != nil {
			t.Fatal(err)
		}
		s.Close()
	}
	setVersion(1)
	s = openLayout(t, path, Options{EventLayout: LayoutParts})
	var v int
	if err := s.write.QueryRowContext(t.Context(), `SELECT version FROM event_layout`).Scan(&v); err != nil || v != partsVersion {
		t.Errorf("version %d (%v) after opening version 1, want %d", v, err, partsVersion)
	}
	setVersion(partsVersion + 1)
	// Open reads a parts layout already (openPartsEarly), so it refuses.
	s, err := Open(t.Context(), path, Options{EventLayout: LayoutParts})
	if err == nil {
		err = s.Migrate(t.Context())
		s.Close()
	}
	if !errors.Is(err, errLayout) {
		t.Errorf("a later version: %v, want %v", err, errLayout)
	}
}

// TestColumnsWithoutRaw: read without raw (the notifier's queue read), a
// block's records are its events less raw, with the same hashes, raw a
// row cut into pieces or a plain value, in shapes new and seen again; a
// record without raw comes back as it was.
func TestColumnsWithoutRaw(t *testing.T) {
	recs := blockRecords()
	cols, ok := encodeColumns(nil, recs)
	if !ok {
		t.Fatal("records of events do not parse")
	}
	out, ends, err := appendColumns(nil, nil, cols, nil, blockMaxRaw, true)
	if err != nil || len(ends) != len(recs) {
		t.Fatalf("%d records, %v", len(ends), err)
	}
	withRaw := 0
	for i, rec := range recs {
		start := 0
		if i > 0 {
			start = ends[i-1]
		}
		want, err1 := event.DecodeRecord(rec)
		got, err2 := event.DecodeRecord(out[start:ends[i]])
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		if want.Has("raw") {
			withRaw++
		} else if !bytes.Equal(out[start:ends[i]], rec) {
			t.Errorf("record %d, without raw: changed", i)
		}
		if got.Has("raw") || got.Hash() != want.Hash() {
			t.Errorf("record %d: raw %v, hash %s, want none and %s", i, got.Has("raw"), got.Hash(), want.Hash())
		}
		want.Delete("raw")
		if !slices.Equal(got.Fields(), want.Fields()) {
			t.Errorf("record %d: %v, want %v", i, got.Fields(), want.Fields())
		}
	}
	if withRaw < len(recs)/2 {
		t.Errorf("%d records with raw: the test wants most", withRaw)
	}
}

// BenchmarkColumnsWithoutRaw writes back a block of 256 records of
// scan-report-like events, each with a raw row of 32 columns (about 500
// bytes) under a header line, with raw and without (the notifier's queue
// read), and reports the bytes of records written an event.
func BenchmarkColumnsWithoutRaw(b *testing.B) {
	var recs [][]byte
	for _, e := range subsetBlockEvents("report") {
		recs = append(recs, event.AppendRecord(nil, e))
	}
	cols, ok := encodeColumns(nil, recs)
	if !ok {
		b.Fatal("records of events do not parse")
	}
	for _, withoutRaw := range []bool{false, true} {
		b.Run(map[bool]string{false: "with_raw", true: "without_raw"}[withoutRaw], func(b *testing.B) {
			var (
				out  []byte
				ends []int
			)
			for b.Loop() {
				var err error
				if out, ends, err = appendColumns(out[:0], ends[:0], cols, nil, blockMaxRaw, withoutRaw); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(out))/float64(len(recs)), "B/event")
		})
	}
}

// blockColumnsOf returns a block's columns decompressed, in blockColumns'
// form: a split block's (blockSplit) with the streams held apart put back
// in their places.
func blockColumnsOf(t testing.TB, ps *parts, body []byte) []byte {
	t.Helper()
	switch body[0] {
	case blockColumns:
		cols, err := ps.dec.DecodeAll(body[1:], nil)
		if err != nil {
			t.Fatal(err)
		}
		return cols
	case blockSplit:
	default:
		t.Fatalf("a block of form %#x, not in columns", body[0])
	}
	l, k := binary.Uvarint(body[1:])
	frame, apart := body[1+k:1+k+int(l)], body[1+k+int(l):]
	cols, err := ps.dec.DecodeAll(frame, nil)
	if err != nil {
		t.Fatal(err)
	}
	// The streams follow the records' count, the headers and the shapes.
	_, i, _ := uvarintAt(cols, 0)
	_, i, _ = stringsAt(cols, i, nil)
	_, i, _ = stringAt(cols, i)
	streams, ok := splitStreamsAt(cols, i, apart, nil)
	if !ok {
		t.Fatal("the streams of a split block do not read")
	}
	out := append([]byte(nil), cols[:i]...)
	out = binary.AppendUvarint(out, uint64(len(streams)))
	for _, s := range streams {
		out = binary.AppendUvarint(out, uint64(len(s)))
		out = append(out, s...)
	}
	return out
}

// splitTestBlock is a block of a generated scan report's 256 events,
// written split (blockSplit), and their records.
func splitTestBlock(t testing.TB, ps *parts) ([]byte, [][]byte) {
	t.Helper()
	opts := shadowserver.GenerateOptions{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Second}
	events, err := shadowserver.GenerateEvents("2026-11-20-scan_rdp-test-geo.csv", "scan_rdp", blockEvents, rand.New(rand.NewPCG(3, 28)), opts)
	if err != nil {
		t.Fatal(err)
	}
	var want [][]byte
	for _, e := range events {
		e.Seal()
		want = append(want, event.AppendRecord(nil, e))
	}
	recs := recordsOf(events)
	defer recs.release()
	var bw blockWriter
	return bw.compress(ps.enc, recs.fields, true), want
}

// TestSplitBlocks: a scan report's block, split, holds its streams of
// distinct digests (event_hash and the fingerprints) apart, is smaller
// than in columns whole, and reads back to its records, all of them or
// some.
func TestSplitBlocks(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ps := s.parts
	body, want := splitTestBlock(t, ps)
	if body[0] != blockSplit {
		t.Fatalf("a block of form %#x, want %#x", body[0], blockSplit)
	}
	l, k := binary.Uvarint(body[1:])
	if apart := len(body) - 1 - k - int(l); apart < 100*len(want) {
		t.Errorf("%d bytes held apart for %d events, want at least 100 an event", apart, len(want))
	}
	if whole := compressBlock(ps.enc, want, nil); len(body) >= len(whole) {
		t.Errorf("split block of %d bytes, in columns whole %d", len(body), len(whole))
	}
	got, err := ps.splitBlock(body, int64(len(want)))
	if err != nil || len(got) != len(want) {
		t.Fatalf("%d records, %v", len(got), err)
	}
	for i := range want {
		if !bytes.Equal(got[i], want[i]) {
			t.Fatalf("record %d differs", i)
		}
	}
	var br blockReader
	br.ps = ps
	slots := []int{0, 17, blockEvents - 1}
	out, ends, err := br.appendBlock(nil, nil, body, int64(len(want)), slots, false)
	if err != nil || len(ends) != len(slots) {
		t.Fatalf("slots %v: %d records, %v", slots, len(ends), err)
	}
	sameRecordsAt(t, out, ends, slots, want)
	// Without raw (the notifier's read), as the block whole gives them.
	got2, _, err := br.appendBlock(nil, nil, body, int64(len(want)), nil, true)
	if err != nil {
		t.Fatal(err)
	}
	whole, _, err := br.appendBlock(nil, nil, compressBlock(ps.enc, want, nil), int64(len(want)), nil, true)
	if err != nil || !bytes.Equal(got2, whole) || len(whole) == 0 {
		t.Errorf("without raw: %d bytes, the block whole's %d (%v)", len(got2), len(whole), err)
	}
}

// TestSplitBlocksDamaged: a split block cut anywhere is an error, one
// with a byte changed an error or records, never a panic.
func TestSplitBlocksDamaged(t *testing.T) {
	skipUnderRace(t)
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ps := s.parts
	body, want := splitTestBlock(t, ps)
	// Every byte of the lead and the frame's length, then a sample.
	for i := 0; i < len(body); i += max(1, min(i, 61)) {
		if _, err := ps.splitBlock(body[:i], int64(len(want))); !errors.Is(err, errBadBlock) {
			t.Fatalf("block cut at %d of %d: %v, want %v", i, len(body), err, errBadBlock)
		}
		damaged := bytes.Clone(body)
		damaged[i] ^= 0x5a
		ps.splitBlock(damaged, int64(len(want)))
	}
	if _, err := ps.splitBlock(append(bytes.Clone(body), 0), int64(len(want))); !errors.Is(err, errBadBlock) {
		t.Errorf("a byte after the streams held apart: %v, want %v", err, errBadBlock)
	}
}

// TestStreamsHeldApart: a stream of digests is held apart when at most
// one value in 16 repeats an earlier one, and a stream of other values
// never.
func TestStreamsHeldApart(t *testing.T) {
	digests := func(n, distinct int) string {
		var b strings.Builder
		for i := range n {
			sum := sha256.Sum256([]byte{byte(i % distinct), byte(i % distinct >> 8)})
			b.WriteString(hex.EncodeToString(sum[:]))
			b.WriteByte(' ')
		}
		return b.String()
	}
	for _, c := range []struct {
		name   string
		values []string
		apart  bool
	}{
		{"distinct digests", strings.Fields(digests(256, 256)), true},
		{"one in 16 repeated", strings.Fields(digests(256, 240)), true},
		{"one in 15 repeated", strings.Fields(digests(256, 239)), false},
		{"digests of a few values", strings.Fields(digests(256, 8)), false},
		{"digests and a text", append(strings.Fields(digests(255, 255)), "not hex"), false},
		{"texts", []string{"a", "b", "c"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var w columnWriter
			w.reset()
			for _, v := range c.values {
				w.add([]event.RecordField{{Code: event.RecordCode("extra.digest"), Key: "extra.digest", Value: v}})
			}
			cols, apart := w.appendSplit(nil, nil)
			if held := len(apart) > 0; held != c.apart {
				t.Errorf("held apart %v (%d bytes), want %v", held, len(apart), c.apart)
			}
			recs, err := appendSplitForTest(cols, apart)
			if err != nil || len(recs) != len(c.values) {
				t.Fatalf("%d records, %v", len(recs), err)
			}
		})
	}
}

// appendSplitForTest reads a split block's columns and streams held
// apart back to records.
func appendSplitForTest(cols, apart []byte) ([][]byte, error) {
	var r columnReader
	out, ends, err := r.appendBlockColumns(nil, nil, columnsOf{b: cols, apart: apart, split: true}, nil, blockMaxRaw, false)
	if err != nil {
		return nil, err
	}
	recs := make([][]byte, len(ends))
	at := 0
	for j, end := range ends {
		recs[j] = out[at:end]
		at = end
	}
	return recs, nil
}

// sameRecordsAt fails t unless out, cut at ends, holds the records of
// recs at slots, in turn.
func sameRecordsAt(t *testing.T, out []byte, ends, slots []int, recs [][]byte) {
	t.Helper()
	for k, slot := range slots {
		start := 0
		if k > 0 {
			start = ends[k-1]
		}
		if !bytes.Equal(out[start:ends[k]], recs[slot]) {
			t.Fatalf("slots %v: record %d differs", slots, slot)
		}
	}
}

// TestLineClasses: what lineClasses says of a value is what the column
// writer reads of textClasses': whether it has a line break, and, for a
// value that could be a digest as it is, which case of hex digits it is.
func TestLineClasses(t *testing.T) {
	values := []string{"", "\n", "a\nb", "0123456789abcdef", "0123456789ABCDEF", "0123456789abcDEF",
		"0123456789abcdeg", "0123456789abcde\n", "g123456789abcdef\n", "0123456789abcdef0", "\"0123456789abcdef\"",
		"https://example.be/a\nb", "ghijklmnopqrstuv", "ghijklmnopqrstu\n"}
	r := rand.New(rand.NewPCG(3, 39))
	const alphabet = "0123456789abcdefABCDEFxyz\n\","
	for range 5000 {
		b := make([]byte, r.IntN(40))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
			if r.IntN(4) > 0 {
				b[i] = alphabet[r.IntN(16)] // mostly lower-case digits
			}
		}
		values = append(values, string(b))
	}
	for _, v := range values {
		got, want := lineClasses(v), textClasses(v)
		if got&lineBreak != want&lineBreak {
			t.Errorf("lineClasses(%q) = %#x, textClasses %#x: line breaks differ", v, got, want)
		}
		if len(v) >= hexMin && len(v)%2 == 0 && caseOf(got) != caseOf(want) {
			t.Errorf("lineClasses(%q) = %#x, textClasses %#x: cases differ", v, got, want)
		}
		if got == 0 {
			t.Errorf("lineClasses(%q) = 0, which appendValue reads as not known", v)
		}
	}
}

// appendValueTwoPasses is appendValue as it was before appendHex: the
// value's classes read in a pass of their own, then its digits turned
// into bytes one pair at a time.
func appendValueTwoPasses(s []byte, v string, classes byte) []byte {
	form, digits := byte(0), v
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		form, digits, classes = 2, v[1:len(v)-1], 0
	}
	if len(digits) >= hexMin && len(digits)%2 == 0 {
		if classes == 0 {
			classes = textClasses(digits)
		}
		if c := caseOf(classes); c != 0 {
			s = append(s, form+c)
			s = binary.AppendUvarint(s, uint64(len(digits)/2))
			for i := 0; i < len(digits); i += 2 {
				s = append(s, hexValue[digits[i]]<<4|hexValue[digits[i+1]])
			}
			return s
		}
	}
	s = append(s, 0)
	s = binary.AppendUvarint(s, uint64(len(v)))
	return append(s, v...)
}

// TestAppendHex: appendValue, whose digests appendHex reads eight digits
// at a time, writes what reading them one at a time wrote, for values
// of every length up to 80 of hex digits of either case, other bytes
// (the neighbours of the digits' ranges, bytes over 0x7f) anywhere,
// with and without double quotes, the classes known or not.
func TestAppendHex(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 42))
	const digits = "0123456789abcdefABCDEF"
	const others = "/:@G`g\x00\x7f\x80\xb0\xc1\xe6\xff\"\n ,"
	for range 40000 {
		b := make([]byte, r.IntN(81))
		upper := r.IntN(2) == 0
		for i := range b {
			b[i] = digits[r.IntN(16)]
			if upper && b[i] >= 'a' {
				b[i] -= 'a' - 'A'
			}
		}
		switch r.IntN(4) {
		case 0:
			if len(b) > 0 {
				b[r.IntN(len(b))] = others[r.IntN(len(others))]
			}
		case 1:
			if len(b) > 0 {
				b[r.IntN(len(b))] = digits[r.IntN(len(digits))] // maybe the other case
			}
		}
		v := string(b)
		if r.IntN(3) == 0 {
			v = `"` + v + `"`
		}
		for _, classes := range []byte{0, lineClasses(v)} {
			prefix := []byte{9, 9}
			got := appendValue(slices.Clone(prefix), v, classes)
			want := appendValueTwoPasses(slices.Clone(prefix), v, classes)
			if !bytes.Equal(got, want) {
				t.Fatalf("appendValue(%q, %#x) = %x, want %x", v, classes, got, want)
			}
		}
	}
}

// TestRowPieces: addRow cuts a row at each comma, up to maxPieces
// pieces, the last holding the rest, numbered from 1, for rows of every
// length up to 200 bytes with commas anywhere (none, many more than
// maxPieces, next to each other, first and last) among other bytes.
func TestRowPieces(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 42))
	const alphabet = ",,,a1 \"\x00\x7f\x80\xac\xff+-."
	for range 20000 {
		b := make([]byte, r.IntN(201))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
			if r.IntN(2) == 0 {
				b[i] = 'x'
			}
		}
		header := "h,e,a,d\n"
		f := event.RecordField{Code: 49, Head: header, Value: string(b)}
		if r.IntN(2) == 0 {
			f = event.RecordField{Code: 49, Value: header + string(b)}
		}
		var w columnWriter
		w.reset()
		w.addRow(0, &f)
		// The pieces cut one comma at a time.
		var want []string
		row := string(b)
		for len(want) < maxPieces-1 {
			c := strings.IndexByte(row, ',')
			if c < 0 {
				break
			}
			want = append(want, row[:c])
			row = row[c+1:]
		}
		want = append(want, row)
		var got []string
		for j, p := range w.pieces {
			if p.piece != int32(j+1) || p.field != 0 {
				t.Fatalf("row %q: piece %d numbered %d of field %d", b, j, p.piece, p.field)
			}
			got = append(got, f.Value[p.start:p.end])
		}
		if !slices.Equal(got, want) {
			t.Fatalf("row %q: pieces %q, want %q", b, got, want)
		}
	}
}

// TestColumnsOfShapesAlike: records whose shapes differ only where the
// column writer's digest of a shape may not see it (extra fields of the
// same place and key length but another key; the other is in the block
// already) come back as they were, each with its own fields.
func TestColumnsOfShapesAlike(t *testing.T) {
	var recs [][]byte
	for i := range 12 {
		e := event.New(4)
		e.SetTrusted("source.ip", fmt.Sprintf("192.0.2.%d", i))
		key := []string{"extra.aaa", "extra.bbb", "extra.ccc"}[i%3]
		e.SetTrusted(key, fmt.Sprintf(`"value %d"`, i%2))
		e.SetTrusted("extra.zzz", `"same"`)
		recs = append(recs, event.AppendRecord(nil, e))
	}
	columnsRoundTrip(t, recs)
}

// columnsRoundTrip encodes recs in columns, checks that decoding gives
// them back byte for byte, and returns the columns.
func columnsRoundTrip(t *testing.T, recs [][]byte) []byte {
	t.Helper()
	cols, ok := encodeColumns(nil, recs)
	if !ok {
		t.Fatal("records of events do not parse")
	}
	got, err := decodeColumns(cols, blockMaxRaw)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("%d records back, want %d", len(got), len(recs))
	}
	for i := range recs {
		if !bytes.Equal(got[i], recs[i]) {
			t.Errorf("record %d differs:\n got %q\nwant %q", i, got[i], recs[i])
		}
	}
	return cols
}

package sqlitestore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/shadowserver"
)

// fieldTestEvents are events of the kinds a store meets: every synthetic
// Shadowserver report parsed (raw held as bytes, with its header line,
// many fields, extras), the same with raw as base64 text, and events with
// IPv6 addresses, unicode, empty and quoted values, tags, names without a
// code, raw that is not base64 and no raw at all.
func fieldTestEvents(t *testing.T) []*event.Event {
	t.Helper()
	var all []*event.Event
	for i, report := range shadowserver.Reports() {
		opts := shadowserver.GenerateOptions{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Second}
		events, err := shadowserver.GenerateEvents(fmt.Sprintf("2026-11-20-%s-test-geo.csv", report), report, 40, rand.New(rand.NewPCG(uint64(i), 28)), opts)
		if err != nil {
			t.Fatal(err)
		}
		for j, e := range events {
			all = append(all, e)
			if j%5 == 0 {
				text := event.New(e.Len())
				for _, f := range e.Fields() {
					text.SetTrusted(f.Key, f.Value)
				}
				all = append(all, text)
			}
		}
	}
	for i := range 300 {
		e := event.New(16)
		e.SetTrusted("source.ip", fmt.Sprintf("2001:db8::%x", i))
		e.SetTrusted("destination.ip", fmt.Sprintf("192.0.2.%d", i%256))
		e.SetTrusted("time.source", "2026-11-01T00:00:00+00:00")
		e.SetTrusted("source.geolocation.city", []string{"Zürich", "Liège", "Kraków", "東京"}[i%4])
		e.SetTrusted("extra.tags", `["botnet","ü",""]`)
		e.SetTrusted("extra.note", []string{"", `""`, `"quoted"`, "x"}[i%4])
		e.SetTrusted("extra.digest", fmt.Sprintf(`"%064X"`, i))
		e.SetTrusted("event_description.text", "two\nlines, a row of its own")
		for k := range i % 7 {
			e.SetTrusted(fmt.Sprintf("extra.field_%02d", k), strings.Repeat("v", k*40))
		}
		e.Seal()
		switch i % 6 {
		case 0:
			e.SetRawString(fmt.Sprintf("ip,city,digest\n2001:db8::%x,Zürich,%064X", i, i))
		case 1:
			e.SetTrusted("raw", "not base64!")
		case 2:
			e.SetRawString("")
		case 3:
			e.SetRawString("h\n" + strings.Repeat("x,", 100) + "end")
		}
		all = append(all, e)
	}
	// An event larger than a block, which gets a block of its own.
	big := event.New(2)
	big.SetTrusted("source.ip", "192.0.2.1")
	big.SetRawString("h\n" + strings.Repeat("y", blockBytes))
	return append(all, big)
}

// TestBlocksFromFieldsAreTheRecordsBlocks: the blocks a batch is stored
// in, written from its events' fields, are byte for byte those the
// records of the same events give (event.AppendRecord, cut into blocks by
// their lengths and each compressed as a block of records), so today's
// reader reads them as it read those.
//
// From layout version 9 a block in columns is split (blockSplit): its
// columns, the streams held apart put back, are then the records'.
func TestBlocksFromFieldsAreTheRecordsBlocks(t *testing.T) {
	events := fieldTestEvents(t)
	// The event larger than a block (the last) also early in a batch:
	// the block it closes early is not at a multiple of blockEvents, and
	// the next starts at one again.
	big := events[len(events)-1]
	early := slices.Concat(events[:100], []*event.Event{big}, events[100:len(events)-1])
	for _, version := range []int{splitVersion - 1, partsVersion} {
		t.Run(fmt.Sprint("version ", version), func(t *testing.T) {
			blocksFromFieldsAreTheRecordsBlocks(t, version, events)
		})
		t.Run(fmt.Sprint("version ", version, ", a large event early"), func(t *testing.T) {
			blocksFromFieldsAreTheRecordsBlocks(t, version, early)
		})
	}
}

func blocksFromFieldsAreTheRecordsBlocks(t *testing.T, version int, events []*event.Event) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	ps := s.parts
	ps.writeVersion = version
	split := 0
	// Batches of every size around a block's.
	for _, size := range []int{1, 2, blockEvents - 1, blockEvents, blockEvents + 1, 2000, len(events)} {
		for start := 0; start < len(events); start += size {
			batch := events[start:min(start+size, len(events))]
			work, err := ps.prepareEvents(batch, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			want := recordBlocks(ps, batch)
			if len(work.blocks) != len(want) {
				t.Fatalf("batch of %d at %d: %d blocks, the records give %d", size, start, len(work.blocks), len(want))
			}
			for b := range want {
				got := work.blocks[b]
				same := bytes.Equal(got.body, want[b].body)
				if version >= splitVersion && got.body[0] == blockSplit {
					split++
					same = bytes.Equal(blockColumnsOf(t, ps, got.body), blockColumnsOf(t, ps, want[b].body))
				}
				if got.start != want[b].start || got.end != want[b].end || !same {
					t.Fatalf("batch of %d at %d, block %d [%d, %d) of %d bytes, the records' [%d, %d) of %d bytes",
						size, start, b, got.start, got.end, len(got.body), want[b].start, want[b].end, len(want[b].body))
				}
				recs, err := ps.splitBlock(got.body, int64(got.end-got.start))
				if err != nil {
					t.Fatal(err)
				}
				for i, rec := range recs {
					if want := event.AppendRecord(nil, batch[got.start+i]); !bytes.Equal(rec, want) {
						t.Fatalf("block %d, record %d read back differs", b, i)
					}
				}
			}
		}
	}
	if (split > 0) != (version >= splitVersion) {
		t.Errorf("version %d wrote %d blocks split", version, split)
	}
}

// recordBlocks is how blocks were written from records before they were
// written from fields.
func recordBlocks(ps *parts, events []*event.Event) []partBlock {
	var (
		blocks []partBlock
		cur    partBlock
		recs   [][]byte
		size   int
	)
	flush := func() {
		cur.body = compressBlock(ps.enc, recs, nil)
		blocks = append(blocks, cur)
	}
	for i, e := range events {
		r := event.AppendRecord(nil, e)
		// A block ends at a multiple of blockEvents (writeBlocks's
		// stretches), or early by size.
		if n := cur.end - cur.start; n > 0 && (i%blockEvents == 0 || size+len(r) > blockBytes) {
			flush()
			cur, size, recs = partBlock{start: i, end: i}, 0, nil
		}
		recs = append(recs, r)
		cur.end = i + 1
		size += len(r)
	}
	if cur.end > cur.start {
		flush()
	}
	return blocks
}

// writerDigest is the SHA-256 of the blocks recordBlocks gives for
// fieldTestEvents in batches of blockEvents + 1 and of 2000, as main's
// column writer at 304fc6f wrote them (before the writer took fields):
// the writer's changes since (strings, references found by length, hex
// by table) wrote the same bytes.
const writerDigest = "7ced47489bbe869891aa84906d1053639c737cf8ac766d3f8045c7c765582a24"

func TestColumnWriterWritesWhatItWrote(t *testing.T) {
	s := openLayout(t, filepath.Join(t.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	events := fieldTestEvents(t)
	h := sha256.New()
	for _, size := range []int{blockEvents + 1, 2000} {
		for start := 0; start < len(events); start += size {
			for _, b := range recordBlocks(s.parts, events[start:min(start+size, len(events))]) {
				h.Write(b.body)
			}
		}
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != writerDigest {
		t.Errorf("blocks' digest %s, want %s", got, writerDigest)
	}
}

// BenchmarkPrepareEvents: a batch of 2000 scan_rdp events (the bench's
// report) made into compressed blocks before its transaction, from the
// events' fields (what the store does) and from their records
// (event.AppendRecord cut up again, as before).
func BenchmarkPrepareEvents(b *testing.B) {
	s := openLayout(b, filepath.Join(b.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	opts := shadowserver.GenerateOptions{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Second}
	events, err := shadowserver.GenerateEvents("2026-11-20-scan_rdp-bench-geo.csv", "scan_rdp", 2000, rand.New(rand.NewPCG(1, 28)), opts)
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	b.Run("fields", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := s.parts.prepareEvents(events, now); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
	})
	b.Run("records", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			recordBlocks(s.parts, events)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
	})
}

// benchReportBlocks are the events of ten blocks of the bench's report
// (scan_rdp, sealed) and their records cut into blocks as the store cuts
// them; the records are released when b ends.
func benchReportBlocks(b *testing.B) ([]*event.Event, []partBlock) {
	opts := shadowserver.GenerateOptions{Start: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Step: time.Second}
	events, err := shadowserver.GenerateEvents("2026-11-20-scan_rdp-bench-geo.csv", "scan_rdp", 10*blockEvents, rand.New(rand.NewPCG(1, 28)), opts)
	if err != nil {
		b.Fatal(err)
	}
	for _, e := range events {
		e.Seal()
	}
	recs := recordsOf(events)
	b.Cleanup(recs.release)
	return events, splitBlocks(recs.fields, recs.sizes)
}

// BenchmarkColumnWriter: the column writer alone (no records made, no
// compression) over the blocks of 2560 scan_rdp events, the bench's
// report: what a block's columns cost an event.
func BenchmarkColumnWriter(b *testing.B) {
	events, blocks := benchReportBlocks(b)
	var (
		w   columnWriter
		out []byte
	)
	b.ReportAllocs()
	for b.Loop() {
		for _, bl := range blocks {
			w.reset()
			for _, f := range bl.recs {
				w.add(f)
			}
			out = w.appendTo(out[:0])
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(events)), "ns/event")
}

// BenchmarkBlockForms: the blocks of 2560 scan_rdp events (the bench's
// report) written in columns and compressed, whole (blockColumns, layout
// version 8) and split (blockSplit, version 9): the CPU (the process's,
// one core) and the bytes a block costs an event.
func BenchmarkBlockForms(b *testing.B) {
	s := openLayout(b, filepath.Join(b.TempDir(), "parts.db"), Options{EventLayout: LayoutParts})
	defer s.Close()
	events, blocks := benchReportBlocks(b)
	for _, split := range []bool{false, true} {
		b.Run(map[bool]string{false: "whole", true: "split"}[split], func(b *testing.B) {
			var (
				bw    blockWriter
				bytes int
			)
			cpu := cputime.Process()
			for b.Loop() {
				bytes = 0
				for _, bl := range blocks {
					bytes += len(bw.compress(s.parts.enc, bl.recs, split))
				}
			}
			// The process's CPU, not the time elapsed: on a shared machine
			// that mostly measures the neighbours.
			b.ReportMetric(float64((cputime.Process()-cpu).Nanoseconds())/float64(b.N*len(events)), "cpu-ns/event")
			b.ReportMetric(float64(bytes)/float64(len(events)), "B/event")
		})
	}
}

package event_test

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
)

// TestRecordFieldsAreTheRecord: the fields a RecordCoder gives write
// the record AppendRecord writes, byte for byte, and RecordSize is its
// length, for the repository's events, Shadowserver events with raw as
// text and as bytes, odd raw values and names without a code.
func TestRecordFieldsAreTheRecord(t *testing.T) {
	events := recordCases(t, 50)
	// One coder for them all, as a store's, remembering each event's
	// names for the next.
	var coder event.RecordCoder
	for i, e := range events {
		fields := coder.AppendFields(nil, e)
		rec := event.AppendRecord(nil, e)
		if got := event.AppendFieldsRecord(nil, fields); !bytes.Equal(got, rec) {
			t.Fatalf("event %d: record of the fields\n %q\nwant %q", i, got, rec)
		}
		if alone := event.AppendRecordFields(nil, e); !slices.Equal(alone, fields) {
			t.Fatalf("event %d: fields %v, by a coder %v", i, alone, fields)
		}
		if n := event.RecordSize(fields); n != len(rec) {
			t.Fatalf("event %d: size %d, the record %d bytes", i, n, len(rec))
		}
	}
}

func FuzzRecordFieldsAreTheRecord(f *testing.F) {
	f.Add("bGluZQ==", "extra.x", "1", "source.ip", "192.0.2.1")
	f.Add("not base64", "raw", "a", "rtir_id", "")
	f.Fuzz(func(t *testing.T, raw, k1, v1, k2, v2 string) {
		e := event.New(0)
		e.SetTrusted("raw", raw)
		e.SetTrusted(k1, v1)
		e.SetTrusted(k2, v2)
		rec := event.AppendRecord(nil, e)
		fields := event.AppendRecordFields(nil, e)
		if got := event.AppendFieldsRecord(nil, fields); !bytes.Equal(got, rec) {
			t.Fatalf("record of the fields %q, want %q", got, rec)
		}
		e.SetRawString(v1)
		rec = event.AppendRecord(nil, e)
		fields = event.AppendRecordFields(nil, e)
		if got := event.AppendFieldsRecord(nil, fields); !bytes.Equal(got, rec) {
			t.Fatalf("raw held: record of the fields %q, want %q", got, rec)
		}
	})
}

// BenchmarkRecordFields: an event's record written (AppendRecord) against
// its fields given (AppendRecordFields, and by one coder for all).
func BenchmarkRecordFields(b *testing.B) {
	events := shadowserverReports(b, 2000, "scan_rdp")
	b.Run("record", func(b *testing.B) {
		var buf []byte
		for i := 0; b.Loop(); i++ {
			buf = event.AppendRecord(buf[:0], events[i%len(events)])
		}
	})
	b.Run("fields", func(b *testing.B) {
		var fields []event.RecordField
		for i := 0; b.Loop(); i++ {
			fields = event.AppendRecordFields(fields[:0], events[i%len(events)])
		}
	})
	b.Run("coder", func(b *testing.B) {
		var (
			fields []event.RecordField
			coder  event.RecordCoder
		)
		for i := 0; b.Loop(); i++ {
			fields = coder.AppendFields(fields[:0], events[i%len(events)])
		}
	})
}

// TestOneLine: the names OneLine answers by their kind never take a line
// break through normalization, and the others are read.
func TestOneLine(t *testing.T) {
	for name := range event.Fields {
		f := event.RecordField{Code: event.RecordCode(name), Value: "a\nb"}
		if !f.OneLine() {
			continue // read: says what the value holds
		}
		for _, v := range []string{"a\nb", "192.0.2.1\n", "\n10", "2026-11-01T00:00:00Z\n", "example.org\n", "AS1\n", "NL\n", "true\n", "scanner\n", "ripe\n"} {
			if got, err := event.Normalize(name, v); err == nil && strings.ContainsRune(got, '\n') {
				t.Errorf("%s: %q normalizes to %q, with a line break", name, v, got)
			}
		}
	}
	for _, f := range []event.RecordField{
		{Code: event.RecordCode("comment"), Value: "two\nlines"},
		{Key: "extra.x", Value: "two\nlines"},
		{Code: event.RecordCode("raw"), Value: "h\nrow"},
		{Code: event.RecordCode("raw"), Head: "h\n", Value: "row"},
	} {
		if f.OneLine() {
			t.Errorf("%+v: one line", f)
		}
	}
	if f := (event.RecordField{Code: event.RecordCode("source.ip"), Value: "192.0.2.1"}); !f.OneLine() {
		t.Error("an address: not one line")
	}
}

// TestBatchRecordsAreTheRecords: a batch with heads remembers its events'
// names as a RecordCoder does, for the next event's; events of every
// report, names without a code and events with names missing or added
// here and there, mixed in one batch and in a shuffled one, still come
// back with the records AppendRecord writes for them.
func TestBatchRecordsAreTheRecords(t *testing.T) {
	events := recordCases(t, 20)
	// Names one place off those of the event before: a field left out, then
	// one added.
	for i, e := range shadowserverReports(t, 6, "scan_rdp") {
		switch i % 3 {
		case 1:
			e.Delete("source.asn")
		case 2:
			e.SetTrusted("extra.added", "1")
		}
		events = append(events, e)
	}
	shuffled := slices.Clone(events)
	rand.New(rand.NewPCG(3, 9)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for name, batch := range map[string][]*event.Event{"in order": events, "shuffled": shuffled} {
		got, err := event.DecodeBatchHeads(event.AppendBatchHeads(nil, batch))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(got) != len(batch) {
			t.Fatalf("%s: %d events back of %d", name, len(got), len(batch))
		}
		for i, e := range got {
			if rec, want := event.AppendRecord(nil, e), event.AppendRecord(nil, batch[i]); !bytes.Equal(rec, want) {
				t.Fatalf("%s, event %d: record\n %q\nwant %q", name, i, rec, want)
			}
		}
	}
}

// BenchmarkAppendBatchHeads: a batch of 2,000 events of the bench's
// report written in the batch form with heads, what the bus compresses
// and publishes; cpu-ns/op is the process's CPU time (the machine is
// shared).
func BenchmarkAppendBatchHeads(b *testing.B) {
	events := shadowserverReports(b, 2000, "scan_rdp")
	b.ReportAllocs()
	buf := event.AppendBatchHeads(nil, events)
	start := cputime.Process()
	for b.Loop() {
		buf = event.AppendBatchHeads(buf[:0], events)
	}
	cputime.ReportPerOp(b, start)
}

// recordCases are the repository's events, n Shadowserver events, one
// with names before and after every coded name, a non-ASCII one and an
// empty raw, and an empty event.
func recordCases(t *testing.T, n int) []*event.Event {
	t.Helper()
	events := append(corpus(t), shadowserverEvents(t, n)...)
	extra := event.New(4)
	extra.SetTrusted("aaa.before.every.name", "x")
	extra.SetTrusted("extra.ü", "ünïcode")
	extra.SetTrusted("zzz.after.every.name", "")
	extra.SetRawString("")
	return append(events, extra, event.New(0))
}

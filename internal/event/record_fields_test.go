package event_test

import (
	"bytes"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestRecordFieldsAreTheRecord: the fields AppendRecordFields gives write
// the record AppendRecord writes, byte for byte, and RecordSize is its
// length, for the repository's events, Shadowserver events with raw as
// text and as bytes, odd raw values and names without a code.
func TestRecordFieldsAreTheRecord(t *testing.T) {
	events := append(corpus(t), shadowserverEvents(t, 50)...)
	extra := event.New(4)
	extra.SetTrusted("aaa.before.every.name", "x")
	extra.SetTrusted("extra.ü", "ünïcode")
	extra.SetTrusted("zzz.after.every.name", "")
	extra.SetRawString("")
	events = append(events, extra, event.New(0))
	for i, e := range events {
		fields := event.AppendRecordFields(nil, e)
		rec := event.AppendRecord(nil, e)
		if got := event.AppendFieldsRecord(nil, fields); !bytes.Equal(got, rec) {
			t.Fatalf("event %d: record of the fields\n %q\nwant %q", i, got, rec)
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

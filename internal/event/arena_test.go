package event_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"unsafe"

	"github.com/vigil-cert/vigil/internal/event"
)

// TestRecordArenaDecodesAsDecodeRecord: records decoded in an arena, end
// to end in one array and with hints too small, read as DecodeRecord
// reads each alone (raw held as bytes included), and each event's fields
// stay its own when another's change.
func TestRecordArenaDecodesAsDecodeRecord(t *testing.T) {
	events := corpus(t)
	var (
		b    []byte
		ends []int
	)
	for _, e := range events {
		b = event.AppendRecord(b, e)
		ends = append(ends, len(b))
	}
	arena := event.NewRecordArena(b, 1, 3) // spent at once: chunks follow
	var got []*event.Event
	start := 0
	for i, end := range ends {
		e, err := arena.Decode(start, end)
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want, err := event.DecodeRecord(b[start:end])
		if err != nil {
			t.Fatalf("record %d alone: %v", i, err)
		}
		if !slices.Equal(e.Fields(), want.Fields()) || e.Hash() != want.Hash() || string(event.AppendRecord(nil, e)) != string(b[start:end]) {
			t.Errorf("record %d decodes to %v, want %v", i, e.Fields(), want.Fields())
		}
		got = append(got, e)
		start = end
	}
	if len(got) < 3 {
		t.Fatalf("only %d events in the corpus", len(got))
	}
	// Set and delete grow and shrink fields in place: the next event
	// keeps its own.
	next := slices.Clone(got[1].Fields())
	got[0].SetTrusted("zzz.added", "x")
	got[0].SetTrusted("aaa.added", "y")
	got[0].Delete("zzz.added")
	if !slices.Equal(got[1].Fields(), next) {
		t.Errorf("changing one event changed the next: %v, want %v", got[1].Fields(), next)
	}
	// A record cut short, or bounds outside the array, is an error.
	if _, err := arena.Decode(0, ends[0]-1); !errors.Is(err, event.ErrBadBatch) {
		t.Errorf("a record cut short: %v, want ErrBadBatch", err)
	}
	if _, err := arena.Decode(0, len(b)+1); !errors.Is(err, event.ErrBadBatch) {
		t.Errorf("bounds past the array: %v, want ErrBadBatch", err)
	}
}

// TestRecordArenaDecodeString: records held as strings decode as
// DecodeRecord decodes them, from an arena without an array of its own;
// one cut short, or empty, is an error.
func TestRecordArenaDecodeString(t *testing.T) {
	arena := event.NewRecordArena(nil, 1, 3)
	for i, e := range corpus(t) {
		rec := event.AppendRecord(nil, e)
		got, err := arena.DecodeString(string(rec))
		if err != nil {
			t.Fatalf("record %d: %v", i, err)
		}
		want, err := event.DecodeRecord(rec)
		if err != nil {
			t.Fatalf("record %d alone: %v", i, err)
		}
		if !slices.Equal(got.Fields(), want.Fields()) || got.Hash() != want.Hash() || string(event.AppendRecord(nil, got)) != string(rec) {
			t.Errorf("record %d decodes to %v, want %v", i, got.Fields(), want.Fields())
		}
		if _, err := arena.DecodeString(string(rec[:len(rec)-1])); !errors.Is(err, event.ErrBadBatch) {
			t.Errorf("record %d cut short: %v, want ErrBadBatch", i, err)
		}
	}
	if _, err := arena.DecodeString(""); !errors.Is(err, event.ErrBadBatch) {
		t.Errorf("an empty record: %v, want ErrBadBatch", err)
	}
}

// TestRecordArenaReuseForgetsWhatItDecoded: an arena made ready again
// (Reuse) decodes the next records as a new one would, in its own
// arrays: an event in the place of one whose raw was held as bytes, or
// that was sealed, has neither, and the uvarints of more than one byte
// (a long value) read back.
func TestRecordArenaReuseForgetsWhatItDecoded(t *testing.T) {
	withRaw := event.New(4)
	withRaw.SetTrusted("source.ip", "192.0.2.1")
	withRaw.SetRaw([]byte("a line of the report\n"))
	withRaw.Seal()
	plain := event.New(4)
	plain.SetTrusted("source.ip", "192.0.2.2")
	plain.SetTrusted("extra.note", strings.Repeat("long ", 100)) // a length of two bytes
	first := event.AppendRecord(nil, withRaw)
	second := event.AppendRecord(nil, plain)

	arena := event.NewRecordArena(nil, 1, 4)
	e, err := arena.DecodeString(string(first))
	if err != nil {
		t.Fatal(err)
	}
	if raw, _ := e.Get("raw"); raw == "" {
		t.Fatal("the first record's raw did not decode")
	}
	arena.Reuse(nil, 1, 4)
	e, err = arena.DecodeString(string(second))
	if err != nil {
		t.Fatal(err)
	}
	want, err := event.DecodeRecord(second)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(e.Fields(), want.Fields()) || e.Has("raw") || e.Hash() != want.Hash() {
		t.Errorf("after Reuse the record decodes to %v (hash %s), want %v (hash %s)", e.Fields(), e.Hash(), want.Fields(), want.Hash())
	}
}

// TestRecordArenaSharesKeysWithoutCode: the events of an arena share one
// string for each key without a code (extra.*), so that comparing their
// keys compares a string with itself.
func TestRecordArenaSharesKeysWithoutCode(t *testing.T) {
	arena := event.NewRecordArena(nil, 4, 16)
	var first *event.Event
	for i := range 3 {
		e := event.New(2)
		e.SetTrusted("source.ip", "192.0.2.1")
		e.SetExtra("sequence", strings.Repeat("1", i+1))
		d, err := arena.DecodeString(string(event.AppendRecord(nil, e)))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(d.Fields(), e.Fields()) {
			t.Fatalf("record %d decodes to %v, want %v", i, d.Fields(), e.Fields())
		}
		if first == nil {
			first = d
			continue
		}
		if a, b := keyOf(t, first, "extra.sequence"), keyOf(t, d, "extra.sequence"); unsafe.StringData(a) != unsafe.StringData(b) {
			t.Errorf("record %d: its extra.sequence is a string of its own", i)
		}
	}
}

// keyOf returns e's own string for key.
func keyOf(t *testing.T, e *event.Event, key string) string {
	t.Helper()
	for _, f := range e.Fields() {
		if f.Key == key {
			return f.Key
		}
	}
	t.Fatalf("no %s in %v", key, e.Fields())
	return ""
}

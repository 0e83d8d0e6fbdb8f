package event

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// headEvents are events of a few reports' rows, raw's header line held
// apart (SetRawParts, one string a report), beside raw whole, no raw and
// raw given as text.
func headEvents(reports int) []*Event {
	var events []*Event
	for r := range reports {
		head := fmt.Sprintf("ts,ip,report%d\n", r)
		for i := range 5 {
			e := New(4)
			e.SetTrusted("source.ip", fmt.Sprintf("192.0.2.%d", i))
			e.SetTrusted("comment", "report "+head[:len(head)-1])
			switch i {
			case 0, 1, 2:
				e.SetRawParts(head, fmt.Sprintf("2026-11-01,192.0.2.%d,%d", i, r))
			case 3:
				e.SetRawString("whole\nline")
			}
			events = append(events, e)
		}
	}
	e := New(2)
	e.SetTrusted("raw", "cmF3IGFzIHRleHQ=") // raw as base64 text
	return append(events, e)
}

// TestBatchHeadsRoundTrip: a batch with heads gives back events whose
// records are the events', whose raw reads the same, and whose heads are
// one string a report; it is smaller than the batch form.
func TestBatchHeadsRoundTrip(t *testing.T) {
	for _, reports := range []int{1, 3, maxBatchHeads + 4} {
		events := headEvents(reports)
		b := AppendBatchHeads(nil, events)
		if plain := AppendBatch(nil, events); reports == 1 && len(b) >= len(plain) {
			t.Errorf("batch with heads of %d bytes, without %d", len(b), len(plain))
		}
		got, err := DecodeBatchHeads(b)
		if err != nil {
			t.Fatalf("%d reports: %v", reports, err)
		}
		if len(got) != len(events) {
			t.Fatalf("%d events back, want %d", len(got), len(events))
		}
		heads := map[string]*byte{}
		for i, e := range got {
			if rec, want := AppendRecord(nil, e), AppendRecord(nil, events[i]); !bytes.Equal(rec, want) {
				t.Fatalf("event %d: record %q, want %q", i, rec, want)
			}
			if !bytes.Equal(e.Raw(), events[i].Raw()) || e.Value("raw") != events[i].Value("raw") {
				t.Fatalf("event %d: raw %q, want %q", i, e.Raw(), events[i].Raw())
			}
			if e.rawHead == "" {
				continue
			}
			if p, ok := heads[e.rawHead]; ok && p != unsafe.StringData(e.rawHead) {
				t.Errorf("event %d: its head is a copy of another event's", i)
			}
			heads[e.rawHead] = unsafe.StringData(e.rawHead)
		}
		if want := min(reports, maxBatchHeads); len(heads) != want {
			t.Errorf("%d reports: %d heads apart, want %d", reports, len(heads), want)
		}
	}
}

// TestAdoptBatchHeads: AdoptBatchHeads gives the events DecodeBatchHeads
// gives, their values parts of the very buffer given (no copy of it),
// where DecodeBatchHeads's keep none of theirs.
func TestAdoptBatchHeads(t *testing.T) {
	events := headEvents(3)
	b := AppendBatchHeads(nil, events)
	within := func(s string, b []byte) bool {
		p, start := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.SliceData(b)))
		return p >= start && p+uintptr(len(s)) <= start+uintptr(len(b))
	}
	copied, err := DecodeBatchHeads(b)
	if err != nil {
		t.Fatal(err)
	}
	adopted, err := AdoptBatchHeads(b)
	if err != nil {
		t.Fatal(err)
	}
	if len(adopted) != len(copied) {
		t.Fatalf("%d events adopted, %d decoded", len(adopted), len(copied))
	}
	for i, e := range adopted {
		if rec, want := AppendRecord(nil, e), AppendRecord(nil, copied[i]); !bytes.Equal(rec, want) {
			t.Fatalf("event %d: record %q, want %q", i, rec, want)
		}
		ip := e.Value("source.ip")
		if ip == "" {
			continue
		}
		if !within(ip, b) {
			t.Errorf("event %d: source.ip %q is a copy, not a part of the buffer given", i, ip)
		}
		if within(copied[i].Value("source.ip"), b) {
			t.Errorf("event %d: DecodeBatchHeads's source.ip is a part of the buffer given", i)
		}
	}
}

// TestBatchHeadsRefused: a damaged batch with heads is refused, never
// taken: a head not ending in its only newline, a head number past the
// heads, a head for a record without raw, bytes cut off or left over.
func TestBatchHeadsRefused(t *testing.T) {
	e := New(2)
	e.SetTrusted("source.ip", "192.0.2.1")
	rec := AppendRecord(nil, e)
	batch := func(heads []string, k byte, rec []byte) []byte {
		b := []byte{byte(len(heads))}
		for _, h := range heads {
			b = append(append(b, byte(len(h))), h...)
		}
		return append(append(b, 1, k), rec...)
	}
	withRaw := New(2)
	withRaw.SetRawString("row")
	good := batch([]string{"h\n"}, 1, AppendRecord(nil, withRaw))
	if _, err := DecodeBatchHeads(good); err != nil {
		t.Fatalf("a good batch: %v", err)
	}
	for name, b := range map[string][]byte{
		"head without newline": batch([]string{"h"}, 1, AppendRecord(nil, withRaw)),
		"head of two lines":    batch([]string{"a\nb\n"}, 1, AppendRecord(nil, withRaw)),
		"empty head":           batch([]string{""}, 1, AppendRecord(nil, withRaw)),
		"head past the heads":  batch([]string{"h\n"}, 2, AppendRecord(nil, withRaw)),
		"head without raw":     batch([]string{"h\n"}, 1, rec),
		"cut short":            good[:len(good)-1],
		"left over":            append(bytes.Clone(good), 0),
		"too many heads":       append([]byte{maxBatchHeads + 1}, good[1:]...),
	} {
		if _, err := DecodeBatchHeads(b); err != ErrBadBatch {
			t.Errorf("%s: err %v, want %v", name, err, ErrBadBatch)
		}
	}
}

// FuzzDecodeBatchHeads: any bytes decode or are refused, never a panic,
// and what decodes writes a batch that decodes to the same records.
func FuzzDecodeBatchHeads(f *testing.F) {
	f.Add(AppendBatchHeads(nil, headEvents(2)))
	f.Add([]byte{1, 2, 'h', '\n', 1, 1, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		events, err := DecodeBatchHeads(b)
		if err != nil {
			return
		}
		again, err := DecodeBatchHeads(AppendBatchHeads(nil, events))
		if err != nil {
			t.Fatalf("written again: %v", err)
		}
		for i, e := range again {
			if rec, want := AppendRecord(nil, e), AppendRecord(nil, events[i]); !bytes.Equal(rec, want) {
				t.Fatalf("event %d: %q, want %q", i, rec, want)
			}
			if e.rawHead != "" && strings.IndexByte(e.rawHead, '\n') != len(e.rawHead)-1 {
				t.Fatalf("event %d: head %q", i, e.rawHead)
			}
		}
	})
}

// TestRawBase64Parts: raw's base64 form, as Get and JSON give it, is the
// same bytes whether the header line is held apart or raw is whole, for
// heads and rests of every length modulo 3 and across the encoder's
// buffer of 768 bytes.
func TestRawBase64Parts(t *testing.T) {
	text := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('a' + (i*7+n)%26)
		}
		return string(b)
	}
	for _, headLen := range []int{1, 2, 3, 4, 766, 767, 768, 769, 2000} {
		for _, restLen := range []int{0, 1, 2, 3, 765, 766, 767, 768, 1536, 1537, 5000} {
			head := text(headLen-1) + "\n"
			rest := text(restLen)
			apart, whole := New(2), New(2)
			apart.SetTrusted("source.ip", "192.0.2.1")
			whole.SetTrusted("source.ip", "192.0.2.1")
			apart.SetRawParts(head, rest)
			whole.SetRawString(head + rest)
			if apart.rawHead != head {
				t.Fatalf("head %d: not held apart", headLen)
			}
			want := base64.StdEncoding.EncodeToString([]byte(head + rest))
			if got := apart.Value("raw"); got != want {
				t.Fatalf("head %d rest %d: raw apart %q, want %q", headLen, restLen, got, want)
			}
			if got := whole.Value("raw"); got != want {
				t.Fatalf("head %d rest %d: raw whole %q, want %q", headLen, restLen, got, want)
			}
			wantJSON := `{"raw": "` + want + `", "source.ip": "192.0.2.1"}`
			if got := string(apart.AppendJSON(nil)); got != wantJSON {
				t.Fatalf("head %d rest %d: JSON apart %s, want %s", headLen, restLen, got, wantJSON)
			}
			if got := string(whole.AppendJSON(nil)); got != wantJSON {
				t.Fatalf("head %d rest %d: JSON whole %s, want %s", headLen, restLen, got, wantJSON)
			}
		}
	}
}

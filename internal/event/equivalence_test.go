package event_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
)

// repositoryEvents are the events of the repository's test files: every
// line of a JSON lines, golden or JSON file under a testdata folder that
// reads as an event.
func repositoryEvents(t *testing.T) []*event.Event {
	t.Helper()
	var all []*event.Event
	err := filepath.WalkDir("../..", func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name := d.Name(); name == ".git" || name == "node_modules" {
				return filepath.SkipDir
			}
			return nil
		}
		ext := filepath.Ext(path)
		if !strings.Contains(filepath.ToSlash(path), "/testdata/") || (ext != ".jsonl" && ext != ".golden" && ext != ".json") {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<24)
		for sc.Scan() {
			line := bytes.TrimSpace(sc.Bytes())
			if len(line) == 0 || line[0] != '{' {
				continue
			}
			var e event.Event
			if e.ParseJSON(line) == nil && e.Len() > 0 {
				all = append(all, &e)
			}
		}
		return sc.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 500 {
		t.Fatalf("only %d events in the repository's test files", len(all))
	}
	return all
}

// oddRawEvents carry raw values that are not plain padded base64: the
// record keeps some as bytes, some as text, as it always did.
func oddRawEvents() []*event.Event {
	long := make([]byte, 3000)
	for i := range long {
		long[i] = byte(i * 7)
	}
	wrapped := base64.StdEncoding.EncodeToString(long)
	var mime strings.Builder
	for i := 0; i < len(wrapped); i += 76 {
		mime.WriteString(wrapped[i:min(i+76, len(wrapped))])
		mime.WriteString("\r\n")
	}
	values := []string{
		"", "bGluZQ==", "bGluZR==", "bGluZQ", "bGlu\nZQ==", "\nbGluZQ==\n", "bGluZQ==\n", "not base64!",
		"====", "QQ==", "QUI=", "QUJD", "QQ=\n=", "=", "A", "AB", "ABC", "bGluZQ==bGluZQ==",
		wrapped, mime.String(), strings.Repeat("QUJD", 40000), "ü",
	}
	var out []*event.Event
	for _, v := range values {
		e := event.New(0)
		e.SetTrusted("source.ip", "192.0.2.1")
		e.SetTrusted("raw", v)
		e.SetTrusted("time.observation", "2026-11-20T10:00:00+00:00")
		out = append(out, e)
	}
	return out
}

func corpus(t *testing.T) []*event.Event {
	all := repositoryEvents(t)
	// The old algorithms read raw as base64 text among the fields; the
	// Shadowserver parser hands raw over as bytes, so its events are
	// rebuilt in the old form.
	for _, e := range shadowserverEvents(t, 50) {
		text := event.New(e.Len())
		for _, f := range e.Fields() {
			text.SetTrusted(f.Key, f.Value)
		}
		all = append(all, text)
	}
	return append(all, oddRawEvents()...)
}

// TestHashAndRecordMatchTheOldAlgorithms shows that the cheaper Seal,
// HashExcept and record encoding give the bytes the old ones gave, for
// every event of the repository's test files, generated Shadowserver
// events and raw values of every odd shape.
func TestHashAndRecordMatchTheOldAlgorithms(t *testing.T) {
	events := corpus(t)
	skip := map[string]bool{"source.port": true, "feed.name": true, "extra.tag": true}
	for i, e := range events {
		name := fmt.Sprintf("event %d %s", i, e.Value("feed.name"))
		want := event.OldHashExcept(e, nil)
		if got := e.HashExcept(nil); got != want {
			t.Fatalf("%s: HashExcept %s, the old algorithm %s", name, got, want)
		}
		if got, want := e.HashExcept(skip), event.OldHashExcept(e, skip); got != want {
			t.Fatalf("%s: HashExcept(skip) %s, the old algorithm %s", name, got, want)
		}
		sealed := e.Clone()
		if got := sealed.Seal(); got != want {
			t.Fatalf("%s: Seal %s, want %s", name, got, want)
		}
		if got, want := sealed.Value("event_hash"), event.OldSealValue(want); got != want {
			t.Fatalf("%s: event_hash %s, the old form %s", name, got, want)
		}
		if got := sealed.Hash(); got != want {
			t.Fatalf("%s: Hash of the sealed event %s, want %s", name, got, want)
		}
		for _, ev := range []*event.Event{e, sealed} {
			prefix := []byte("before")
			rec := event.AppendRecord(slices.Clone(prefix), ev)
			old := event.OldAppendRecord(slices.Clone(prefix), ev)
			if !bytes.Equal(rec, old) {
				t.Fatalf("%s: record differs from the old one:\n got %q\nwant %q", name, rec, old)
			}
			got, err := event.DecodeRecord(rec[len(prefix):])
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			wantEvent, err := event.OldDecodeRecord(rec[len(prefix):])
			if err != nil {
				t.Fatalf("%s: the old decoder: %v", name, err)
			}
			if !slices.Equal(got.Fields(), wantEvent.Fields()) {
				t.Fatalf("%s: decoded\n %v\nthe old decoder\n %v", name, got.Fields(), wantEvent.Fields())
			}
		}
	}
	// The batch is the count and the records, as before.
	batch := event.AppendBatch(nil, events)
	if !bytes.Equal(batch, oldBatchOf(events)) {
		t.Fatal("batch differs from the old one")
	}
	decoded, err := event.DecodeBatch(batch)
	if err != nil || len(decoded) != len(events) {
		t.Fatalf("decode batch: %d events, %v", len(decoded), err)
	}
	for i, e := range decoded {
		old, _ := event.OldDecodeRecord(event.OldAppendRecord(nil, events[i]))
		if !slices.Equal(e.Fields(), old.Fields()) {
			t.Fatalf("batch event %d differs", i)
		}
	}
	t.Logf("%d events", len(events))
}

func oldBatchOf(events []*event.Event) []byte {
	b := binary.AppendUvarint(nil, uint64(len(events)))
	for _, e := range events {
		b = event.OldAppendRecord(b, e)
	}
	return b
}

// TestSetDefaultsMatchesHasAndSetTrusted compares SetDefaults with the Has
// and SetTrusted per field it replaces, on the corpus's events and random
// lists of fields: sorted or not, with keys the event has and has not,
// repeated keys, empty values and more fields than fit its fast path.
func TestSetDefaultsMatchesHasAndSetTrusted(t *testing.T) {
	events := append(shadowserverEvents(t, 5), oddRawEvents()...)
	events = append(events, event.New(0))
	rng := rand.New(rand.NewPCG(14, 14))
	keys := defaultKeys()
	for i := range 20000 {
		e := events[rng.IntN(len(events))]
		fields := randomDefaults(rng, e, keys, 20, 4, 2)
		got, want := e.Clone(), e.Clone()
		got.SetDefaults(fields...)
		event.OldSetDefaults(want, fields...)
		if !slices.Equal(got.Fields(), want.Fields()) {
			t.Fatalf("case %d: SetDefaults(%v)\n got %v\nwant %v", i, fields, got.Fields(), want.Fields())
		}
	}
}

// TestSealWithMatchesSetDefaultsAndSeal compares SealWith with the
// SetDefaults and Seal it stands for, on the corpus's events (as parsed,
// sealed already, with an event_hash of their own, valid or not) and
// random lists of defaults as TestSetDefaultsMatchesHasAndSetTrusted
// makes them: the fields, the hash returned and kept, and the record.
func TestSealWithMatchesSetDefaultsAndSeal(t *testing.T) {
	events := append(shadowserverEvents(t, 5), oddRawEvents()...)
	events = append(events, event.New(0))
	for _, e := range events[:len(events):len(events)] {
		sealed := e.Clone()
		sealed.Seal()
		own := e.Clone()
		own.SetTrusted("event_hash", "not a hash")
		other := e.Clone()
		other.SetTrusted("event_hash", strings.Repeat("AB", 32))
		events = append(events, sealed, own, other)
	}
	rng := rand.New(rand.NewPCG(14, 40))
	keys := defaultKeys()
	for i := range 20000 {
		e := events[rng.IntN(len(events))]
		fields := randomDefaults(rng, e, keys, 10, 8, 8)
		got, want := e.Clone(), e.Clone()
		gotHash := got.SealWith(fields...)
		want.SetDefaults(fields...)
		wantHash := want.Seal()
		if gotHash != wantHash || got.Hash() != wantHash || !got.Sealed() {
			t.Fatalf("case %d: SealWith(%v) = %v (kept %v, sealed %v), want %v", i, fields, gotHash, got.Hash(), got.Sealed(), wantHash)
		}
		if !slices.Equal(got.Fields(), want.Fields()) {
			t.Fatalf("case %d: SealWith(%v)\n got %v\nwant %v", i, fields, got.Fields(), want.Fields())
		}
		if !bytes.Equal(event.AppendRecord(nil, got), event.AppendRecord(nil, want)) {
			t.Fatalf("case %d: SealWith(%v): records differ", i, fields)
		}
		if got.Seal() != wantHash {
			t.Fatalf("case %d: sealed again, SealWith(%v) gave another hash", i, fields)
		}
	}
}

// FuzzRecordMatchesOld checks the record of any raw value and any other
// field against the old encoder, and its decoding against the old decoder.
func FuzzRecordMatchesOld(f *testing.F) {
	for _, e := range oddRawEvents() {
		f.Add(e.Value("raw"), "extra.x", "1")
	}
	f.Add(base64.StdEncoding.EncodeToString([]byte("a,b\n1,2")), "source.ip", "192.0.2.1")
	f.Fuzz(func(t *testing.T, raw, key, value string) {
		e := event.New(0)
		e.SetTrusted("raw", raw)
		e.SetTrusted(key, value)
		rec := event.AppendRecord(nil, e)
		if old := event.OldAppendRecord(nil, e); !bytes.Equal(rec, old) {
			t.Fatalf("record %q, the old one %q", rec, old)
		}
		got, err := event.DecodeRecord(rec)
		want, oldErr := event.OldDecodeRecord(rec)
		if (err == nil) != (oldErr == nil) {
			t.Fatalf("decode: %v, the old decoder: %v", err, oldErr)
		}
		if err == nil && !slices.Equal(got.Fields(), want.Fields()) {
			t.Fatalf("decoded %v, the old decoder %v", got.Fields(), want.Fields())
		}
	})
}

// TestRawAsBytesReadsAsRawAsText shows that an event holding raw as bytes
// (SetRaw, DecodeRecord) reads, writes and hashes exactly as the same event
// holding raw as base64 text did: fields, JSON, map, record, hash, text
// check and the accessors.
func TestRawAsBytesReadsAsRawAsText(t *testing.T) {
	checked := 0
	for i, text := range corpus(t) {
		b64, ok := text.Get("raw")
		if !ok {
			continue
		}
		line, err := base64.StdEncoding.DecodeString(b64)
		if err != nil || base64.StdEncoding.EncodeToString(line) != b64 {
			continue // not canonical base64: never held as bytes
		}
		checked++
		bytesEvent := text.Clone()
		bytesEvent.SetRaw(line)
		viaString := text.Clone()
		viaString.SetRawString(string(line))
		decoded, err := event.DecodeRecord(event.OldAppendRecord(nil, text))
		if err != nil {
			t.Fatal(err)
		}
		for j, e := range []*event.Event{bytesEvent, viaString, decoded, bytesEvent.Clone()} {
			name := fmt.Sprintf("event %d form %d", i, j)
			if !slices.Equal(e.Fields(), text.Fields()) {
				t.Fatalf("%s: fields\n %v\nwant\n %v", name, e.Fields(), text.Fields())
			}
			if got, want := e.AppendJSON(nil), text.AppendJSON(nil); !bytes.Equal(got, want) {
				t.Fatalf("%s: JSON\n %s\nwant\n %s", name, got, want)
			}
			if !reflect.DeepEqual(e.Map(), text.Map()) {
				t.Fatalf("%s: map differs", name)
			}
			if got, want := event.AppendRecord(nil, e), event.OldAppendRecord(nil, text); !bytes.Equal(got, want) {
				t.Fatalf("%s: record differs from the old one", name)
			}
			if e.Hash() != event.OldHashExcept(text, nil) || e.Len() != text.Len() {
				t.Fatalf("%s: hash or length differs", name)
			}
			if v, ok := e.Get("raw"); !ok || v != b64 || !e.Has("raw") || e.Value("raw") != b64 || !bytes.Equal(e.Raw(), text.Raw()) {
				t.Fatalf("%s: raw reads %q, want %q", name, v, b64)
			}
			if fmt.Sprint(e.CheckText()) != fmt.Sprint(text.CheckText()) {
				t.Fatalf("%s: CheckText %v, want %v", name, e.CheckText(), text.CheckText())
			}
			// Changing raw or other fields changes both forms alike.
			for _, change := range []func(*event.Event){
				func(e *event.Event) { e.Delete("raw") },
				func(e *event.Event) { e.SetTrusted("raw", "QUJD") },
				func(e *event.Event) { e.AppendTrusted("raw", "QUJD") },
				func(e *event.Event) {
					e.SetDefaults(event.Field{Key: "raw", Value: "QUJD"}, event.Field{Key: "source.port", Value: "1"})
				},
				func(e *event.Event) { e.SetTrusted("a", "first"); e.SetTrusted("zz", "last") },
				func(e *event.Event) { e.Reset(); e.SetTrusted("source.ip", "192.0.2.1") },
			} {
				got, want := e.Clone(), text.Clone()
				change(got)
				change(want)
				if !slices.Equal(got.Fields(), want.Fields()) || !bytes.Equal(got.AppendJSON(nil), want.AppendJSON(nil)) ||
					!bytes.Equal(event.AppendRecord(nil, got), event.OldAppendRecord(nil, want)) || got.Len() != want.Len() {
					t.Fatalf("%s: after a change\n %v\nwant\n %v", name, got.Fields(), want.Fields())
				}
			}
		}
	}
	if checked < 500 {
		t.Fatalf("only %d events with raw", checked)
	}
}

// FuzzDecodeRecordMatchesOld decodes any bytes with the old and the new
// decoder: both refuse the same input, and read the same fields.
func FuzzDecodeRecordMatchesOld(f *testing.F) {
	for _, e := range oddRawEvents() {
		f.Add(event.OldAppendRecord(nil, e))
	}
	f.Add([]byte{2, 0, 0, 0, 0, 0, 0})             // two fields with the empty key
	f.Add([]byte{2, 49, 1, 'a', 49, 1, 'b'})       // raw twice
	f.Add([]byte{2, 5, 1, 'a', 3, 1, 'b'})         // two codes out of order
	f.Add([]byte{2, 3, 1, 'a', 5, 1, 'b'})         // two codes in order
	f.Add([]byte{2, 5, 1, 'a', 0, 1, 'a', 1, 'b'}) // a code, then a name before it
	f.Add([]byte{2, 0, 1, 'z', 1, 'a', 5, 1, 'b'}) // a name, then a code before it
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := event.DecodeRecord(data)
		want, oldErr := event.OldDecodeRecord(data)
		if (err == nil) != (oldErr == nil) {
			t.Fatalf("decode: %v, the old decoder: %v", err, oldErr)
		}
		if err == nil && !slices.Equal(got.Fields(), want.Fields()) {
			t.Fatalf("decoded %v, the old decoder %v", got.Fields(), want.Fields())
		}
	})
}

func TestFieldsExceptRawIsFieldsWithoutRaw(t *testing.T) {
	for i, e := range corpus(t) {
		for _, form := range []*event.Event{e, func() *event.Event { c := e.Clone(); c.SetRaw([]byte("a,b\n1,2")); return c }()} {
			want := slices.DeleteFunc(slices.Clone(form.Fields()), func(f event.Field) bool { return f.Key == "raw" })
			if got := form.FieldsExceptRaw(); !slices.Equal(got, want) {
				t.Fatalf("event %d: %v, want %v", i, got, want)
			}
		}
	}
}

// oldHash is Hash as it was before Seal kept the identity: event_hash
// read back when it parses, else the hash of the fields.
func oldHash(e *event.Event) event.Hash {
	if h, ok := event.ParseHash(e.Value("event_hash")); ok {
		return h
	}
	return event.OldHashExcept(e, nil)
}

// TestSealedHashFollowsEventHash shows that the identity Seal keeps is
// what reading event_hash back gave, through every change that can touch
// event_hash and the ones that do not.
func TestSealedHashFollowsEventHash(t *testing.T) {
	other := strings.Repeat("AB", 32)
	otherHash, _ := event.ParseHash(other)
	for i, e := range corpus(t) {
		name := fmt.Sprintf("event %d %s", i, e.Value("feed.name"))
		check := func(step string, ev *event.Event, want event.Hash) {
			t.Helper()
			if got, old := ev.Hash(), oldHash(ev); got != old || got != want {
				t.Fatalf("%s, %s: Hash %s, read back %s, want %s", name, step, got, old, want)
			}
		}
		sealed := e.Clone()
		h := sealed.Seal()
		check("sealed", sealed, h)
		sealed.SetTrusted("source.asn", "64500") // an enricher's finding
		check("enriched", sealed, h)
		check("cloned", sealed.Clone(), h)
		rec, err := event.DecodeRecord(event.AppendRecord(nil, sealed))
		if err != nil {
			t.Fatal(err)
		}
		check("decoded", rec, h)

		changed := sealed.Clone()
		changed.SetTrusted("event_hash", other)
		check("event_hash set", changed, otherHash)
		changed = sealed.Clone()
		changed.AppendTrusted("event_hash", other)
		check("event_hash appended", changed, otherHash)
		changed = sealed.Clone()
		if err := changed.ParseJSON([]byte(`{"event_hash": "` + other + `"}`)); err != nil {
			t.Fatal(err)
		}
		check("event_hash from JSON", changed, otherHash)
		changed = sealed.Clone()
		changed.SetTrusted("event_hash", "not a hash")
		check("event_hash not a hash", changed, event.OldHashExcept(changed, nil))
		changed = sealed.Clone()
		changed.Delete("event_hash")
		check("event_hash deleted", changed, event.OldHashExcept(changed, nil))
		changed = sealed.Clone()
		changed.Reset()
		changed.SetTrusted("feed.name", "after reset")
		check("reset", changed, event.OldHashExcept(changed, nil))
	}
}

// TestNewSortedIsSetTrusted shows that an event made at once from sorted
// fields reads, writes and hashes as one built field by field.
func TestNewSortedIsSetTrusted(t *testing.T) {
	for i, e := range corpus(t) {
		fields := e.FieldsExceptRaw()
		want := event.New(len(fields))
		for _, f := range fields {
			want.SetTrusted(f.Key, f.Value)
		}
		got := event.NewSorted(fields, 3)
		if !slices.Equal(got.Fields(), want.Fields()) || got.Len() != want.Len() {
			t.Fatalf("event %d: fields\n %v\nwant\n %v", i, got.Fields(), want.Fields())
		}
		if !bytes.Equal(got.AppendJSON(nil), want.AppendJSON(nil)) || got.Hash() != want.Hash() ||
			!bytes.Equal(event.AppendRecord(nil, got), event.AppendRecord(nil, want)) {
			t.Fatalf("event %d: JSON, hash or record differs", i)
		}
		for _, f := range fields {
			if v, ok := got.Get(f.Key); !ok || v != f.Value {
				t.Fatalf("event %d: %s reads %q, %v", i, f.Key, v, ok)
			}
		}
		if len(fields) > 0 {
			before := fields[0].Value
			got.SetTrusted(fields[0].Key, before+"changed")
			if fields[0].Value != before {
				t.Fatalf("event %d: NewSorted kept the caller's slice", i)
			}
		}
	}
}

// TestSealAgainIsSealAfresh shows that sealing an event again, which does
// nothing when it did not change since, gives what sealing it afresh
// gives after every kind of change, and after none.
func TestSealAgainIsSealAfresh(t *testing.T) {
	changes := []struct {
		name   string
		change func(*event.Event)
	}{
		{"nothing", func(*event.Event) {}},
		{"set a new key", func(e *event.Event) { e.SetTrusted("source.asn", "64500") }},
		{"set a key again", func(e *event.Event) {
			f := e.FieldsExceptRaw()[0]
			e.SetTrusted(f.Key, f.Value+"x")
		}},
		{"append", func(e *event.Event) { e.AppendTrusted("zz.last", "1") }},
		{"defaults, one new", func(e *event.Event) {
			e.SetDefaults(event.Field{Key: "feed.name", Value: "f"}, event.Field{Key: "tlp", Value: "AMBER"})
		}},
		{"defaults, none new", func(e *event.Event) {
			f := e.FieldsExceptRaw()[0]
			e.SetDefaults(f)
		}},
		{"delete a key", func(e *event.Event) { e.Delete(e.FieldsExceptRaw()[0].Key) }},
		{"delete a key not set", func(e *event.Event) { e.Delete("zz.absent") }},
		{"delete raw", func(e *event.Event) { e.Delete("raw") }},
		{"raw as bytes", func(e *event.Event) { e.SetRaw([]byte("a line")) }},
		{"JSON", func(e *event.Event) {
			if err := e.ParseJSON([]byte(`{"source.port": 8080}`)); err != nil {
				panic(err)
			}
		}},
		{"reset", func(e *event.Event) { e.Reset(); e.SetTrusted("feed.name", "f") }},
	}
	for i, e := range corpus(t) {
		if e.Len() == 0 {
			continue
		}
		for _, c := range changes {
			ev := e.Clone()
			ev.Seal()
			c.change(ev)
			afresh := event.NewSorted(ev.FieldsExceptRaw(), 0)
			want := afresh.Seal()
			if got := ev.Seal(); got != want || got != event.OldHashExcept(ev, nil) {
				t.Fatalf("event %d, %s: sealed again %s, afresh %s", i, c.name, got, want)
			}
			if got, want := ev.Value("event_hash"), afresh.Value("event_hash"); got != want {
				t.Fatalf("event %d, %s: event_hash %s, afresh %s", i, c.name, got, want)
			}
			if !slices.Equal(ev.FieldsExceptRaw(), afresh.FieldsExceptRaw()) {
				t.Fatalf("event %d, %s: fields differ", i, c.name)
			}
		}
	}
}

// TestSealedUntilChanged: Sealed holds from Seal until a field is set or
// deleted (the pipeline then labels and seals the event again).
func TestSealedUntilChanged(t *testing.T) {
	e := event.New(0)
	e.SetTrusted("source.ip", "192.0.2.1")
	if e.Sealed() {
		t.Fatal("a new event reads as sealed")
	}
	e.Seal()
	if !e.Sealed() {
		t.Fatal("a sealed event reads as not sealed")
	}
	e.SetTrusted("tlp", "AMBER")
	if e.Sealed() {
		t.Error("an event set after Seal reads as sealed")
	}
	e.Seal()
	e.Delete("tlp")
	if e.Sealed() {
		t.Error("an event deleted from after Seal reads as sealed")
	}
}

// TestResealed: an event read back from another process's record takes
// the identity its event_hash holds, without hashing; one whose
// event_hash is missing or not a hash is left to Seal.
func TestResealed(t *testing.T) {
	e := event.New(0)
	e.SetTrusted("source.ip", "192.0.2.1")
	h := e.Seal()
	back, err := event.DecodeRecord(event.AppendRecord(nil, e))
	if err != nil {
		t.Fatal(err)
	}
	if back.Sealed() {
		t.Fatal("a decoded record reads as sealed before Resealed")
	}
	if !back.Resealed() || !back.Sealed() || back.Hash() != h || back.Seal() != h {
		t.Fatalf("Resealed: sealed %v, hash %s, want %s", back.Sealed(), back.Hash(), h)
	}
	for _, v := range []string{"", "not a hash", strings.Repeat("G", 64)} {
		bad := event.New(0)
		bad.SetTrusted("source.ip", "192.0.2.1")
		if v != "" {
			bad.SetTrusted("event_hash", v)
		}
		if bad.Resealed() || bad.Sealed() {
			t.Errorf("event_hash %q: Resealed took it", v)
		}
		if bad.Seal() != h {
			t.Errorf("event_hash %q: Seal after a refused Resealed gives another identity", v)
		}
	}
}

// defaultKeys are the keys randomDefaults draws from: every harmonized
// field's, and a few that sort before, among and after them.
func defaultKeys() []string {
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range event.Fields {
			if !yield(k) {
				return
			}
		}
	})
	return append(keys, "extra.a", "extra.zz", "a", "zzz", "")
}

// randomDefaults is a random list of fewer than most defaults for e: keys
// of e's own (a third) or of keys, values some empty; sorted but in one
// case of sortOdds, and then without repeated keys but in one case of
// compactOdds.
func randomDefaults(rng *rand.Rand, e *event.Event, keys []string, most, sortOdds, compactOdds int) []event.Field {
	var fields []event.Field
	for range rng.IntN(most) {
		var k string
		if rng.IntN(3) == 0 && e.Len() > 0 {
			k = e.Fields()[rng.IntN(e.Len())].Key
		} else {
			k = keys[rng.IntN(len(keys))]
		}
		v := fmt.Sprint(rng.IntN(100))
		if rng.IntN(10) == 0 {
			v = ""
		}
		fields = append(fields, event.Field{Key: k, Value: v})
	}
	if rng.IntN(sortOdds) != 0 {
		slices.SortFunc(fields, func(a, b event.Field) int { return strings.Compare(a.Key, b.Key) })
		if rng.IntN(compactOdds) != 0 {
			fields = slices.CompactFunc(fields, func(a, b event.Field) bool { return a.Key == b.Key })
		}
	}
	return fields
}

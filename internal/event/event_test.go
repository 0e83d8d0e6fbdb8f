package event

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		field, in, want, err string
	}{
		{"source.ip", "192.0.2.1", "192.0.2.1", ""},
		{"source.ip", "::ffff:192.0.2.1", "192.0.2.1", ""},
		{"source.ip", "2001:DB8:0:0::1", "2001:db8::1", ""},
		{"source.ip", "192.0.2.256", "", "not an IP address"},
		{"source.ip", "fe80::1%eth0", "", "not an IP address"},
		{"source.network", "192.0.2.77/24", "192.0.2.0/24", ""},
		{"source.network", "192.0.2.7", "192.0.2.7/32", ""},
		{"source.network", "192.0.2.0/33", "", "not an IP network"},
		{"source.fqdn", "WWW.Example.ORG.", "www.example.org", ""},
		{"source.fqdn", "bücher.example", "xn--bcher-kva.example", ""},
		{"source.fqdn", "192.0.2.1", "", "an IP address is not a host name"},
		{"source.fqdn", "bad host.example", "", "not allowed"},
		{"source.url", "hxxp://evil[.]example.com/login", "http://evil.example.com/login", ""},
		{"source.url", "example.com/a?b=c", "http://example.com/a?b=c", ""},
		{"source.url", "HTTPS://EXAMPLE.com/Path", "https://example.com/Path", ""},
		{"source.url", "http://", "", "URL without scheme or host"},
		{"time.source", "2026-11-20 10:00:00", "2026-11-20T10:00:00+00:00", ""},
		{"time.source", "2026-11-20T12:00:00+02:00", "2026-11-20T10:00:00+00:00", ""},
		{"time.source", "2026-11-20T10:00:00.123Z", "2026-11-20T10:00:00.123+00:00", ""},
		{"time.source", "1763632800", "", "a number, not a date-time"},
		{"time.source", "5", "", "epoch_seconds: true"},
		{"source.fqdn", "\xe9cole.example", "", "invalid UTF-8 (byte 0xE9) at byte offset 0"},
		{"event_description.text", "caf\xe9", "", "invalid UTF-8 (byte 0xE9) at byte offset 3"},
		{"event_description.text", "a\x00b", "", "NUL character at byte offset 1"},
		{"event_description.text", "ab\xed\xa0\x80", "", "UTF-16 surrogate (U+D800) at byte offset 2"},
		{"time.source", "2026-11-20 10:00:00+00", "2026-11-20T10:00:00+00:00", ""},
		{"time.source", "yesterday", "", "not a recognised date-time"},
		{"source.geolocation.cc", "be", "BE", ""},
		{"source.geolocation.cc", "BEL", "", "two-letter"},
		{"source.asn", "AS64496", "64496", ""},
		{"source.asn", "0", "", "not an AS number"},
		{"source.port", "65536", "", "not a port"},
		{"feed.accuracy", "101", "", "between 0 and 100"},
		{"classification.type", "Phishing", "phishing", ""},
		{"classification.type", "phish", "", "not an RSIT classification type"},
		{"classification.taxonomy", "fraud", "fraud", ""},
		{"tlp", "tlp:amber+strict", "AMBER+STRICT", ""},
		{"tlp", "WHITE", "CLEAR", ""},
		{"tlp", "PURPLE", "", "not a TLP label"},
		{"source.tor_node", "yes", "true", ""},
		{"extra.tags", `["a","b"]`, `["a","b"]`, ""},
		{"extra.bad", `{`, "", "not a JSON value"},
		{"extra.nul", `"a\u0000"`, "", `NUL character (\u0000) at byte offset 2`},
		{"extra.surrogate", `["\udbff"]`, "", `lone UTF-16 surrogate (\udbff) at byte offset 2`},
		{"source.registry", "ripe ncc", "RIPE", ""},
		{"malware.name", "Mirai", "mirai", ""},
		{"nonsense.field", "x", "", "not a harmonized field name"},
	}
	for _, tt := range tests {
		t.Run(tt.field+"="+tt.in, func(t *testing.T) {
			got, err := Normalize(tt.field, tt.in)
			if tt.err != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want a FieldError containing %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestSetKeepsFieldsSortedAndEmptyMeansAbsent(t *testing.T) {
	e := New(0)
	for _, kv := range [][2]string{{"source.ip", "192.0.2.1"}, {"classification.type", "scanner"}, {"time.source", "2026-11-20"}, {"comment", ""}} {
		if err := e.Set(kv[0], kv[1]); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	for _, f := range e.Fields() {
		keys = append(keys, f.Key)
	}
	if got := strings.Join(keys, ","); got != "classification.type,source.ip,time.source" {
		t.Fatalf("keys %s", got)
	}
	e.Delete("source.ip")
	if e.Has("source.ip") || e.Len() != 2 {
		t.Fatal("delete failed")
	}
}

func TestJSONRoundTrip(t *testing.T) {
	line := `{"__type": "Event", "classification.type": "vulnerable-system", "extra": {"tag": "rdp", "n": 3}, "extra.tags": ["a"], "feed.accuracy": 100.0, "raw": "aGVsbG8=", "source": {"ip": "192.0.2.1", "port": 3389, "asn": 64496}, "source.tor_node": false, "time.source": "2026-11-20T10:00:00+00:00"}`
	e := New(0)
	if err := e.ParseJSON([]byte(line)); err != nil {
		t.Fatal(err)
	}
	got := string(e.AppendJSON(nil))
	want := `{"classification.type": "vulnerable-system", "extra.n": 3, "extra.tag": "rdp", "extra.tags": ["a"], "feed.accuracy": 100, "raw": "aGVsbG8=", "source.asn": 64496, "source.ip": "192.0.2.1", "source.port": 3389, "source.tor_node": false, "time.source": "2026-11-20T10:00:00+00:00"}`
	if got != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
	again := New(0)
	if err := again.ParseJSON([]byte(got)); err != nil {
		t.Fatal(err)
	}
	if again.Hash() != e.Hash() || string(again.AppendJSON(nil)) != got {
		t.Fatal("second round trip differs")
	}
	if string(e.Raw()) != "hello" {
		t.Fatalf("raw %q", e.Raw())
	}
}

func TestParseJSONReportsBadFieldButKeepsOthers(t *testing.T) {
	e := New(0)
	err := e.ParseJSON([]byte(`{"source.ip": "nope", "source.port": 80}`))
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "source.ip" {
		t.Fatalf("error %v", err)
	}
	if e.Value("source.port") != "80" {
		t.Fatal("valid field was not kept")
	}
	if err := New(0).ParseJSON([]byte(`[1,2]`)); err == nil {
		t.Fatal("a list was accepted as an event")
	}
}

func TestHashIgnoresObservationAndRaw(t *testing.T) {
	a, b := New(0), New(0)
	for _, e := range []*Event{a, b} {
		e.Set("source.ip", "192.0.2.1")
		e.Set("time.source", "2026-11-20T10:00:00Z")
	}
	a.SetTime("time.observation", time.Now())
	a.SetRaw([]byte("x"))
	if a.Hash() != b.Hash() {
		t.Fatal("hash depends on time.observation or raw")
	}
	b.Set("source.port", "22")
	if a.Hash() == b.Hash() {
		t.Fatal("hash ignores a real field")
	}
	if a.HashExcept(map[string]bool{"time.source": true}) == a.Hash() {
		t.Fatal("HashExcept ignored its filter")
	}
	h, ok := ParseHash(a.Hash().String())
	if !ok || h != a.Hash() {
		t.Fatal("hash hex round trip")
	}
}

func TestBatchRoundTrip(t *testing.T) {
	var events []*Event
	for i := range 3 {
		e := New(0)
		e.Set("source.ip", "192.0.2.1")
		e.SetInt("source.port", int64(i))
		e.SetExtra("note", "ünïcode \"quoted\"")
		events = append(events, e)
	}
	b := AppendBatch(nil, events)
	got, err := DecodeBatch(b)
	if err != nil || len(got) != 3 {
		t.Fatalf("decode: %v, %d events", err, len(got))
	}
	for i := range got {
		if !bytes.Equal(got[i].AppendJSON(nil), events[i].AppendJSON(nil)) {
			t.Fatalf("event %d differs", i)
		}
	}
	if _, err := DecodeBatch(b[:len(b)-1]); err == nil {
		t.Fatal("truncated batch decoded")
	}
}

func FuzzParseJSON(f *testing.F) {
	f.Add([]byte(`{"source.ip": "192.0.2.1", "extra": {"a": [1]}, "source": {"port": 1}}`))
	f.Add([]byte(`{"time.source": 1763632800, "tlp": "amber"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e := New(0)
		_ = e.ParseJSON(data)
		out := e.AppendJSON(nil)
		again := New(0)
		if err := again.ParseJSON(out); err != nil {
			t.Fatalf("own output does not parse: %v\n%s", err, out)
		}
		if again.Hash() != e.Hash() {
			t.Fatalf("round trip changed the event:\n%s\n%s", out, again.AppendJSON(nil))
		}
		checkStoredText(t, e)
	})
}

func FuzzDecodeBatch(f *testing.F) {
	e := New(0)
	e.Set("source.ip", "192.0.2.1")
	f.Add(AppendBatch(nil, []*Event{e}))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = DecodeBatch(data)
	})
}

func BenchmarkSetAndHash(b *testing.B) {
	for b.Loop() {
		e := New(16)
		e.Set("time.source", "2026-11-20 10:00:00")
		e.Set("source.ip", "192.0.2.1")
		e.Set("source.port", "3389")
		e.Set("source.asn", "64496")
		e.Set("classification.type", "vulnerable-system")
		e.SetExtra("tag", "rdp")
		_ = e.Hash()
	}
}

func TestSealFixesIdentity(t *testing.T) {
	e := New(0)
	e.Set("source.ip", "192.0.2.1")
	e.Set("event_hash", "00")
	h := e.Seal()
	if e.Hash() != h || e.Value("event_hash") != strings.ToUpper(h.String()) {
		t.Fatalf("seal: %s", e.AppendJSON(nil))
	}
	e.Set("source.asn", "64496") // enrichment after the seal
	if e.Hash() != h {
		t.Fatal("enrichment changed the sealed identity")
	}
	if e.HashExcept(nil) == h {
		t.Fatal("HashExcept ignores new fields")
	}
	plain := New(0)
	plain.Set("source.ip", "192.0.2.1")
	if plain.Hash() != h {
		t.Fatal("a sealed and an unsealed copy of the same observation differ")
	}
}

func TestRecordIsCompactAndRoundTrips(t *testing.T) {
	e := New(0)
	e.Set("source.ip", "192.0.2.1")
	e.Set("time.source", "2026-11-20T10:00:00Z")
	e.SetExtra("some_column", "value")
	e.SetRaw([]byte("2026-11-20 10:00:00,192.0.2.1,3389,some value"))
	rec := AppendRecord(nil, e)
	if json := e.AppendJSON(nil); len(rec) >= len(json)*2/3 {
		t.Errorf("record %d bytes, JSON %d: not compact", len(rec), len(json))
	}
	got, err := DecodeRecord(rec)
	if err != nil || string(got.AppendJSON(nil)) != string(e.AppendJSON(nil)) {
		t.Fatalf("round trip: %v\n%s", err, got.AppendJSON(nil))
	}
	// A raw value that is not base64 (from a hand-made event) survives too.
	e.SetTrusted("raw", "not base64!")
	if got, err := DecodeRecord(AppendRecord(nil, e)); err != nil || got.Value("raw") != "not base64!" {
		t.Fatalf("raw as text: %v", err)
	}
	if _, err := DecodeRecord(append(rec, 0)); err == nil {
		t.Fatal("trailing byte accepted")
	}
}

func FuzzDecodeRecord(f *testing.F) {
	e := New(0)
	e.Set("source.ip", "192.0.2.1")
	e.SetRaw([]byte("x"))
	f.Add(AppendRecord(nil, e))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := DecodeRecord(data)
		if err != nil {
			return
		}
		again, err := DecodeRecord(AppendRecord(nil, e))
		if err != nil || again.Len() != e.Len() {
			t.Fatalf("re-encoding a decoded record failed: %v", err)
		}
	})
}

func TestParseTimeFastPathAgreesWithLayouts(t *testing.T) {
	for _, s := range []string{"2026-11-20 10:00:00", "2026-11-20T10:00:00", "2026-11-20T10:00:00Z",
		"2026-11-20T10:00:00+00:00", "2024-02-29 23:59:59", "2026-02-30 10:00:00", "2026-13-01 00:00:00", "2026-11-20 24:00:00"} {
		fast, fastOK := ParseCommonTime(s)
		slow, err := ParseTime(s)
		if fastOK && (err != nil || !fast.Equal(slow)) {
			t.Errorf("%s: fast path %v, layouts %v %v", s, fast, slow, err)
		}
	}
	if _, err := ParseTime("2026-02-30 10:00:00"); err == nil {
		t.Error("February 30th accepted")
	}
}

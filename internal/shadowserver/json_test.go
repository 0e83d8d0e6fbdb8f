package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// withoutSource is an event's JSON without the fields that tell the form
// it was read from: raw and extra.file_name.
func withoutSource(e *event.Event) string {
	c := event.New(len(e.Fields()))
	for _, f := range e.Fields() {
		if f.Key != "raw" && f.Key != "extra.file_name" {
			c.AppendTrusted(f.Key, f.Value)
		}
	}
	return string(c.AppendJSON(nil))
}

func parseString(t *testing.T, p *Parser, name, body string) *reportSink {
	t.Helper()
	var s reportSink
	if err := p.Parse(context.Background(), pipeline.Input{Name: name, Body: strings.NewReader(body)}, &s); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return &s
}

// TestJSONFormsReadAsCSV reads the same rows as CSV, as a JSON array and as
// JSON lines: the events must be the same but for raw and the file name.
func TestJSONFormsReadAsCSV(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	csv := "timestamp,ip,port,tag,asn,hostname,novel,flag,note\n" +
		"2026-11-20 00:00:00,192.0.2.1,3389,rdp,64500,,\"{\"\"a\"\":[1,2]}\",true,\n" +
		"2026-11-20 00:00:01,192.0.2.2,3389,\"rdp;cve-2019-0708\",,host.example.net,,,\"caf\u00e9 \"\"quoted\"\"\"\n"
	objects := []string{
		`{"timestamp": "2026-11-20 00:00:00", "ip": "192.0.2.1", "port": 3389, "tag": "rdp", "asn": 64500, "hostname": null, "novel": {"a": [1, 2]}, "flag": true}`,
		`{"timestamp":"2026-11-20 00:00:01","ip":"192.0.2.2","port":"3389","tag":"rdp;cve-2019-0708","asn":null,"hostname":"host.example.net","note":"caf\u00e9 \"quoted\""}`,
	}
	array := "[\n" + strings.Join(objects, ",\n") + "\n]\n"
	lines := strings.Join(objects, "\n") + "\n"
	want := parseString(t, p, "2026-11-20-scan_rdp-be.csv", csv)
	if len(want.events) != 2 || len(want.rejects) != 0 {
		t.Fatalf("CSV: %d events, %v", len(want.events), want.rejects)
	}
	for _, form := range []struct{ name, body string }{
		{"2026-11-20-scan_rdp-be.json", array},
		{"2026-11-20-scan_rdp-be.jsonl", lines},
		{"2026-11-20-scan_rdp-be.ndjson", " \n" + lines + "\n\n"},
	} {
		got := parseString(t, p, form.name, form.body)
		if len(got.rejects) != 0 || len(got.events) != len(want.events) {
			t.Fatalf("%s: %d events, rejects %v", form.name, len(got.events), got.rejects)
		}
		if len(got.reports) != 1 || got.reports[0] != "Accessible-RDP" {
			t.Errorf("%s: reports %v", form.name, got.reports)
		}
		for i, e := range got.events {
			if g, w := withoutSource(e), withoutSource(want.events[i]); g != w {
				t.Errorf("%s event %d:\n got %s\nwant %s", form.name, i, g, w)
			}
			if string(e.Raw()) != objects[i] {
				t.Errorf("%s event %d: raw %q, want the object's text", form.name, i, e.Raw())
			}
			if got := e.Value("extra.file_name"); got != `"`+form.name+`"` {
				t.Errorf("%s event %d: extra.file_name %s", form.name, i, got)
			}
		}
	}
	// The values as they are read: a nested value as compact JSON, true
	// as a word, an unknown key as extra.<key>.
	e := want.events[0]
	for k, v := range map[string]string{"extra.novel": `"{\"a\":[1,2]}"`, "extra.flag": `"true"`, "source.asn": "64500"} {
		if got := e.Value(k); got != v {
			t.Errorf("%s = %s, want %s", k, got, v)
		}
	}
	if got := want.events[1].Value("extra.note"); got != `"café \"quoted\""` {
		t.Errorf("extra.note = %s", got)
	}
}

func TestJSONFormat(t *testing.T) {
	body := `{"timestamp":"2026-11-20 00:00:00","ip":"192.0.2.1","port":3389}` + "\n"
	csv := "timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n"
	for _, tt := range []struct {
		format, name, body string
		events             int
	}{
		{"auto", "x.json", body, 1},
		{"auto", "x.JSONL", body, 1},
		{"auto", "x.ndjson", body, 1},
		{"auto", "x.json.gz", body, 1},
		{"auto", "upload", body, 1},                    // by the first byte
		{"auto", "upload", "\ufeff [" + body + "]", 1}, // a BOM and white space first
		{"auto", "upload", csv, 1},
		{"auto", "x.csv", csv, 1},
		{"json", "x.csv", body, 1},
		{"csv", "x.json", csv, 1},
		{"csv", "x.json", body, 0}, // read as CSV: the header lacks the required columns
	} {
		p, err := newFromOptions(pipeline.Env{}, pipeline.Options{"report": "scan_rdp", "format": tt.format})
		if err != nil {
			t.Fatal(err)
		}
		var c collector
		err = p.Parse(context.Background(), pipeline.Input{Name: tt.name, Body: strings.NewReader(tt.body)}, &c)
		if tt.events == 0 {
			if err == nil {
				t.Errorf("%s %s: no error", tt.format, tt.name)
			}
			continue
		}
		if err != nil || len(c.events) != tt.events || len(c.rejects) != 0 {
			t.Errorf("%s %s: %v, %d events, %v", tt.format, tt.name, err, len(c.events), c.rejects)
		}
	}
	if _, err := newFromOptions(pipeline.Env{}, pipeline.Options{"format": "xml"}); err == nil || !strings.Contains(err.Error(), "xml") {
		t.Errorf("format xml: %v", err)
	}
}

// TestJSONLinesMalformed: a bad line goes to the dead letters with its
// number, and the next line is read.
func TestJSONLinesMalformed(t *testing.T) {
	p, _ := New(DefaultSchema(), "scan_rdp")
	body := `{"timestamp":"2026-11-20 00:00:00","ip":"192.0.2.1"}` + "\n" + // 1
		`{"timestamp":"2026-11-20 00:00:01","ip":"192.0.2.2"` + "\n" + // 2: not closed
		"\n" + // 3: blank
		`{"timestamp":"2026-11-20 00:00:02","ip":"192.0.2.3","port":03}` + "\n" + // 4: bad number
		`["2026-11-20 00:00:02","192.0.2.3"]` + "\n" + // 5: not an object
		`{"timestamp":"2026-11-20 00:00:03","ip":"192.0.2.4","x":"\u0000"}` + "\n" + // 6: NUL
		`{"timestamp":"2026-11-20 00:00:04","ip":"192.0.2.5","x":"\ud800"}` + "\n" + // 7: lone surrogate
		`{"timestamp":"2026-11-20 00:00:05","ip":"192.0.2.6"} x` + "\n" + // 8: text after
		`{"timestamp":"2026-11-20 00:00:06","ip":"192.0.2.7","note":"` + strings.Repeat("a", maxRecord) + `"}` + "\n" + // 9: too long
		`{"timestamp":"2026-11-20 00:00:07","ip":"192.0.2.8"}` // 10, no line break
	s := parseString(t, p, "x.jsonl", body)
	if len(s.events) != 2 || s.events[1].Value("source.ip") != "192.0.2.8" {
		t.Fatalf("%d events", len(s.events))
	}
	wantLines := []int{2, 4, 5, 6, 7, 8, 9}
	if len(s.rejects) != len(wantLines) {
		for _, r := range s.rejects {
			t.Log(r.reason)
		}
		t.Fatalf("%d rejects, want %d", len(s.rejects), len(wantLines))
	}
	for i, line := range wantLines {
		var re *RowError
		if !errors.As(s.rejects[i].reason, &re) || re.Line != line {
			t.Errorf("reject %d: %v, want line %d", i, s.rejects[i].reason, line)
		}
		if len(s.rejects[i].input) == 0 || len(s.rejects[i].input) > maxRecord {
			t.Errorf("reject %d: letter of %d bytes", i, len(s.rejects[i].input))
		}
	}
	if !strings.Contains(s.rejects[6].reason.Error(), "over the limit") {
		t.Errorf("too long: %v", s.rejects[6].reason)
	}
}

// TestJSONArrayMalformed: a bad object goes to the dead letters and the
// array is read on; past a broken separator the rest of the input is one
// dead letter saying why.
func TestJSONArrayMalformed(t *testing.T) {
	p, _ := New(DefaultSchema(), "scan_rdp")
	good := func(n int) string {
		return `{"timestamp":"2026-11-20 00:00:0` + string(rune('0'+n)) + `","ip":"192.0.2.` + string(rune('0'+n)) + `"}`
	}
	body := "[\n" + good(1) + ",\n" + // line 2
		`{"timestamp": tru, "ip": "192.0.2.9"},` + "\n" + // line 3: bad literal, braces balanced
		`"a string",` + "\n" + // line 4: not an object
		"{\"timestamp\":\n\"2026-11-20 00:00:05\",\n\"ip\": \"192.0.2.5\"},\n" + // lines 5-7: spread over lines
		`{"timestamp":"2026-11-20 00:00:09","ip":"192.0.2.3","note":"` + strings.Repeat("b", maxRecord) + `"},` + "\n" + // line 8: too long
		good(2) + "\n" + // line 9: no comma after it
		good(3) + ",\n" + good(4) + "]\n"
	s := parseString(t, p, "x.json", body)
	if len(s.events) != 3 {
		for _, r := range s.rejects {
			t.Log(r.reason)
		}
		t.Fatalf("%d events, want 3", len(s.events))
	}
	if got := s.events[1].Value("source.ip"); got != "192.0.2.5" {
		t.Errorf("the object spread over lines: %s", got)
	}
	if raw := string(s.events[1].Raw()); raw != "{\"timestamp\":\n\"2026-11-20 00:00:05\",\n\"ip\": \"192.0.2.5\"}" {
		t.Errorf("raw %q", raw)
	}
	want := []struct {
		line int
		says string
	}{{3, "malformed JSON object"}, {4, "not an object"}, {8, "over the limit"}, {10, "cannot be read on"}}
	if len(s.rejects) != len(want) {
		for _, r := range s.rejects {
			t.Log(r.reason)
		}
		t.Fatalf("%d rejects, want %d", len(s.rejects), len(want))
	}
	for i, w := range want {
		var re *RowError
		if !errors.As(s.rejects[i].reason, &re) || re.Line != w.line || !strings.Contains(re.Error(), w.says) {
			t.Errorf("reject %d: %v, want line %d saying %q", i, s.rejects[i].reason, w.line, w.says)
		}
	}
	rest := s.rejects[3]
	if !bytes.HasPrefix(rest.input, []byte(good(3))) || !strings.Contains(rest.reason.Error(), "the rest of the input") {
		t.Errorf("rest letter %q: %v", rest.input, rest.reason)
	}

	// An array the input cuts off ends in a letter too.
	s = parseString(t, p, "x.json", "["+good(1)+",\n"+`{"timestamp":"2026`)
	if len(s.events) != 1 || len(s.rejects) != 1 || !strings.Contains(s.rejects[0].reason.Error(), "ends inside") {
		t.Errorf("cut off: %d events, %v", len(s.events), s.rejects)
	}
	s = parseString(t, p, "x.json", "["+good(1))
	if len(s.events) != 1 || len(s.rejects) != 1 || !strings.Contains(s.rejects[0].reason.Error(), "before the JSON array is closed") {
		t.Errorf("not closed: %d events, %v", len(s.events), s.rejects)
	}
	s = parseString(t, p, "x.json", "[]\n")
	if len(s.events)+len(s.rejects) != 0 {
		t.Errorf("empty array: %d events, %v", len(s.events), s.rejects)
	}
}

// TestAutoRoutesShadowserverJSON: the auto parser sends a Shadowserver
// report in JSON to this parser, and other JSON to the IntelMQ parser.
func TestAutoRoutesShadowserverJSON(t *testing.T) {
	for name, want := range map[string]string{
		"2026-11-20-scan_rdp-belgium-geo.json":                 "shadowserver",
		"2026-11-20-scan_rdp-belgium-geo.jsonl.gz":             "shadowserver",
		"/inbox/2026-11-20-event4_sinkhole_http-be-geo.ndjson": "shadowserver",
		"2026-11-20-scan_rdp-belgium-geo.csv":                  "shadowserver",
		"blocklist.jsonl":                                      "intelmq",
		"2026-11-20-export.json":                               "intelmq",
		"events.jsonl":                                         "intelmq",
	} {
		if got := pipeline.DetectParser(name); got != want {
			t.Errorf("DetectParser(%q) = %q, want %q", name, got, want)
		}
	}
}

// TestRowConverterWithoutItsColumn: category_or_detail reads detail when
// category is empty; the same holds when category is missing from the CSV
// header or from the JSON object, so both forms give the same event.
func TestRowConverterWithoutItsColumn(t *testing.T) {
	p, err := New(DefaultSchema(), "compromised_website")
	if err != nil {
		t.Fatal(err)
	}
	forms := []struct{ name, body string }{
		{"with.csv", "timestamp,ip,port,category,detail\n2026-11-20 00:00:00,192.0.2.1,80,,defaced\n"},
		{"without.csv", "timestamp,ip,port,detail\n2026-11-20 00:00:00,192.0.2.1,80,defaced\n"},
		{"null.json", `[{"timestamp":"2026-11-20 00:00:00","ip":"192.0.2.1","port":80,"category":null,"detail":"defaced"}]`},
		{"absent.json", `[{"timestamp":"2026-11-20 00:00:00","ip":"192.0.2.1","port":80,"detail":"defaced"}]`},
	}
	var first string
	for i, f := range forms {
		s := parseString(t, p, f.name, f.body)
		if len(s.events) != 1 {
			t.Fatalf("%s: %d events, %v", f.name, len(s.events), s.rejects)
		}
		if got := s.events[0].Value("event_description.text"); got != "defaced" {
			t.Errorf("%s: event_description.text %q, want defaced", f.name, got)
		}
		if i == 0 {
			first = withoutSource(s.events[0])
		} else if got := withoutSource(s.events[0]); got != first {
			t.Errorf("%s:\n got %s\nwant %s", f.name, got, first)
		}
	}
}

// signalSink closes got at its first event.
type signalSink struct {
	collector
	got chan struct{}
}

func (s *signalSink) Event(e *event.Event) error {
	if len(s.events) == 0 {
		close(s.got)
	}
	return s.collector.Event(e)
}

// TestJSONArrayStreams: the first object of an array becomes an event
// before the rest of the array has been written, so the parser does not
// hold the array in memory.
func TestJSONArrayStreams(t *testing.T) {
	for _, first := range []string{"[", ""} {
		p, _ := New(DefaultSchema(), "scan_rdp")
		pr, pw := io.Pipe()
		s := &signalSink{got: make(chan struct{})}
		done := make(chan error, 1)
		go func() {
			done <- p.Parse(context.Background(), pipeline.Input{Name: "x.json", Body: pr}, s)
		}()
		obj := `{"timestamp":"2026-11-20 00:00:00","ip":"192.0.2.1","port":3389}`
		sep := "\n"
		if first == "[" {
			sep = ",\n"
		}
		// Enough text to get past the reader's first fill.
		pw.Write([]byte(first + obj + sep + strings.Repeat(" ", 70<<10) + "\n"))
		select {
		case <-s.got:
		case <-time.After(10 * time.Second):
			t.Fatalf("%q: no event before the input ended", first)
		}
		rest := obj + "\n"
		if first == "[" {
			rest = obj + "]\n"
		}
		pw.Write([]byte(rest))
		pw.Close()
		if err := <-done; err != nil || len(s.events) != 2 || len(s.rejects) != 0 {
			t.Errorf("%q: %v, %d events, %v", first, err, len(s.events), s.rejects)
		}
	}
}

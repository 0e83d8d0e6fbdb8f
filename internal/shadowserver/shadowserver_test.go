package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// collector is a pipeline.Sink keeping what it is given.
type collector struct {
	events  []*event.Event
	rejects []reject
}

type reject struct {
	input  []byte
	reason error
}

func (c *collector) Event(e *event.Event) error {
	c.events = append(c.events, e)
	return nil
}

func (c *collector) Reject(input []byte, reason error) {
	c.rejects = append(c.rejects, reject{input, reason})
}

func parseFile(t *testing.T, p *Parser, name string) *collector {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var c collector
	if err := p.Parse(context.Background(), pipeline.Input{Feed: "test", Name: filepath.Base(name), Body: f}, &c); err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return &c
}

// TestGolden parses every testdata/<name>.csv, detecting the report from the
// file name, and compares the events with <name>.golden.jsonl and the
// rejects with <name>.rejects.golden.
func TestGolden(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	inputs, err := filepath.Glob("testdata/*.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(inputs) == 0 {
		t.Fatal("no testdata")
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".csv")
		t.Run(name, func(t *testing.T) {
			c := parseFile(t, p, in)
			var events, rejects bytes.Buffer
			for _, e := range c.events {
				events.Write(e.AppendJSON(nil))
				events.WriteByte('\n')
			}
			for _, r := range c.rejects {
				fmt.Fprintf(&rejects, "%s\n\tinput: %q\n", r.reason, r.input)
			}
			compareGolden(t, "testdata/"+name+".golden.jsonl", events.Bytes())
			compareGolden(t, "testdata/"+name+".rejects.golden", rejects.Bytes())

			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			// Reports whose schema takes the identifier from a column (the
			// sinkhole reports' infection, for example) leave it out when the
			// cell is empty, as IntelMQ does; every other event has one.
			idConstant := true
			if r, ok := DefaultSchema().Detect(filepath.Base(in)); ok {
				idConstant = hasConstant(r, "classification.identifier")
			}
			for i, e := range c.events {
				checkEvent(t, i, e, raw, idConstant)
			}
		})
	}
}

// hasConstant reports whether the report's schema sets key as a constant.
func hasConstant(r *Report, key string) bool {
	for _, f := range r.constants {
		if f.Key == key {
			return true
		}
	}
	return false
}

// checkEvent holds for every event of every report: raw is a record of the
// input, classification is RSIT, time.observation is the runner's.
func checkEvent(t *testing.T, i int, e *event.Event, input []byte, idConstant bool) {
	t.Helper()
	if r := e.Raw(); len(r) == 0 || !bytes.Contains(input, r) {
		t.Errorf("event %d: raw %q is not a record of the input", i, r)
	}
	tax, typ := e.Value("classification.taxonomy"), e.Value("classification.type")
	if got, ok := taxonomy.TaxonomyOf(typ); !ok || got != tax {
		t.Errorf("event %d: classification %s/%s is not RSIT", i, tax, typ)
	}
	if (idConstant && !e.Has("classification.identifier")) || !e.Has("time.source") {
		t.Errorf("event %d: no identifier or time.source: %s", i, e.AppendJSON(nil))
	}
	if e.Has("time.observation") || e.Has("feed.name") {
		t.Errorf("event %d: sets fields the runner owns", i)
	}
	// What Vigil writes it must read back unchanged.
	var back event.Event
	if err := back.ParseJSON(e.AppendJSON(nil)); err != nil {
		t.Errorf("event %d: own JSON does not read back: %v", i, err)
	} else if back.Hash() != e.Hash() {
		t.Errorf("event %d: JSON round trip changes the event:\n%s\n%s", i, e.AppendJSON(nil), back.AppendJSON(nil))
	}
}

func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	if *update {
		if len(got) == 0 {
			os.Remove(name)
			return
		}
		if err := os.WriteFile(name, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(name)
	if errors.Is(err, os.ErrNotExist) {
		want = nil
	} else if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (run go test -update and review the diff)\n%s", name, lineDiff(string(want), string(got)))
	}
}

// lineDiff shows the first lines that differ, which is all one needs to see
// where a golden file went wrong.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	var b strings.Builder
	shown := 0
	for i := 0; i < max(len(w), len(g)) && shown < 5; i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			fmt.Fprintf(&b, "line %d:\n  want %s\n  got  %s\n", i+1, wl, gl)
			shown++
		}
	}
	return b.String()
}

// TestEveryReportHasTestdata keeps the golden set in step with the schema.
func TestEveryReportHasTestdata(t *testing.T) {
	for _, r := range DefaultSchema().Types() {
		if _, err := os.Stat("testdata/" + r + ".csv"); err != nil {
			t.Errorf("report %s has no testdata/%s.csv", r, r)
		}
	}
	required := []string{"scan_rdp", "scan_smb", "scan_telnet", "scan_ssh", "scan_ntp", "scan_dns", "scan_snmp", "scan_http",
		"scan_ssl", "event4_sinkhole", "event4_sinkhole_http", "event4_honeypot_brute_force", "compromised_website", "blocklist"}
	for _, r := range required {
		if _, ok := DefaultSchema().Report(r); !ok {
			t.Errorf("embedded schema lacks %s", r)
		}
	}
}

func TestMalformedRejects(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	c := parseFile(t, p, "testdata/scan_rdp-malformed.csv")
	want := []struct {
		line   int
		column string
		is     error
	}{
		{3, "", nil},                       // short row
		{4, "ip", nil},                     // bad IP
		{5, "timestamp", nil},              // bad timestamp
		{6, "port", nil},                   // port out of range
		{7, "ip", ErrMissing},              // empty required cell
		{11, "severity", errBadQuote},      // text after a closing quote
		{13, "severity", errUnclosedQuote}, // unterminated quote
	}
	if len(c.rejects) != len(want) {
		for _, r := range c.rejects {
			t.Log(r.reason)
		}
		t.Fatalf("got %d rejects, want %d", len(c.rejects), len(want))
	}
	for i, w := range want {
		var re *RowError
		if !errors.As(c.rejects[i].reason, &re) {
			t.Errorf("reject %d: %T is not a *RowError", i, c.rejects[i].reason)
			continue
		}
		if re.Line != w.line || re.Column != w.column {
			t.Errorf("reject %d: line %d column %q, want line %d column %q (%v)", i, re.Line, re.Column, w.line, w.column, re)
		}
		if w.is != nil && !errors.Is(re, w.is) {
			t.Errorf("reject %d: %v is not %v", i, re, w.is)
		}
	}
	if len(c.events) != 4 {
		t.Errorf("got %d events, want 4 (good, CRLF, mid-cell quote, quoted comma)", len(c.events))
	}
}

func TestDetect(t *testing.T) {
	s := DefaultSchema()
	tests := []struct{ name, want string }{
		{"2026-11-20-scan_rdp-belgium-geo.csv", "scan_rdp"},
		{"2026-11-20-scan_rdp-anything.csv", "scan_rdp"},
		{"/var/lib/vigil/inbox/2026-11-20-event4_sinkhole_http-be-geo.csv", "event4_sinkhole_http"},
		{"2026-11-20-event4_sinkhole-be-geo.csv", "event4_sinkhole"},
		{"https://example.org/dl/2026-11-20-scan_ssl-123-sample-asn.csv?key=x", "scan_ssl"},
		{"scan_dns.csv", "scan_dns"},
		{"2026-11-20-blocklist-be.csv", "blocklist"},
		{"2026-11-20-scan_rdpx-be.csv", ""},
		{"2026-11-20-xscan_rdp-be.csv", ""},
		{"report.csv", ""},
		{"", ""},
	}
	for _, tt := range tests {
		r, ok := s.Detect(tt.name)
		got := ""
		if ok {
			got = r.Type
		}
		if got != tt.want {
			t.Errorf("Detect(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestDetectLongestMatch(t *testing.T) {
	s, err := ParseSchema([]byte(`{
		"a": {"file_name": "scan_ssl", "required_fields": [["time.source", "timestamp"]]},
		"b": {"file_name": "scan_ssl-poodle", "required_fields": [["time.source", "timestamp"]]}
	}`))
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Detect("2026-11-20-scan_ssl-poodle-be.csv"); r == nil || r.Type != "b" {
		t.Errorf("longest file_name should win, got %v", r)
	}
	if r, _ := s.Detect("2026-11-20-scan_ssl-be.csv"); r == nil || r.Type != "a" {
		t.Errorf("got %v, want a", r)
	}
}

func TestUnknownReportFailsInput(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	var c collector
	err = p.Parse(context.Background(), pipeline.Input{Name: "2026-11-20-scan_nothing-be.csv", Body: strings.NewReader("timestamp,ip\n")}, &c)
	if !errors.Is(err, ErrUnknownReport) || !strings.Contains(err.Error(), "2026-11-20-scan_nothing-be.csv") {
		t.Errorf("got %v, want ErrUnknownReport naming the file", err)
	}
	if _, err := New(DefaultSchema(), "scan_nothing"); !errors.Is(err, ErrUnknownReport) {
		t.Errorf("New with unknown report: %v", err)
	}
}

func TestExplicitReport(t *testing.T) {
	for _, name := range []string{"scan_telnet", "Accessible-Telnet", "accessible-telnet"} {
		p, err := New(DefaultSchema(), name)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var c collector
		in := "timestamp,ip,port,banner\n2026-11-20 00:00:00,192.0.2.1,23,login:\n"
		if err := p.Parse(context.Background(), pipeline.Input{Name: "upload.csv", Body: strings.NewReader(in)}, &c); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(c.events) != 1 || c.events[0].Value("classification.identifier") != "open-telnet" {
			t.Errorf("%s: got %d events, %v", name, len(c.events), c.rejects)
		}
	}
}

func TestMissingRequiredColumnFailsInput(t *testing.T) {
	p, _ := New(DefaultSchema(), "scan_rdp")
	var c collector
	err := p.Parse(context.Background(), pipeline.Input{Name: "x.csv", Body: strings.NewReader("timestamp,port\n2026-11-20 00:00:00,3389\n")}, &c)
	if err == nil || !strings.Contains(err.Error(), `"ip"`) {
		t.Errorf("got %v, want an error naming the missing column", err)
	}
}

func TestEmptyInput(t *testing.T) {
	p, _ := New(DefaultSchema(), "scan_rdp")
	var c collector
	for _, body := range []string{"", "\n\n", "timestamp,ip,port\n"} {
		if err := p.Parse(context.Background(), pipeline.Input{Name: "x.csv", Body: strings.NewReader(body)}, &c); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	if len(c.events)+len(c.rejects) != 0 {
		t.Errorf("empty inputs made %d events and %d rejects", len(c.events), len(c.rejects))
	}
}

// stopSink fails after n events, as a sink does when the pipeline stops.
type stopSink struct {
	collector
	n int
}

var errStop = errors.New("stop")

func (s *stopSink) Event(e *event.Event) error {
	if len(s.events) == s.n {
		return errStop
	}
	return s.collector.Event(e)
}

func TestSinkErrorStopsParsing(t *testing.T) {
	p, _ := New(DefaultSchema(), "")
	f, err := os.Open("testdata/scan_rdp.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := &stopSink{n: 1}
	err = p.Parse(context.Background(), pipeline.Input{Name: "scan_rdp.csv", Body: f}, s)
	if !errors.Is(err, errStop) || len(s.events) != 1 {
		t.Errorf("got %v after %d events, want errStop after 1", err, len(s.events))
	}
}

func TestCancelledContext(t *testing.T) {
	p, _ := New(DefaultSchema(), "scan_rdp")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var c collector
	err := p.Parse(ctx, pipeline.Input{Name: "x.csv", Body: strings.NewReader("timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n")}, &c)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestRegistered(t *testing.T) {
	p, err := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{"report": "scan_rdp", "keep_raw": true})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := p.(*Parser); !ok {
		t.Errorf("got %T", p)
	}
	if _, err := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{"reprot": "scan_rdp"}); err == nil {
		t.Error("a misspelt option was accepted")
	}
}

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
	"sync"
	"testing"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
	"github.com/vigil-cert/vigil/internal/taxonomy"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// collector is a pipeline.Sink keeping what it is given.
type collector struct {
	events  []*event.Event
	rejects []reject
	notData int // lines said to carry no data (pipeline.NotData)
}

func (c *collector) NotData(lines int) { c.notData += lines }

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
// rejects with <name>.rejects.golden. The JSON twin <name>.json, where
// there is one, must give the same events but for raw and extra.file_name.
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
				// The dead letter shows the reason in the reader's
				// language: the same sentence, as a message.
				if m, ok := i18n.Said(r.reason); !ok || m.String() != r.reason.Error() {
					t.Errorf("reason %q is said as %q (a message: %v)", r.reason, m.String(), ok)
				} else if nl := m.In(i18n.Embedded(), "nl"); strings.Contains(nl, "%!") || nl == m.String() {
					t.Errorf("reason %q in Dutch: %q", r.reason, nl)
				}
			}
			compareGolden(t, "testdata/"+name+".golden.jsonl", events.Bytes())
			compareGolden(t, "testdata/"+name+".rejects.golden", rejects.Bytes())

			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			report, ok := DefaultSchema().Detect(in)
			if !ok {
				t.Fatalf("no report type in %s", in)
			}
			// Reports whose schema takes the identifier from a column (the
			// sinkhole reports' infection, for example) leave it out when the
			// cell is empty, as IntelMQ does; every other event has one.
			idConstant := hasConstant(report, "classification.identifier")
			for i, e := range c.events {
				checkEvent(t, i, e, raw, idConstant)
				checkProvenance(t, i, e, report, filepath.Base(in))
			}
			checkTwin(t, p, name, c)
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

// checkEvent holds for every event of every report: raw is the input's
// header, a newline and a record of the input, classification is RSIT,
// time.observation is the runner's.
func checkEvent(t *testing.T, i int, e *event.Event, input []byte, idConstant bool) {
	t.Helper()
	header, _, _ := bytes.Cut(bytes.TrimLeft(bytes.TrimPrefix(input, utf8BOM), "\r\n"), []byte{'\n'})
	header = bytes.TrimSuffix(header, []byte{'\r'})
	if head, rec, ok := bytes.Cut(e.Raw(), []byte{'\n'}); !ok || !bytes.Equal(head, header) || len(rec) == 0 || !bytes.Contains(input, rec) {
		t.Errorf("event %d: raw %q is not the header and a record of the input", i, e.Raw())
	}
	tax, typ := e.Value("classification.taxonomy"), e.Value("classification.type")
	if got, ok := taxonomy.TaxonomyOf(typ); !ok || got != tax {
		t.Errorf("event %d: classification %s/%s is not RSIT", i, tax, typ)
	}
	if (idConstant && !e.Has("classification.identifier")) || !e.Has("time.source") {
		t.Errorf("event %d: no identifier or time.source: %s", i, e.AppendJSON(nil))
	}
	if e.Has("time.observation") {
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

// checkProvenance holds an event to IntelMQ's record of where it came from:
// the provider, the report's feed name and type, the input's file name.
func checkProvenance(t *testing.T, i int, e *event.Event, r *Report, fileName string) {
	t.Helper()
	want := map[string]string{
		"feed.provider":   "Shadowserver",
		"feed.name":       r.FeedName,
		"feed.code":       r.Type,
		"extra.file_name": string(event.AppendJSONString(nil, fileName)),
	}
	for k, v := range want {
		if got := e.Value(k); got != v {
			t.Errorf("event %d: %s = %q, want %q", i, k, got, v)
		}
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
		if _, err := os.Stat("testdata/" + r + ".json"); err != nil {
			t.Errorf("report %s has no JSON twin testdata/%s.json (go test ./internal/shadowserver -run TestGolden -update -twins)", r, r)
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
		// line 3, a short row, is read with its missing cells empty;
		// line 7, an empty required ip, is read without source.ip.
		{4, "ip", nil},                     // bad IP
		{5, "timestamp", nil},              // bad timestamp
		{6, "port", nil},                   // port out of range
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
	if len(c.events) != 6 {
		t.Errorf("got %d events, want 6 (good, short, no ip, CRLF, mid-cell quote, quoted comma)", len(c.events))
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
		{"2026-11-20-scan6_rdp-be-geo.csv", "scan6_rdp"},
		{"2026-11-20-scan6_ssl-be-geo.csv", "scan6_ssl"},
		{"2026-11-20-scan6_ssl_poodle-be-geo.csv", "scan6_ssl_poodle"},
		{"2026-11-20-scan6_mqtt-be.csv", "scan6_mqtt"},
		{"2026-11-20-scan6_mqtt_anon-be.csv", "scan6_mqtt_anon"},
		{"2026-11-20-population6_http_proxy-be.csv", "population6_http_proxy"},
		{"2026-11-20-population_http_proxy-be.csv", "population_http_proxy"},
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

// reportSink is a collector that keeps report types and warnings, as the
// runner's sink does.
type reportSink struct {
	collector
	reports  []string
	warnings []error
	// firstBefore records whether the report type was known before the
	// first event or reject.
	firstBefore bool
}

func (s *reportSink) Report(name string) {
	if len(s.events)+len(s.rejects) == 0 {
		s.firstBefore = true
	}
	s.reports = append(s.reports, name)
}

func (s *reportSink) Warn(err error) { s.warnings = append(s.warnings, err) }

func TestProvenance(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	body := "timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\nbad,192.0.2.2,3389\n"
	for _, name := range []string{
		"2026-11-20-scan_rdp-belgium-geo.csv",
		"/var/lib/vigil/inbox/inbox/2026-11-20-scan_rdp-belgium-geo.csv",
		"https://dl.example.org/reports/2026-11-20-scan_rdp-belgium-geo.csv?id=7&key=secret",
	} {
		var s reportSink
		if err := p.Parse(context.Background(), pipeline.Input{Feed: "inbox", Name: name, Body: strings.NewReader(body)}, &s); err != nil {
			t.Fatal(err)
		}
		if len(s.events) != 1 || len(s.rejects) != 1 {
			t.Fatalf("%s: %d events, %d rejects", name, len(s.events), len(s.rejects))
		}
		if len(s.reports) != 1 || s.reports[0] != "Accessible-RDP" || !s.firstBefore {
			t.Errorf("%s: reports %v (before the first row: %v), want Accessible-RDP before the first row", name, s.reports, s.firstBefore)
		}
		r, _ := DefaultSchema().Report("scan_rdp")
		checkProvenance(t, 0, s.events[0], r, "2026-11-20-scan_rdp-belgium-geo.csv")
	}
}

// TestProvenanceWinsOverFeed runs a Shadowserver report through the runner
// of a feed called inbox: the report's feed name must survive the runner's
// labelling, which only fills in what the parser left unset.
func TestProvenanceWinsOverFeed(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []*event.Event
	out := outputFunc(func(_ context.Context, b *pipeline.Batch) error {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, b.Events...)
		return nil
	})
	st := dbtest.SQLite(t)
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st},
		Transport: pipeline.NewLocal(2),
		Feeds:     []*pipeline.Feed{{Name: "inbox", Provider: "local", Code: "inbox", Parser: p}},
		Outputs:   []pipeline.Output{out},
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Work(ctx)
	body := "timestamp,ip,port\n2026-11-20 00:00:00,192.0.2.1,3389\n"
	if err := r.Deliver(context.Background(), pipeline.Input{Feed: "inbox", Name: "2026-11-20-scan_rdp-be.csv", Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 {
		t.Fatalf("%d events", len(got))
	}
	for k, want := range map[string]string{"feed.name": "Accessible-RDP", "feed.provider": "Shadowserver", "feed.code": "scan_rdp"} {
		if v := got[0].Value(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
}

// outputFunc is a pipeline.Output from a function.
type outputFunc func(ctx context.Context, b *pipeline.Batch) error

func (f outputFunc) Write(ctx context.Context, b *pipeline.Batch) error { return f(ctx, b) }

// TestRaggedRows reads rows as IntelMQ does: missing trailing cells are
// empty, surplus empty cells are left out (both counted as warnings), and
// surplus cells holding something send the row to the dead letters.
func TestRaggedRows(t *testing.T) {
	p, err := New(DefaultSchema(), "scan_rdp")
	if err != nil {
		t.Fatal(err)
	}
	body := "timestamp,ip,port,hostname\n" +
		"2026-11-20 00:00:00,192.0.2.1,3389,a.example.net\n" + // line 2: exact
		"2026-11-20 00:00:01,192.0.2.2\n" + // line 3: two cells short
		"2026-11-20 00:00:02,192.0.2.3,3389,,,\n" + // line 4: two surplus empty cells
		"2026-11-20 00:00:03,192.0.2.4,3389,,x\n" // line 5: a surplus cell with text
	var s reportSink
	if err := p.Parse(context.Background(), pipeline.Input{Name: "x.csv", Body: strings.NewReader(body)}, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.events) != 3 {
		t.Fatalf("%d events, want 3", len(s.events))
	}
	if e := s.events[1]; e.Value("source.ip") != "192.0.2.2" || e.Has("source.port") || e.Has("source.reverse_dns") {
		t.Errorf("short row: %s", e.AppendJSON(nil))
	}
	if e := s.events[2]; e.Value("source.port") != "3389" {
		t.Errorf("surplus empty cells: %s", e.AppendJSON(nil))
	}
	if len(s.warnings) != 2 {
		t.Fatalf("warnings %v, want 2", s.warnings)
	}
	for i, w := range []struct {
		line int
		text string
	}{{3, "missing trailing cells were read as empty"}, {4, "2 surplus empty cells were left out"}} {
		var re *RowError
		if !errors.As(s.warnings[i], &re) || re.Line != w.line || !strings.Contains(re.Error(), w.text) {
			t.Errorf("warning %d: %v, want line %d saying %q", i, s.warnings[i], w.line, w.text)
		}
	}
	if len(s.rejects) != 1 {
		t.Fatalf("rejects %v, want 1", s.rejects)
	}
	var re *RowError
	if !errors.As(s.rejects[0].reason, &re) || re.Line != 5 || !strings.Contains(re.Error(), "5 cells, the header has 4 columns") {
		t.Errorf("reject: %v", s.rejects[0].reason)
	}
}

// TestEmptyRequiredCell pins the choice made for an empty required cell,
// after IntelMQ: the field is left unset and the row read, except an empty
// time, which IntelMQ's add_UTC_to_timestamp fails on; a required value a
// converter refuses fails the row.
func TestEmptyRequiredCell(t *testing.T) {
	p, err := New(DefaultSchema(), "scan_rdp")
	if err != nil {
		t.Fatal(err)
	}
	body := "timestamp,ip,port\n" +
		"2026-11-20 00:00:00,,3389\n" + // empty required ip: read without it
		",192.0.2.1,3389\n" + // empty required time: rejected
		"2026-11-20 00:00:00,not-an-ip,3389\n" // converter refuses: rejected
	var c collector
	if err := p.Parse(context.Background(), pipeline.Input{Name: "x.csv", Body: strings.NewReader(body)}, &c); err != nil {
		t.Fatal(err)
	}
	if len(c.events) != 1 || c.events[0].Has("source.ip") || c.events[0].Value("source.port") != "3389" {
		t.Fatalf("events: %d, first %v", len(c.events), c.events)
	}
	if len(c.rejects) != 2 {
		t.Fatalf("rejects: %v", c.rejects)
	}
	var re *RowError
	if !errors.As(c.rejects[0].reason, &re) || re.Line != 3 || re.Field != "time.source" || !errors.Is(re, ErrMissing) {
		t.Errorf("empty time: %v", c.rejects[0].reason)
	}
	if !errors.As(c.rejects[1].reason, &re) || re.Line != 4 || re.Field != "source.ip" {
		t.Errorf("bad ip: %v", c.rejects[1].reason)
	}
}

// TestHeaderIsNotData: the header of a CSV report, and blank lines before
// it, are said to carry no data, so that lines read count data rows only.
func TestHeaderIsNotData(t *testing.T) {
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile("testdata/blocklist.csv")
	if err != nil {
		t.Fatal(err)
	}
	input := append([]byte("\n"), raw...)
	var c collector
	if err := p.Parse(context.Background(), pipeline.Input{Feed: "test", Name: "2026-12-01-blocklist-test-geo.csv", Body: bytes.NewReader(input)}, &c); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Count(input, []byte("\n"))
	if c.notData != 2 || c.notData+len(c.events)+len(c.rejects) != lines {
		t.Errorf("not data %d, events %d, rejects %d of %d lines; want the blank line and the header, and the rest rows",
			c.notData, len(c.events), len(c.rejects), lines)
	}
}

// roomSink is a collector that says how many fields the pipeline adds
// after the parser (pipeline.RoomTeller).
type roomSink struct {
	collector
	room int
}

func (s *roomSink) Room([]string) int { return s.room }

// TestEventsLeaveTheRoomTheSinkSays checks that an event has room for as
// many more fields as the sink says the pipeline adds, CSV and JSON
// alike: setting them does not grow its fields. (40 is more than
// event.PipelineRoom, which a sink that says nothing gets.)
func TestEventsLeaveTheRoomTheSinkSays(t *testing.T) {
	const room = 40
	p, _ := New(DefaultSchema(), "")
	for _, file := range []string{"testdata/scan_rdp.csv", "testdata/scan_rdp.json"} {
		t.Run(file, func(t *testing.T) {
			f, err := os.Open(file)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s := &roomSink{room: room}
			if err := p.Parse(context.Background(), pipeline.Input{Name: "2026-11-20-" + filepath.Base(file), Body: f}, s); err != nil {
				t.Fatal(err)
			}
			if len(s.events) == 0 {
				t.Fatal("no events")
			}
			for _, e := range s.events {
				n := e.Len()
				allocs := testing.AllocsPerRun(1, func() {
					// A copy sharing e's fields, so that every run
					// starts from e's own length.
					c := *e
					for _, k := range roomKeys[:room] {
						c.SetTrusted(k, "1")
					}
				})
				if allocs != 0 {
					t.Fatalf("an event of %d fields allocated %v times taking %d more", n, allocs, room)
				}
			}
		})
	}
}

// roomKeys are keys that sort after every key a Shadowserver event has.
var roomKeys = func() []string {
	keys := make([]string, 64)
	for i := range keys {
		keys[i] = fmt.Sprintf("~room.%02d", i)
	}
	return keys
}()

package shadowserver

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// newerSchema adds a report type the embedded schema does not have and
// changes one it has.
const newerSchema = `{
  "_meta": {"date_created": "2027-01-01T00:00:00Z"},
  "scan_gopher": {
    "constant_fields": {
      "classification.identifier": "accessible-gopher",
      "classification.taxonomy": "vulnerable",
      "classification.type": "potentially-unwanted-accessible",
      "protocol.application": "gopher"
    },
    "feed_name": "Accessible-Gopher",
    "file_name": "scan_gopher",
    "required_fields": [
      ["time.source", "timestamp", "add_UTC_to_timestamp"],
      ["source.ip", "ip", "validate_ip"],
      ["source.port", "port", "convert_int"]
    ],
    "optional_fields": [
      ["extra.", "menu_items", "convert_int"],
      ["source.tor_node", "tor", "set_tor_node"],
      [false, "internal_id"]
    ]
  },
  "scan_telnet": {
    "constant_fields": {
      "classification.identifier": "telnet-2027",
      "classification.taxonomy": "vulnerable",
      "classification.type": "vulnerable-system"
    },
    "feed_name": "Accessible-Telnet",
    "file_name": "scan_telnet",
    "required_fields": [
      ["time.source", "timestamp", "add_UTC_to_timestamp"],
      ["source.ip", "ip", "validate_ip"]
    ],
    "optional_fields": []
  },
  "broken_report": {
    "file_name": "broken_report",
    "required_fields": [["time.source", "timestamp", "no_such_converter"]]
  }
}`

const gopherCSV = "timestamp,ip,port,menu_items,tor,internal_id\n2027-01-02 03:04:05,192.0.2.70,70,12,yes,secret\n"

func checkNewerSchema(t *testing.T, p *Parser) {
	t.Helper()
	var c collector
	err := p.Parse(context.Background(), pipeline.Input{Name: "2027-01-02-scan_gopher-be-geo.csv", Body: strings.NewReader(gopherCSV)}, &c)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.events) != 1 {
		t.Fatalf("got %d events, rejects %v", len(c.events), c.rejects)
	}
	got := string(c.events[0].AppendJSON(nil))
	for _, want := range []string{`"classification.identifier": "accessible-gopher"`, `"extra.menu_items": 12`,
		`"source.tor_node": true`, `"source.port": 70`} {
		if !strings.Contains(got, want) {
			t.Errorf("event lacks %s: %s", want, got)
		}
	}
	if strings.Contains(got, "secret") {
		t.Errorf("ignored column kept: %s", got)
	}
	// The replaced report uses the newer mapping, the others are kept.
	if r, _ := p.Schema().Report("scan_telnet"); r == nil || r.constants[0].Value != "telnet-2027" {
		t.Errorf("scan_telnet not replaced: %+v", r)
	}
	if _, ok := p.Schema().Report("scan_rdp"); !ok {
		t.Error("embedded scan_rdp lost")
	}
	if _, ok := p.Schema().Report("broken_report"); ok {
		t.Error("a report with an unknown converter was loaded")
	}
}

func TestSchemaFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "schema.json")
	if err := os.WriteFile(name, []byte(newerSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{"schema_file": name})
	if err != nil {
		t.Fatal(err)
	}
	checkNewerSchema(t, p.(*Parser))
}

func TestSchemaFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		n := filepath.Join(dir, name)
		if err := os.WriteFile(n, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return n
	}
	tests := map[string]string{
		"missing":   filepath.Join(dir, "nope.json"),
		"not json":  write("bad.json", "{"),
		"no report": write("empty.json", `{"_meta": {}}`),
		"all bad":   write("allbad.json", `{"x": {"file_name": "x", "constant_fields": {"classification.type": "nonsense"}}}`),
	}
	for name, file := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := pipeline.NewParser("shadowserver", pipeline.Env{}, pipeline.Options{"schema_file": file}); err == nil {
				t.Error("no error")
			}
		})
	}
}

func TestSchemaURL(t *testing.T) {
	var hits atomic.Int32
	var down atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if down.Load() {
			http.Error(w, "maintenance", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(newerSchema))
	}))
	defer srv.Close()
	dataDir := t.TempDir()
	env := pipeline.Env{HTTP: srv.Client(), DataDir: dataDir, Logger: slog.New(slog.DiscardHandler)}
	opts := pipeline.Options{"schema_url": srv.URL + "/intelmq/v1/schema"}

	p, err := pipeline.NewParser("shadowserver", env, opts)
	if err != nil {
		t.Fatal(err)
	}
	checkNewerSchema(t, p.(*Parser))
	if hits.Load() != 1 {
		t.Errorf("fetched %d times at construction, want once", hits.Load())
	}
	cached, err := os.ReadFile(filepath.Join(dataDir, CacheFile))
	if err != nil || string(cached) != newerSchema {
		t.Fatalf("cache not written: %v", err)
	}

	t.Run("server down, cache kept", func(t *testing.T) {
		down.Store(true)
		defer down.Store(false)
		p, err := pipeline.NewParser("shadowserver", env, opts)
		if err != nil {
			t.Fatal(err)
		}
		checkNewerSchema(t, p.(*Parser))
	})
	t.Run("server down, no cache", func(t *testing.T) {
		down.Store(true)
		defer down.Store(false)
		env := env
		env.DataDir = t.TempDir()
		if _, err := pipeline.NewParser("shadowserver", env, opts); err == nil {
			t.Error("no error without schema and cache")
		}
	})
	t.Run("garbage from server keeps the cache", func(t *testing.T) {
		bad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html>not a schema</html>"))
		}))
		defer bad.Close()
		if _, err := pipeline.NewParser("shadowserver", env, pipeline.Options{"schema_url": bad.URL}); err != nil {
			t.Fatal(err)
		}
		cached, _ := os.ReadFile(filepath.Join(dataDir, CacheFile))
		if string(cached) != newerSchema {
			t.Error("a schema that does not parse replaced the cache")
		}
	})
}

func TestParseSchemaSkipsBadReports(t *testing.T) {
	s, err := ParseSchema([]byte(newerSchema))
	if err != nil {
		t.Fatal(err)
	}
	skipped := s.Skipped()
	if skipped == nil || !strings.Contains(skipped.Error(), "no_such_converter") {
		t.Errorf("Skipped() = %v", skipped)
	}
	if _, err := ParseSchema([]byte(`{"_meta": {}}`)); !errors.Is(err, ErrNoReports) {
		t.Errorf("got %v, want ErrNoReports", err)
	}
}

func TestUnknownFieldGoesToExtra(t *testing.T) {
	s, err := ParseSchema([]byte(`{"r": {"file_name": "r",
		"required_fields": [["time.source", "timestamp"]],
		"optional_fields": [["source.future_field", "ff"]]}}`))
	if err != nil {
		t.Fatal(err)
	}
	p, _ := New(s, "r")
	var c collector
	err = p.Parse(context.Background(), pipeline.Input{Body: strings.NewReader("timestamp,ff\n2026-11-20 00:00:00,x\n")}, &c)
	if err != nil || len(c.events) != 1 {
		t.Fatalf("%v %v", err, c.rejects)
	}
	if v := c.events[0].Value("extra.source.future_field"); v != `"x"` {
		t.Errorf("extra.source.future_field = %q", v)
	}
}

// TestUnknownConverterInSchemaFile: a downloaded schema naming a converter
// Vigil does not know leaves that report out with a warning naming the
// report type, the list, the field, the column and the converter; the
// other reports load, and a file with no usable report is an error
// saying why, never a crash.
func TestUnknownConverterInSchemaFile(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "schema.json")
	doc := `{
		"scan_future": {"feed_name": "Accessible-Future", "file_name": "scan_future",
			"constant_fields": {"classification.type": "vulnerable-system", "classification.taxonomy": "vulnerable", "classification.identifier": "accessible-future"},
			"required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "ip", "validate_ip"]],
			"optional_fields": [["source.port", "port", "convert_int"], ["extra.quantum", "qbits", "convert_qubits"]]},
		"scan_fine": {"feed_name": "Accessible-Fine", "file_name": "scan_fine",
			"constant_fields": {"classification.type": "vulnerable-system", "classification.taxonomy": "vulnerable", "classification.identifier": "accessible-fine"},
			"required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "ip"]]}
	}`
	if err := os.WriteFile(name, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	env := pipeline.Env{Logger: slog.New(slog.NewTextHandler(&logs, nil))}
	p, err := newFromOptions(env, pipeline.Options{"schema_file": name})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"report left out", "scan_future", "optional_fields[1]", "field extra.quantum", `column \"qbits\"`, `unknown converter \"convert_qubits\"`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log lacks %s:\n%s", want, logs.String())
		}
	}
	pp := p.(*Parser)
	if _, ok := pp.Schema().Report("scan_future"); ok {
		t.Error("the report with the unknown converter was loaded")
	}
	if _, ok := pp.Schema().Report("scan_fine"); !ok {
		t.Error("the good report of the file was lost")
	}
	var c collector
	err = pp.Parse(context.Background(), pipeline.Input{Name: "2026-11-20-scan_future-be.csv", Body: strings.NewReader("timestamp,ip\n")}, &c)
	if !errors.Is(err, ErrUnknownReport) {
		t.Errorf("parsing the left-out report: %v", err)
	}
	// The input's error, shown on the feeds page, says why the report
	// cannot be read, not only that its type is unknown.
	for _, want := range []string{"scan_future", "optional_fields[1]", `unknown converter "convert_qubits"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the input's error lacks %s: %v", want, err)
		}
	}
	if _, err := newFromOptions(env, pipeline.Options{"schema_file": name, "report": "scan_future"}); !errors.Is(err, ErrUnknownReport) {
		t.Errorf("fixing the left-out report: %v", err)
	}

	// With nothing usable left, the file is an error that says why.
	only := filepath.Join(dir, "only.json")
	bad := strings.Replace(doc, `"add_UTC_to_timestamp"], ["source.ip", "ip"]]}`, `"convert_nothing"], ["source.ip", "ip"]]}`, 1)
	if err := os.WriteFile(only, []byte(bad), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = newFromOptions(pipeline.Env{}, pipeline.Options{"schema_file": only})
	if err == nil || !errors.Is(err, ErrNoReports) {
		t.Fatalf("a schema without a usable report: %v", err)
	}
	for _, want := range []string{"scan_fine", "required_fields[0]", "field time.source", `column "timestamp"`, `unknown converter "convert_nothing"`, "scan_future"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %s: %v", want, err)
		}
	}
}

// TestMergeReplacesByFileName: Shadowserver's schema keys the sinkhole
// report "event_sinkhole" where the built-in one says "event4_sinkhole";
// the downloaded entry must replace the built-in one, not sit beside it
// while detection keeps picking the old one.
func TestMergeReplacesByFileName(t *testing.T) {
	downloaded, err := ParseSchema([]byte(`{"event_sinkhole": {
	  "constant_fields": {"classification.identifier": "downloaded-sinkhole",
	    "classification.taxonomy": "malicious-code", "classification.type": "infected-system"},
	  "feed_name": "Sinkhole-Events", "file_name": "event4_sinkhole",
	  "required_fields": [["time.source", "timestamp", "add_UTC_to_timestamp"], ["source.ip", "src_ip", "validate_ip"]],
	  "optional_fields": []}}`))
	if err != nil {
		t.Fatal(err)
	}
	merged := DefaultSchema().Merge(downloaded)
	for _, typ := range merged.Types() {
		if typ == "event4_sinkhole" {
			t.Errorf("the built-in event4_sinkhole entry survived the merge")
		}
	}
	r, ok := merged.Detect("2026-11-20-event4_sinkhole-belgium-geo.csv")
	if !ok || r.Type != "event_sinkhole" {
		t.Fatalf("Detect picked %+v, want the downloaded event_sinkhole", r)
	}
	var sink collector
	p, err := New(merged, "")
	if err != nil {
		t.Fatal(err)
	}
	in := pipeline.Input{Name: "2026-11-20-event4_sinkhole-belgium-geo.csv",
		Body: strings.NewReader("timestamp,src_ip\n2026-11-20 00:00:00,192.0.2.1\n")}
	if err := p.Parse(context.Background(), in, &sink); err != nil {
		t.Fatal(err)
	}
	if len(sink.events) != 1 {
		t.Fatalf("got %d events", len(sink.events))
	}
	e := sink.events[0]
	if got := e.Value("classification.identifier"); got != "downloaded-sinkhole" {
		t.Errorf("identifier %q: the downloaded mapping was not used", got)
	}
	if got := e.Value("feed.code"); got != "event4_sinkhole" {
		t.Errorf("feed.code %q, want the file name event4_sinkhole whichever schema keyed it", got)
	}
}

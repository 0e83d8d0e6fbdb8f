package shadowserver

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/cputime"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// TestGenerateParses checks that every synthetic report parses without a
// reject, in the columns the schema expects, with addresses from the
// prefixes asked for.
func TestGenerateParses(t *testing.T) {
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16"), netip.MustParsePrefix("2001:db8:42::/48")}
	start := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	p, err := New(DefaultSchema(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(Reports()) < 14 {
		t.Errorf("only %d reports", len(Reports()))
	}
	for _, report := range Reports() {
		t.Run(report, func(t *testing.T) {
			if _, ok := DefaultSchema().Report(report); !ok {
				t.Fatalf("Generate knows %s, the schema does not", report)
			}
			var buf bytes.Buffer
			const rows = 200
			err := Generate(&buf, report, rows, rand.New(rand.NewPCG(1, 2)), GenerateOptions{Prefixes: prefixes, Start: start, Step: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			// Valid CSV by the standard library's reading too.
			if _, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll(); err != nil {
				t.Fatalf("not CSV: %v", err)
			}
			var c collector
			name := fmt.Sprintf("2026-11-20-%s-synthetic-geo.csv", report)
			if err := p.Parse(context.Background(), pipeline.Input{Name: name, Body: &buf}, &c); err != nil {
				t.Fatal(err)
			}
			for _, r := range c.rejects {
				t.Errorf("reject: %v", r.reason)
			}
			if len(c.events) != rows {
				t.Fatalf("%d events, want %d", len(c.events), rows)
			}
			for i, e := range c.events {
				a, err := netip.ParseAddr(e.Value("source.ip"))
				if err != nil || !(prefixes[0].Contains(a) || prefixes[1].Contains(a)) {
					t.Errorf("event %d: source.ip %q outside the prefixes", i, e.Value("source.ip"))
				}
				if got, want := e.Value("time.source"), event.FormatTime(start.Add(time.Duration(i)*time.Minute)); got != want {
					t.Errorf("event %d: time.source %s, want %s", i, got, want)
				}
			}
		})
	}
}

func TestGenerateDeterministic(t *testing.T) {
	gen := func() []byte {
		var buf bytes.Buffer
		if err := Generate(&buf, "scan_ssl", 50, rand.New(rand.NewPCG(7, 7)), GenerateOptions{}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	if !bytes.Equal(gen(), gen()) {
		t.Error("same seed, different output")
	}
}

func TestGenerateUnknownReport(t *testing.T) {
	if err := Generate(io.Discard, "scan_nothing", 1, rand.New(rand.NewPCG(1, 1)), GenerateOptions{}); err == nil {
		t.Error("no error")
	}
}

func TestRandomAddr(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, s := range []string{"192.0.2.0/24", "10.0.0.0/8", "198.51.100.7/32", "2001:db8::/32", "2001:db8::/127", "0.0.0.0/0"} {
		p := netip.MustParsePrefix(s)
		for range 100 {
			if a := randomAddr(rng, p); !p.Contains(a) {
				t.Fatalf("%v not in %v", a, p)
			}
		}
	}
}

// discard is a sink that keeps nothing, so the benchmark measures parsing.
type discard struct{ events, rejects int }

func (d *discard) Event(*event.Event) error { d.events++; return nil }
func (d *discard) Reject([]byte, error)     { d.rejects++ }

// benchReports are the reports the parsing benchmarks read.
var benchReports = []string{"scan_rdp", "scan_telnet", "event4_sinkhole_http", "scan_ssl"}

// BenchmarkParse measures rows per second for a few reports on one core:
// go test ./internal/shadowserver -run '^$' -bench Parse -benchmem -cpu 1
func BenchmarkParse(b *testing.B) {
	for _, report := range benchReports {
		b.Run(report, func(b *testing.B) { benchParse(b, report, false) })
	}
}

// BenchmarkParseJSON reads the same rows as BenchmarkParse, written as the
// Reports API writes them (a JSON array, integers as numbers, empty cells
// null or left out).
func BenchmarkParseJSON(b *testing.B) {
	for _, report := range benchReports {
		b.Run(report, func(b *testing.B) { benchParse(b, report, true) })
	}
}

func benchParse(b *testing.B, report string, asJSON bool) {
	const rows = 10000
	var buf bytes.Buffer
	if err := Generate(&buf, report, rows, rand.New(rand.NewPCG(1, 1)), GenerateOptions{}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	name := "report.csv"
	if asJSON {
		var err error
		if data, err = csvToTwin(data); err != nil {
			b.Fatal(err)
		}
		name = "report.json"
	}
	p, err := New(DefaultSchema(), report)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	cpu0 := cputime.Process()
	b.ResetTimer()
	for b.Loop() {
		var d discard
		if err := p.Parse(context.Background(), pipeline.Input{Name: name, Body: bytes.NewReader(data)}, &d); err != nil {
			b.Fatal(err)
		}
		if d.events != rows {
			b.Fatalf("%d events, %d rejects", d.events, d.rejects)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	// On a shared machine wall time says little; CPU time spent
	// per row (GC included) is what capacity planning needs.
	if cpu := cputime.Process() - cpu0; cpu > 0 {
		b.ReportMetric(float64(rows*b.N)/cpu.Seconds(), "rows/cpu-s")
	}
}

// TestGenerateEvents: every generated row becomes one event, named after
// the file it was parsed as; an unknown report is an error.
func TestGenerateEvents(t *testing.T) {
	const name = "2026-11-20-scan_rdp-test-geo.csv"
	events, err := GenerateEvents(name, "scan_rdp", 25, rand.New(rand.NewPCG(3, 4)), GenerateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 25 {
		t.Fatalf("%d events of 25 rows", len(events))
	}
	for _, e := range events {
		if got := e.Value("extra.file_name"); got != `"`+name+`"` {
			t.Fatalf("extra.file_name = %s, want %q", got, name)
		}
		if e.Value("source.ip") == "" {
			t.Fatalf("an event without source.ip: %v", e.Fields())
		}
	}
	if _, err := GenerateEvents(name, "no_such_report", 1, rand.New(rand.NewPCG(3, 4)), GenerateOptions{}); err == nil {
		t.Error("an unknown report made events")
	}
}

package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
	_ "github.com/vigil-cert/vigil/internal/standard"
)

type countSink struct {
	events  int
	rejects []string
}

func (s *countSink) Event(e *event.Event) error { s.events++; return nil }
func (s *countSink) Reject(input []byte, reason error) {
	s.rejects = append(s.rejects, reason.Error())
}

// TestDemoReportsParse checks that every demo file is recognised by the
// default inbox and parses cleanly, except the one broken on purpose.
func TestDemoReportsParse(t *testing.T) {
	dir := t.TempDir()
	if err := demo.WriteReports(dir, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), 1); err != nil {
		t.Fatal(err)
	}
	parser, err := pipeline.NewParser("auto", pipeline.Env{}, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	files, _ := os.ReadDir(dir)
	if len(files) < 16 {
		t.Fatalf("only %d demo files", len(files))
	}
	total := 0
	for _, f := range files {
		t.Run(f.Name(), func(t *testing.T) {
			if strings.HasPrefix(f.Name(), ".") {
				t.Fatalf("temporary file left behind")
			}
			r, err := os.Open(filepath.Join(dir, f.Name()))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			s := &countSink{}
			if err := parser.Parse(context.Background(), pipeline.Input{Feed: "inbox", Name: f.Name(), Body: r}, s); err != nil {
				t.Fatal(err)
			}
			want := 0
			if strings.Contains(f.Name(), "broken") {
				want = 2
			}
			if len(s.rejects) != want || s.events == 0 {
				t.Fatalf("%d events, rejects %v (want %d)", s.events, s.rejects, want)
			}
			total += s.events
		})
	}
	if total < 3000 {
		t.Fatalf("demo has only %d events", total)
	}
}

func TestPrepareConfiguresEnrichment(t *testing.T) {
	data := t.TempDir()
	set, err := demo.Prepare(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	set.Configure(&cfg)
	env := pipeline.Env{DataDir: data}
	for _, s := range cfg.Pipeline.Enrichers {
		if s.ID != "asn" && s.ID != "geoip" {
			continue
		}
		en, err := pipeline.NewEnricher(s.ID, env, s.Options)
		if err != nil {
			t.Fatalf("%s: %v", s.ID, err)
		}
		e := event.New(4)
		e.SetTrusted("source.ip", "198.18.4.5")
		b := &pipeline.Batch{Events: []*event.Event{e}}
		if err := en.Enrich(context.Background(), b); err != nil {
			t.Fatal(err)
		}
		if s.ID == "asn" && e.Value("source.asn") != "64499" {
			t.Errorf("asn enrichment: %s", e.AppendJSON(nil))
		}
		if s.ID == "geoip" && e.Value("source.geolocation.cc") != "BE" {
			t.Errorf("geoip enrichment: %s", e.AppendJSON(nil))
		}
	}
}

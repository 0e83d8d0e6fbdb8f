package demo_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/incident/alert"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// typeSink counts the parsed events by classification type.
type typeSink struct{ types map[string]int }

func (s *typeSink) Event(e *event.Event) error {
	v, _ := e.Get("classification.type")
	s.types[v]++
	return nil
}
func (s *typeSink) Reject([]byte, error) {}

// TestDemoAlerts: the demo configures its alert rules (valid ones,
// unless the configuration has its own), and its reports hold events
// each rule chooses, so the demo's queue shows alerts.
func TestDemoAlerts(t *testing.T) {
	data := t.TempDir()
	set, err := demo.Prepare(data)
	if err != nil {
		t.Fatal(err)
	}
	cfg := config.Default()
	set.Configure(&cfg)
	if len(cfg.IncidentAlerts.Rules) != len(demo.AlertRules) {
		t.Fatalf("demo rules: %+v", cfg.IncidentAlerts.Rules)
	}
	if err := cfg.IncidentAlerts.Validate(); err != nil {
		t.Fatal(err)
	}
	own := config.Default()
	own.IncidentAlerts.Rules = []alert.Rule{{Type: "scanner"}}
	set.Configure(&own)
	if len(own.IncidentAlerts.Rules) != 1 || own.IncidentAlerts.Rules[0].Type != "scanner" {
		t.Errorf("the demo replaced the configured rules: %+v", own.IncidentAlerts.Rules)
	}

	dir := t.TempDir()
	if err := demo.WriteReports(dir, time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC), 1); err != nil {
		t.Fatal(err)
	}
	parser, err := pipeline.NewParser("auto", pipeline.Env{}, pipeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sink := &typeSink{types: map[string]int{}}
	files, _ := os.ReadDir(dir)
	for _, f := range files {
		r, err := os.Open(filepath.Join(dir, f.Name()))
		if err != nil {
			t.Fatal(err)
		}
		err = parser.Parse(context.Background(), pipeline.Input{Feed: "inbox", Name: f.Name(), Body: r}, sink)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range demo.AlertRules {
		if sink.types[r.Type] == 0 {
			t.Errorf("no demo event of type %s for the rule %q (types: %v)", r.Type, r.Name, sink.types)
		}
	}
}

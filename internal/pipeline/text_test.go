package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// repairingParser stands for a parser read with invalid_utf8: replace that
// repaired three bytes of its input.
type repairingParser struct{}

func (repairingParser) Parse(ctx context.Context, in pipeline.Input, sink pipeline.Sink) error {
	pipeline.CountInvalidUTF8(sink, 3)
	e := event.New(4)
	e.SetTrusted("source.ip", "192.0.2.1")
	e.SetTrusted("classification.type", "scanner")
	return sink.Event(e)
}

func TestReplacedInvalidUTF8IsAMetricPerFeed(t *testing.T) {
	st := openStore(t)
	reg := prometheus.NewRegistry()
	metrics := pipeline.NewMetrics(reg)
	r := pipeline.NewRunner(pipeline.RunnerConfig{
		Env:       pipeline.Env{Store: st, Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }},
		Transport: pipeline.NewLocal(1),
		Feeds:     []*pipeline.Feed{{Name: "latin", ParserID: "repairing", Parser: repairingParser{}}},
		Outputs:   []pipeline.Output{storeOutput{st}}, BatchSize: 2, Workers: 1, Metrics: metrics,
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go r.Work(ctx)
	for range 2 {
		if err := r.Deliver(ctx, pipeline.Input{Feed: "latin", Name: "a.txt", Body: strings.NewReader("x\n")}); err != nil {
			t.Fatal(err)
		}
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := -1.0
	for _, f := range families {
		if f.GetName() != "vigil_pipeline_invalid_utf8_replaced_bytes_total" {
			continue
		}
		for _, m := range f.GetMetric() {
			if l := m.GetLabel(); len(l) == 1 && l[0].GetValue() == "latin" {
				got = m.GetCounter().GetValue()
			}
		}
	}
	if got != 6 {
		t.Fatalf("vigil_pipeline_invalid_utf8_replaced_bytes_total{feed=\"latin\"} = %v, want 6", got)
	}
}

func TestTextOptions(t *testing.T) {
	tests := []struct {
		name string
		opts pipeline.Options
		want pipeline.TextOptions
		err  string
	}{
		{"strict by default", pipeline.Options{}, pipeline.TextOptions{}, ""},
		{"replace", pipeline.Options{"invalid_utf8": "replace"}, pipeline.TextOptions{ReplaceInvalidUTF8: true}, ""},
		{"reject said out loud", pipeline.Options{"invalid_utf8": "reject"}, pipeline.TextOptions{}, ""},
		{"epoch seconds", pipeline.Options{"epoch_seconds": true}, pipeline.TextOptions{EpochSeconds: true}, ""},
		{"unknown mode", pipeline.Options{"invalid_utf8": "latin1"}, pipeline.TextOptions{}, `option invalid_utf8: want one of reject, replace, got "latin1"`},
		{"epoch not a boolean", pipeline.Options{"epoch_seconds": "often"}, pipeline.TextOptions{}, "option epoch_seconds"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.opts.TextOptions()
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %+v, %v; want %+v", got, err, tt.want)
			}
		})
	}
}

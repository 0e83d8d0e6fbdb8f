package pipeline_test

import (
	"testing"

	"github.com/vigil-cert/vigil/internal/pipeline"
)

// TestRegisteredNameDetector checks that a registered detector is asked
// before the extensions, after the names of single sources, and that a
// name it does not know still goes by its extension.
func TestRegisteredNameDetector(t *testing.T) {
	pipeline.RegisterNameDetector(func(name string) string {
		if name == "2026-11-20-fake_report.json" || name == "cowrie-fake_report.json" {
			return "fake"
		}
		return ""
	})
	for name, want := range map[string]string{
		"2026-11-20-fake_report.json": "fake",
		"cowrie-fake_report.json":     "cowrie",
		"2026-11-20-other.json":       "intelmq",
		"events.jsonl":                "intelmq",
	} {
		if got := pipeline.DetectParser(name); got != want {
			t.Errorf("DetectParser(%q) = %q, want %q", name, got, want)
		}
	}
}

package cli

import (
	"context"
	"testing"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
)

// inputRecorder keeps the inputs added to runs.
type inputRecorder struct {
	feedadmin.Runs
	inputs []feedadmin.RunInput
}

func (r *inputRecorder) AddFeedRunInput(_ context.Context, _ int64, in feedadmin.RunInput) error {
	r.inputs = append(r.inputs, in)
	return nil
}

// TestFeedRunLogNamesInputs: the runner's record of an input reaches the
// feeds' history with the input's name and its error, with its message.
func TestFeedRunLogNamesInputs(t *testing.T) {
	rec := &inputRecorder{}
	d := pipeline.Delivery{Name: "2026-11-20-scan_rdp.csv", LinesRead: 4, Parsed: 3, DeadLetters: 1}
	problem := i18n.M("pipeline.reject.line", 2, "bad")
	if err := (feedRunLog{runs: rec}).AddRunInput(t.Context(), 7, d, "line 2: bad", problem); err != nil {
		t.Fatal(err)
	}
	want := feedadmin.RunInput{Name: "2026-11-20-scan_rdp.csv", LinesRead: 4, EventsParsed: 3, DeadLetters: 1, Error: "line 2: bad", Problem: problem}
	if len(rec.inputs) != 1 || rec.inputs[0] != want {
		t.Errorf("recorded %+v, want %+v", rec.inputs, want)
	}
}

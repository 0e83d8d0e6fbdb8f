package api

import (
	"fmt"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
)

// TestFeedRunInputNames: a feed's runs name what each read, the first
// feedadmin.RunInputNames inputs, in the document's schema.
func TestFeedRunInputNames(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	id, err := f.store.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	for i := range feedadmin.RunInputNames + 3 {
		if err := f.store.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: fmt.Sprintf("2026-11-%02d-scan_rdp.csv", i+1), LinesRead: 2}); err != nil {
			t.Fatal(err)
		}
	}
	r := f.get("/feeds/inbox", "ana")
	checkSchema(t, "FeedDetail", r.body)
	in := decode[feedDetailJSON](t, r)
	if len(in.Runs) != 1 {
		t.Fatalf("runs %+v", in.Runs)
	}
	run := in.Runs[0]
	if run.Inputs != feedadmin.RunInputNames+3 || len(run.InputNames) != feedadmin.RunInputNames ||
		run.InputNames[0] != "2026-11-01-scan_rdp.csv" || run.InputNames[19] != "2026-11-20-scan_rdp.csv" {
		t.Errorf("run %+v", run)
	}
}

// Package feedadmintest is the contract of the feeds' administration
// data: overrides, run requests and the history of runs, answered alike
// by feedadmindb on SQLite and on PostgreSQL.
package feedadmintest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

var base = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// Run runs the contract. open returns a fresh store of its own for every
// call, migrated with feedadmindb.Schema.
func Run(t *testing.T, open func(t *testing.T) feedadmin.Data) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s feedadmin.Data)
	}{
		{"overrides", testOverrides},
		{"run requests are taken once", testRunRequests},
		{"runs are counted and bounded", testRuns},
		{"runs keep their inputs' names", testRunInputs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open(t)) })
	}
}

func ptr(b bool) *bool { return &b }

func testOverrides(t *testing.T, s feedadmin.Data) {
	ctx := t.Context()
	v0, err := s.FeedOverridesVersion(ctx)
	if err != nil {
		t.Fatalf("FeedOverridesVersion: %v", err)
	}
	if _, err := s.GetFeedOverride(ctx, "blocklist"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetFeedOverride(none) = %v, want ErrNotFound", err)
	}
	def := []byte("name: blocklist\ncollector: http\nparser: csv\n")
	if err := s.PutFeedDefinition(ctx, "blocklist", def, "alice", base); err != nil {
		t.Fatalf("PutFeedDefinition: %v", err)
	}
	if err := s.SetFeedPaused(ctx, "blocklist", ptr(true), "bob", base.Add(time.Minute)); err != nil {
		t.Fatalf("SetFeedPaused: %v", err)
	}
	o, err := s.GetFeedOverride(ctx, "blocklist")
	if err != nil || string(o.Definition) != string(def) || o.Paused == nil || !*o.Paused || o.UpdatedBy != "bob" || !o.Updated.Equal(base.Add(time.Minute)) {
		t.Errorf("override after definition and pause = %+v, %v", o, err)
	}
	// Pausing a file's feed keeps no definition; resuming it to "as the
	// file says" leaves nothing to keep.
	if err := s.SetFeedPaused(ctx, "inbox", ptr(true), "alice", base); err != nil {
		t.Fatalf("SetFeedPaused(inbox): %v", err)
	}
	if o, err := s.GetFeedOverride(ctx, "inbox"); err != nil || o.Definition != nil || o.Paused == nil || !*o.Paused {
		t.Errorf("paused file feed = %+v, %v", o, err)
	}
	if err := s.SetFeedPaused(ctx, "inbox", nil, "alice", base); err != nil {
		t.Fatalf("SetFeedPaused(inbox, nil): %v", err)
	}
	if _, err := s.GetFeedOverride(ctx, "inbox"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("override with neither definition nor state = %v, want ErrNotFound", err)
	}
	// A new definition keeps the paused state.
	def2 := []byte("name: blocklist\ncollector: http\nparser: json\n")
	if err := s.PutFeedDefinition(ctx, "blocklist", def2, "carol", base.Add(2*time.Minute)); err != nil {
		t.Fatalf("PutFeedDefinition again: %v", err)
	}
	list, err := s.ListFeedOverrides(ctx)
	if err != nil || len(list) != 1 || string(list[0].Definition) != string(def2) || list[0].Paused == nil || !*list[0].Paused {
		t.Errorf("ListFeedOverrides = %+v, %v", list, err)
	}
	if err := s.PutFeedDefinition(ctx, "empty", nil, "alice", base); err == nil {
		t.Error("PutFeedDefinition(empty definition) succeeded")
	}
	if err := s.DeleteFeedOverride(ctx, "blocklist"); err != nil {
		t.Fatalf("DeleteFeedOverride: %v", err)
	}
	if err := s.DeleteFeedOverride(ctx, "blocklist"); err != nil {
		t.Errorf("DeleteFeedOverride(none): %v", err)
	}
	if list, err := s.ListFeedOverrides(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListFeedOverrides after delete = %+v, %v", list, err)
	}
	// Every change moved the version on.
	if v, err := s.FeedOverridesVersion(ctx); err != nil || v != v0+7 {
		t.Errorf("FeedOverridesVersion = %d, %v; want %d", v, err, v0+7)
	}
}

func testRunRequests(t *testing.T, s feedadmin.Data) {
	ctx := t.Context()
	if _, ok, err := s.TakeFeedRunRequest(ctx, "inbox"); ok || err != nil {
		t.Errorf("TakeFeedRunRequest(none) = %v, %v", ok, err)
	}
	if err := s.RequestFeedRun(ctx, "inbox", "alice", base); err != nil {
		t.Fatalf("RequestFeedRun: %v", err)
	}
	if err := s.RequestFeedRun(ctx, "inbox", "bob", base.Add(time.Second)); err != nil {
		t.Fatalf("RequestFeedRun again: %v", err)
	}
	list, err := s.ListFeedRunRequests(ctx)
	if err != nil || len(list) != 1 || list[0].RequestedBy != "bob" || !list[0].Requested.Equal(base.Add(time.Second)) {
		t.Fatalf("ListFeedRunRequests = %+v, %v", list, err)
	}
	// Of several takers, exactly one gets the request.
	var wg sync.WaitGroup
	var mu sync.Mutex
	got := 0
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, ok, err := s.TakeFeedRunRequest(ctx, "inbox")
			if err != nil {
				t.Errorf("TakeFeedRunRequest: %v", err)
				return
			}
			if ok {
				mu.Lock()
				got++
				mu.Unlock()
				if req.RequestedBy != "bob" {
					t.Errorf("taken request = %+v", req)
				}
			}
		}()
	}
	wg.Wait()
	if got != 1 {
		t.Errorf("%d takers got the request, want 1", got)
	}
	if list, err := s.ListFeedRunRequests(ctx); err != nil || len(list) != 0 {
		t.Errorf("ListFeedRunRequests after taking = %+v, %v", list, err)
	}
}

// testRunInputs: a run keeps the names of its first RunInputNames
// inputs in order, counts the others, and cuts a long name.
func testRunInputs(t *testing.T, s feedadmin.Data) {
	ctx := t.Context()
	id, err := s.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerConsole, Started: base})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: base.Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("é", feedadmin.MaxInputName)
	for i := range feedadmin.RunInputNames + 5 {
		name := fmt.Sprintf("file-%02d.csv", i)
		if i == 1 {
			name = long
		}
		if err := s.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: name, LinesRead: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.AddFeedRunInput(ctx, other, feedadmin.RunInput{Name: "other.csv"}); err != nil {
		t.Fatal(err)
	}
	// An input of a run forgotten is no error.
	if err := s.AddFeedRunInput(ctx, 999999, feedadmin.RunInput{Name: "lost.csv"}); err != nil {
		t.Errorf("an input of a forgotten run: %v", err)
	}
	runs, err := s.ListFeedRuns(ctx, "inbox", 0)
	if err != nil || len(runs) != 2 {
		t.Fatalf("ListFeedRuns = %+v, %v", runs, err)
	}
	if got := runs[0].InputNames; len(got) != 1 || got[0] != "other.csv" {
		t.Errorf("the newer run's inputs %q", got)
	}
	got := runs[1]
	if got.Inputs != feedadmin.RunInputNames+5 || len(got.InputNames) != feedadmin.RunInputNames {
		t.Fatalf("%d inputs, %d names; want %d and %d", got.Inputs, len(got.InputNames), feedadmin.RunInputNames+5, feedadmin.RunInputNames)
	}
	if got.InputNames[0] != "file-00.csv" || got.InputNames[feedadmin.RunInputNames-1] != fmt.Sprintf("file-%02d.csv", feedadmin.RunInputNames-1) {
		t.Errorf("names %q", got.InputNames)
	}
	if n := got.InputNames[1]; len(n) > feedadmin.MaxInputName || !strings.HasSuffix(n, "é…") {
		t.Errorf("a long name kept as %d bytes ending %q", len(n), n[len(n)-8:])
	}
	// Listed with a limit, the runs still have their own names.
	if runs, _ := s.ListFeedRuns(ctx, "inbox", 1); len(runs) != 1 || len(runs[0].InputNames) != 1 {
		t.Errorf("the newest run alone: %+v", runs)
	}
}

func testRuns(t *testing.T, s feedadmin.Data) {
	ctx := t.Context()
	id, err := s.StartFeedRun(ctx, feedadmin.Run{Feed: "blocklist", Trigger: feedadmin.TriggerConsole, RequestedBy: "alice", Started: base})
	if err != nil {
		t.Fatalf("StartFeedRun: %v", err)
	}
	// The first error stays, with its message.
	problem := i18n.M("pipeline.reject.line", 3, i18n.M("event.reason.ip"))
	if err := s.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: "https://example.org/list.csv", LinesRead: 10, EventsParsed: 8, DeadLetters: 2,
		Error: "line 3: bad address", Problem: problem}); err != nil {
		t.Fatalf("AddFeedRunInput: %v", err)
	}
	if err := s.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: "inbox/a\nb.csv", LinesRead: 5, EventsParsed: 5, Error: "later error",
		Problem: i18n.M("pipeline.reject.none")}); err != nil {
		t.Fatalf("AddFeedRunInput: %v", err)
	}
	if err := s.AddFeedRunEvents(ctx, id, 11, 2); err != nil {
		t.Fatalf("AddFeedRunEvents: %v", err)
	}
	if err := s.FinishFeedRun(ctx, id, base.Add(1500*time.Millisecond), "", i18n.Message{}); err != nil {
		t.Fatalf("FinishFeedRun: %v", err)
	}
	runs, err := s.ListFeedRuns(ctx, "blocklist", 10)
	if err != nil || len(runs) != 1 {
		t.Fatalf("ListFeedRuns = %+v, %v", runs, err)
	}
	want := feedadmin.Run{ID: id, Feed: "blocklist", Trigger: feedadmin.TriggerConsole, RequestedBy: "alice", Started: base,
		Finished: base.Add(1500 * time.Millisecond), Inputs: 2, InputNames: []string{"https://example.org/list.csv", "inbox/a?b.csv"},
		LinesRead: 15, EventsParsed: 13, EventsStored: 11, DeadLetters: 2, Duplicates: 2, Error: "line 3: bad address"}
	// A message read back has its numbers as int64: compared as stored.
	r := runs[0]
	if r.Problem.Encode() != problem.Encode() {
		t.Errorf("run's problem = %s, want %s", r.Problem.Encode(), problem.Encode())
	}
	if r.Problem = (i18n.Message{}); !reflect.DeepEqual(r, want) {
		t.Errorf("run = %+v\nwant %+v", r, want)
	}
	if d := runs[0].Duration(); d != 1500*time.Millisecond {
		t.Errorf("Duration = %v", d)
	}
	// A failure of the whole run replaces nothing silently: it is the
	// run's error when given, with its message in place of the input's.
	id2, _ := s.StartFeedRun(ctx, feedadmin.Run{Feed: "other", Trigger: feedadmin.TriggerSchedule, Started: base})
	if err := s.AddFeedRunInput(ctx, id2, feedadmin.RunInput{Name: "a.csv", Error: "line 3: bad address", Problem: problem}); err != nil {
		t.Fatal(err)
	}
	download := i18n.M("collector.http.status", "https://example.org/a.csv", "503 Service Unavailable")
	if err := s.FinishFeedRun(ctx, id2, base.Add(time.Second), "GET https://example.org/a.csv: 503 Service Unavailable", download); err != nil {
		t.Fatal(err)
	}
	runs, _ = s.ListFeedRuns(ctx, "other", 0)
	if len(runs) != 1 || runs[0].Error != "GET https://example.org/a.csv: 503 Service Unavailable" || runs[0].Problem.Encode() != download.Encode() || runs[0].Inputs != 1 {
		t.Errorf("failed run = %+v", runs)
	}
	for lang, want := range map[string]string{"en": "GET https://example.org/a.csv: 503 Service Unavailable",
		"nl": "https://example.org/a.csv ophalen: de server antwoordde 503 Service Unavailable",
		"fr": "télécharger https://example.org/a.csv : le serveur a répondu 503 Service Unavailable",
		"de": "https://example.org/a.csv abrufen: der Server antwortete 503 Service Unavailable"} {
		if len(runs) == 1 {
			if got := runs[0].Reason(i18n.Embedded(), lang); got != want {
				t.Errorf("failed run's reason in %s = %q, want %q", lang, got, want)
			}
		}
	}
	// A failure without a message clears the input's: the two would
	// not say the same.
	id3, _ := s.StartFeedRun(ctx, feedadmin.Run{Feed: "third", Trigger: feedadmin.TriggerSchedule, Started: base})
	if err := s.AddFeedRunInput(ctx, id3, feedadmin.RunInput{Name: "a.csv", Error: "line 3: bad address", Problem: problem}); err != nil {
		t.Fatal(err)
	}
	if err := s.FinishFeedRun(ctx, id3, base.Add(time.Second), "download: 503", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	if runs, _ := s.ListFeedRuns(ctx, "third", 0); len(runs) != 1 || runs[0].Error != "download: 503" || !runs[0].Problem.IsZero() {
		t.Errorf("failed run without a message = %+v", runs)
	}
	// The history keeps the last KeepRuns of a feed, and only its own.
	for i := range feedadmin.KeepRuns + 5 {
		if _, err := s.StartFeedRun(ctx, feedadmin.Run{Feed: "busy", Trigger: feedadmin.TriggerSchedule,
			Started: base.Add(time.Duration(i) * time.Minute), Error: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	runs, err = s.ListFeedRuns(ctx, "busy", 0)
	if err != nil || len(runs) != feedadmin.KeepRuns {
		t.Fatalf("ListFeedRuns(busy) = %d runs, %v; want %d", len(runs), err, feedadmin.KeepRuns)
	}
	if !runs[0].Started.Equal(base.Add(time.Duration(feedadmin.KeepRuns+4)*time.Minute)) || !runs[len(runs)-1].Started.Equal(base.Add(5*time.Minute)) {
		t.Errorf("kept runs from %v to %v", runs[len(runs)-1].Started, runs[0].Started)
	}
	if runs, _ := s.ListFeedRuns(ctx, "blocklist", 0); len(runs) != 1 {
		t.Errorf("another feed's runs = %d, want 1", len(runs))
	}
	if runs, _ := s.ListFeedRuns(ctx, "busy", 3); len(runs) != 3 {
		t.Errorf("ListFeedRuns(limit 3) = %d runs", len(runs))
	}
}

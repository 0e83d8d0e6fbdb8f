package cli

import (
	"io"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestWriteFeedsReports checks that `vigil feeds` shows each report type
// indented under its feed's totals, with the warnings.
func TestWriteFeedsReports(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	rows := []store.FeedStatus{
		{Name: "inbox", Report: "Accessible-RDP", FeedCounters: store.FeedCounters{LinesRead: 10, EventsOut: 8, Warnings: 2},
			LastRun: now.Add(-time.Hour), LastEvent: now.Add(-2 * time.Hour)},
		{Name: "inbox", Report: "Sinkhole-HTTP", FeedCounters: store.FeedCounters{LinesRead: 5, EventsOut: 4, DeadLetters: 1},
			LastRun: now.Add(-3 * time.Hour), LastError: "line 4: odd"},
	}
	var b strings.Builder
	(&cmdEnv{stdout: &b, lang: "en"}).writeFeeds(store.SumFeeds(rows), now)
	want := []string{
		"FEED              LAST RUN          LINES  EVENTS  DEAD LETTERS  DUPLICATES  WARNINGS  LAG         LAST ERROR",
		"inbox             2026-12-01 11:00  15     12      1             0           2         2 h 00 min",
		"  Accessible-RDP  2026-12-01 11:00  10     8       0             0           2         2 h 00 min",
		"  Sinkhole-HTTP   2026-12-01 09:00  5      4       1             0           0         -           line 4: odd",
	}
	got := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	for i := range got {
		got[i] = strings.TrimRight(got[i], " ")
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("vigil feeds printed\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestFeedsRunPauseResume: `vigil feeds run|pause|resume NAME` leave their
// request and override in the database for the running serve, refuse
// unknown feeds and words, and audit.
func TestFeedsRunPauseResume(t *testing.T) {
	data := t.TempDir()
	if code, out, errOut := run(t, "", "feeds", "pause", "inbox", "--data", data); code != 0 || !strings.Contains(out, "paused inbox") {
		t.Fatalf("pause: %d %s %s", code, out, errOut)
	}
	if code, out, errOut := run(t, "", "feeds", "run", "--data", data, "inbox"); code != 0 || !strings.Contains(out, "asked for a run of inbox") {
		t.Fatalf("run: %d %s %s", code, out, errOut)
	}
	a, err := openApp(t.Context(), func() config.Config { c := config.Default(); c.Data = data; return c }(), io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	o, err := a.store.GetFeedOverride(t.Context(), "inbox")
	if err != nil || o.Paused == nil || !*o.Paused || o.UpdatedBy != "cli" {
		t.Errorf("override after pause = %+v, %v", o, err)
	}
	reqs, err := a.store.ListFeedRunRequests(t.Context())
	if err != nil || len(reqs) != 1 || reqs[0].Feed != "inbox" {
		t.Errorf("run requests = %+v, %v", reqs, err)
	}
	a.Close()
	if code, out, _ := run(t, "", "feeds", "resume", "inbox", "--data", data); code != 0 || !strings.Contains(out, "resumed inbox") {
		t.Errorf("resume: %d %s", code, out)
	}
	if code, _, errOut := run(t, "", "feeds", "run", "nope", "--data", data); code == 0 || !strings.Contains(errOut, `no feed called "nope"`) {
		t.Errorf("run of an unknown feed: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, "", "feeds", "bogus", "--data", data); code != 2 || !strings.Contains(errOut, `unknown subcommand "bogus"`) {
		t.Errorf("unknown word: %d %s", code, errOut)
	}
	if code, _, _ := run(t, "", "feeds", "pause", "--data", data); code != 2 {
		t.Errorf("pause without a name: %d", code)
	}
	if code, _, _ := run(t, "", "feeds", "pause", "a", "b", "--data", data); code != 2 {
		t.Errorf("pause with two names: %d", code)
	}
}

// TestFeedsListSaysAProblem: `vigil feeds list` says, under the table and
// in the operator's language, why a feed's definition changed in the
// console is not used.
func TestFeedsListSaysAProblem(t *testing.T) {
	data := t.TempDir()
	a, err := openApp(t.Context(), func() config.Config { c := config.Default(); c.Data = data; return c }(), io.Discard, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	err = a.store.PutFeedDefinition(t.Context(), "inbox", []byte("name: inbox\nparser: csv\ntlp: purple\n"), "admin", time.Now())
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	for lang, want := range map[string]string{
		"en": "inbox: The console's version cannot be used (config: feed.tlp: Choose CLEAR, GREEN, AMBER, AMBER+STRICT or RED.)",
		"de": "inbox: Die Version aus der Konsole ist unbrauchbar (Konfiguration: feed.tlp: Wählen Sie CLEAR, GREEN, AMBER, AMBER+STRICT oder RED.)",
	} {
		t.Setenv("VIGIL_LANG", lang)
		code, out, errOut := run(t, "", "feeds", "list", "--data", data)
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("%s: exit %d, printed\n%s%s\nwant a line with %q", lang, code, out, errOut, want)
		}
	}
}

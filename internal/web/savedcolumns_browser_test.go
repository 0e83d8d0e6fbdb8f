package web

import (
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestBrowserSavedSearchColumns: in Chromium an analyst chooses the
// table's columns, saves the search, chooses others, and opening the
// saved search shows its own columns again.
func TestBrowserSavedSearchColumns(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	addUser(t, st, "alice", auth.RoleAnalyst, "alice's long passphrase")
	var events []*event.Event
	for i, r := range [][]string{{"abusech-feodo", "10.0.0.5", "c2-server"}, {"abusech-feodo", "10.0.0.6", "c2-server"}} {
		events = append(events, testEvent(t, "", "time.source", event.FormatTime(time.Date(2025, 3, 1, 10, i, 0, 0, time.UTC)),
			"feed.name", r[0], "feed.provider", "abuse.ch", "source.ip", r[1], "classification.type", r[2],
			"classification.identifier", "dridex"))
	}
	if _, err := st.InsertEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	h, err := New(Deps{Console: consoleConfig(t, st, "test")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	tctx := startChromium(t, srv.URL+"/events?type=c2-server")
	err = chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "alice"),
		chromedp.SendKeys(chromedp.ID("password"), "alice's long passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("results")),
	)
	if err != nil {
		t.Fatalf("login: %v", err)
	}
	// chooseColumns ticks exactly fields in the column form and saves it.
	chooseColumns := func(fields ...string) {
		t.Helper()
		js := fmt.Sprintf(`document.querySelectorAll('#columns input[name=col]').forEach(c => c.checked = %q.split(',').includes(c.value))`,
			strings.Join(fields, ","))
		err := chromedp.Do(tctx,
			chromedp.Click(chromedp.CSS("#columns summary")),
			chromedp.WaitVisible(chromedp.ID("columns-save")),
			chromedp.Evaluate[chromedp.Void](js),
			chromedp.Click(chromedp.ID("columns-save")),
			chromedp.WaitVisible(chromedp.ID("results")),
		)
		if err != nil {
			t.Fatalf("choose columns %v: %v", fields, err)
		}
	}
	// headingsBecome waits for the table's headings (the columns', not
	// the ticks' of the action bar) to be want: a form posted returns to
	// the same address.
	headingsBecome := func(want []string) bool {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if slices.Equal(texts(t, tctx, "#results thead th:not(.select)"), want) {
				return true
			}
		}
		t.Errorf("headings %q, want %q", texts(t, tctx, "#results thead th:not(.select)"), want)
		return false
	}
	chooseColumns("classification.identifier", "feed.provider", "source.ip")
	want := []string{"Time (UTC) ▼", "Identifier", "Source IP", "Provider"}
	if !headingsBecome(want) {
		t.FailNow()
	}
	err = chromedp.Do(tctx,
		chromedp.SendKeys(chromedp.ID("saved-name"), "C2 by identifier"),
		chromedp.Click(chromedp.ID("saved-save")),
	)
	if err != nil {
		t.Fatalf("save: %v", err)
	}
	waitLocation(t, tctx, "done=saved")
	chooseColumns("feed.name")
	if !headingsBecome([]string{"Time (UTC) ▼", "Feed"}) {
		t.FailNow()
	}
	if err := chromedp.Do(tctx, chromedp.Click(chromedp.CSS("#saved-own a.saved-link"))); err != nil {
		t.Fatal(err)
	}
	waitLocation(t, tctx, "cols=")
	headingsBecome(want)
	screenshot(t, tctx, "saved-search-columns")
}

// TestBrowserFeedRunInputs: a feed's page in Chromium names what each
// run read, shortened, the full name in the title a pointer shows.
func TestBrowserFeedRunInputs(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	addUser(t, st, "root", auth.RoleAdmin, "root's long passphrase")
	now := time.Now()
	id, err := st.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: now.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range feedadmin.RunInputNames + 4 {
		name := fmt.Sprintf("/srv/vigil/inbox/2026-11-%02d-scan_rdp-belgium-geo.csv", i+1)
		if err := st.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: name, LinesRead: 6, EventsParsed: 5, DeadLetters: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.FinishFeedRun(ctx, id, now.Add(-time.Hour+2*time.Second), "", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	cc := consoleConfig(t, st, "test")
	cc.Feeds = &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: st}
	h, err := New(Deps{Console: cc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()
	tctx := startChromium(t, srv.URL+"/feeds/inbox")
	err = chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), "root's long passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("feed-runs")),
	)
	if err != nil {
		t.Fatalf("open the feed's page: %v", err)
	}
	names := texts(t, tctx, "#feed-runs .input-names li")
	if len(names) != feedadmin.RunInputNames || names[0] != "2026-11-01-scan_rdp-belgium-geo.csv" {
		t.Errorf("names %q", names)
	}
	title := run(t, tctx, chromedp.Evaluate[string](`document.querySelector('#feed-runs .input-names span').title`))
	if title != "/srv/vigil/inbox/2026-11-01-scan_rdp-belgium-geo.csv" {
		t.Errorf("title %q", title)
	}
	if more := texts(t, tctx, "#feed-runs .run-inputs .hint"); !slices.Equal(more, []string{"and 4 more"}) {
		t.Errorf("more %q", more)
	}
	screenshot(t, tctx, "feed-run-inputs")
}

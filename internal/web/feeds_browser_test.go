package web

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/store"

	_ "github.com/vigil-cert/vigil/internal/standard" // the modules the feed form offers
)

// TestBrowserFeedAdmin walks an administrator through the feeds in
// Chromium: the name of a file feed is refused on the form, a feed is
// added, paused, run by hand and deleted, and the file feed's page shows
// its recent runs.
func TestBrowserFeedAdmin(t *testing.T) {
	st := openStore(t)
	ctx := context.Background()
	addUser(t, st, "root", auth.RoleAdmin, "root's long passphrase")
	now := time.Now()
	if err := st.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox"}, store.FeedCounters{LinesRead: 12, EventsOut: 10, DeadLetters: 2},
		now.Add(-10*time.Minute), now.Add(-95*time.Minute), ""); err != nil {
		t.Fatal(err)
	}
	for i, e := range []string{"", "line 7: column 2: not an IP address"} {
		id, err := st.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: now.Add(time.Duration(i-2) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddFeedRunInput(ctx, id, feedadmin.RunInput{LinesRead: 6, EventsParsed: 6 - int64(i), DeadLetters: int64(i), Error: e}); err != nil {
			t.Fatal(err)
		}
		if err := st.AddFeedRunEvents(ctx, id, 5, 1-int64(i)); err != nil {
			t.Fatal(err)
		}
		if err := st.FinishFeedRun(ctx, id, now.Add(time.Duration(i-2)*time.Hour+1300*time.Millisecond), ""); err != nil {
			t.Fatal(err)
		}
	}
	cc := consoleConfig(t, st, "test")
	cc.Feeds = &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: st}
	h, err := New(Deps{Console: cc})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	tctx := startChromium(t, srv.URL+"/feeds/new")
	err = chromedp.Do(tctx,
		chromedp.WaitVisible(chromedp.ID("name")),
		chromedp.SendKeys(chromedp.ID("name"), "root"),
		chromedp.SendKeys(chromedp.ID("password"), "root's long passphrase"),
		chromedp.Click(chromedp.ID("login")),
		chromedp.WaitVisible(chromedp.ID("feed-form")),
		chromedp.SendKeys(chromedp.ID("feed-name"), "inbox"),
		chromedp.SetValue(chromedp.ID("feed-collector"), "http"),
		chromedp.SetValue(chromedp.ID("feed-collector-options"), "url: https://127.0.0.1/blocklist.txt\ninterval: 30m\n"),
		chromedp.SetValue(chromedp.ID("feed-parser"), "list"),
		chromedp.SetValue(chromedp.ID("feed-parser-options"), "type: scanner\n"),
		chromedp.Click(chromedp.ID("feed-save")),
		chromedp.WaitVisible(chromedp.ID("name-problem")),
	)
	if err != nil {
		t.Fatalf("add a feed named as the file's: %v", err)
	}
	problem := run(t, tctx, chromedp.Text(chromedp.ID("name-problem")))
	screenshot(t, tctx, "feed-form-refused")
	if !strings.Contains(problem, "The configuration file already has a feed called inbox") {
		t.Errorf("refusal %q", problem)
	}
	// The form kept what was typed; another name is accepted.
	err = chromedp.Do(tctx,
		chromedp.SetValue(chromedp.ID("feed-name"), "blocklist"),
		chromedp.Click(chromedp.ID("feed-save")),
		chromedp.WaitVisible(chromedp.ID("feed-actions")),
	)
	if err != nil {
		t.Fatalf("add a feed: %v", err)
	}
	origin := run(t, tctx, chromedp.Text(chromedp.ID("feed-origin")))
	definition := run(t, tctx, chromedp.Text(chromedp.ID("feed-definition")))
	if !strings.Contains(origin, "added in the console") || !strings.Contains(definition, "url: https://127.0.0.1/blocklist.txt") {
		t.Errorf("new feed's page: origin %q, definition %q", origin, definition)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("feed-pause")),
		chromedp.WaitVisible(chromedp.ID("feed-resume")),
		chromedp.Click(chromedp.ID("feed-run")),
		chromedp.WaitVisible(chromedp.ID("run-requested")),
	)
	if err != nil {
		t.Fatalf("pause and run: %v", err)
	}
	screenshot(t, tctx, "feed-added-paused")
	if o, err := st.GetFeedOverride(ctx, "blocklist"); err != nil || o.Paused == nil || !*o.Paused {
		t.Errorf("blocklist after pause = %+v, %v", o, err)
	}
	// Deleting needs the confirmation opened first, in the danger style.
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.CSS("details.feed-drop summary")),
		chromedp.WaitVisible(chromedp.ID("feed-drop")),
	)
	if err != nil {
		t.Fatalf("open the confirmation: %v", err)
	}
	class := run(t, tctx, chromedp.AttributeValue(chromedp.ID("feed-drop"), "class"))
	if class.Value != "danger" {
		t.Errorf("delete button class %q, want danger", class.Value)
	}
	err = chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("feed-drop")),
		chromedp.WaitVisible(chromedp.ID("feeds")),
	)
	if err != nil {
		t.Fatalf("delete the feed: %v", err)
	}
	screenshot(t, tctx, "feeds-managed")
	if list, _ := st.ListFeedOverrides(ctx); len(list) != 0 {
		t.Errorf("overrides after the delete: %+v", list)
	}
	err = chromedp.Do(tctx,
		chromedp.Navigate(srv.URL+"/feeds/inbox"),
		chromedp.WaitVisible(chromedp.ID("feed-runs")),
	)
	if err != nil {
		t.Fatalf("the inbox's page: %v", err)
	}
	rows := run(t, tctx, chromedp.Nodes(chromedp.CSSAll("#feed-runs tbody tr")))
	screenshot(t, tctx, "feed-runs")
	if len(rows) != 2 {
		t.Errorf("%d runs shown, want 2", len(rows))
	}
	err = chromedp.Do(tctx, chromedp.Navigate(srv.URL+"/feeds/inbox/edit"), chromedp.WaitVisible(chromedp.ID("feed-form")))
	if err != nil {
		t.Fatalf("the edit form: %v", err)
	}
	screenshot(t, tctx, "feed-edit")
}

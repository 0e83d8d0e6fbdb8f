package web

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"

	_ "github.com/vigil-cert/vigil/internal/standard" // the modules the feed form offers
)

// TestBrowserFeedAdmin walks an administrator through the feeds in
// Chromium: the name of a file feed is refused on the form, a feed is
// added, paused, run by hand and deleted, and the file feed's page shows
// its recent runs.
func TestBrowserFeedAdmin(t *testing.T) {
	st := openStore(t)
	addUser(t, st, "root", auth.RoleAdmin, "root's long passphrase")
	seedInboxRuns(t, st)
	cc := consoleConfig(t, st, "test")
	cc.Feeds = &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: st}
	srv := serveConsole(t, cc)

	tctx := startChromium(t, srv.URL+"/feeds/new")
	logIn(t, tctx, "root", "root's long passphrase", "feed-form")
	s := &feedAdminSteps{ctx: tctx, base: srv.URL, st: st}
	runSteps(t,
		browserStep{"a file feed's name is refused", s.fileFeedNameRefused},
		browserStep{"another name is accepted", s.addFeed},
		browserStep{"pause and run", s.pauseAndRun},
		browserStep{"delete after the confirmation", s.deleteFeed},
		browserStep{"the file feed's runs and form", s.fileFeedPage},
	)
}

// seedInboxRuns stores the counters of the file feed inbox and two of its
// scheduled runs, the second with a dead letter.
func seedInboxRuns(t *testing.T, st *database.DB) {
	t.Helper()
	ctx := context.Background()
	now := time.Now()
	if err := st.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox"}, store.FeedCounters{LinesRead: 12, EventsOut: 10, DeadLetters: 2},
		now.Add(-10*time.Minute), now.Add(-95*time.Minute), "", i18n.Message{}); err != nil {
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
		if err := st.FinishFeedRun(ctx, id, now.Add(time.Duration(i-2)*time.Hour+1300*time.Millisecond), "", i18n.Message{}); err != nil {
			t.Fatal(err)
		}
	}
}

// feedAdminSteps is what the steps of TestBrowserFeedAdmin share: the
// browser logged in as an administrator, the console's address and the
// database.
type feedAdminSteps struct {
	ctx  context.Context
	base string
	st   *database.DB
}

// fileFeedNameRefused fills in the new feed's form with the name of the
// configuration file's feed, which is refused.
func (s *feedAdminSteps) fileFeedNameRefused(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
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
}

// addFeed saves the form, which kept what was typed, under another name,
// and reads the new feed's page.
func (s *feedAdminSteps) addFeed(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
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
}

// pauseAndRun pauses the new feed and runs it by hand.
func (s *feedAdminSteps) pauseAndRun(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.Click(chromedp.ID("feed-pause")),
		chromedp.WaitVisible(chromedp.ID("feed-resume")),
		chromedp.Click(chromedp.ID("feed-run")),
		chromedp.WaitVisible(chromedp.ID("run-requested")),
	)
	if err != nil {
		t.Fatalf("pause and run: %v", err)
	}
	screenshot(t, tctx, "feed-added-paused")
	if o, err := s.st.GetFeedOverride(context.Background(), "blocklist"); err != nil || o.Paused == nil || !*o.Paused {
		t.Errorf("blocklist after pause = %+v, %v", o, err)
	}
}

// deleteFeed deletes the new feed, which needs the confirmation opened
// first, in the danger style.
func (s *feedAdminSteps) deleteFeed(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
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
	if list, _ := s.st.ListFeedOverrides(context.Background()); len(list) != 0 {
		t.Errorf("overrides after the delete: %+v", list)
	}
}

// fileFeedPage opens the file feed inbox: its page lists its two runs,
// and its edit form opens.
func (s *feedAdminSteps) fileFeedPage(t *testing.T) {
	tctx := s.ctx
	err := chromedp.Do(tctx,
		chromedp.Navigate(s.base+"/feeds/inbox"),
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
	err = chromedp.Do(tctx, chromedp.Navigate(s.base+"/feeds/inbox/edit"), chromedp.WaitVisible(chromedp.ID("feed-form")))
	if err != nil {
		t.Fatalf("the edit form: %v", err)
	}
	screenshot(t, tctx, "feed-edit")
}

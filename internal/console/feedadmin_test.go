package console

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/config"
	"github.com/vigil-cert/vigil/internal/store"
)

// newFeedEnv is a console managing one file feed, inbox; its check
// refuses a collector called "broken", as building the stage would.
func newFeedEnv(t *testing.T) *testEnv {
	env := newEnv(t, func(c *Config) {
		c.Feeds = &config.FeedManager{File: []config.Feed{config.DefaultInboxFeed()}, Store: c.Store, Check: func(f config.Feed) error {
			if f.Collector == "broken" {
				return errors.New(`collector: unknown collector "broken"`)
			}
			return nil
		}}
	})
	env.addUser("admin", auth.RoleAdmin, "the admin's passphrase")
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	env.addUser("constituent", auth.RoleConstituent, "the constituent's passphrase")
	return env
}

func postedFeed(name string, change func(url.Values)) url.Values {
	f := url.Values{"name": {name}, "provider": {"abuse.ch"}, "collector": {"http"}, "parser": {"csv"},
		"collector_options": {"url: https://127.0.0.1/list.csv\ninterval: 30m\n"}, "parser_options": {"header: true\n"},
		"tlp": {"GREEN"}, "accuracy": {"90"}, "keep_raw": {"1"}, "enabled": {"1"}}
	if change != nil {
		change(f)
	}
	return f
}

// TestFeedAdminFlow: an administrator adds a feed, changes it, pauses,
// resumes, runs and deletes it; each change is kept as an override,
// shown for what it is, and audited.
func TestFeedAdminFlow(t *testing.T) {
	env := newFeedEnv(t)
	ctx := context.Background()
	b := env.browser()
	b.login("admin", "the admin's passphrase")
	list := b.get("/feeds")
	mustContain(t, list.body, `href="/feeds/new"`, `href="/feeds/inbox"`, "from the config file", "Lag is the time between")

	b.get("/feeds/new")
	r := b.post("/feeds/new", postedFeed("blocklist", nil))
	if r.status != http.StatusSeeOther || r.location != "/feeds/blocklist?done=feed-saved" {
		t.Fatalf("add: %d %s %.300s", r.status, r.location, text(r.body))
	}
	o, err := env.store.GetFeedOverride(ctx, "blocklist")
	if err != nil {
		t.Fatal(err)
	}
	f, err := config.ParseFeed(o.Definition)
	if err != nil || f.Collector != "http" || f.CollectorOptions["interval"] != "30m" || f.ParserOptions["header"] != true || f.Accuracy != 90 || o.UpdatedBy != "admin" {
		t.Errorf("stored feed = %+v, %v (override %+v)", f, err, o)
	}
	page := b.get("/feeds/blocklist?done=feed-saved")
	mustContain(t, page.body, "added in the console", "The feed is saved", `id="feed-run"`, `id="feed-pause"`, "Delete this feed")

	// Changing the file's feed makes it "changed in the console", with
	// the file's version shown beside it.
	b.get("/feeds/inbox/edit")
	r = b.post("/feeds/inbox/edit", url.Values{"collector": {"inbox"}, "parser": {"shadowserver"}, "enabled": {"1"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("edit inbox: %d %.300s", r.status, text(r.body))
	}
	page = b.get("/feeds/inbox")
	mustContain(t, page.body, "changed in the console", "parser: shadowserver", "The configuration file&#39;s version", "parser: auto", "Return to the file&#39;s version")

	for _, step := range []struct{ path, done string }{
		{"/feeds/inbox/pause", "feed-paused"}, {"/feeds/inbox/run", "feed-run"}, {"/feeds/inbox/resume", "feed-resumed"},
	} {
		if r := b.post(step.path, url.Values{}); r.status != http.StatusSeeOther || !strings.HasSuffix(r.location, "done="+step.done) {
			t.Fatalf("POST %s: %d %s", step.path, r.status, r.location)
		}
	}
	reqs, err := env.store.ListFeedRunRequests(ctx)
	if err != nil || len(reqs) != 1 || reqs[0].Feed != "inbox" || reqs[0].RequestedBy != "admin" {
		t.Errorf("run requests = %+v, %v", reqs, err)
	}
	mustContain(t, b.get("/feeds/inbox").body, "Run asked for at", "waiting for the feed runner")
	if o, err := env.store.GetFeedOverride(ctx, "inbox"); err != nil || o.Paused != nil {
		t.Errorf("resumed inbox override = %+v, %v; want no paused state", o, err)
	}

	// Dropping the overrides: the file's feed returns to the file's
	// version, the added feed is gone.
	for _, name := range []string{"inbox", "blocklist"} {
		if r := b.post("/feeds/"+name+"/drop", url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("drop %s: %d", name, r.status)
		}
		if _, err := env.store.GetFeedOverride(ctx, name); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("override of %s after drop: %v", name, err)
		}
	}
	if r := b.get("/feeds/blocklist"); r.status != http.StatusNotFound {
		t.Errorf("dropped added feed: %d", r.status)
	}
	if r := b.post("/feeds/inbox/drop", url.Values{}); r.status != http.StatusConflict {
		t.Errorf("dropping no override: %d", r.status)
	}
	audit := env.auditActions()
	for _, a := range []string{"feed.add", "feed.change", "feed.pause", "feed.run", "feed.resume", "feed.drop-override"} {
		if !contains(audit, a) {
			t.Errorf("audit log lacks %s: %v", a, audit)
		}
	}
}

// TestFeedAdminRefusesBadInput: every bad field gives a clear message on
// the form, in the person's language, and nothing is stored.
func TestFeedAdminRefusesBadInput(t *testing.T) {
	env := newFeedEnv(t)
	b := env.browser()
	b.login("admin", "the admin's passphrase")
	b.get("/feeds/new")
	for _, tt := range []struct {
		name   string
		form   url.Values
		expect string
	}{
		{"file feed's name", postedFeed("inbox", nil), "The configuration file already has a feed called inbox"},
		{"bad name", postedFeed("no spaces", nil), "Use letters, digits"},
		{"no parser", postedFeed("x", func(f url.Values) { f.Set("parser", "") }), "Choose a parser."},
		{"bad tlp", postedFeed("x", func(f url.Values) { f.Set("tlp", "PURPLE") }), "Choose CLEAR, GREEN"},
		{"bad accuracy", postedFeed("x", func(f url.Values) { f.Set("accuracy", "lots") }), "Give a number from 0 to 100."},
		{"bad options", postedFeed("x", func(f url.Values) { f.Set("parser_options", "[unclosed") }), "Not valid YAML"},
		{"refused stage", postedFeed("x", func(f url.Values) { f.Set("collector", "broken") }), "Refused: collector: unknown collector"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := b.post("/feeds/new", tt.form)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400; %.300s", r.status, text(r.body))
			}
			mustContain(t, r.body, "The feed was not saved", tt.expect)
		})
	}
	if list, err := env.store.ListFeedOverrides(context.Background()); err != nil || len(list) != 0 {
		t.Errorf("overrides after refused input = %+v, %v", list, err)
	}
	// The same refusal in Dutch for a Dutch-speaking administrator.
	nl := env.addUser("beheerder", auth.RoleAdmin, "the Dutch admin's passphrase")
	nl.Language = "nl"
	if err := env.store.UpdateUser(context.Background(), nl); err != nil {
		t.Fatal(err)
	}
	bn := env.browser()
	bn.login("beheerder", "the Dutch admin's passphrase")
	bn.get("/feeds/new")
	r := bn.post("/feeds/new", postedFeed("inbox", nil))
	mustContain(t, r.body, "Het configuratiebestand heeft al een feed met de naam inbox")
}

// TestFeedProblemInTheUsersLanguage: a stored definition that no longer
// validates is shown on the feed's page in the reader's language, the
// catalogue's sentence quoting the problem, neither in English.
func TestFeedProblemInTheUsersLanguage(t *testing.T) {
	env := newFeedEnv(t)
	ctx := context.Background()
	if err := env.store.PutFeedDefinition(ctx, "inbox", []byte("name: inbox\nparser: csv\ntlp: purple\n"), "admin", time.Now()); err != nil {
		t.Fatal(err)
	}
	en := env.browser()
	en.login("admin", "the admin's passphrase")
	mustContain(t, en.get("/feeds/inbox").body, "The console&#39;s version cannot be used (config: feed.tlp: Choose CLEAR, GREEN, AMBER, AMBER&#43;STRICT or RED.)")
	de := env.addUser("verwalterin", auth.RoleAdmin, "the German admin's passphrase")
	de.Language = "de"
	if err := env.store.UpdateUser(ctx, de); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("verwalterin", "the German admin's passphrase")
	page := b.get("/feeds/inbox").body
	mustContain(t, page, "Die Version aus der Konsole ist unbrauchbar (Konfiguration: feed.tlp: Wählen Sie CLEAR, GREEN, AMBER, AMBER&#43;STRICT oder RED.)")
	if strings.Contains(page, "Choose CLEAR") {
		t.Error("the German page quotes the problem in English")
	}
}

// TestFeedAdminRoles: analysts see the feeds and a feed's page without
// its actions and are refused every change; constituents see nothing.
func TestFeedAdminRoles(t *testing.T) {
	env := newFeedEnv(t)
	refused := func(r response) bool {
		return r.status == http.StatusForbidden && strings.Contains(r.body, "Your role does not give access to this page.")
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	list := b.get("/feeds")
	if list.status != http.StatusOK || strings.Contains(list.body, `href="/feeds/new"`) {
		t.Errorf("analyst's feeds page: %d, shows the add link: %v", list.status, strings.Contains(list.body, `href="/feeds/new"`))
	}
	page := b.get("/feeds/inbox")
	if page.status != http.StatusOK || strings.Contains(page.body, `id="feed-actions"`) || strings.Contains(page.body, "/drop") {
		t.Errorf("analyst's feed page: %d, with actions", page.status)
	}
	for _, path := range []string{"/feeds/new", "/feeds/inbox/edit"} {
		if r := b.get(path); !refused(r) {
			t.Errorf("analyst GET %s: %d", path, r.status)
		}
	}
	for _, path := range []string{"/feeds/new", "/feeds/inbox/edit", "/feeds/inbox/pause", "/feeds/inbox/resume", "/feeds/inbox/run", "/feeds/inbox/drop"} {
		if r := b.post(path, postedFeed("x", nil)); !refused(r) {
			t.Errorf("analyst POST %s: %d", path, r.status)
		}
	}
	c := env.browser()
	c.login("constituent", "the constituent's passphrase")
	for _, path := range []string{"/feeds", "/feeds/inbox"} {
		if r := c.get(path); r.status == http.StatusOK {
			t.Errorf("constituent GET %s: %d", path, r.status)
		}
	}
	if list, _ := env.store.ListFeedOverrides(context.Background()); len(list) != 0 {
		t.Errorf("a refused change was stored: %+v", list)
	}
	if reqs, _ := env.store.ListFeedRunRequests(context.Background()); len(reqs) != 0 {
		t.Errorf("a refused run was asked for: %+v", reqs)
	}
}

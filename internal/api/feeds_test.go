package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/collector"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
	"github.com/vigil-cert/vigil/internal/store"
)

func TestFeeds(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	run := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "scan-rdp"}, store.FeedCounters{LinesRead: 10, EventsOut: 8, DeadLetters: 2}, run, run.Add(-time.Hour), "", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "phishtank"}, store.FeedCounters{LinesRead: 1}, run, time.Time{}, "HTTP 503", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddDeadLetters(ctx, []store.DeadLetter{{Feed: "scan-rdp", Parser: "p", Input: []byte("x"), Error: "e", Time: run}}); err != nil {
		t.Fatal(err)
	}
	// Two report types the inbox brought.
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: "Sinkhole-HTTP"}, store.FeedCounters{LinesRead: 4, EventsOut: 3, Warnings: 1}, run, run.Add(-2*time.Hour), "line 2: odd", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: "Accessible-RDP"}, store.FeedCounters{LinesRead: 6, EventsOut: 6, Warnings: 2}, run.Add(time.Minute), run.Add(-time.Hour), "", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	r := f.get("/feeds", "ada")
	checkSchema(t, "FeedList", r.body)
	byName := feedsByName(t, r)
	rdp := byName["scan-rdp"]
	if rdp.LinesRead != 10 || rdp.EventsOut != 8 || rdp.DeadLetters != 2 || rdp.PendingDeadLetters != 1 ||
		rdp.LastRun == nil || !rdp.LastRun.Equal(run) || rdp.LastEvent == nil {
		t.Errorf("scan-rdp %+v", rdp)
	}
	if pt := byName["phishtank"]; pt.LastError != "HTTP 503" || pt.LastEvent != nil || pt.Reports != nil {
		t.Errorf("phishtank %+v", pt)
	}
	in := byName["inbox"]
	if len(byName) != 3 || in.LinesRead != 10 || in.EventsOut != 9 || in.Warnings != 3 || in.LastError != "" ||
		in.LastRun == nil || !in.LastRun.Equal(run.Add(time.Minute)) || len(in.Reports) != 2 {
		t.Fatalf("inbox %+v, want the totals of its two reports, once", in)
	}
	if rep := in.Reports[1]; rep.Report != "Sinkhole-HTTP" || rep.LinesRead != 4 || rep.Warnings != 1 || rep.LastError != "line 2: odd" ||
		rep.LastEvent == nil || !rep.LastEvent.Equal(run.Add(-2*time.Hour)) {
		t.Errorf("inbox's Sinkhole-HTTP report %+v", rep)
	}
	if rep := in.Reports[0]; rep.Report != "Accessible-RDP" || rep.EventsOut != 6 {
		t.Errorf("inbox's Accessible-RDP report %+v", rep)
	}
}

// TestFeedManagement: administrators add, change, pause, resume, run and
// restore feeds with the console's rules; analysts read them only.
func TestFeedManagement(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	checkFeedReadOnly(t, f)
	checkFeedInputRefused(t, f)
	checkFeedChanges(t, f)
	checkFeedProblemTranslated(t, f)
	entries, err := f.store.ListAudit(t.Context(), auth.AuditQuery{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	for _, a := range []string{"feed.add", "feed.change", "feed.pause", "feed.run", "feed.resume", "feed.drop-override"} {
		if !slices.Contains(actions, a) {
			t.Errorf("audit lacks %s: %v", a, actions)
		}
	}
}

// checkFeedReadOnly checks that an analyst reads a feed's details and may
// change nothing.
func checkFeedReadOnly(t *testing.T, f *fixture) {
	r := f.get("/feeds/inbox", "ana")
	checkSchema(t, "FeedDetail", r.body)
	in := decode[feedDetailJSON](t, r)
	if in.Origin != "file" || !in.Running || in.Paused || in.Definition.Parser != "auto" || len(in.Runs) != 0 {
		t.Errorf("inbox = %+v", in)
	}
	if r := f.get("/feeds/nope", "ana"); r.status != http.StatusNotFound {
		t.Errorf("unknown feed: %d", r.status)
	}
	// Analysts may read, not change.
	for _, call := range []struct{ method, path, body string }{
		{"POST", "/feeds", `{"name":"x","parser":"csv"}`}, {"PUT", "/feeds/inbox", `{"parser":"csv"}`},
		{"POST", "/feeds/inbox/run", ""}, {"POST", "/feeds/inbox/pause", ""}, {"POST", "/feeds/inbox/resume", ""},
		{"DELETE", "/feeds/inbox/override", ""},
	} {
		var r response
		if call.body != "" {
			r = f.sendJSON(call.method, call.path, "ana", call.body)
		} else {
			r = f.do(call.method, call.path, "ana", nil)
		}
		if r.status != http.StatusForbidden {
			t.Errorf("analyst %s %s: %d", call.method, call.path, r.status)
		}
	}
}

// checkFeedInputRefused checks that bad input is refused with the key at
// fault, and that nothing refused is stored.
func checkFeedInputRefused(t *testing.T, f *fixture) {
	for _, tt := range []struct{ body, key string }{
		{`{"name":"inbox","parser":"csv"}`, "feed.name"},
		{`{"name":"bad name","parser":"csv"}`, "feed.name"},
		{`{"name":"x","parser":"csv","tlp":"purple"}`, "feed.tlp"},
		{`{"name":"x"}`, "feed.parser"},
		{`{"name":"x","parser":"csv","accuracy":150}`, "feed.accuracy"},
	} {
		r := f.sendJSON("POST", "/feeds", "ada", tt.body)
		checkSchema(t, "Error", r.body)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(string(r.body), `"parameter":"`+tt.key+`"`) {
			t.Errorf("POST %s: %d %s, want 422 naming %s", tt.body, r.status, r.body, tt.key)
		}
	}
	if r := f.sendJSON("POST", "/feeds", "ada", `{"name":"x","parser":"csv","bogus":1}`); r.status != http.StatusBadRequest {
		t.Errorf("unknown key: %d %s", r.status, r.body)
	}
	if overrides, _ := f.store.ListFeedOverrides(t.Context()); len(overrides) != 0 {
		t.Fatalf("refused feeds were stored: %+v", overrides)
	}
}

// checkFeedChanges adds a feed, changes the inbox feed, pauses, runs and
// resumes the added one, and drops both overrides.
func checkFeedChanges(t *testing.T, f *fixture) {
	r := f.sendJSON("POST", "/feeds", "ada", `{"name":"blocklist","collector":"http","collector_options":{"url":"https://127.0.0.1/x.csv","interval":"30m"},"parser":"list","parser_options":{"type":"scanner"}}`)
	if r.status != http.StatusCreated {
		t.Fatalf("add: %d %s", r.status, r.body)
	}
	checkSchema(t, "FeedDetail", r.body)
	var added feedDetailJSON
	if err := json.Unmarshal(r.body, &added); err != nil || added.Origin != "added" || added.Definition.CollectorOptions["interval"] != "30m" {
		t.Errorf("added = %+v, %v", added, err)
	}
	r = f.sendJSON("PUT", "/feeds/inbox", "ada", `{"collector":"inbox","parser":"shadowserver"}`)
	if changed := decode[feedDetailJSON](t, r); r.status != http.StatusOK || changed.Origin != "changed" || changed.FileDefinition == nil || changed.FileDefinition.Parser != "auto" {
		t.Errorf("changed = %d %+v", r.status, changed)
	}
	if r := f.sendJSON("PUT", "/feeds/inbox", "ada", `{"name":"other","parser":"csv"}`); r.status != http.StatusUnprocessableEntity {
		t.Errorf("renaming: %d", r.status)
	}
	r = f.do("POST", "/feeds/blocklist/pause", "ada", nil)
	if p := decode[feedDetailJSON](t, r); !p.Paused || p.Running {
		t.Errorf("paused = %+v", p)
	}
	r = f.do("POST", "/feeds/blocklist/run", "ada", nil)
	if p := decode[feedDetailJSON](t, r); p.RunRequested == nil {
		t.Errorf("run requested = %+v", p)
	}
	r = f.do("POST", "/feeds/blocklist/resume", "ada", nil)
	if p := decode[feedDetailJSON](t, r); p.Paused || !p.Running {
		t.Errorf("resumed = %+v", p)
	}
	if r := f.do("DELETE", "/feeds/blocklist/override", "ada", nil); r.status != http.StatusNoContent {
		t.Errorf("drop added feed: %d", r.status)
	}
	if r := f.get("/feeds/blocklist", "ada"); r.status != http.StatusNotFound {
		t.Errorf("dropped added feed: %d", r.status)
	}
	if r := f.do("DELETE", "/feeds/inbox/override", "ada", nil); r.status != http.StatusNoContent {
		t.Errorf("drop inbox override: %d", r.status)
	}
	if r := f.do("DELETE", "/feeds/inbox/override", "ada", nil); r.status != http.StatusConflict {
		t.Errorf("drop no override: %d %s", r.status, r.body)
	}
}

// checkFeedProblemTranslated checks that a stored definition that no
// longer validates is explained in the request's language: not the
// English, not a catalogue ID.
func checkFeedProblemTranslated(t *testing.T, f *fixture) {
	if err := f.store.PutFeedDefinition(t.Context(), "inbox", []byte("name: inbox\nparser: csv\ntlp: purple\n"), "ada", time.Now()); err != nil {
		t.Fatal(err)
	}
	defer f.store.DeleteFeedOverride(t.Context(), "inbox")
	problems := map[string]string{}
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		r := f.do("GET", "/feeds/inbox", "ana", nil, "Accept-Language", lang)
		checkSchema(t, "FeedDetail", r.body)
		problems[lang] = decode[feedDetailJSON](t, r).Problem
	}
	if want := "config: feed.tlp: Choose CLEAR, GREEN, AMBER, AMBER+STRICT or RED."; problems["en"] != want {
		t.Errorf("problem in English %q, want %q", problems["en"], want)
	}
	for _, lang := range []string{"nl", "fr", "de"} {
		if p := problems[lang]; p == "" || p == problems["en"] || !strings.Contains(p, "feed.tlp") || strings.Contains(p, "Choose") || strings.Contains(p, "feedadmin.error") {
			t.Errorf("problem in %s: %q (English %q)", lang, p, problems["en"])
		}
	}
}

// TestFeedsLastReasonInTheRequestsLanguage: a feed's last error stays
// English in last_error, for programs, and last_reason says it in the
// request's language (Accept-Language); an error without a message is
// the same in both.
func TestFeedsLastReasonInTheRequestsLanguage(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	run := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	download := i18n.M("collector.http.status", "https://a.test/list.csv", "503 Service Unavailable")
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "phishtank"}, store.FeedCounters{LinesRead: 1}, run, time.Time{}, download.String(), download); err != nil {
		t.Fatal(err)
	}
	if err := f.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: "Sinkhole-HTTP"}, store.FeedCounters{LinesRead: 4}, run, time.Time{}, "disk full", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		t.Run(lang, func(t *testing.T) {
			r := f.do("GET", "/feeds", "ada", nil, "Accept-Language", lang)
			checkSchema(t, "FeedList", r.body)
			byName := feedsByName(t, r)
			said := download.In(i18n.Embedded(), lang)
			if lang != "en" && said == download.String() {
				t.Fatalf("%s says the download's failure in English", lang)
			}
			if pt := byName["phishtank"]; pt.LastError != download.String() || pt.LastReason != said {
				t.Errorf("phishtank: last_error %q, last_reason %q; want %q and %q", pt.LastError, pt.LastReason, download.String(), said)
			}
			in := byName["inbox"]
			if len(in.Reports) != 1 || in.LastReason != "disk full" || in.Reports[0].LastReason != "disk full" || in.Reports[0].LastError != "disk full" {
				t.Errorf("inbox %+v: want its error as it was stored", in)
			}
		})
	}
}

// TestFeedsLastReasonOfTheReportsAPI: the Shadowserver Reports API
// collector's failure is said in the request's language in last_reason,
// and neither the API key nor the secret, which the API echoed, is in
// the answer in any language.
func TestFeedsLastReasonOfTheReportsAPI(t *testing.T) {
	const key, secret = "key-0123456789abcdef", "secret-fedcba9876543210"
	reports := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, `{"error":"access denied to %s/%s"}`, key, secret)
	}))
	defer reports.Close()
	f := newFixture(t, fixtureOptions{})
	c, err := collector.NewShadowserverAPI(pipeline.Env{Store: f.store}, collector.ShadowserverAPIConfig{
		Feed: "shadowserver", APIKey: key, Secret: secret, BaseURL: reports.URL + "/api2/"})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Fetch(t.Context(), func(context.Context, pipeline.Input) error { return nil }); err == nil {
		t.Fatal("the refusal is no error")
	}
	refused := i18n.M("collector.shadowserver.refused.credentials", "reports/list",
		i18n.M("collector.shadowserver.answer.words", 403, "access denied to [redacted]/[redacted]"))
	for _, lang := range i18n.Codes {
		t.Run(lang, func(t *testing.T) {
			r := f.do("GET", "/feeds", "ada", nil, "Accept-Language", lang)
			if strings.Contains(string(r.body), key) || strings.Contains(string(r.body), secret) {
				t.Fatalf("the answer holds a credential: %s", r.body)
			}
			got := feedsByName(t, r)
			said := refused.In(i18n.Embedded(), lang)
			if lang != i18n.Source && said == refused.String() {
				t.Fatalf("%s says the refusal in English", lang)
			}
			if fd, ok := got["shadowserver"]; len(got) != 1 || !ok || fd.LastError != refused.String() || fd.LastReason != said {
				t.Errorf("feeds %+v: want last_error %q and last_reason %q", got, refused.String(), said)
			}
		})
	}
}

// feedsByName decodes a /feeds answer into its feeds by name; a feed
// listed twice fails t.
func feedsByName(t *testing.T, r response) map[string]feedJSON {
	t.Helper()
	got := decode[struct {
		Feeds []feedJSON `json:"feeds"`
	}](t, r)
	byName := map[string]feedJSON{}
	for _, fd := range got.Feeds {
		if _, twice := byName[fd.Name]; twice {
			t.Fatalf("feed %s listed twice: %s", fd.Name, r.body)
		}
		byName[fd.Name] = fd
	}
	return byName
}

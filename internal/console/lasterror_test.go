package console

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestFeedLastErrorInTheReadersLanguage: why a feed's last download
// failed is said in the reader's language on the feeds page and on the
// feed's page, and so is the failure of the run itself (FinishFeedRun);
// an error without a message is shown as it was stored.
func TestFeedLastErrorInTheReadersLanguage(t *testing.T) {
	env := newFeedEnv(t)
	ctx := context.Background()
	download := i18n.M("collector.http.status", "https://a.test/list.csv", "503 Service Unavailable")
	run := time.Now().Add(-time.Hour)
	if err := env.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox"}, store.FeedCounters{}, run, time.Time{}, download.String(), download); err != nil {
		t.Fatal(err)
	}
	if err := env.store.AddFeedCounters(ctx, store.FeedKey{Feed: "other"}, store.FeedCounters{}, run, time.Time{}, "disk full", i18n.Message{}); err != nil {
		t.Fatal(err)
	}
	cannot := i18n.M("pipeline.run.cannot")
	id, err := env.store.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerConsole, Started: run})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.store.FinishFeedRun(ctx, id, run, cannot.String(), cannot); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	for _, lang := range []string{"en", "nl", "fr", "de"} {
		t.Run(lang, func(t *testing.T) {
			b.get("/account")
			if r := b.post("/account/language", url.Values{"language": {lang}}); r.status != http.StatusSeeOther {
				t.Fatalf("choose %s: status %d", lang, r.status)
			}
			feeds := html.UnescapeString(b.get("/feeds").body)
			feed := html.UnescapeString(b.get("/feeds/inbox").body)
			said := download.In(i18n.Embedded(), lang)
			if lang != "en" && said == download.String() {
				t.Fatalf("%s says the download's failure in English", lang)
			}
			for page, body := range map[string]string{"/feeds": feeds, "/feeds/inbox": feed} {
				if !strings.Contains(body, said) {
					t.Errorf("%s does not say %q", page, said)
				}
				if lang != "en" && strings.Contains(body, download.String()) {
					t.Errorf("%s says the English %q", page, download.String())
				}
			}
			if !strings.Contains(feeds, "<td>disk full</td>") {
				t.Error("the feeds page does not show the error without a message as it was stored")
			}
			if want := "<td>" + cannot.In(i18n.Embedded(), lang) + "</td>"; !strings.Contains(feed, want) {
				t.Errorf("the feed's page does not say the run's failure %q", want)
			}
		})
	}
}

package console

import (
	"context"
	"errors"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	_ "github.com/vigil-cert/vigil/internal/collector" // registers the http collector
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/pipeline"
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

// stateless is the console's store with the collectors' state unreadable.
type stateless struct {
	*database.DB
}

func (stateless) GetState(context.Context, string) ([]byte, error) {
	return nil, errors.New("database disk image is malformed (11)")
}

// TestFeedsPageSaysTheCollectorsOwnFailure: when the HTTP collector cannot
// read what it kept of the last download, the feeds page says so in the
// reader's language, the store's reason quoted as it came.
func TestFeedsPageSaysTheCollectorsOwnFailure(t *testing.T) {
	env := newFeedEnv(t)
	srv := httptest.NewServer(http.NotFoundHandler())
	defer srv.Close()
	c, err := pipeline.NewCollector("http", pipeline.Env{Store: stateless{env.store}, Now: time.Now}, "inbox",
		pipeline.Options{"url": srv.URL + "/list.csv", "interval": "1h"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(context.Context, pipeline.Input) error { return nil }) }()
	// Run records its first download's failure at once.
	for tries := 0; ; tries++ {
		st, err := env.store.ListFeedStatus(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if len(st) > 0 && st[0].LastError != "" {
			break
		}
		if tries == 1000 {
			t.Fatal("the collector's failure was never recorded")
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	<-done
	want := i18n.M("collector.http.state.load", srv.URL+"/list.csv", "database disk image is malformed (11)")
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	for _, lang := range i18n.Codes {
		t.Run(lang, func(t *testing.T) {
			b.get("/account")
			if r := b.post("/account/language", url.Values{"language": {lang}}); r.status != http.StatusSeeOther {
				t.Fatalf("choose %s: status %d", lang, r.status)
			}
			said := want.In(i18n.Embedded(), lang)
			if lang != i18n.Source && said == want.String() {
				t.Fatalf("%s says the failure in English", lang)
			}
			if feeds := html.UnescapeString(b.get("/feeds").body); !strings.Contains(feeds, said) {
				t.Errorf("/feeds does not say %q", said)
			}
		})
	}
}

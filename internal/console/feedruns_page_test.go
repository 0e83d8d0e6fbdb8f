package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
	"github.com/vigil-cert/vigil/internal/i18n"
)

// TestFeedPageRunInputs: a feed's page shows what each run read, each
// name shortened with the full name in its title, and how many more.
func TestFeedPageRunInputs(t *testing.T) {
	env := newFeedEnv(t)
	ctx := context.Background()
	id, err := env.store.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: time.Now().Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	for i := range feedadmin.RunInputNames + 5 {
		name := fmt.Sprintf("/srv/vigil/inbox/2026-11-%02d-scan_rdp.csv", i+1)
		if i == 0 {
			name = "https://dl.example.org/reports/2026/11/" + strings.Repeat("x", 60) + ".csv?token=abc"
		}
		if err := env.store.AddFeedRunInput(ctx, id, feedadmin.RunInput{Name: name, LinesRead: 3}); err != nil {
			t.Fatal(err)
		}
	}
	// A run recorded before names were kept says so.
	old, _ := env.store.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: time.Now().Add(-2 * time.Hour)})
	if _, err := env.store.DB().Exec(ctx, `UPDATE feed_runs SET inputs = 2 WHERE id = ?`, old); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	page := b.get("/feeds/inbox")
	mustContain(t, page.body,
		`<span class="mono" title="/srv/vigil/inbox/2026-11-02-scan_rdp.csv">2026-11-02-scan_rdp.csv</span>`,
		`title="https://dl.example.org/reports/2026/11/`+strings.Repeat("x", 60)+`.csv?token=abc">dl.example.org/…/xxxxxxxxxx…xxxxxxxx.csv</span>`,
		`2026-11-20-scan_rdp.csv</span>`)
	if strings.Contains(page.body, "2026-11-21-scan_rdp.csv") {
		t.Error("the page names an input past the first 20")
	}
	mustSay(t, page.body, "Files or URLs read", "and 5 more", "not recorded")
}

// TestFeedPageRunErrorInTheReadersLanguage: why a run's input failed is
// said in the reader's language when it has a message, and as it was
// stored when it has none.
func TestFeedPageRunErrorInTheReadersLanguage(t *testing.T) {
	env := newFeedEnv(t)
	ctx := context.Background()
	problem := i18n.M("pipeline.deliver.failed", "a.csv", "inbox", i18n.M("parser.reason.csv.header.columns", "ip", "time, host"))
	for i, in := range []feedadmin.RunInput{
		{Name: "a.csv", Error: problem.String(), Problem: problem},
		{Name: "b.csv", Error: "download: 503 Service Unavailable"},
	} {
		id, err := env.store.StartFeedRun(ctx, feedadmin.Run{Feed: "inbox", Trigger: feedadmin.TriggerSchedule, Started: time.Now().Add(-time.Duration(i+1) * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if err := env.store.AddFeedRunInput(ctx, id, in); err != nil {
			t.Fatal(err)
		}
	}
	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	b.get("/account")
	if r := b.post("/account/language", url.Values{"language": {"de"}}); r.status != http.StatusSeeOther {
		t.Fatalf("choose German: status %d", r.status)
	}
	page := html.UnescapeString(b.get("/feeds/inbox").body)
	de := problem.In(i18n.Embedded(), "de")
	if de == problem.String() || !strings.Contains(page, "<td>"+de+"</td>") {
		t.Errorf("the page does not say %q", de)
	}
	if strings.Contains(page, problem.String()) {
		t.Errorf("the page says the English %q", problem.String())
	}
	if !strings.Contains(page, "<td>download: 503 Service Unavailable</td>") {
		t.Error("the error without a message is not shown as it was stored")
	}
}

package console

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/feedadmin"
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

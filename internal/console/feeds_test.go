package console

import (
	"context"
	"html"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/store"
)

var (
	tableRow  = regexp.MustCompile(`(?s)<tr class="([^"]*)">(.*?)</tr>`)
	tableCell = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	markup    = regexp.MustCompile(`<[^>]*>`)
)

// pageRows returns the body rows of a results table: each row's class
// followed by the text of its cells.
func pageRows(body string) [][]string {
	var rows [][]string
	for _, m := range tableRow.FindAllStringSubmatch(body, -1) {
		row := []string{m[1]}
		for _, c := range tableCell.FindAllStringSubmatch(m[2], -1) {
			row = append(row, html.UnescapeString(strings.TrimSpace(markup.ReplaceAllString(c[1], ""))))
		}
		rows = append(rows, row)
	}
	return rows
}

// TestFeedsPageReports shows one configured feed (the inbox) that brought
// two Shadowserver report types and an input of no known type: a row of
// totals, and under it a row per report type and one for the rest.
func TestFeedsPageReports(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.FeedNames = func() []string { return []string{"inbox", "feodo"} }
	})
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	ctx := context.Background()
	now := time.Now()
	add := func(report string, c store.FeedCounters, run, lastEvent time.Time, lastError string) {
		t.Helper()
		if err := env.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: report}, c, run, lastEvent, lastError, i18n.Message{}); err != nil {
			t.Fatal(err)
		}
	}
	add("Accessible-RDP", store.FeedCounters{LinesRead: 10, DeadLetters: 1, Warnings: 2}, now.Add(-time.Hour), time.Time{}, "")
	add("Accessible-RDP", store.FeedCounters{EventsOut: 8, Duplicates: 1}, time.Time{}, now.Add(-2*time.Hour), "")
	add("Sinkhole-HTTP", store.FeedCounters{LinesRead: 5, EventsOut: 4, Warnings: 3}, now.Add(-30*time.Minute), now.Add(-3*time.Hour), "line 4: odd")
	add("", store.FeedCounters{DeadLetters: 1}, now.Add(-3*time.Hour), time.Time{}, "unknown report type")

	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	r := b.get("/feeds")
	mustContain(t, r.body, "<th class=\"num\">Warnings</th>",
		`href="/events?feed=Accessible-RDP">8</a>`, `href="/events?feed=Sinkhole-HTTP">4</a>`,
		`href="/deadletters?feed=inbox">2</a>`, `href="/deadletters?feed=inbox">1</a>`)
	rows := pageRows(r.body)
	// The class, then: name, last run, lines, events, dead letters,
	// duplicates, warnings, lag, last error; the last run is left out.
	var got [][]string
	for _, row := range rows {
		if len(row) != 10 {
			t.Fatalf("row %q has %d cells, want 9", row, len(row)-1)
		}
		got = append(got, append(row[:2:2], row[3:]...))
	}
	want := [][]string{
		{"feed", "feodo", "0", "0", "0", "0", "0", "—", ""},
		// The totals; the last error is that of the newest run.
		{"feed warn", "inbox", "15", "12", "2", "1", "5", "2 h 00 min", "line 4: odd"},
		{"report", "Accessible-RDP", "10", "8", "1", "1", "2", "2 h 00 min", ""},
		{"report warn", "Sinkhole-HTTP", "5", "4", "0", "0", "3", "3 h 00 min", "line 4: odd"},
		{"report warn", "(no report type)", "0", "0", "1", "0", "0", "—", "unknown report type"},
	}
	if !slices.EqualFunc(got, want, slices.Equal) {
		t.Errorf("feeds page rows:\n got %q\nwant %q", got, want)
	}
}

// TestEventSearchOffersReports checks that the search form suggests the
// report types a feed brought, and that the feeds page's link finds the
// events of one report type and not those of another under the same feed.
func TestEventSearchOffersReports(t *testing.T) {
	env := newEnv(t, func(c *Config) {
		c.FeedNames = func() []string { return []string{"inbox"} }
	})
	env.addUser("analyst", auth.RoleAnalyst, "the analyst's passphrase")
	ctx := context.Background()
	now := time.Now()
	for _, report := range []string{"Accessible-RDP", "Sinkhole-HTTP"} {
		if err := env.store.AddFeedCounters(ctx, store.FeedKey{Feed: "inbox", Report: report}, store.FeedCounters{LinesRead: 2, EventsOut: 1}, now, now.Add(-time.Hour), "", i18n.Message{}); err != nil {
			t.Fatal(err)
		}
	}
	env.insert(makeEvent(t, "Accessible-RDP", "192.0.2.1", now.Add(-time.Hour)),
		makeEvent(t, "Sinkhole-HTTP", "198.51.100.1", now.Add(-time.Hour)))

	b := env.browser()
	b.login("analyst", "the analyst's passphrase")
	r := b.get("/events")
	mustContain(t, r.body, `<option value="inbox">`, `<option value="Accessible-RDP">`, `<option value="Sinkhole-HTTP">`)
	r = b.get("/events?feed=Accessible-RDP")
	mustContain(t, r.body, "192.0.2.1")
	if strings.Contains(r.body, "198.51.100.1") {
		t.Error("the search for Accessible-RDP shows the Sinkhole-HTTP event")
	}
}

package site

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/mmcdole/gofeed"
)

// TestFeeds parses every feed back with gofeed, a standard feed parser,
// and checks its type, language, items, links and dates.
func TestFeeds(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	for _, c := range []struct {
		path  string
		items []string // the idents, in order
	}{
		{"/en/feed.rss", []string{"VIGIL-2026-0002", "VIGIL-2026-0003", "VIGIL-2026-0001", "VIGIL-2026-0004"}},
		{"/nl/feed.atom", []string{"VIGIL-2026-0002", "VIGIL-2026-0003", "VIGIL-2026-0001", "VIGIL-2026-0004"}},
		{"/fr/advisories.rss", []string{"VIGIL-2026-0001"}},
		{"/en/warnings.atom", []string{"VIGIL-2026-0002"}},
		{"/en/news.rss", []string{"VIGIL-2026-0003"}},
		{"/nl/digests.atom", []string{"VIGIL-2026-0004"}},
		{"/en/critical.rss", []string{"VIGIL-2026-0001"}},
		{"/fr/critical.atom", []string{"VIGIL-2026-0001"}},
	} {
		t.Run(c.path, func(t *testing.T) {
			res, body := get(t, s, c.path)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			lang := c.path[1:3]
			atom := strings.HasSuffix(c.path, ".atom")
			wantType := map[bool]string{false: "application/rss+xml", true: "application/atom+xml"}[atom]
			if !strings.HasPrefix(res.Header.Get("Content-Type"), wantType) {
				t.Errorf("Content-Type %q", res.Header.Get("Content-Type"))
			}
			if err := xml.Unmarshal([]byte(body), new(any)); err != nil {
				t.Errorf("not XML: %v", err)
			}
			feed, err := gofeed.NewParser().ParseString(body)
			if err != nil {
				t.Fatalf("gofeed: %v\n%s", err, body)
			}
			if want := map[bool]string{false: "rss", true: "atom"}[atom]; feed.FeedType != want || (!atom && feed.FeedVersion != "2.0") || (atom && feed.FeedVersion != "1.0") {
				t.Errorf("feed type %s %s", feed.FeedType, feed.FeedVersion)
			}
			if feed.Language != lang {
				t.Errorf("language %q, want %s", feed.Language, lang)
			}
			if feed.Title == "" || !strings.HasPrefix(feed.Link, "https://cert.example/"+lang+"/") || feed.UpdatedParsed == nil {
				t.Errorf("title %q, link %q, updated %v", feed.Title, feed.Link, feed.UpdatedParsed)
			}
			if !slices.Contains(feed.Links, "https://cert.example"+c.path) {
				t.Errorf("no self link among %v", feed.Links)
			}
			var got []string
			for _, it := range feed.Items {
				ident, _, _ := strings.Cut(it.Title, ":")
				got = append(got, ident)
				if it.Link != "https://cert.example/"+lang+"/p/"+ident {
					t.Errorf("%s: link %q", ident, it.Link)
				}
				if it.PublishedParsed == nil || it.PublishedParsed.After(testNow) || it.GUID == "" {
					t.Errorf("%s: published %v, guid %q", ident, it.PublishedParsed, it.GUID)
				}
				if it.Description == "" || len(it.Categories) == 0 {
					t.Errorf("%s: description %q, categories %v", ident, it.Description, it.Categories)
				}
			}
			if !slices.Equal(got, c.items) {
				t.Errorf("items %v, want %v", got, c.items)
			}
			if strings.Contains(body, "SECRET") {
				t.Error("the feed holds a publication that is not public")
			}
		})
	}
	// Items in the reader's language where there is one, in the primary
	// language otherwise (marked with xml:lang in Atom).
	_, body := get(t, s, "/nl/feed.atom")
	feed, err := gofeed.NewParser().ParseString(body)
	if err != nil {
		t.Fatal(err)
	}
	titles := map[string]string{}
	for _, it := range feed.Items {
		ident, title, _ := strings.Cut(it.Title, ": ")
		titles[ident] = title
	}
	if titles["VIGIL-2026-0001"] != "Uitvoering van code op afstand in Example HTTPd" || titles["VIGIL-2026-0003"] != "Five tips for safer passwords" {
		t.Errorf("titles %v", titles)
	}
	mustContain(t, "Dutch Atom", body, `<entry xml:lang="en">`, `xml:lang="nl"`)
}

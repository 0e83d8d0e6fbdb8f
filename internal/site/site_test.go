package site

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/publication"
)

func TestHome(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	res, body := get(t, s, "/en/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, "home", body, `<html lang="en">`, "Current warnings", "Phishing wave impersonating the tax office",
		"Remote code execution in Example HTTPd", "Five tips for safer passwords", `href="/report"`, `href="/newsletter/en"`,
		`href="/en/feed.rss"`, `href="/en/feed.atom"`, `class="skip" href="#main"`, `<main id="main"`, `role="search"`,
		`href="/nl/" lang="nl" hreflang="nl"`, `href="/fr/" lang="fr" hreflang="fr"`)
	// The pinned warning comes first, before the latest advisories.
	if pin, adv := strings.Index(body, "Phishing wave"), strings.Index(body, "Latest advisories"); pin < 0 || adv < 0 || pin > adv {
		t.Errorf("the pinned warning is at %d, the advisories at %d", pin, adv)
	}
	if strings.Contains(body, "<script") {
		t.Error("the home page holds a script")
	}
}

func TestPinExpires(t *testing.T) {
	clk := &clock{now: testNow}
	s := newTestSite(t, demoSource(), clk)
	if _, body := get(t, s, "/en/"); !strings.Contains(body, "Current warnings") {
		t.Fatal("no pinned warning")
	}
	// A week later, with no publication in between, the warning is no
	// longer pinned: the snapshot expires with the pin.
	clk.advance(publication.DefaultPin)
	get(t, s, "/en/")
	s.waitChecks()
	if _, body := get(t, s, "/en/"); strings.Contains(body, "Current warnings") {
		t.Error("the warning is still pinned a week after its publication")
	}
}

func TestChooseLanguage(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	for _, c := range []struct{ accept, want string }{
		{"nl-BE,nl;q=0.9,en;q=0.5", "/nl/"},
		{"fr-BE", "/fr/"},
		{"de-DE,de;q=0.9", "/en/"}, // German is not one of the site's languages
		{"", "/en/"},
		{"en-GB", "/en/"},
	} {
		res, _ := get(t, s, "/", "Accept-Language", c.accept)
		if res.StatusCode != http.StatusFound || res.Header.Get("Location") != c.want {
			t.Errorf("Accept-Language %q: %d to %q, want %s", c.accept, res.StatusCode, res.Header.Get("Location"), c.want)
		}
	}
	if res, _ := get(t, s, "/de/"); res.StatusCode != http.StatusNotFound {
		t.Errorf("/de/ on a site without German: %d", res.StatusCode)
	}
}

func TestDetail(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	res, body := get(t, s, "/nl/p/VIGIL-2026-0001")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("status %d", res.StatusCode)
	}
	mustContain(t, "detail", body, `<html lang="nl">`, "Uitvoering van code op afstand in Example HTTPd", "Summary nl:",
		"Kritiek", "TLP:CLEAR", `href="https://www.cve.org/CVERecord?id=CVE-2026-12345"`, "CVE-2026-12345",
		`href="https://cwe.mitre.org/data/definitions/78.html"`, "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", "9.8",
		"Example", "HTTPd", "≥ 2.0 &lt; 2.4.1", "cpe:2.3:a:example:httpd", "Bijwerken", "Install 2.4.1 (nl)", "Detecteren",
		`href="https://vendor.example/advisory"`, "Vendor advisory", "rce", "Versie 2", "Fixed version corrected to 2.4.1",
		"First publication", `href="/en/p/VIGIL-2026-0001" lang="en" hreflang="en">Read it in English</a>`, `href="/fr/p/VIGIL-2026-0001" lang="fr" hreflang="fr">Lire en français</a>`,
		`href="/.well-known/csaf/white/2026/vigil-2026-0001.json"`, "<h4>Impact</h4>", "<strong>code</strong>",
		`href="https://vendor.example/fix"`, ">vendor</a>")
	for _, bad := range []string{"javascript:", "<script", "Summary en:", "not available", "customer X"} {
		if strings.Contains(body, bad) {
			t.Errorf("detail holds %q", bad)
		}
	}
}

func TestDetailFallback(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	_, body := get(t, s, "/nl/p/VIGIL-2026-0003")
	mustContain(t, "news only in English, read in Dutch", body, `<html lang="nl">`,
		"Deze publicatie bestaat niet in het Nederlands; ze wordt in het Engels getoond.",
		`<h1 lang="en">Five tips for safer passwords</h1>`, `<p class="summary" lang="en">`, `<div class="body" lang="en">`,
		`<ul lang="en"><li>Install 2.4.1 (en)</li>`)
	// The list shows it too, marked.
	_, list := get(t, s, "/fr/news")
	mustContain(t, "news list in French", list, `<a href="/fr/p/VIGIL-2026-0003" lang="en">Five tips for safer passwords</a>`,
		"Cette publication n’existe pas en français ; elle est affichée en anglais.")
}

func TestNotPublicIsNotFound(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	for _, path := range []string{"/en/p/VIGIL-2026-0005", "/en/p/VIGIL-2026-0006", "/en/p/NOPE", "/en/nothing", "/en/p/a/b", "/en/x.rss"} {
		res, body := get(t, s, path)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
		if strings.Contains(body, "SECRET") {
			t.Errorf("%s shows a publication that is not public", path)
		}
	}
}

func TestListsFilterAndPage(t *testing.T) {
	src := demoSource()
	for i := range 45 {
		sev := []string{"critical", "high", "medium", "low"}[i%4]
		src.add(publication.Publication{Ident: "VIGIL-2025-" + string(rune('A'+i/26)) + string(rune('a'+i%26)), Kind: publication.KindAdvisory,
			Status: publication.StatusPublished, Published: time.Date(2025, 1, 1+i, 9, 0, 0, 0, time.UTC),
			Content: publication.Content{Severity: sev, TLP: publication.TLPClear,
				Texts: []publication.Text{{Lang: "en", Title: "Old advisory " + sev, Summary: "s"}}}})
	}
	s := newTestSite(t, src, &clock{now: testNow})
	_, body := get(t, s, "/en/advisories")
	mustContain(t, "advisories", body, "46 publications found", "Page 1 of 3", `href="/en/advisories?page=2" rel="next"`,
		`<label for="severity">Severity</label>`, `<input id="from" name="from" type="date"`)
	_, body = get(t, s, "/en/advisories?severity=high&page=2")
	mustContain(t, "high, page 2", body, "11 publications found") // 11 high ones: one page
	_, body = get(t, s, "/en/advisories?severity=critical&from=2025-01-10&to=2025-01-20")
	// Critical ones are days 1, 5, 9, … : 13 and 17 in the range.
	mustContain(t, "critical in range", body, "2 publications found", `value="2025-01-10"`, `<option value="critical" selected>`)
	_, body = get(t, s, "/en/advisories?severity=bogus&from=yesterday&page=-3")
	mustContain(t, "junk filter", body, "46 publications found")
	if res, _ := get(t, s, "/en/warnings"); res.StatusCode != http.StatusOK {
		t.Errorf("warnings: %d", res.StatusCode)
	}
	if _, body := get(t, s, "/en/digests"); !strings.Contains(body, "Week 47 in review") {
		t.Error("the digest is not in its list")
	}
}

func TestSearch(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	for _, c := range []struct {
		q    string
		want string
		n    string
	}{
		{"cve-2026-12345", "Remote code execution", "1 publication found"},
		{"VIGIL-2026-0004", "Week 47", "1 publication found"},
		{"belastingdienst", "Phishing wave", "1 publication found"}, // the Dutch title, found from English
		{"semaine", "Week 47", "1 publication found"},
		{"attacker remotely", "Remote code execution", "4 publications found"},
		{"SECRET", "", "0 publications found"},
	} {
		_, body := get(t, s, "/en/search?q="+strings.ReplaceAll(c.q, " ", "+"))
		mustContain(t, "search "+c.q, body, c.n, c.want)
		if strings.Contains(body, "SECRET amber") || strings.Contains(body, "SECRET draft") {
			t.Errorf("search %q finds what is not public", c.q)
		}
	}
	_, body := get(t, s, "/en/search")
	mustContain(t, "empty search", body, "Type words")
}

func TestCacheHeaders(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	res, plain := get(t, s, "/en/advisories")
	etag := res.Header.Get("ETag")
	if etag == "" || res.Header.Get("Last-Modified") == "" || res.Header.Get("Cache-Control") == "" {
		t.Fatalf("headers %v", res.Header)
	}
	gz, zipped := get(t, s, "/en/advisories", "Accept-Encoding", "gzip, br")
	if gz.Header.Get("Content-Encoding") != "gzip" || zipped != plain || gz.Header.Get("ETag") == etag {
		t.Errorf("gzip: encoding %q, same body %v, etag %q and %q", gz.Header.Get("Content-Encoding"), zipped == plain, gz.Header.Get("ETag"), etag)
	}
	if res, _ := get(t, s, "/en/advisories", "Accept-Encoding", "gzip;q=0"); res.Header.Get("Content-Encoding") != "" {
		t.Error("gzip sent to a client that refused it")
	}
	for _, tag := range []string{etag, gz.Header.Get("ETag")} {
		if res, body := get(t, s, "/en/advisories", "If-None-Match", tag); res.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("If-None-Match %s: %d", tag, res.StatusCode)
		}
	}
	if res, _ := get(t, s, "/en/advisories", "If-Modified-Since", res.Header.Get("Last-Modified")); res.StatusCode != http.StatusNotModified {
		t.Errorf("If-Modified-Since: %d", res.StatusCode)
	}
	if res, _ := get(t, s, "/en/advisories", "If-None-Match", `"other"`); res.StatusCode != http.StatusOK {
		t.Errorf("another ETag: %d", res.StatusCode)
	}
	css, _ := get(t, s, "/site.css")
	if css.StatusCode != http.StatusOK || !strings.HasPrefix(css.Header.Get("Content-Type"), "text/css") {
		t.Errorf("/site.css: %d %s", css.StatusCode, css.Header.Get("Content-Type"))
	}
}

// TestCacheRefresh shows the pages are rendered once per generation, the
// source is asked at most once a second, and a new publication shows
// after the next check.
func TestCacheRefresh(t *testing.T) {
	src := demoSource()
	clk := &clock{now: testNow}
	s := newTestSite(t, src, clk)
	for range 50 {
		get(t, s, "/en/")
	}
	s.waitChecks()
	if src.lists != 1 || src.generations != 1 {
		t.Errorf("50 requests within a second: %d lists, %d generation checks; want 1 and 1", src.lists, src.generations)
	}
	first := s.snap.Load()
	src.add(publication.Publication{Ident: "VIGIL-2026-0100", Kind: publication.KindNews, Status: publication.StatusPublished,
		Published: testNow, Updated: testNow, Content: publication.Content{TLP: publication.TLPClear,
			Texts: []publication.Text{{Lang: "en", Title: "A brand new item"}}}})
	if _, body := get(t, s, "/en/"); strings.Contains(body, "A brand new item") {
		t.Error("the new item shows before the next check: the page was not cached")
	}
	clk.advance(1100 * time.Millisecond)
	get(t, s, "/en/") // starts the check; serves the old page meanwhile
	s.waitChecks()
	if s.snap.Load() == first {
		t.Fatal("no new snapshot after the generation moved")
	}
	if _, body := get(t, s, "/en/"); !strings.Contains(body, "A brand new item") {
		t.Error("the new item does not show after the check")
	}
	// Unchanged generation: the check keeps the snapshot.
	second := s.snap.Load()
	clk.advance(2 * time.Second)
	get(t, s, "/en/")
	s.waitChecks()
	if s.snap.Load() != second {
		t.Error("a check with the same generation replaced the snapshot")
	}
}

func TestSecurityTxt(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	res, body := get(t, s, "/.well-known/security.txt")
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	mustContain(t, "security.txt", body, "Contact: mailto:cert@cert.example\n", "Contact: tel:+32-2-000-00-00\n",
		"Encryption: https://cert.example/.well-known/csaf/openpgp/team.asc\n", "Preferred-Languages: en, nl, fr\n",
		"Canonical: https://cert.example/.well-known/security.txt\n", "Policy: https://cert.example/en/p/POLICY\n",
		"CSAF: https://cert.example/.well-known/csaf/provider-metadata.json\n")
	var expires time.Time
	for line := range strings.SplitSeq(body, "\n") {
		if v, ok := strings.CutPrefix(line, "Expires: "); ok {
			var err error
			if expires, err = time.Parse(time.RFC3339, v); err != nil {
				t.Fatalf("Expires %q: %v", v, err)
			}
		}
		if line != "" && !strings.HasPrefix(line, "#") && !strings.Contains(line, ": ") {
			t.Errorf("line %q is not a field", line)
		}
	}
	if !expires.After(testNow) || expires.After(testNow.AddDate(1, 0, 0)) {
		t.Errorf("Expires %v: want after now and within a year", expires)
	}
	// Without a contact, RFC 9116 has no file to serve.
	bare, err := New(Deps{Source: demoSource(), Catalog: catalog(t), BaseURL: "https://cert.example"})
	if err != nil {
		t.Fatal(err)
	}
	if res, _ := get(t, bare, "/.well-known/security.txt"); res.StatusCode != http.StatusNotFound {
		t.Errorf("security.txt without contact: %d", res.StatusCode)
	}
}

// TestNewsletterLink: the pages link to the newsletter's form in the
// reader's language, in its first language when it has none in theirs,
// and not at all without a newsletter (its form would be a 404).
func TestNewsletterLink(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	if _, body := get(t, s, "/nl/"); !strings.Contains(body, `href="/newsletter/nl"`) {
		t.Error("the Dutch home page lacks the Dutch form")
	}
	if _, body := get(t, s, "/fr/advisories"); !strings.Contains(body, `href="/newsletter/en"`) || strings.Contains(body, `href="/newsletter/fr"`) {
		t.Error("a French page without a French form does not link to the first one")
	}
	bare, err := New(Deps{Source: demoSource(), Catalog: catalog(t), BaseURL: "https://cert.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/en/", "/en/advisories"} {
		if _, body := get(t, bare, path); strings.Contains(body, "/newsletter/") {
			t.Errorf("%s links to a newsletter there is none of", path)
		}
	}
}

func TestNewRefuses(t *testing.T) {
	cat := catalog(t)
	for name, d := range map[string]Deps{
		"no source":   {Catalog: cat, BaseURL: "https://x.example"},
		"no catalog":  {Source: &memSource{}, BaseURL: "https://x.example"},
		"no base URL": {Source: &memSource{}, Catalog: cat},
		"language":    {Source: &memSource{}, Catalog: cat, BaseURL: "https://x.example", Languages: []string{"en", "xx"}},
	} {
		if _, err := New(d); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestUnavailable shows a failing source gives 503 until it answers.
func TestUnavailable(t *testing.T) {
	s := newTestSite(t, failingSource{}, &clock{now: testNow})
	if res, _ := get(t, s, "/en/"); res.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d", res.StatusCode)
	}
}

type failingSource struct{}

func (failingSource) ListPublications(context.Context, publication.Query) (publication.Page, error) {
	return publication.Page{}, context.DeadlineExceeded
}
func (failingSource) Revisions(context.Context, int64) ([]publication.Revision, error) {
	return nil, nil
}
func (failingSource) Generation(context.Context) (int64, error) {
	return 0, context.DeadlineExceeded
}

// BenchmarkServeCached serves a publication's page from the cache, with
// gzip, as a browser asks for it again and again.
func BenchmarkServeCached(b *testing.B) {
	s := newTestSite(b, demoSource(), &clock{now: testNow})
	r := httptest.NewRequest(http.MethodGet, "/en/p/VIGIL-2026-0001", nil)
	r.Header.Set("Accept-Encoding", "gzip")
	s.ServeHTTP(httptest.NewRecorder(), r)
	b.ReportAllocs()
	for b.Loop() {
		w := httptest.NewRecorder()
		s.ServeHTTP(w, r)
		if w.Code != http.StatusOK {
			b.Fatal(w.Code)
		}
	}
}

// TestMadeUpAddressesAreNotKept: addresses anyone can make up (long
// ones, missing publications, searches) are answered but not kept, so
// that a crawler of nonsense cannot fill the caches; real pages are.
func TestMadeUpAddressesAreNotKept(t *testing.T) {
	s := newTestSite(t, demoSource(), &clock{now: testNow})
	long := strings.Repeat("x", 400)
	for i := range 50 {
		for _, path := range []string{
			fmt.Sprintf("/en/p/VIGIL-2026-9%03d", i),
			fmt.Sprintf("/en/p/VIGIL-2026-0001?x=%d%s", i, long),
			fmt.Sprintf("/en/search?q=word%d", i),
			fmt.Sprintf("/en/%s%d", long, i),
		} {
			get(t, s, path)
		}
	}
	if res, _ := get(t, s, "/en/p/VIGIL-2026-0001"); res.StatusCode != http.StatusOK {
		t.Fatalf("the advisory's page: %d", res.StatusCode)
	}
	snap := s.snap.Load()
	snap.mu.RLock()
	defer snap.mu.RUnlock()
	if len(snap.cache) != 1 || len(snap.raw) != 1 {
		t.Errorf("the caches keep %d pages under %d addresses after 200 made-up ones and one real; want 1 and 1", len(snap.cache), len(snap.raw))
	}
}

// TestWithdrawalIsNewer: withdrawing the newest publication leaves older
// ones, yet the pages and feeds are newer than before (Last-Modified
// moves forward), so that a feed reader asking If-Modified-Since gets
// the feed without it rather than a 304.
func TestWithdrawalIsNewer(t *testing.T) {
	src := demoSource()
	clk := &clock{now: testNow}
	s := newTestSite(t, src, clk)
	src.add(publication.Publication{Ident: "VIGIL-2026-0100", Kind: publication.KindWarning, Status: publication.StatusPublished,
		Published: testNow, Updated: testNow, Content: publication.Content{TLP: publication.TLPClear,
			Texts: []publication.Text{{Lang: "en", Title: "Soon withdrawn"}}}})
	res, body := get(t, s, "/en/feed.rss")
	if !strings.Contains(body, "Soon withdrawn") {
		t.Fatal("the feed lacks the newest item")
	}
	before := res.Header.Get("Last-Modified")
	src.mu.Lock()
	src.pubs = src.pubs[:len(src.pubs)-1]
	src.gen++
	src.mu.Unlock()
	clk.advance(1100 * time.Millisecond)
	get(t, s, "/en/feed.rss")
	s.waitChecks()
	req := httptest.NewRequest(http.MethodGet, "/en/feed.rss", nil)
	req.Header.Set("If-Modified-Since", before)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), "Soon withdrawn") {
		t.Errorf("after the withdrawal, If-Modified-Since %s: %d, still listed %v", before, rec.Code, strings.Contains(rec.Body.String(), "Soon withdrawn"))
	}
}

package site

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
)

// memSource is a Source in memory. It returns every publication it
// holds, whatever Query.Public says, so that the tests show the site
// filters by itself.
type memSource struct {
	mu          sync.Mutex
	pubs        []publication.Publication
	revisions   map[int64][]publication.Revision
	gen         int64
	generations int // Generation calls
	lists       int // ListPublications calls
}

func (m *memSource) ListPublications(_ context.Context, q publication.Query) (publication.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lists++
	limit := q.Limit
	if limit <= 0 {
		limit = 50
	}
	start := min(q.Offset, len(m.pubs))
	end := min(start+limit, len(m.pubs))
	return publication.Page{Publications: append([]publication.Publication(nil), m.pubs[start:end]...), Total: len(m.pubs)}, nil
}

func (m *memSource) Revisions(_ context.Context, id int64) ([]publication.Revision, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.revisions[id], nil
}

func (m *memSource) Generation(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.generations++
	return m.gen, nil
}

// add stores p and moves the generation, as publishing does.
func (m *memSource) add(p publication.Publication) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p.ID = int64(len(m.pubs) + 1)
	m.pubs = append(m.pubs, p)
	m.gen++
}

// clock is a settable clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testNow is the tests' present.
var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func catalog(t testing.TB) *i18n.Catalog {
	t.Helper()
	c, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// newTestSite builds a site over src with the tests' clock.
func newTestSite(t testing.TB, src Source, clk *clock) *Site {
	t.Helper()
	s, err := New(Deps{Source: src, Catalog: catalog(t), BaseURL: "https://cert.example", Name: "CERT Example",
		Newsletter: []string{"en", "nl", "de"}, Now: clk.Now, SecurityTxt: SecurityTxt{Contacts: []string{"mailto:cert@cert.example", "tel:+32-2-000-00-00"},
			Encryption: "https://cert.example/.well-known/csaf/openpgp/team.asc", Policy: "https://cert.example/en/p/POLICY"}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// get asks h for path with the headers (name, value pairs) and returns
// the response and its body, unzipped when gzip.
func get(t testing.TB, h http.Handler, path string, headers ...string) (*http.Response, string) {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, path, nil)
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	res := w.Result()
	var body io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatalf("%s: gzip: %v", path, err)
		}
		body = zr
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(b)
}

// demoPubs are publications of every kind: an advisory in three
// languages with every field and two revisions, a pinned warning, news
// only in English, a digest, and a TLP:AMBER advisory and a draft that
// must never show.
func demoPubs() []publication.Publication {
	pub := testNow.Add(-48 * time.Hour)
	text := func(lang, title string) publication.Text {
		return publication.Text{Lang: lang, Title: title, Summary: "Summary " + lang + ": " + title,
			Body: "## Impact\n\nAn attacker can run **code** remotely.\n\n- first\n- second\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) [vendor](https://vendor.example/fix)",
			Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Install 2.4.1 (" + lang + ")"},
				{Kind: publication.RecommendDetect, Text: "Look for POST /cgi-bin (" + lang + ")"}}, Updated: pub}
	}
	return []publication.Publication{
		{Ident: "VIGIL-2026-0001", Kind: publication.KindAdvisory, Status: publication.StatusPublished, Revision: 2,
			Published: pub, Updated: pub.Add(time.Hour), Content: publication.Content{Severity: "critical", TLP: publication.TLPClear,
				Texts:      []publication.Text{text("en", "Remote code execution in Example HTTPd"), text("nl", "Uitvoering van code op afstand in Example HTTPd"), text("fr", "Exécution de code à distance dans Example HTTPd")},
				CVEs:       []string{"CVE-2026-12345"},
				CWEs:       []string{"CWE-78"},
				CVSS:       []publication.CVSS{{Version: "3.1", Vector: "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", Score: 9.8, Severity: "critical"}},
				Products:   []publication.Product{{Vendor: "Example", Product: "HTTPd", Versions: []publication.VersionRange{{Introduced: "2.0", Fixed: "2.4.1"}}, CPE: "cpe:2.3:a:example:httpd:*:*:*:*:*:*:*:*"}},
				References: []publication.Reference{{URL: "https://vendor.example/advisory", Title: "Vendor advisory"}, {URL: "javascript:alert(1)", Title: "bad"}},
				Tags:       []string{"rce", "httpd"}}},
		{Ident: "VIGIL-2026-0002", Kind: publication.KindWarning, Status: publication.StatusPublished, Revision: 1,
			Published: testNow.Add(-2 * time.Hour), Updated: testNow.Add(-2 * time.Hour), Content: publication.Content{Severity: "high", TLP: publication.TLPClear,
				Texts: []publication.Text{text("en", "Phishing wave impersonating the tax office"), text("nl", "Phishinggolf uit naam van de belastingdienst")}}},
		{Ident: "VIGIL-2026-0003", Kind: publication.KindNews, Status: publication.StatusPublished, Revision: 1,
			Published: testNow.Add(-24 * time.Hour), Updated: testNow.Add(-24 * time.Hour), Content: publication.Content{Severity: "low", TLP: publication.TLPClear,
				Texts: []publication.Text{text("en", "Five tips for safer passwords")}}},
		{Ident: "VIGIL-2026-0004", Kind: publication.KindDigest, Status: publication.StatusPublished, Revision: 1,
			Published: testNow.Add(-72 * time.Hour), Updated: testNow.Add(-72 * time.Hour), Content: publication.Content{TLP: publication.TLPClear,
				Texts: []publication.Text{text("en", "Week 47 in review"), text("nl", "Week 47 in vogelvlucht"), text("fr", "La semaine 47 en bref")}}},
		{Ident: "VIGIL-2026-0005", Kind: publication.KindAdvisory, Status: publication.StatusPublished, Revision: 1,
			Published: testNow.Add(-3 * time.Hour), Updated: testNow.Add(-3 * time.Hour), Content: publication.Content{Severity: "critical", TLP: publication.TLPAmber,
				Texts: []publication.Text{text("en", "SECRET amber advisory")}}},
		{Ident: "VIGIL-2026-0006", Kind: publication.KindAdvisory, Status: publication.StatusDraft,
			Content: publication.Content{Severity: "high", TLP: publication.TLPClear, Texts: []publication.Text{text("en", "SECRET draft advisory")}}},
	}
}

// demoSource holds demoPubs and the first advisory's revisions.
func demoSource() *memSource {
	m := &memSource{revisions: map[int64][]publication.Revision{}}
	for _, p := range demoPubs() {
		m.add(p)
	}
	m.revisions[1] = []publication.Revision{
		{Number: 1, Published: testNow.Add(-48 * time.Hour), Note: "First publication", Content: publication.Content{TLP: publication.TLPClear}},
		{Number: 2, Published: testNow.Add(-47 * time.Hour), Note: "Fixed version corrected to 2.4.1", Content: publication.Content{TLP: publication.TLPClear}},
		// A revision that was TLP:AMBER: its page shows it without its note.
		{Number: 3, Published: testNow.Add(-46 * time.Hour), Note: "the details for customer X", Content: publication.Content{TLP: publication.TLPAmber}},
	}
	return m
}

// mustContain fails for each want that body lacks.
func mustContain(t *testing.T, what, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q", what, w)
		}
	}
}

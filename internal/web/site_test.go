package web

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/i18n"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/site"
)

// oneAdvisory is a site.Source holding one public advisory.
type oneAdvisory struct{}

func (oneAdvisory) ListPublications(context.Context, publication.Query) (publication.Page, error) {
	p := publication.Publication{ID: 1, Ident: "VIGIL-2026-0042", Kind: publication.KindAdvisory, Status: publication.StatusPublished,
		Published: time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC), Content: publication.Content{Severity: "high", TLP: publication.TLPClear,
			Texts: []publication.Text{{Lang: "en", Title: "Patch the example router now", Summary: "A flaw lets anyone in."}}}}
	return publication.Page{Publications: []publication.Publication{p}, Total: 1}, nil
}
func (oneAdvisory) Revisions(context.Context, int64) ([]publication.Revision, error) { return nil, nil }
func (oneAdvisory) Generation(context.Context) (int64, error)                        { return 1, nil }

// TestSiteMounted serves the public website beside the console: its
// pages and security.txt with the security headers, / sending readers to
// it and members with a session cookie to the console.
func TestSiteMounted(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	pub, err := site.New(site.Deps{Source: oneAdvisory{}, Catalog: cat, BaseURL: "https://cert.example",
		SecurityTxt: site.SecurityTxt{Contacts: []string{"mailto:cert@cert.example"}}})
	if err != nil {
		t.Fatal(err)
	}
	srv := newServer(t, Deps{Site: pub})
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	fetch := func(path string, cookie *http.Cookie) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Accept-Language", "nl-BE")
		if cookie != nil {
			req.AddCookie(cookie)
		}
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, string(b)
	}
	res, body := fetch("/en/p/VIGIL-2026-0042", nil)
	if res.StatusCode != http.StatusOK || !strings.Contains(body, "Patch the example router now") {
		t.Fatalf("advisory page: %d", res.StatusCode)
	}
	if res.Header.Get("Content-Security-Policy") != ContentSecurityPolicy || res.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("security headers missing: %v", res.Header)
	}
	for _, path := range []string{"/nl/", "/fr/advisories", "/en/feed.atom", "/site.css", "/.well-known/security.txt"} {
		if res, _ := fetch(path, nil); res.StatusCode != http.StatusOK {
			t.Errorf("%s: %d", path, res.StatusCode)
		}
	}
	if res, _ := fetch("/", nil); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/nl/" {
		t.Errorf("/ for a reader: %d to %q, want /nl/", res.StatusCode, res.Header.Get("Location"))
	}
	// A member's browser (a session cookie, valid or not) goes to the
	// console, which sends an unknown session to its login form.
	res, _ = fetch("/", &http.Cookie{Name: "vigil-session", Value: "stale"})
	if loc := res.Header.Get("Location"); res.StatusCode != http.StatusSeeOther && res.StatusCode != http.StatusFound || !strings.HasPrefix(loc, "/login") {
		t.Errorf("/ with a session cookie: %d to %q, want the console's login", res.StatusCode, loc)
	}
	// The console's pages stay the console's.
	if res, _ := fetch("/events", nil); !strings.HasPrefix(res.Header.Get("Location"), "/login") {
		t.Errorf("/events: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
}

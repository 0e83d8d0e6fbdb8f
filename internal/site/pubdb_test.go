package site

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// TestOverPubDB runs the site over the real SQLite store, publications
// going through the workflow: what is published shows, what is not does
// not, an update shows with its change note after the next check, and a
// withdrawn publication leaves.
func TestOverPubDB(t *testing.T) {
	ctx := t.Context()
	st := dbtest.SQLite(t, database.Schemas...)
	accounts := authdb.New(st.DB())
	actor := func(name string) publication.Actor {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := accounts.CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		return publication.Actor{UserID: u.ID, Name: name}
	}
	ann, bob := actor("ann"), actor("bob")
	clk := &clock{now: time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)}
	store := pubdb.New(st.DB())
	svc := &publication.Service{Store: store, Audit: accounts, Now: clk.Now}
	content := func(tlp publication.TLP, title string) publication.Content {
		return publication.Content{Severity: "high", TLP: tlp, CVEs: []string{"CVE-2026-4242"},
			Texts: []publication.Text{
				{Lang: "en", Title: title, Summary: "Patch now.", Body: "## Details\n\nUpdate the firmware.",
					Recommendations: []publication.Recommendation{{Kind: publication.RecommendPatch, Text: "Update to 1.4.2"}}},
				{Lang: "nl", Title: title + " (nl)", Summary: "Patch nu."},
			}}
	}
	publish := func(kind publication.Kind, c publication.Content) publication.Publication {
		t.Helper()
		p, err := svc.Create(ctx, ann, kind, c, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, step := range []func() (publication.Publication, error){
			func() (publication.Publication, error) { return svc.Submit(ctx, ann, p.ID) },
			func() (publication.Publication, error) { return svc.Approve(ctx, bob, p.ID) },
			func() (publication.Publication, error) { return svc.Publish(ctx, bob, p.ID) },
		} {
			if p, err = step(); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	open := publish(publication.KindAdvisory, content(publication.TLPClear, "Acme router flaw"))
	amber := publish(publication.KindAdvisory, content(publication.TLPAmber, "Amber-only router flaw"))
	draft, err := svc.Create(ctx, ann, publication.KindNews, content(publication.TLPClear, "Draft news item"), "")
	if err != nil {
		t.Fatal(err)
	}

	s := newTestSite(t, store, clk)
	_, home := get(t, s, "/en/")
	mustContain(t, "home", home, "Acme router flaw", open.Ident)
	_, detail := get(t, s, "/nl/p/"+open.Ident)
	mustContain(t, "detail", detail, "Acme router flaw (nl)", "CVE-2026-4242", "Versie 1")
	for _, path := range []string{"/en/", "/en/advisories", "/en/feed.rss", "/en/search?q=router"} {
		_, body := get(t, s, path)
		for _, hidden := range []string{"Amber-only", amber.Ident, "Draft news item", draft.Ident} {
			if strings.Contains(body, hidden) {
				t.Errorf("%s shows %q", path, hidden)
			}
		}
	}

	// An update: a new revision with a change note, shown after the
	// next check.
	c := content(publication.TLPClear, "Acme router flaw, exploited")
	if _, err := svc.Edit(ctx, ann, open.ID, c, "Exploitation seen in the wild"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (publication.Publication, error){
		func() (publication.Publication, error) { return svc.Submit(ctx, ann, open.ID) },
		func() (publication.Publication, error) { return svc.Approve(ctx, bob, open.ID) },
		func() (publication.Publication, error) { return svc.Publish(ctx, bob, open.ID) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	clk.advance(2 * time.Second)
	get(t, s, "/en/")
	s.waitChecks()
	_, detail = get(t, s, "/en/p/"+open.Ident)
	mustContain(t, "updated detail", detail, "Acme router flaw, exploited", "Revision 2", "Exploitation seen in the wild", "Revision 1")

	// Withdrawn: gone from every page.
	if _, err := svc.Withdraw(ctx, bob, open.ID, "published by mistake"); err != nil {
		t.Fatal(err)
	}
	clk.advance(2 * time.Second)
	get(t, s, "/en/")
	s.waitChecks()
	if res, _ := get(t, s, "/en/p/"+open.Ident); res.StatusCode != 404 {
		t.Errorf("a withdrawn publication's page: %d", res.StatusCode)
	}
	if _, body := get(t, s, "/en/feed.atom"); strings.Contains(body, open.Ident) {
		t.Error("a withdrawn publication stays in the feed")
	}
}

package site

import (
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/newsletter"
	"github.com/vigil-cert/vigil/internal/publication/pubdb"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// TestDigestItemsWithdrawnLater: a published digest (made by the
// newsletter's weekly digest) lists three advisories; one is withdrawn
// after, another raised to TLP:AMBER. The digest's page then shows the
// first by its ident as withdrawn, without its title or a link to its
// page (gone), leaves the second out altogether, and keeps the third;
// the search no longer finds the digest by the titles it lost.
func TestDigestItemsWithdrawnLater(t *testing.T) {
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
	svc := &publication.Service{Store: pubdb.New(st.DB()), Audit: accounts, Now: clk.Now,
		Rules: publication.Rules{Languages: []string{"en", "nl"}}}
	content := func(tlp publication.TLP, title string) publication.Content {
		return publication.Content{Severity: "high", TLP: tlp, Texts: []publication.Text{
			{Lang: "en", Title: title, Summary: "About " + title + "."}, {Lang: "nl", Title: title + " (nl)", Summary: "Over " + title + "."}}}
	}
	release := func(id int64) {
		t.Helper()
		for _, step := range []func() (publication.Publication, error){
			func() (publication.Publication, error) { return svc.Submit(ctx, ann, id) },
			func() (publication.Publication, error) { return svc.Approve(ctx, bob, id) },
			func() (publication.Publication, error) { return svc.Publish(ctx, bob, id) },
		} {
			if _, err := step(); err != nil {
				t.Fatal(err)
			}
		}
	}
	publish := func(title string) publication.Publication {
		t.Helper()
		p, err := svc.Create(ctx, ann, publication.KindAdvisory, content(publication.TLPClear, title), "")
		if err != nil {
			t.Fatal(err)
		}
		release(p.ID)
		return p
	}
	withdrawn, raised, kept := publish("Acme router flaw"), publish("Beta camera flaw"), publish("Gamma switch flaw")
	schedule, err := newsletter.DigestConfig{Weekday: "monday", Time: "09:00"}.Schedule()
	if err != nil {
		t.Fatal(err)
	}
	digests := &newsletter.Digests{Service: svc, Catalog: catalog(t), Schedule: schedule, AutoPublish: true,
		PublicationURL: "https://cert.example/{lang}/p/{ident}"}
	digest, err := digests.Make(ctx, clk.now.Add(-time.Hour), clk.now.Add(time.Hour))
	if err != nil || !digest.Public() {
		t.Fatalf("digest %s, %v", digest.Status, err)
	}

	s := newTestSite(t, svc.Store, clk)
	page := "/en/p/" + digest.Ident
	_, body := get(t, s, page)
	mustContain(t, "the digest as published", body, "Acme router flaw", "Beta camera flaw", "Gamma switch flaw",
		`href="https://cert.example/en/p/`+withdrawn.Ident+`"`)

	if _, err := svc.Withdraw(ctx, bob, withdrawn.ID, "published by mistake"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Edit(ctx, ann, raised.ID, content(publication.TLPAmber, "Beta camera flaw"), "for the customers only"); err != nil {
		t.Fatal(err)
	}
	release(raised.ID)
	clk.advance(2 * time.Second)
	get(t, s, "/en/")
	s.waitChecks()

	for lang, label := range map[string]string{"en": "withdrawn", "nl": "ingetrokken"} {
		res, body := get(t, s, "/"+lang+"/p/"+digest.Ident)
		if res.StatusCode != 200 {
			t.Fatalf("%s: %d", lang, res.StatusCode)
		}
		mustContain(t, lang+" digest after the withdrawal", body, "Gamma switch flaw", kept.Ident, withdrawn.Ident, "<em>"+label+"</em>")
		for _, gone := range []string{"Acme router flaw", "/p/" + withdrawn.Ident, "Beta camera flaw", raised.Ident} {
			if strings.Contains(body, gone) {
				t.Errorf("%s: the digest's page still shows %q", lang, gone)
			}
		}
	}
	if _, body := get(t, s, "/en/search?q=camera"); strings.Contains(body, digest.Ident) {
		t.Error("the search finds the digest by the title of an item no longer public")
	}
}

package csaf

import (
	"net/http"
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

// The publication store is a Source.
var _ Source = publication.Publications(nil)

// TestProviderOverPubdb runs the workflow on the real store (SQLite) and
// follows the provider: a published advisory appears, its update adds a
// revision with the change note, a GREEN one never appears, and a
// withdrawn one disappears.
func TestProviderOverPubdb(t *testing.T) {
	ctx := t.Context()
	st := dbtest.SQLite(t, database.Schemas...)
	users := map[string]auth.User{}
	for _, name := range []string{"ann", "bob"} {
		u := auth.User{Name: name, Email: name + "@cert.example", Role: auth.RolePublisher,
			PasswordHash: "$argon2id$v=19$m=65536,t=1,p=4$c2FsdA$aGFzaA", Language: "en"}
		if err := authdb.New(st.DB()).CreateUser(ctx, &u); err != nil {
			t.Fatal(err)
		}
		users[name] = u
	}
	ann := publication.Actor{UserID: users["ann"].ID, Name: "ann"}
	bob := publication.Actor{UserID: users["bob"].ID, Name: "bob"}
	now := t0
	svc := &publication.Service{Store: pubdb.New(st.DB()), Now: func() time.Time { return now }}
	publish := func(c publication.Content) publication.Publication {
		t.Helper()
		p, err := svc.Create(ctx, ann, publication.KindAdvisory, c, "")
		if err == nil {
			_, err = svc.Submit(ctx, ann, p.ID)
		}
		if err == nil {
			_, err = svc.Approve(ctx, bob, p.ID)
		}
		if err == nil {
			p, err = svc.Publish(ctx, bob, p.ID)
		}
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	clear := testAdvisory("", t0).Content
	green := testAdvisory("", t0).Content
	green.TLP = publication.TLPGreen
	green.Texts[0].Title = "Green secret advisory"
	p := publish(clear)
	publish(green)

	prov := NewProvider(svc.Store, Config{Publisher: testPublisher("https://cert.example"), Now: func() time.Time { return now }})
	path := "/" + PublicPath(p.Ident, stamp(p.Published))
	if rec := get(t, prov, path); rec.Code != http.StatusOK {
		t.Fatalf("%s: %d", path, rec.Code)
	}
	files := everyFile(t, prov)
	for name, body := range files {
		if strings.Contains(body, "Green secret") {
			t.Errorf("the GREEN advisory is in %s", name)
		}
	}
	if n := strings.Count(files["white/index.txt"], "\n"); n != 1 {
		t.Errorf("index.txt has %d documents: %q", n, files["white/index.txt"])
	}

	now = now.Add(24 * time.Hour)
	updated := clear
	updated.Texts = append([]publication.Text(nil), clear.Texts...)
	updated.Texts[0].Summary = "An attacker can run code on the gateway; exploited."
	if _, err := svc.Edit(ctx, ann, p.ID, updated, "Exploitation seen"); err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (publication.Publication, error){
		func() (publication.Publication, error) { return svc.Submit(ctx, ann, p.ID) },
		func() (publication.Publication, error) { return svc.Approve(ctx, bob, p.ID) },
		func() (publication.Publication, error) { return svc.Publish(ctx, bob, p.ID) },
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(2 * time.Second)
	doc := decode(t, get(t, prov, path).Body.Bytes())
	if at(t, doc, "document.tracking.version") != "2" || at(t, doc, "document.tracking.revision_history.1.summary") != "Exploitation seen" ||
		at(t, doc, "document.tracking.current_release_date") != stamp(now.Add(-2*time.Second)) {
		t.Errorf("after the update: tracking %v", at(t, doc, "document.tracking"))
	}

	if _, err := svc.Withdraw(ctx, bob, p.ID, "Wrong product"); err != nil {
		t.Fatal(err)
	}
	now = now.Add(2 * time.Second)
	if rec := get(t, prov, path); rec.Code != http.StatusNotFound {
		t.Errorf("a withdrawn advisory: %d", rec.Code)
	}
}

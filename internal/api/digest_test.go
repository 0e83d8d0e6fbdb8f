package api

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/publication"
)

// TestDigestItemsByReader: a published digest lists the CLEAR, GREEN and
// AMBER advisories; the CLEAR one is withdrawn after. Without a token
// the digest shows the withdrawn one by its ident as withdrawn, without
// its title, and neither of the others; a constituent sees the GREEN one
// too; the team sees the digest as it was written.
func TestDigestItemsByReader(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	d := f.publications()
	ctx := t.Context()
	svc := &publication.Service{Store: f.store.Publications, Audit: f.store}
	author := publication.Actor{UserID: f.users["ana"].ID, Name: "ana"}
	approver := publication.Actor{UserID: f.users["pub"].ID, Name: "pub"}
	var body strings.Builder
	for _, key := range []string{"CLEAR", "GREEN", "AMBER"} {
		body.WriteString(publication.DigestItem(d[key].Ident, "high", "[Title "+key+"](<https://cert.example/en/p/"+d[key].Ident+">)", "") + "\n")
	}
	digest, err := svc.Create(ctx, author, publication.KindDigest, publication.Content{Severity: "high", TLP: publication.TLPClear,
		Texts: []publication.Text{{Lang: "en", Title: "Weekly digest", Body: body.String()}}}, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []func() (publication.Publication, error){
		func() (publication.Publication, error) { return svc.Submit(ctx, author, digest.ID) },
		func() (publication.Publication, error) { return svc.Approve(ctx, approver, digest.ID) },
		func() (publication.Publication, error) { return svc.Publish(ctx, approver, digest.ID) },
		func() (publication.Publication, error) {
			return svc.Withdraw(ctx, approver, d["CLEAR"].ID, "published by mistake")
		},
	} {
		if _, err := step(); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		who        string
		want, gone []string
	}{
		{"", []string{d["CLEAR"].Ident + `** *withdrawn*`}, []string{"Title CLEAR", "Title GREEN", d["GREEN"].Ident, "Title AMBER", d["AMBER"].Ident}},
		{"ca", []string{d["CLEAR"].Ident + `** *withdrawn*`, "Title GREEN"}, []string{"Title CLEAR", "Title AMBER", d["AMBER"].Ident}},
		{"pub", []string{"Title CLEAR", "Title GREEN", "Title AMBER"}, []string{"*withdrawn*"}},
	} {
		for _, path := range []string{"/publications/" + digest.Ident, "/publications?kind=digest"} {
			r := f.get(path, tt.who)
			if r.status != 200 {
				t.Fatalf("%s (%q): %d %s", path, tt.who, r.status, r.body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(r.body), w) {
					t.Errorf("%s (%q) lacks %q: %s", path, tt.who, w, r.body)
				}
			}
			for _, g := range tt.gone {
				if strings.Contains(string(r.body), g) {
					t.Errorf("%s (%q) shows %q", path, tt.who, g)
				}
			}
		}
	}
	// A search finds a digest by its own words, never by an item's (each
	// item is found as the publication it is), so nothing gone from it
	// can be spelled out: neither in the list nor in the total.
	for _, tt := range []struct {
		who, q string
		found  bool
	}{
		{"", "Title AMBER", false}, {"", "Title CLEAR", false}, {"", "Weekly digest", true},
		{"ca", "Title GREEN", false}, {"ca", "Weekly digest", true}, {"ca", "title amber", false},
		{"pub", "Title AMBER", false}, {"pub", "Weekly digest", true},
	} {
		r := f.get("/publications?kind=digest&q="+url.QueryEscape(tt.q), tt.who)
		var page struct {
			Publications []struct{ Ident string }
			Total        int
		}
		if err := json.Unmarshal(r.body, &page); err != nil || r.status != 200 {
			t.Fatalf("search %q (%q): %d %s", tt.q, tt.who, r.status, r.body)
		}
		if found := len(page.Publications) == 1 && page.Total == 1; found != tt.found || (!tt.found && (len(page.Publications) != 0 || page.Total != 0)) {
			t.Errorf("search %q (%q): %+v; want found %v", tt.q, tt.who, page, tt.found)
		}
	}
}

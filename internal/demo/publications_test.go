package demo_test

import (
	"context"
	"slices"
	"testing"

	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/demo"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/store/dbtest"
)

// The demo holds a public publication of every kind in English, Dutch and
// French, approved by another account than its author's, an updated one
// with its change note, one for constituents only, one in review and one
// scheduled; loading it again adds nothing.
func TestDemoPublications(t *testing.T) {
	ctx := context.Background()
	st := database.On(dbtest.SQLite(t, database.Schemas...))
	set, err := demo.Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer set.Close()
	for range 2 {
		if err := set.Load(ctx, st); err != nil {
			t.Fatal(err)
		}
	}
	all, err := st.Publications.ListPublications(ctx, publication.Query{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if all.Total != 8 {
		t.Fatalf("%d demo publications after loading twice, want 8", all.Total)
	}
	public := map[publication.Kind]int{}
	statuses := map[publication.Status]int{}
	for _, p := range all.Publications {
		statuses[p.Status]++
		if !slices.Equal(p.Languages(), []string{"en", "nl", "fr"}) {
			t.Errorf("%s is in %v, want en, nl, fr", p.Ident, p.Languages())
		}
		if p.Public() {
			public[p.Kind]++
		}
		if p.Status == publication.StatusPublished && (p.Approver == "" || p.Approver == p.Author) {
			t.Errorf("%s approved by %q, written by %q", p.Ident, p.Approver, p.Author)
		}
		if p.Revision == 2 {
			revs, err := st.Publications.Revisions(ctx, p.ID)
			if err != nil || len(revs) != 2 || revs[1].Note == "" || revs[0].Content.Products[0].Versions[0].Fixed != "4.2.0" ||
				p.Products[0].Versions[0].Fixed != "4.2.1" {
				t.Errorf("the updated advisory's revisions: %+v, %v", revs, err)
			}
		}
	}
	for _, k := range publication.Kinds {
		if public[k] == 0 {
			t.Errorf("no public %s in the demo", k)
		}
	}
	if statuses[publication.StatusReview] != 1 || statuses[publication.StatusScheduled] != 1 {
		t.Errorf("statuses %v, want one in review and one scheduled", statuses)
	}
	green, err := st.Publications.ListPublications(ctx, publication.Query{Status: publication.StatusPublished, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if n := green.Total; n != 6 {
		t.Errorf("%d published, want 6 (one of them TLP:GREEN)", n)
	}
}

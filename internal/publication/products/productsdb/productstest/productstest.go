// Package productstest is the contract of the constituents' product
// declarations and notices (products.Declarations), answered alike by
// productsdb on SQLite and on PostgreSQL.
package productstest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/database"
	"github.com/vigil-cert/vigil/internal/outbox"
	"github.com/vigil-cert/vigil/internal/outbox/outboxdb"
	"github.com/vigil-cert/vigil/internal/publication"
	"github.com/vigil-cert/vigil/internal/publication/products"
	"github.com/vigil-cert/vigil/internal/store"
)

// Run runs the contract. open returns a fresh database of its own for
// every call, migrated with every capability's schema, and the
// declarations on it.
func Run(t *testing.T, open func(t *testing.T) (store.Store, products.Declarations)) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store, s products.Declarations)
	}{
		{"add, list, delete", testLifeCycle},
		{"an organisation sees only its own", testIsolation},
		{"the bound per organisation", testBound},
		{"a refused declaration stores nothing", testRefused},
		{"replace", testReplace},
		{"the declarations an advisory may concern", testConcerned},
		{"told once per revision, with its message", testTell},
		{"was told of a revision or an earlier one", testWasTold},
		{"a deleted organisation's declarations go", testDeletedOrganisation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, s := open(t)
			tt.fn(t, st, s)
		})
	}
}

// org stores an organisation for declarations to belong to.
func org(t *testing.T, st store.Store, handle string) constituency.Organisation {
	t.Helper()
	o := constituency.Organisation{Handle: handle, Name: handle, Language: "en"}
	if err := database.Constituency(st.DB()).CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", handle, err)
	}
	return o
}

func add(t *testing.T, s products.Declarations, org int64, ds ...products.Declaration) []products.Declaration {
	t.Helper()
	if _, err := s.AddDeclarations(t.Context(), org, ds); err != nil {
		t.Fatalf("AddDeclarations: %v", err)
	}
	return ds
}

// idents lists declarations as their identifiers.
func idents(list []products.Declaration) string {
	out := ""
	for _, d := range list {
		out += d.Identifier() + ";"
	}
	return out
}

func testLifeCycle(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	o := org(t, st, "ulb")
	ds := []products.Declaration{
		{CPE: "cpe:2.3:a:Apache:http_server:2.4.58:*:*:*:*:*:*:*", Note: "web", AddedBy: "alice"},
		{PURL: "pkg:npm/left-pad@1.3.0", AddedBy: "alice"},
		{Vendor: "Microsoft", Product: "Exchange Server", Version: "2019 CU13", AddedBy: "alice"},
		{PURL: "pkg:npm/left-pad@1.3.0", AddedBy: "alice"}, // twice: stored once
	}
	n, err := s.AddDeclarations(ctx, o.ID, ds)
	if err != nil || n != 3 {
		t.Fatalf("AddDeclarations = %d, %v; want 3", n, err)
	}
	if ds[0].ID == 0 || ds[0].OrgID != o.ID || ds[0].Added.IsZero() {
		t.Errorf("AddDeclarations left %+v", ds[0])
	}
	if n, err := s.AddDeclarations(ctx, o.ID, []products.Declaration{{PURL: "PKG:npm/left-pad@1.3.0"}}); err != nil || n != 0 {
		t.Errorf("adding a stored declaration again = %d, %v; want 0", n, err)
	}
	list, err := s.ListDeclarations(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := "Microsoft Exchange Server 2019 CU13;cpe:2.3:a:apache:http_server:2.4.58:*:*:*:*:*:*:*;pkg:npm/left-pad@1.3.0;"
	if got := idents(list); got != want {
		t.Errorf("ListDeclarations = %s\nwant %s", got, want)
	}
	got := list[1]
	if got.Vendor != "apache" || got.Product != "http_server" || got.Version != "2.4.58" || got.Note != "web" || got.AddedBy != "alice" ||
		!got.Added.Equal(ds[0].Added) {
		t.Errorf("stored %+v, added %+v", got, ds[0])
	}
	if c, err := s.CountDeclarations(ctx, o.ID); err != nil || c != 3 {
		t.Errorf("CountDeclarations = %d, %v", c, err)
	}
	if err := s.DeleteDeclaration(ctx, o.ID, ds[0].ID); err != nil {
		t.Fatalf("DeleteDeclaration: %v", err)
	}
	if err := s.DeleteDeclaration(ctx, o.ID, ds[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting it again = %v, want ErrNotFound", err)
	}
	if _, err := s.AddDeclarations(ctx, o.ID+1000, []products.Declaration{{Product: "x"}}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("declaring for no organisation = %v, want ErrNotFound", err)
	}
}

func testIsolation(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	a, b := org(t, st, "ulb"), org(t, st, "kuleuven")
	da := add(t, s, a.ID, products.Declaration{Product: "Moodle"})
	add(t, s, b.ID, products.Declaration{Product: "Canvas"})
	if list, _ := s.ListDeclarations(ctx, b.ID); idents(list) != "Canvas;" {
		t.Errorf("b's list = %s", idents(list))
	}
	// Another organisation's declaration answers as one that does not
	// exist, and stays.
	if err := s.DeleteDeclaration(ctx, b.ID, da[0].ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("b deleting a's declaration = %v, want ErrNotFound", err)
	}
	if list, _ := s.ListDeclarations(ctx, a.ID); idents(list) != "Moodle;" {
		t.Errorf("a's list after b's try = %s", idents(list))
	}
}

func testBound(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	o := org(t, st, "ulb")
	ds := make([]products.Declaration, products.MaxPerOrganisation)
	for i := range ds {
		ds[i] = products.Declaration{Product: fmt.Sprintf("product %d", i)}
	}
	if n, err := s.AddDeclarations(ctx, o.ID, ds); err != nil || n != products.MaxPerOrganisation {
		t.Fatalf("AddDeclarations of the bound = %d, %v", n, err)
	}
	if _, err := s.AddDeclarations(ctx, o.ID, []products.Declaration{{Product: "one more"}}); !errors.Is(err, products.ErrTooMany) {
		t.Errorf("one more = %v, want ErrTooMany", err)
	}
	// A declaration stored already is not one more.
	if n, err := s.AddDeclarations(ctx, o.ID, []products.Declaration{{Product: "product 7"}}); err != nil || n != 0 {
		t.Errorf("a stored one again = %d, %v", n, err)
	}
	if _, err := s.AddDeclarations(ctx, o.ID, make([]products.Declaration, products.MaxPerOrganisation+1)); err == nil {
		t.Error("too many at once stored")
	}
}

func testRefused(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	o := org(t, st, "ulb")
	_, err := s.AddDeclarations(ctx, o.ID, []products.Declaration{{Product: "fine"}, {CPE: "cpe:2.3:a:broken"}})
	var ie *publication.InputError
	if !errors.As(err, &ie) || ie.Field != "cpe" {
		t.Fatalf("AddDeclarations = %v, want the CPE refused", err)
	}
	if n, _ := s.CountDeclarations(ctx, o.ID); n != 0 {
		t.Errorf("%d stored after a refusal", n)
	}
}

func testReplace(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	o, other := org(t, st, "ulb"), org(t, st, "kuleuven")
	add(t, s, o.ID, products.Declaration{Product: "Old"}, products.Declaration{Product: "Kept"})
	add(t, s, other.ID, products.Declaration{Product: "Theirs"})
	if n, err := s.ReplaceDeclarations(ctx, o.ID, []products.Declaration{{Product: "Kept"}, {Product: "New"}}); err != nil || n != 2 {
		t.Fatalf("ReplaceDeclarations = %d, %v", n, err)
	}
	if list, _ := s.ListDeclarations(ctx, o.ID); idents(list) != "Kept;New;" {
		t.Errorf("after replace: %s", idents(list))
	}
	if list, _ := s.ListDeclarations(ctx, other.ID); idents(list) != "Theirs;" {
		t.Errorf("the other organisation's after replace: %s", idents(list))
	}
}

func testConcerned(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	a, b, c := org(t, st, "ulb"), org(t, st, "kuleuven"), org(t, st, "ugent")
	add(t, s, a.ID, products.Declaration{Vendor: "Apache", Product: "HTTP Server", Version: "2.4.58"}, products.Declaration{Product: "Moodle"})
	add(t, s, b.ID, products.Declaration{CPE: "cpe:2.3:a:apache:http_server:2.4.59:*:*:*:*:*:*:*"})
	add(t, s, c.ID, products.Declaration{PURL: "pkg:npm/left-pad@1.3.0"})
	httpd := publication.Product{CPE: "cpe:2.3:a:apache:http_server:*:*:*:*:*:*:*:*",
		Versions: []publication.VersionRange{{Introduced: "2.4.0", Fixed: "2.4.59"}}}
	got, err := s.ConcernedDeclarations(ctx, []publication.Product{httpd})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || len(got[a.ID]) != 1 || len(got[b.ID]) != 1 {
		t.Fatalf("ConcernedDeclarations = %+v, want a's and b's http server", got)
	}
	// The store finds the candidates; Concerns decides on the versions.
	adv := publication.Publication{Kind: publication.KindAdvisory, Status: publication.StatusPublished,
		Content: publication.Content{Products: []publication.Product{httpd}}}
	if m := products.Concerns(adv, got[a.ID]); len(m) != 1 {
		t.Errorf("a: %+v", m)
	}
	if m := products.Concerns(adv, got[b.ID]); len(m) != 0 {
		t.Errorf("b runs the fixed version: %+v", m)
	}
	wild, err := s.ConcernedDeclarations(ctx, []publication.Product{{CPE: "cpe:2.3:a:*:*:*:*:*:*:*:*:*:*"}})
	if err != nil || len(wild) != 3 {
		t.Errorf("a wildcard product = %d organisations, %v; want all 3", len(wild), err)
	}
	none, err := s.ConcernedDeclarations(ctx, []publication.Product{{Product: "Nothing Anyone Runs"}})
	if err != nil || len(none) != 0 {
		t.Errorf("an unknown product = %+v, %v", none, err)
	}
}

func testTell(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	o := org(t, st, "ulb")
	msg := func(id string) []outbox.Message {
		return []outbox.Message{{OrgID: o.ID, Org: o.Handle, Kind: "advisory", Sender: "cert@cert.example",
			Recipients: []string{"soc@ulb.example"}, Subject: "advisory", MessageID: id, Body: []byte("body")}}
	}
	told, err := s.Tell(ctx, 7, 1, o.ID, msg("a@cert.example"))
	if err != nil || !told {
		t.Fatalf("Tell = %t, %v", told, err)
	}
	told, err = s.Tell(ctx, 7, 1, o.ID, msg("b@cert.example"))
	if err != nil || told {
		t.Fatalf("Tell again = %t, %v; want false", told, err)
	}
	if told, err := s.Tell(ctx, 7, 2, o.ID, msg("c@cert.example")); err != nil || !told {
		t.Errorf("Tell of revision 2 = %t, %v", told, err)
	}
	list, err := outboxdb.New(st.DB(), st).ListMessages(ctx, outbox.MessageQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 {
		t.Errorf("%d messages queued, want 2 (one per revision)", len(list))
	}
	if orgs, err := s.Told(ctx, 7, 1); err != nil || len(orgs) != 1 || orgs[0] != o.ID {
		t.Errorf("Told = %v, %v", orgs, err)
	}
	// A message that cannot be queued (its Message-ID taken) leaves no
	// record: the notice and the message are one transaction.
	if _, err := s.Tell(ctx, 8, 1, o.ID, msg("a@cert.example")); err == nil {
		t.Fatal("Tell with a taken Message-ID succeeded")
	}
	if orgs, _ := s.Told(ctx, 8, 1); len(orgs) != 0 {
		t.Errorf("a failed Tell recorded %v", orgs)
	}
}

// testWasTold: WasTold answers, in one query, whether an organisation
// was told of a publication's revision or of an earlier one: not of a
// later one, not of another publication, not another organisation's
// notice.
func testWasTold(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	a, b := org(t, st, "ulb"), org(t, st, "kuleuven")
	if _, err := s.Tell(ctx, 7, 2, a.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Tell(ctx, 8, 1, b.ID, nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		pub      int64
		revision int
		org      int64
		want     bool
	}{
		{"the revision it was told of", 7, 2, a.ID, true},
		{"a later revision", 7, 5, a.ID, true},
		{"an earlier revision than it was told of", 7, 1, a.ID, false},
		{"another organisation, told of nothing here", 7, 2, b.ID, false},
		{"another publication", 8, 1, a.ID, false},
		{"the other organisation's own notice", 8, 3, b.ID, true},
		{"a publication nobody was told of", 9, 1, a.ID, false},
		{"revision 0", 7, 0, a.ID, false},
	} {
		got, err := s.WasTold(ctx, c.pub, c.revision, c.org)
		if err != nil || got != c.want {
			t.Errorf("%s: WasTold(%d, %d, %d) = %t, %v; want %t", c.name, c.pub, c.revision, c.org, got, err, c.want)
		}
	}
	// A deleted organisation's notices go with it.
	if err := database.Constituency(st.DB()).DeleteOrganisation(ctx, a.ID); err != nil {
		t.Fatal(err)
	}
	if got, err := s.WasTold(ctx, 7, 2, a.ID); err != nil || got {
		t.Errorf("WasTold of a deleted organisation = %t, %v", got, err)
	}
}

func testDeletedOrganisation(t *testing.T, st store.Store, s products.Declarations) {
	ctx := t.Context()
	o, other := org(t, st, "ulb"), org(t, st, "kuleuven")
	add(t, s, o.ID, products.Declaration{Product: "Moodle"})
	add(t, s, other.ID, products.Declaration{Product: "Moodle"})
	if _, err := s.Tell(ctx, 1, 1, o.ID, nil); err != nil {
		t.Fatal(err)
	}
	if err := database.Constituency(st.DB()).DeleteOrganisation(ctx, o.ID); err != nil {
		t.Fatalf("DeleteOrganisation: %v", err)
	}
	got, err := s.ConcernedDeclarations(ctx, []publication.Product{{Product: "Moodle"}})
	if err != nil || len(got) != 1 || len(got[other.ID]) != 1 {
		t.Errorf("after the delete: %+v, %v", got, err)
	}
	if orgs, _ := s.Told(ctx, 1, 1); len(orgs) != 0 {
		t.Errorf("notices of a deleted organisation: %v", orgs)
	}
}

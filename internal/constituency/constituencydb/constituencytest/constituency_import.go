package constituencytest

// The contract of importing a constituency and of its version counter.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/store"
)

func testImport(t *testing.T, s Stores) {
	a, b, storedA := importFirst(t, s)
	v := version(t, s)
	t.Run("the same again changes nothing", func(t *testing.T) { testImportSameAgain(t, s, a, b, storedA, v) })
	t.Run("update and create", func(t *testing.T) { testImportUpdateAndCreate(t, s, a, b, storedA, v) })
	t.Run("all or nothing", func(t *testing.T) { testImportAllOrNothing(t, s, b) })
	t.Run("replace refused while users belong to an organisation it would delete", func(t *testing.T) { testImportReplaceRefused(t, s) })
	t.Run("replace", func(t *testing.T) { testImportReplace(t, s, b) })
	t.Run("an organisation re-created after a replace does not inherit the events of the deleted one", func(t *testing.T) {
		notInherited(t, s, func(constituency.Organisation) {
			res, err := s.ImportOrganisations(t.Context(), []constituency.Organisation{orgByHandle(t, s, "y")}, true)
			if err != nil || res.Deleted != 1 {
				t.Fatalf("replacing import = %+v, %v; want x deleted", res, err)
			}
		})
	})
}

// orgByHandle returns the stored organisation handle.
func orgByHandle(t *testing.T, s Stores, handle string) constituency.Organisation {
	t.Helper()
	o, err := s.GetOrganisationByHandle(t.Context(), handle)
	if err != nil {
		t.Fatalf("GetOrganisationByHandle(%s): %v", handle, err)
	}
	return o
}

// orgHandles returns the handles of the stored organisations, space
// separated.
func orgHandles(t *testing.T, s Stores) string {
	t.Helper()
	list, err := s.ListOrganisations(t.Context(), constituency.OrganisationQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var h []string
	for _, o := range list {
		h = append(h, o.Handle)
	}
	return strings.Join(h, " ")
}

// importFirst imports organisations a (with a network) and b (with an AS
// number) into an empty constituency. It returns them as given and a as
// stored.
func importFirst(t *testing.T, s Stores) (a, b, storedA constituency.Organisation) {
	ctx := t.Context()
	a, b = newOrg("a"), newOrg("b")
	a.Networks = prefixes("192.0.2.0/24")
	b.ASNs = []uint32{64500}
	res, err := s.ImportOrganisations(ctx, []constituency.Organisation{a, b}, false)
	if err != nil {
		t.Fatalf("ImportOrganisations: %v", err)
	}
	if res != (constituency.ImportResult{Created: 2}) {
		t.Errorf("first import = %+v, want 2 created", res)
	}
	storedA = orgByHandle(t, s, "a")
	if !slices.Equal(storedA.Networks, a.Networks) || len(storedA.Contacts) != 1 || storedA.Contacts[0].Email != "abuse@a.example" {
		t.Errorf("imported a = %+v", storedA)
	}
	return a, b, storedA
}

// testImportSameAgain: importing the same again changes nothing.
func testImportSameAgain(t *testing.T, s Stores, a, b, storedA constituency.Organisation, v int64) {
	ctx := t.Context()
	res, err := s.ImportOrganisations(ctx, []constituency.Organisation{b, a}, false)
	if err != nil || res != (constituency.ImportResult{}) {
		t.Errorf("re-import = %+v, %v; want nothing changed", res, err)
	}
	if got := version(t, s); got != v {
		t.Errorf("version %d after an import that changed nothing, want %d", got, v)
	}
	again := orgByHandle(t, s, "a")
	if !again.Updated.Equal(storedA.Updated) || orgDiff(again, storedA) != "" {
		t.Errorf("unchanged a was rewritten: %+v, was %+v", again, storedA)
	}
}

// testImportUpdateAndCreate: an import updates a changed organisation in
// place and creates a new one.
func testImportUpdateAndCreate(t *testing.T, s Stores, a, b, storedA constituency.Organisation, v int64) {
	ctx := t.Context()
	a2 := a
	a2.Name = "A renamed"
	a2.Contacts = append(slices.Clone(a.Contacts), constituency.Contact{Email: "soc@a.example", Role: constituency.ContactSecurity})
	c := newOrg("c")
	res, err := s.ImportOrganisations(ctx, []constituency.Organisation{a2, b, c}, false)
	if err != nil || res != (constituency.ImportResult{Created: 1, Updated: 1}) {
		t.Fatalf("import = %+v, %v; want 1 created, 1 updated", res, err)
	}
	got := orgByHandle(t, s, "a")
	if got.Name != "A renamed" || len(got.Contacts) != 2 {
		t.Errorf("a after import = %+v", got)
	}
	// Contacts given without IDs keep theirs, matched by address.
	if got.Contacts[0].ID != storedA.Contacts[0].ID || got.Contacts[1].ID == 0 {
		t.Errorf("contact IDs after import = %d, %d; want %d kept and a new one", got.Contacts[0].ID, got.Contacts[1].ID, storedA.Contacts[0].ID)
	}
	if got.ID != storedA.ID || !got.Created.Equal(storedA.Created) {
		t.Errorf("import replaced a (id %d, created %v) instead of updating it", got.ID, got.Created)
	}
	if nv := version(t, s); nv <= v {
		t.Errorf("version %d after an import, want more than %d", nv, v)
	}
	if h := orgHandles(t, s); h != "a b c" {
		t.Errorf("organisations = %s", h)
	}
}

// testImportAllOrNothing: an import with an error, merging or replacing,
// changes nothing.
func testImportAllOrNothing(t *testing.T, s Stores, b constituency.Organisation) {
	ctx := t.Context()
	v := version(t, s)
	beforeB := orgByHandle(t, s, "b")
	b2 := b
	b2.Name = "B changed"
	bad := []struct {
		name string
		orgs []constituency.Organisation
	}{
		{"a handle twice", []constituency.Organisation{newOrg("x"), b2, newOrg("x")}},
		{"an invalid handle last", []constituency.Organisation{newOrg("x"), b2, {Handle: "Not Valid"}}},
		{"an invalid network last", []constituency.Organisation{newOrg("x"), b2, {Handle: "y", Networks: []netip.Prefix{{}}}}},
	}
	for _, tt := range bad {
		for _, replace := range []bool{false, true} {
			res, err := s.ImportOrganisations(ctx, tt.orgs, replace)
			if err == nil {
				t.Errorf("%s (replace %v): no error, result %+v", tt.name, replace, res)
			}
			if tt.name == "a handle twice" && !errors.Is(err, store.ErrConflict) {
				t.Errorf("%s: error %v, want ErrConflict", tt.name, err)
			}
			if h := orgHandles(t, s); h != "a b c" {
				t.Errorf("%s (replace %v): organisations after a failed import = %s, want a b c", tt.name, replace, h)
			}
			if got := orgByHandle(t, s, "b"); got.Name != beforeB.Name || !got.Updated.Equal(beforeB.Updated) {
				t.Errorf("%s (replace %v): b changed by a failed import: %+v", tt.name, replace, got)
			}
			if got := version(t, s); got != v {
				t.Errorf("%s (replace %v): version %d after a failed import, want %d", tt.name, replace, got, v)
			}
		}
	}
}

// testImportReplaceRefused: a replacing import is refused while users
// belong to an organisation it would delete.
func testImportReplaceRefused(t *testing.T, s Stores) {
	ctx := t.Context()
	c := orgByHandle(t, s, "c")
	u := &auth.User{Name: "c-user", Role: auth.RoleConstituent, OrgID: c.ID}
	if err := authdb.New(s.DB()).CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	v := version(t, s)
	if _, err := s.ImportOrganisations(ctx, []constituency.Organisation{newOrg("d")}, true); !errors.Is(err, store.ErrConflict) {
		t.Errorf("replacing import = %v, want ErrConflict", err)
	}
	if h := orgHandles(t, s); h != "a b c" || version(t, s) != v {
		t.Errorf("after the refused import: %s, version %d (was %d)", h, version(t, s), v)
	}
	u.OrgID = 0
	if err := authdb.New(s.DB()).UpdateUser(ctx, *u); err != nil {
		t.Fatal(err)
	}
}

// testImportReplace: a replacing import deletes the organisations it does
// not list.
func testImportReplace(t *testing.T, s Stores, b constituency.Organisation) {
	ctx := t.Context()
	v := version(t, s)
	b2 := b
	b2.Domains = []string{"b.example"}
	res, err := s.ImportOrganisations(ctx, []constituency.Organisation{b2, newOrg("d")}, true)
	if err != nil || res != (constituency.ImportResult{Created: 1, Updated: 1, Deleted: 2}) {
		t.Fatalf("replacing import = %+v, %v; want 1 created, 1 updated, 2 deleted", res, err)
	}
	if h := orgHandles(t, s); h != "b d" {
		t.Errorf("organisations after replace = %s, want b d", h)
	}
	if got := orgByHandle(t, s, "b"); !slices.Equal(got.Domains, []string{"b.example"}) {
		t.Errorf("b after replace = %+v", got)
	}
	if got := version(t, s); got <= v {
		t.Errorf("version %d after a replacing import, want more than %d", got, v)
	}
	res, err = s.ImportOrganisations(ctx, nil, true)
	if err != nil || res != (constituency.ImportResult{Deleted: 2}) {
		t.Errorf("replacing with nothing = %+v, %v; want 2 deleted", res, err)
	}
	if h := orgHandles(t, s); h != "" {
		t.Errorf("organisations left: %s", h)
	}
}

func testConstituencyVersion(t *testing.T, s Stores) {
	ctx := t.Context()
	last := version(t, s)
	step := func(name string, changes bool, fn func() error) {
		t.Helper()
		if err := fn(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		v := version(t, s)
		switch {
		case changes && v <= last:
			t.Errorf("%s: version %d, want more than %d", name, v, last)
		case !changes && v != last:
			t.Errorf("%s: version %d, want %d", name, v, last)
		}
		last = v
	}
	a := newOrg("a")
	step("create", true, func() error { return s.CreateOrganisation(ctx, &a) })
	step("get, list, count", false, func() error {
		if _, err := s.GetOrganisation(ctx, a.ID); err != nil {
			return err
		}
		if _, err := s.GetOrganisationByHandle(ctx, "a"); err != nil {
			return err
		}
		if _, err := s.ListOrganisations(ctx, constituency.OrganisationQuery{Text: "a"}); err != nil {
			return err
		}
		_, err := s.CountOrganisations(ctx, constituency.OrganisationQuery{})
		return err
	})
	step("update", true, func() error {
		a.Networks = prefixes("192.0.2.0/24")
		return s.UpdateOrganisation(ctx, &a)
	})
	step("change request", false, func() error {
		return s.AddChangeRequest(ctx, &constituency.ChangeRequest{OrgID: a.ID, Actor: "x", Text: "add 198.51.100.0/24"})
	})
	step("policy", false, func() error {
		return notifydb.New(s.DB(), s).PutNotificationPolicy(ctx, notify.Policy{OrgID: a.ID, Digest: notify.DigestDaily})
	})
	step("import", true, func() error {
		_, err := s.ImportOrganisations(ctx, []constituency.Organisation{newOrg("b")}, false)
		return err
	})
	step("delete", true, func() error { return s.DeleteOrganisation(ctx, a.ID) })
	step("refused create", false, func() error {
		dup := newOrg("b")
		if err := s.CreateOrganisation(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("CreateOrganisation(taken) = %v, want ErrConflict", err)
		}
		return nil
	})
}

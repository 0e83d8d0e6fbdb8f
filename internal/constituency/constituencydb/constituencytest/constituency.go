package constituencytest

// The contract of organisations: their records, what they own, their
// handles and their users. Import, search, change requests and concurrent
// changes have files of their own.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/auth/authdb"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/notify"
	"github.com/vigil-cert/vigil/internal/notify/notifydb"
	"github.com/vigil-cert/vigil/internal/store"
)

// armoredKey stands for a contact's OpenPGP key: several lines, as
// armored keys are.
const armoredKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZjQ1ABYJKwYBBAHaRw8BAQdA\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"

// orgDiff lists how got differs from want, ignoring times (checked by the
// tests themselves); "" when they agree. nil and empty lists are equal.
func orgDiff(got, want constituency.Organisation) string {
	var d []string
	check := func(name string, equal bool, g, w any) {
		if !equal {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	check("ID", got.ID == want.ID, got.ID, want.ID)
	check("Handle", got.Handle == want.Handle, got.Handle, want.Handle)
	check("Name", got.Name == want.Name, got.Name, want.Name)
	check("Sector", got.Sector == want.Sector, got.Sector, want.Sector)
	check("Country", got.Country == want.Country, got.Country, want.Country)
	check("Language", got.Language == want.Language, got.Language, want.Language)
	check("Notes", got.Notes == want.Notes, got.Notes, want.Notes)
	check("Networks", slices.Equal(got.Networks, want.Networks), got.Networks, want.Networks)
	check("ASNs", slices.Equal(got.ASNs, want.ASNs), got.ASNs, want.ASNs)
	check("Domains", slices.Equal(got.Domains, want.Domains), got.Domains, want.Domains)
	check("Contacts", slices.Equal(got.Contacts, want.Contacts), got.Contacts, want.Contacts)
	return strings.Join(d, "; ")
}

func prefixes(ps ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ps))
	for i, p := range ps {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// newOrg returns a small valid organisation.
func newOrg(handle string) constituency.Organisation {
	return constituency.Organisation{
		Handle: handle, Name: "Organisation " + handle, Sector: "research", Country: "BE", Language: "en",
		Contacts: []constituency.Contact{{Name: "Abuse desk", Email: "abuse@" + handle + ".example", Role: constituency.ContactAbuse, Notify: true}},
	}
}

func createOrg(t *testing.T, s Stores, o constituency.Organisation) constituency.Organisation {
	t.Helper()
	if err := s.CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", o.Handle, err)
	}
	return o
}

func version(t *testing.T, s Stores) int64 {
	t.Helper()
	v, err := s.ConstituencyVersion(t.Context())
	if err != nil {
		t.Fatalf("ConstituencyVersion: %v", err)
	}
	return v
}

func testOrganisations(t *testing.T, s Stores) {
	ulb := createULB(t, s)
	vub := createOrg(t, s, newOrg("vub"))
	v := version(t, s)
	t.Run("taken handle", func(t *testing.T) { testTakenHandle(t, s) })
	t.Run("invalid", func(t *testing.T) { testInvalidOrganisations(t, s, v) })
	t.Run("not found", func(t *testing.T) { testOrganisationNotFound(t, s, v) })
	t.Run("update", func(t *testing.T) { testUpdateOrganisation(t, s, &ulb, vub, v) })
	t.Run("delete", func(t *testing.T) { testDeleteOrganisation(t, s, ulb, vub) })
	t.Run("a re-created organisation does not inherit the events of the deleted one", func(t *testing.T) {
		notInherited(t, s, func(x constituency.Organisation) {
			if err := s.DeleteOrganisation(t.Context(), x.ID); err != nil {
				t.Fatalf("DeleteOrganisation: %v", err)
			}
		})
	})
}

// createULB creates organisation ulb with networks, AS numbers and
// domains to normalize and two contacts, and checks that it is stored
// normalized and found by ID and by handle.
func createULB(t *testing.T, s Stores) constituency.Organisation {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	ulb := constituency.Organisation{
		Handle: "ulb", Name: "Université libre de Bruxelles", Sector: "university", Country: "BE", Language: "fr",
		Notes: "two campuses\nand a hospital",
		// Unmasked, unsorted, repeated, IPv4-mapped: stored normalized.
		Networks: prefixes("2001:db8:10::/48", "192.0.2.77/24", "198.51.100.0/25", "192.0.2.0/24", "::ffff:203.0.113.0/120"),
		ASNs:     []uint32{64501, 2611, 64501},
		Domains:  []string{"ULB.example.", "vub-ulb.example", "ulb.example"},
		Contacts: []constituency.Contact{
			{Name: "CERT ULB", Email: "cert@ulb.example", Phone: "+32 2 650 00 00", Role: constituency.ContactSecurity, PGPKey: armoredKey, Notify: true},
			{Name: "Direction", Email: "direction@ulb.example", Role: constituency.ContactManagement},
		},
	}
	if err := s.CreateOrganisation(ctx, &ulb); err != nil {
		t.Fatalf("CreateOrganisation: %v", err)
	}
	if ulb.ID == 0 || ulb.Contacts[0].ID == 0 || ulb.Contacts[1].ID == 0 || ulb.Contacts[0].ID == ulb.Contacts[1].ID {
		t.Errorf("CreateOrganisation left IDs org %d, contacts %+v", ulb.ID, ulb.Contacts)
	}
	if ulb.Created.Before(before) || ulb.Updated.Before(before) {
		t.Errorf("CreateOrganisation left Created %v, Updated %v", ulb.Created, ulb.Updated)
	}
	want := ulb
	want.Networks = prefixes("192.0.2.0/24", "198.51.100.0/25", "203.0.113.0/24", "2001:db8:10::/48")
	want.ASNs = []uint32{2611, 64501}
	want.Domains = []string{"ulb.example", "vub-ulb.example"}
	if d := orgDiff(ulb, want); d != "" {
		t.Errorf("CreateOrganisation did not normalize o: %s", d)
	}
	got, err := s.GetOrganisation(ctx, ulb.ID)
	if err != nil {
		t.Fatalf("GetOrganisation: %v", err)
	}
	if d := orgDiff(got, want); d != "" {
		t.Errorf("GetOrganisation: %s", d)
	}
	if !got.Created.Equal(ulb.Created) || !got.Updated.Equal(ulb.Updated) {
		t.Errorf("GetOrganisation times %v, %v; want %v, %v", got.Created, got.Updated, ulb.Created, ulb.Updated)
	}
	byHandle, err := s.GetOrganisationByHandle(ctx, "ulb")
	if err != nil {
		t.Fatalf("GetOrganisationByHandle: %v", err)
	}
	if d := orgDiff(byHandle, want); d != "" {
		t.Errorf("GetOrganisationByHandle: %s", d)
	}
	return ulb
}

// testTakenHandle: a handle already taken is refused and creates nothing.
func testTakenHandle(t *testing.T, s Stores) {
	ctx := t.Context()
	dup := newOrg("ulb")
	dup.Networks = prefixes("10.0.0.0/8")
	if err := s.CreateOrganisation(ctx, &dup); !errors.Is(err, store.ErrConflict) {
		t.Errorf("CreateOrganisation(taken handle) = %v, want ErrConflict", err)
	}
	if dup.ID != 0 {
		t.Errorf("failed CreateOrganisation set ID %d", dup.ID)
	}
	if n, _ := s.CountOrganisations(ctx, constituency.OrganisationQuery{}); n != 2 {
		t.Errorf("%d organisations after a refused create, want 2", n)
	}
}

// testInvalidOrganisations: invalid organisations are refused and do not
// change the version v.
func testInvalidOrganisations(t *testing.T, s Stores, v int64) {
	ctx := t.Context()
	for name, o := range map[string]constituency.Organisation{
		"empty handle":    {Name: "x"},
		"upper case":      {Handle: "ULB2"},
		"space":           {Handle: "ulb 2"},
		"AS number 0":     {Handle: "zero", ASNs: []uint32{0}},
		"invalid network": {Handle: "nonet", Networks: []netip.Prefix{{}}},
		"empty domain":    {Handle: "nodomain", Domains: []string{"."}},
	} {
		if err := s.CreateOrganisation(ctx, &o); err == nil {
			t.Errorf("CreateOrganisation(%s): no error", name)
		}
	}
	if got := version(t, s); got != v {
		t.Errorf("version %d after refused creates, want %d", got, v)
	}
}

// testOrganisationNotFound: getting, updating and deleting an unknown
// organisation gives ErrNotFound and does not change the version v.
func testOrganisationNotFound(t *testing.T, s Stores, v int64) {
	ctx := t.Context()
	if _, err := s.GetOrganisation(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetOrganisation(unknown) = %v, want ErrNotFound", err)
	}
	if _, err := s.GetOrganisationByHandle(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetOrganisationByHandle(unknown) = %v, want ErrNotFound", err)
	}
	ghost := newOrg("ghost")
	ghost.ID = 999999
	if err := s.UpdateOrganisation(ctx, &ghost); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateOrganisation(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.DeleteOrganisation(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("DeleteOrganisation(unknown) = %v, want ErrNotFound", err)
	}
	if got := version(t, s); got != v {
		t.Errorf("version %d after failed changes, want %d", got, v)
	}
}

// testUpdateOrganisation updates *ulb (its handle and created time are
// kept, contacts matched by ID, another organisation's contact not taken
// over) and, on success, sets *ulb to the updated organisation.
func testUpdateOrganisation(t *testing.T, s Stores, ulbp *constituency.Organisation, vub constituency.Organisation, v int64) {
	ctx := t.Context()
	ulb := *ulbp
	upd := ulb
	upd.Handle = "renamed" // ignored: handles never change
	upd.Created = time.Time{}
	upd.Name = "ULB"
	upd.Networks = prefixes("192.0.2.0/23")
	upd.ASNs = nil
	upd.Domains = []string{"ulb.example"}
	upd.Contacts = []constituency.Contact{
		{Name: "New desk", Email: "desk@ulb.example", Role: constituency.ContactAbuse, Notify: true},
		{ID: ulb.Contacts[0].ID, Name: "CERT ULB", Email: "cert@ulb.example", Role: constituency.ContactSecurity, PGPKey: armoredKey, Notify: false},
		// Another organisation's contact ID is not taken over.
		{ID: vub.Contacts[0].ID, Name: "Impostor", Email: "x@ulb.example", Role: constituency.ContactTechnical},
	}
	if err := s.UpdateOrganisation(ctx, &upd); err != nil {
		t.Fatalf("UpdateOrganisation: %v", err)
	}
	if upd.Handle != "ulb" || !upd.Created.Equal(ulb.Created) || upd.Updated.Before(ulb.Updated) {
		t.Errorf("after UpdateOrganisation: handle %q, created %v, updated %v", upd.Handle, upd.Created, upd.Updated)
	}
	c := upd.Contacts
	if c[1].ID != ulb.Contacts[0].ID || c[0].ID == 0 || c[2].ID == 0 || c[2].ID == vub.Contacts[0].ID ||
		c[0].ID == ulb.Contacts[1].ID || c[2].ID == ulb.Contacts[1].ID {
		t.Errorf("contact IDs after update = %d, %d, %d; want new, %d kept, new", c[0].ID, c[1].ID, c[2].ID, ulb.Contacts[0].ID)
	}
	got, err := s.GetOrganisation(ctx, ulb.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := orgDiff(got, upd); d != "" {
		t.Errorf("GetOrganisation after update: %s", d)
	}
	other, err := s.GetOrganisation(ctx, vub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if d := orgDiff(other, vub); d != "" {
		t.Errorf("the other organisation changed: %s", d)
	}
	if got := version(t, s); got <= v {
		t.Errorf("version %d after an update, want more than %d", got, v)
	}
	*ulbp = upd
}

// testDeleteOrganisation: an organisation with a user is not deleted;
// without, it is, with its policy, and neither its handle nor its IDs
// are given again.
func testDeleteOrganisation(t *testing.T, s Stores, ulb, vub constituency.Organisation) {
	ctx := t.Context()
	u := &auth.User{Name: "ulb-portal", Role: auth.RoleConstituent, OrgID: ulb.ID}
	if err := authdb.New(s.DB()).CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := notifydb.New(s.DB(), s).PutNotificationPolicy(ctx, notify.Policy{OrgID: ulb.ID, Enabled: true, Digest: notify.DigestDaily}); err != nil {
		t.Fatalf("PutNotificationPolicy: %v", err)
	}
	v := version(t, s)
	if err := s.DeleteOrganisation(ctx, ulb.ID); !errors.Is(err, store.ErrConflict) {
		t.Errorf("DeleteOrganisation with a user = %v, want ErrConflict", err)
	}
	if _, err := s.GetOrganisation(ctx, ulb.ID); err != nil {
		t.Errorf("organisation gone after a refused delete: %v", err)
	}
	if got := version(t, s); got != v {
		t.Errorf("version %d after a refused delete, want %d", got, v)
	}
	u.OrgID = 0
	if err := authdb.New(s.DB()).UpdateUser(ctx, *u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	if err := s.DeleteOrganisation(ctx, ulb.ID); err != nil {
		t.Fatalf("DeleteOrganisation: %v", err)
	}
	if _, err := s.GetOrganisation(ctx, ulb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleted organisation: %v, want ErrNotFound", err)
	}
	if _, err := notifydb.New(s.DB(), s).GetNotificationPolicy(ctx, ulb.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("policy of a deleted organisation: %v, want ErrNotFound", err)
	}
	if got := version(t, s); got <= v {
		t.Errorf("version %d after a delete, want more than %d", got, v)
	}
	// Its handle is never given again: events and messages name it.
	refusedHandle(t, s, constituency.Organisation{Handle: "ulb"})
	if got := version(t, s); got <= v {
		t.Errorf("version %d after a delete, want more than %d", got, v)
	}
	// Another handle gets nothing it owned.
	again := createOrg(t, s, constituency.Organisation{Handle: "ulb-2"})
	got, err := s.GetOrganisation(ctx, again.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Networks)+len(got.ASNs)+len(got.Domains)+len(got.Contacts) != 0 {
		t.Errorf("new organisation inherited %+v", got)
	}
	other, err := s.GetOrganisation(ctx, vub.ID)
	if err != nil || orgDiff(other, vub) != "" {
		t.Errorf("the other organisation after a delete: %+v, %v", other, err)
	}
	// An ID is never given again, not even the newest one after its
	// deletion: outbox messages keep organisation IDs.
	if err := s.DeleteOrganisation(ctx, again.ID); err != nil {
		t.Fatal(err)
	}
	next := createOrg(t, s, newOrg("next"))
	if next.ID == again.ID || next.ID == ulb.ID {
		t.Errorf("a new organisation got the ID %d of a deleted one", next.ID)
	}
	if next.Contacts[0].ID == vub.Contacts[0].ID || slices.ContainsFunc(ulb.Contacts, func(c constituency.Contact) bool { return c.ID == next.Contacts[0].ID }) {
		t.Errorf("a new contact got the ID %d of another", next.Contacts[0].ID)
	}
}

// notInherited checks that remove(x) takes organisation x's events out of
// the Organisation filter and out of GetOrganisationEvent, and retires its
// handle, so that no organisation created later under it sees them in its
// portal; an event also tagged with another organisation stays that one's.
func notInherited(t *testing.T, s Stores, remove func(x constituency.Organisation)) {
	t.Helper()
	ctx := t.Context()
	x := createOrg(t, s, newOrg("x"))
	createOrg(t, s, newOrg("y"))
	only := tagged(t, ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.1", "comment": "x only"}), "x")
	both := tagged(t, ev(t, map[string]string{"time.source": event.FormatTime(base.Add(time.Minute)), "source.ip": "192.0.2.2", "comment": "x and y"}), "x", "y")
	insert(t, s, []*event.Event{only, both})
	if got := eventLabels(searchAll(t, s, store.EventQuery{Organisation: "x"})); got != "x and y x only" {
		t.Fatalf("x's events before the delete = %q", got)
	}
	if _, err := s.GetOrganisationEvent(ctx, "x", only.Hash()); err != nil {
		t.Fatalf("GetOrganisationEvent(x, its own event) before the delete: %v", err)
	}
	remove(x)
	refusedHandle(t, s, newOrg("x"))
	if got := searchAll(t, s, store.EventQuery{Organisation: "x"}); len(got) != 0 {
		t.Errorf("x still has %q after its delete", eventLabels(got))
	}
	for _, e := range []*event.Event{only, both} {
		if got, err := s.GetOrganisationEvent(ctx, "x", e.Hash()); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetOrganisationEvent(x, %s) after the delete = %v, %v; want ErrNotFound", e.Value("comment"), got.Event, err)
		}
	}
	if got := eventLabels(searchAll(t, s, store.EventQuery{Organisation: "y"})); got != "x and y" {
		t.Errorf("y's events after deleting x = %q, want x and y", got)
	}
	if _, err := s.GetOrganisationEvent(ctx, "y", both.Hash()); err != nil {
		t.Errorf("GetOrganisationEvent(y, x and y) after deleting x: %v", err)
	}
}

// refusedHandle checks that an organisation under o's handle, which a
// deleted organisation had, is refused by CreateOrganisation and by an
// import, with a RetiredHandleError naming the handle that is also an
// ErrConflict, and that nothing is stored.
func refusedHandle(t *testing.T, s Stores, o constituency.Organisation) {
	t.Helper()
	ctx := t.Context()
	check := func(how string, err error) {
		t.Helper()
		var retired *constituency.RetiredHandleError
		if !errors.As(err, &retired) || retired.Handle != o.Handle || !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s with the handle %s of a deleted organisation = %v; want a RetiredHandleError", how, o.Handle, err)
		}
		if got, err := s.GetOrganisationByHandle(ctx, o.Handle); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("after %s: organisation %s = %+v, %v; want none", how, o.Handle, got, err)
		}
	}
	v := version(t, s)
	c := o
	check("CreateOrganisation", s.CreateOrganisation(ctx, &c))
	_, err := s.ImportOrganisations(ctx, []constituency.Organisation{o}, false)
	check("ImportOrganisations", err)
	if got := version(t, s); got != v {
		t.Errorf("version %d after refused creations, want %d", got, v)
	}
}

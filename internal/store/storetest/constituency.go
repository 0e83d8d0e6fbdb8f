package storetest

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vigil-cert/vigil/internal/event"
	"github.com/vigil-cert/vigil/internal/store"
)

// armoredKey stands for a contact's OpenPGP key: several lines, as
// armored keys are.
const armoredKey = "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZjQ1ABYJKwYBBAHaRw8BAQdA\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----\n"

// orgDiff lists how got differs from want, ignoring times (checked by the
// tests themselves); "" when they agree. nil and empty lists are equal.
func orgDiff(got, want store.Organisation) string {
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
func newOrg(handle string) store.Organisation {
	return store.Organisation{
		Handle: handle, Name: "Organisation " + handle, Sector: "research", Country: "BE", Language: "en",
		Contacts: []store.Contact{{Name: "Abuse desk", Email: "abuse@" + handle + ".example", Role: store.ContactAbuse, Notify: true}},
	}
}

func createOrg(t *testing.T, s store.Store, o store.Organisation) store.Organisation {
	t.Helper()
	if err := s.CreateOrganisation(t.Context(), &o); err != nil {
		t.Fatalf("CreateOrganisation(%s): %v", o.Handle, err)
	}
	return o
}

func version(t *testing.T, s store.Store) int64 {
	t.Helper()
	v, err := s.ConstituencyVersion(t.Context())
	if err != nil {
		t.Fatalf("ConstituencyVersion: %v", err)
	}
	return v
}

func testOrganisations(t *testing.T, s store.Store) {
	ctx := t.Context()
	before := time.Now().Add(-time.Second)
	ulb := store.Organisation{
		Handle: "ulb", Name: "Université libre de Bruxelles", Sector: "university", Country: "BE", Language: "fr",
		Notes: "two campuses\nand a hospital",
		// Unmasked, unsorted, repeated, IPv4-mapped: stored normalized.
		Networks: prefixes("2001:db8:10::/48", "192.0.2.77/24", "198.51.100.0/25", "192.0.2.0/24", "::ffff:203.0.113.0/120"),
		ASNs:     []uint32{64501, 2611, 64501},
		Domains:  []string{"ULB.example.", "vub-ulb.example", "ulb.example"},
		Contacts: []store.Contact{
			{Name: "CERT ULB", Email: "cert@ulb.example", Phone: "+32 2 650 00 00", Role: store.ContactSecurity, PGPKey: armoredKey, Notify: true},
			{Name: "Direction", Email: "direction@ulb.example", Role: store.ContactManagement},
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

	vub := createOrg(t, s, newOrg("vub"))
	v := version(t, s)
	t.Run("taken handle", func(t *testing.T) {
		dup := newOrg("ulb")
		dup.Networks = prefixes("10.0.0.0/8")
		if err := s.CreateOrganisation(ctx, &dup); !errors.Is(err, store.ErrConflict) {
			t.Errorf("CreateOrganisation(taken handle) = %v, want ErrConflict", err)
		}
		if dup.ID != 0 {
			t.Errorf("failed CreateOrganisation set ID %d", dup.ID)
		}
		if n, _ := s.CountOrganisations(ctx, store.OrganisationQuery{}); n != 2 {
			t.Errorf("%d organisations after a refused create, want 2", n)
		}
	})
	t.Run("invalid", func(t *testing.T) {
		for name, o := range map[string]store.Organisation{
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
	})
	t.Run("not found", func(t *testing.T) {
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
	})

	t.Run("update", func(t *testing.T) {
		upd := ulb
		upd.Handle = "renamed" // ignored: handles never change
		upd.Created = time.Time{}
		upd.Name = "ULB"
		upd.Networks = prefixes("192.0.2.0/23")
		upd.ASNs = nil
		upd.Domains = []string{"ulb.example"}
		upd.Contacts = []store.Contact{
			{Name: "New desk", Email: "desk@ulb.example", Role: store.ContactAbuse, Notify: true},
			{ID: ulb.Contacts[0].ID, Name: "CERT ULB", Email: "cert@ulb.example", Role: store.ContactSecurity, PGPKey: armoredKey, Notify: false},
			// Another organisation's contact ID is not taken over.
			{ID: vub.Contacts[0].ID, Name: "Impostor", Email: "x@ulb.example", Role: store.ContactTechnical},
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
		ulb = upd
	})

	t.Run("delete", func(t *testing.T) {
		u := &store.User{Name: "ulb-portal", Role: store.RoleConstituent, OrgID: ulb.ID}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatalf("CreateUser: %v", err)
		}
		if err := s.PutNotificationPolicy(ctx, store.NotificationPolicy{OrgID: ulb.ID, Enabled: true, Digest: store.DigestDaily}); err != nil {
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
		if err := s.UpdateUser(ctx, *u); err != nil {
			t.Fatalf("UpdateUser: %v", err)
		}
		if err := s.DeleteOrganisation(ctx, ulb.ID); err != nil {
			t.Fatalf("DeleteOrganisation: %v", err)
		}
		if _, err := s.GetOrganisation(ctx, ulb.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted organisation: %v, want ErrNotFound", err)
		}
		if _, err := s.GetNotificationPolicy(ctx, ulb.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("policy of a deleted organisation: %v, want ErrNotFound", err)
		}
		if got := version(t, s); got <= v {
			t.Errorf("version %d after a delete, want more than %d", got, v)
		}
		// Its handle is never given again: events and messages name it.
		refusedHandle(t, s, store.Organisation{Handle: "ulb"})
		if got := version(t, s); got <= v {
			t.Errorf("version %d after a delete, want more than %d", got, v)
		}
		// Another handle gets nothing it owned.
		again := createOrg(t, s, store.Organisation{Handle: "ulb-2"})
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
		if next.Contacts[0].ID == vub.Contacts[0].ID || slices.ContainsFunc(ulb.Contacts, func(c store.Contact) bool { return c.ID == next.Contacts[0].ID }) {
			t.Errorf("a new contact got the ID %d of another", next.Contacts[0].ID)
		}
	})
	t.Run("a re-created organisation does not inherit the events of the deleted one", func(t *testing.T) {
		notInherited(t, s, func(x store.Organisation) {
			if err := s.DeleteOrganisation(ctx, x.ID); err != nil {
				t.Fatalf("DeleteOrganisation: %v", err)
			}
		})
	})
}

// notInherited checks that remove(x) takes organisation x's events out of
// the Organisation filter and out of GetOrganisationEvent, and retires its
// handle, so that no organisation created later under it sees them in its
// portal; an event also tagged with another organisation stays that one's.
func notInherited(t *testing.T, s store.Store, remove func(x store.Organisation)) {
	t.Helper()
	ctx := t.Context()
	x := createOrg(t, s, newOrg("x"))
	createOrg(t, s, newOrg("y"))
	only := tagged(t, ev(t, map[string]string{"time.source": event.FormatTime(base), "source.ip": "192.0.2.1", "comment": "x only"}), "x")
	both := tagged(t, ev(t, map[string]string{"time.source": event.FormatTime(base.Add(time.Minute)), "source.ip": "192.0.2.2", "comment": "x and y"}), "x", "y")
	insert(t, s, []*event.Event{only, both}, nil)
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
func refusedHandle(t *testing.T, s store.Store, o store.Organisation) {
	t.Helper()
	ctx := t.Context()
	check := func(how string, err error) {
		t.Helper()
		var retired *store.RetiredHandleError
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
	_, err := s.ImportOrganisations(ctx, []store.Organisation{o}, false)
	check("ImportOrganisations", err)
	if got := version(t, s); got != v {
		t.Errorf("version %d after refused creations, want %d", got, v)
	}
}

func testUserOrganisation(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createOrg(t, s, newOrg("a"))
	b := createOrg(t, s, newOrg("b"))
	u := &store.User{Name: "carla", Email: "carla@a.example", Role: store.RoleConstituent, OrgID: a.ID}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	team := &store.User{Name: "ted", Role: store.RoleAnalyst}
	if err := s.CreateUser(ctx, team); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	check := func(step string, id, want int64) {
		t.Helper()
		got, err := s.GetUser(ctx, id)
		if err != nil || got.OrgID != want {
			t.Errorf("%s: GetUser: OrgID %d, %v; want %d", step, got.OrgID, err, want)
		}
		byName, err := s.GetUserByName(ctx, got.Name)
		if err != nil || byName.OrgID != want {
			t.Errorf("%s: GetUserByName: OrgID %d, %v; want %d", step, byName.OrgID, err, want)
		}
		list, err := s.ListUsers(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range list {
			if l.ID == id && l.OrgID != want {
				t.Errorf("%s: ListUsers: OrgID %d, want %d", step, l.OrgID, want)
			}
		}
	}
	check("created", u.ID, a.ID)
	check("team user", team.ID, 0)
	u.OrgID = b.ID
	if err := s.UpdateUser(ctx, *u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	check("moved", u.ID, b.ID)
	u.OrgID = 0
	if err := s.UpdateUser(ctx, *u); err != nil {
		t.Fatalf("UpdateUser: %v", err)
	}
	check("made a team user", u.ID, 0)
	if err := s.CreateUser(ctx, &store.User{Name: "nobody", Role: store.RoleConstituent, OrgID: 999999}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateUser with an unknown organisation = %v, want ErrNotFound", err)
	}
	u.OrgID = 999999
	if err := s.UpdateUser(ctx, *u); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateUser to an unknown organisation = %v, want ErrNotFound", err)
	}
	check("refused move", u.ID, 0)
}

func testOrganisationSearch(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, o := range []store.Organisation{
		{Handle: "ulb", Name: "Université libre de Bruxelles", Sector: "Education",
			Contacts: []store.Contact{{Email: "CERT@ulb.example"}, {Email: "noc@campus.example"}}},
		{Handle: "kuleuven", Name: "KU Leuven", Sector: "education", Contacts: []store.Contact{{Email: "security@kuleuven.example"}}},
		{Handle: "fod-bosa", Name: "FOD BOSA", Sector: "Government"},
		{Handle: "odd-name-1", Name: "100% secure_corp", Sector: "industry"},
		{Handle: "zeta", Name: "Zeta"},
	} {
		createOrg(t, s, o)
	}
	tests := []struct {
		text string
		want string
	}{
		{"", "fod-bosa kuleuven odd-name-1 ulb zeta"},
		{"  ", "fod-bosa kuleuven odd-name-1 ulb zeta"},
		{"ul", "kuleuven ulb"},                    // handle part
		{"UNIVERSITÉ", "ulb"},                     // name, beyond ASCII
		{"EDUCATION", "kuleuven ulb"},             // sector, any case
		{"campus.example", "ulb"},                 // a second contact's e-mail
		{"cert@ulb", "ulb"},                       // an e-mail stored in upper case
		{"security@", "kuleuven"},                 // only one organisation's
		{"%", "odd-name-1"},                       // LIKE wildcards are plain characters
		{"_", "odd-name-1"},                       // idem
		{"secure_corp", "odd-name-1"},             // idem
		{"libre de", "ulb"},                       // spaces inside
		{"nothing like it", ""},                   // no match
		{"ulb\nuniversité", ""},                   // never across fields
		{"bosa", "fod-bosa"},                      // handle and name
		{"government", "fod-bosa"},                // sector
		{"o", "fod-bosa kuleuven odd-name-1 ulb"}, // many
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("text %q", tt.text), func(t *testing.T) {
			list, err := s.ListOrganisations(ctx, store.OrganisationQuery{Text: tt.text})
			if err != nil {
				t.Fatalf("ListOrganisations: %v", err)
			}
			var handles []string
			for _, o := range list {
				handles = append(handles, o.Handle)
			}
			if got := strings.Join(handles, " "); got != tt.want {
				t.Errorf("ListOrganisations = %q, want %q", got, tt.want)
			}
			n, err := s.CountOrganisations(ctx, store.OrganisationQuery{Text: tt.text, Limit: 1, Offset: 1})
			if err != nil {
				t.Fatalf("CountOrganisations: %v", err)
			}
			if want := len(strings.Fields(tt.want)); n != int64(want) {
				t.Errorf("CountOrganisations = %d, want %d", n, want)
			}
		})
	}
	t.Run("paging", func(t *testing.T) {
		var pages []string
		for offset := 0; offset < 6; offset += 2 {
			list, err := s.ListOrganisations(ctx, store.OrganisationQuery{Limit: 2, Offset: offset})
			if err != nil {
				t.Fatal(err)
			}
			var handles []string
			for _, o := range list {
				handles = append(handles, o.Handle)
			}
			pages = append(pages, strings.Join(handles, " "))
		}
		if got := strings.Join(pages, " | "); got != "fod-bosa kuleuven | odd-name-1 ulb | zeta" {
			t.Errorf("pages of 2: %s", got)
		}
	})
	t.Run("whole organisations", func(t *testing.T) {
		list, err := s.ListOrganisations(ctx, store.OrganisationQuery{Text: "ulb"})
		if err != nil || len(list) != 1 {
			t.Fatalf("ListOrganisations(ulb) = %+v, %v", list, err)
		}
		one, err := s.GetOrganisation(ctx, list[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		if d := orgDiff(list[0], one); d != "" || len(one.Contacts) != 2 {
			t.Errorf("listed organisation differs from GetOrganisation: %s", d)
		}
	})
}

func testImport(t *testing.T, s store.Store) {
	ctx := t.Context()
	get := func(handle string) store.Organisation {
		t.Helper()
		o, err := s.GetOrganisationByHandle(ctx, handle)
		if err != nil {
			t.Fatalf("GetOrganisationByHandle(%s): %v", handle, err)
		}
		return o
	}
	handles := func() string {
		t.Helper()
		list, err := s.ListOrganisations(ctx, store.OrganisationQuery{})
		if err != nil {
			t.Fatal(err)
		}
		var h []string
		for _, o := range list {
			h = append(h, o.Handle)
		}
		return strings.Join(h, " ")
	}
	a, b := newOrg("a"), newOrg("b")
	a.Networks = prefixes("192.0.2.0/24")
	b.ASNs = []uint32{64500}
	res, err := s.ImportOrganisations(ctx, []store.Organisation{a, b}, false)
	if err != nil {
		t.Fatalf("ImportOrganisations: %v", err)
	}
	if res != (store.ImportResult{Created: 2}) {
		t.Errorf("first import = %+v, want 2 created", res)
	}
	storedA := get("a")
	if !slices.Equal(storedA.Networks, a.Networks) || len(storedA.Contacts) != 1 || storedA.Contacts[0].Email != "abuse@a.example" {
		t.Errorf("imported a = %+v", storedA)
	}
	v := version(t, s)

	t.Run("the same again changes nothing", func(t *testing.T) {
		res, err := s.ImportOrganisations(ctx, []store.Organisation{b, a}, false)
		if err != nil || res != (store.ImportResult{}) {
			t.Errorf("re-import = %+v, %v; want nothing changed", res, err)
		}
		if got := version(t, s); got != v {
			t.Errorf("version %d after an import that changed nothing, want %d", got, v)
		}
		again := get("a")
		if !again.Updated.Equal(storedA.Updated) || orgDiff(again, storedA) != "" {
			t.Errorf("unchanged a was rewritten: %+v, was %+v", again, storedA)
		}
	})

	t.Run("update and create", func(t *testing.T) {
		a2 := a
		a2.Name = "A renamed"
		a2.Contacts = append(slices.Clone(a.Contacts), store.Contact{Email: "soc@a.example", Role: store.ContactSecurity})
		c := newOrg("c")
		res, err := s.ImportOrganisations(ctx, []store.Organisation{a2, b, c}, false)
		if err != nil || res != (store.ImportResult{Created: 1, Updated: 1}) {
			t.Fatalf("import = %+v, %v; want 1 created, 1 updated", res, err)
		}
		got := get("a")
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
		if h := handles(); h != "a b c" {
			t.Errorf("organisations = %s", h)
		}
	})

	t.Run("all or nothing", func(t *testing.T) {
		v := version(t, s)
		beforeB := get("b")
		b2 := b
		b2.Name = "B changed"
		bad := []struct {
			name string
			orgs []store.Organisation
		}{
			{"a handle twice", []store.Organisation{newOrg("x"), b2, newOrg("x")}},
			{"an invalid handle last", []store.Organisation{newOrg("x"), b2, {Handle: "Not Valid"}}},
			{"an invalid network last", []store.Organisation{newOrg("x"), b2, {Handle: "y", Networks: []netip.Prefix{{}}}}},
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
				if h := handles(); h != "a b c" {
					t.Errorf("%s (replace %v): organisations after a failed import = %s, want a b c", tt.name, replace, h)
				}
				if got := get("b"); got.Name != beforeB.Name || !got.Updated.Equal(beforeB.Updated) {
					t.Errorf("%s (replace %v): b changed by a failed import: %+v", tt.name, replace, got)
				}
				if got := version(t, s); got != v {
					t.Errorf("%s (replace %v): version %d after a failed import, want %d", tt.name, replace, got, v)
				}
			}
		}
	})

	t.Run("replace refused while users belong to an organisation it would delete", func(t *testing.T) {
		c := get("c")
		u := &store.User{Name: "c-user", Role: store.RoleConstituent, OrgID: c.ID}
		if err := s.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		v := version(t, s)
		if _, err := s.ImportOrganisations(ctx, []store.Organisation{newOrg("d")}, true); !errors.Is(err, store.ErrConflict) {
			t.Errorf("replacing import = %v, want ErrConflict", err)
		}
		if h := handles(); h != "a b c" || version(t, s) != v {
			t.Errorf("after the refused import: %s, version %d (was %d)", h, version(t, s), v)
		}
		u.OrgID = 0
		if err := s.UpdateUser(ctx, *u); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("replace", func(t *testing.T) {
		v := version(t, s)
		b2 := b
		b2.Domains = []string{"b.example"}
		res, err := s.ImportOrganisations(ctx, []store.Organisation{b2, newOrg("d")}, true)
		if err != nil || res != (store.ImportResult{Created: 1, Updated: 1, Deleted: 2}) {
			t.Fatalf("replacing import = %+v, %v; want 1 created, 1 updated, 2 deleted", res, err)
		}
		if h := handles(); h != "b d" {
			t.Errorf("organisations after replace = %s, want b d", h)
		}
		if got := get("b"); !slices.Equal(got.Domains, []string{"b.example"}) {
			t.Errorf("b after replace = %+v", got)
		}
		if got := version(t, s); got <= v {
			t.Errorf("version %d after a replacing import, want more than %d", got, v)
		}
		res, err = s.ImportOrganisations(ctx, nil, true)
		if err != nil || res != (store.ImportResult{Deleted: 2}) {
			t.Errorf("replacing with nothing = %+v, %v; want 2 deleted", res, err)
		}
		if h := handles(); h != "" {
			t.Errorf("organisations left: %s", h)
		}
	})

	t.Run("an organisation re-created after a replace does not inherit the events of the deleted one", func(t *testing.T) {
		notInherited(t, s, func(store.Organisation) {
			res, err := s.ImportOrganisations(ctx, []store.Organisation{get("y")}, true)
			if err != nil || res.Deleted != 1 {
				t.Fatalf("replacing import = %+v, %v; want x deleted", res, err)
			}
		})
	})
}

func testConstituencyVersion(t *testing.T, s store.Store) {
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
		if _, err := s.ListOrganisations(ctx, store.OrganisationQuery{Text: "a"}); err != nil {
			return err
		}
		_, err := s.CountOrganisations(ctx, store.OrganisationQuery{})
		return err
	})
	step("update", true, func() error {
		a.Networks = prefixes("192.0.2.0/24")
		return s.UpdateOrganisation(ctx, &a)
	})
	step("change request", false, func() error {
		return s.AddChangeRequest(ctx, &store.ChangeRequest{OrgID: a.ID, Actor: "x", Text: "add 198.51.100.0/24"})
	})
	step("policy", false, func() error {
		return s.PutNotificationPolicy(ctx, store.NotificationPolicy{OrgID: a.ID, Digest: store.DigestDaily})
	})
	step("import", true, func() error {
		_, err := s.ImportOrganisations(ctx, []store.Organisation{newOrg("b")}, false)
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

func testChangeRequests(t *testing.T, s store.Store) {
	ctx := t.Context()
	a := createOrg(t, s, newOrg("a"))
	b := createOrg(t, s, newOrg("b"))
	var reqs []*store.ChangeRequest
	for i, org := range []int64{a.ID, b.ID, a.ID} {
		r := &store.ChangeRequest{OrgID: org, UserID: int64(10 + i), Actor: fmt.Sprint("user", i), Text: fmt.Sprint("please change ", i)}
		if i == 0 {
			r.Created = base
		}
		if err := s.AddChangeRequest(ctx, r); err != nil {
			t.Fatalf("AddChangeRequest: %v", err)
		}
		if r.ID == 0 || r.Created.IsZero() {
			t.Errorf("AddChangeRequest left ID %d, Created %v", r.ID, r.Created)
		}
		reqs = append(reqs, r)
	}
	ids := func(list []store.ChangeRequest) []int64 {
		var out []int64
		for _, r := range list {
			out = append(out, r.ID)
		}
		return out
	}
	list, err := s.ListChangeRequests(ctx, a.ID, false)
	if err != nil {
		t.Fatalf("ListChangeRequests: %v", err)
	}
	if got, want := ids(list), []int64{reqs[2].ID, reqs[0].ID}; !slices.Equal(got, want) {
		t.Errorf("a's requests = %v, want %v (newest first)", got, want)
	}
	if len(list) == 2 {
		r := list[1]
		if r.OrgID != a.ID || r.UserID != 10 || r.Actor != "user0" || r.Text != "please change 0" || !r.Created.Equal(base) || r.Done {
			t.Errorf("request = %+v, want %+v", r, *reqs[0])
		}
	}
	all, err := s.ListChangeRequests(ctx, 0, false)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(all), []int64{reqs[2].ID, reqs[1].ID, reqs[0].ID}; !slices.Equal(got, want) {
		t.Errorf("all requests = %v, want %v", got, want)
	}
	if err := s.MarkChangeRequestDone(ctx, reqs[0].ID); err != nil {
		t.Fatalf("MarkChangeRequestDone: %v", err)
	}
	if list, _ := s.ListChangeRequests(ctx, a.ID, false); !slices.Equal(ids(list), []int64{reqs[2].ID}) {
		t.Errorf("open requests of a = %v, want only %d", ids(list), reqs[2].ID)
	}
	withDone, err := s.ListChangeRequests(ctx, a.ID, true)
	if err != nil || len(withDone) != 2 || withDone[1].ID != reqs[0].ID || !withDone[1].Done || withDone[0].Done {
		t.Errorf("a's requests with done ones = %+v, %v", withDone, err)
	}
	if err := s.MarkChangeRequestDone(ctx, 999999); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("MarkChangeRequestDone(unknown) = %v, want ErrNotFound", err)
	}
	if err := s.AddChangeRequest(ctx, &store.ChangeRequest{OrgID: 999999, Text: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddChangeRequest(unknown organisation) = %v, want ErrNotFound", err)
	}
}

func testConcurrentOrganisations(t *testing.T, s store.Store) {
	// Changes from several places at once (the console, an import, the
	// API): none may fail but for a real conflict, and no version bump may
	// be lost, or a process would keep a stale lookup table.
	ctx := t.Context()
	start := version(t, s)
	const writers, each = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, writers*each*2+40)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				o := newOrg(fmt.Sprintf("w%d-%d", w, i))
				if err := s.CreateOrganisation(ctx, &o); err != nil {
					errs <- err
					return
				}
				o.ASNs = []uint32{uint32(64500 + i)}
				if err := s.UpdateOrganisation(ctx, &o); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	imported := []store.Organisation{newOrg("imp-1"), newOrg("imp-2")}
	wg.Go(func() {
		for range 2 {
			if _, err := s.ImportOrganisations(ctx, imported, false); err != nil {
				errs <- err
			}
		}
	})
	// The same handle created and imported at once: whichever comes
	// second updates (import) or finds it taken (create).
	for i := range 10 {
		o := newOrg(fmt.Sprintf("race-%d", i))
		wg.Go(func() {
			c := o
			if err := s.CreateOrganisation(ctx, &c); err != nil && !errors.Is(err, store.ErrConflict) {
				errs <- err
			}
		})
		wg.Go(func() {
			if _, err := s.ImportOrganisations(ctx, []store.Organisation{o}, false); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n, err := s.CountOrganisations(ctx, store.OrganisationQuery{}); err != nil || n != writers*each+2+10 {
		t.Errorf("CountOrganisations = %d, %v; want %d", n, err, writers*each+2+10)
	}
	// Every create and update bumps once, the first import once, the
	// second none; each race- handle is created once, by whichever won.
	if got, want := version(t, s)-start, int64(writers*each*2+1+10); got != want {
		t.Errorf("version rose by %d, want %d", got, want)
	}
}

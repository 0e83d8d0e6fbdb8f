package constituencytest

import (
	"errors"
	"testing"

	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// testDisabled: an organisation is disabled and enabled again with
// SetOrganisationDisabled, which bumps the version only when it changes
// something; every read shows it, and creating, updating and importing
// keep it as it is.
func testDisabled(t *testing.T, s Stores) {
	ctx := t.Context()
	a := createOrg(t, s, newOrg("a"))
	createOrg(t, s, newOrg("b"))
	if a.Disabled {
		t.Fatalf("a new organisation is disabled")
	}
	v := version(t, s)
	if changed, err := s.SetOrganisationDisabled(ctx, a.ID, true); err != nil || !changed {
		t.Fatalf("SetOrganisationDisabled = %v, %v; want a change", changed, err)
	}
	if got := version(t, s); got <= v {
		t.Errorf("version %d after a disable, want more than %d", got, v)
	}
	v = version(t, s)
	if changed, err := s.SetOrganisationDisabled(ctx, a.ID, true); err != nil || changed {
		t.Fatalf("SetOrganisationDisabled again = %v, %v; want no change", changed, err)
	}
	if got := version(t, s); got != v {
		t.Errorf("version %d after disabling a disabled organisation, want %d", got, v)
	}
	if _, err := s.SetOrganisationDisabled(ctx, 999999, true); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetOrganisationDisabled(unknown) = %v, want ErrNotFound", err)
	}
	wantDisabled := func(when string, want bool) {
		t.Helper()
		got, err := s.GetOrganisation(ctx, a.ID)
		if err != nil || got.Disabled != want {
			t.Errorf("%s: GetOrganisation disabled = %v, %v; want %v", when, got.Disabled, err, want)
		}
		got, err = s.GetOrganisationByHandle(ctx, "a")
		if err != nil || got.Disabled != want {
			t.Errorf("%s: GetOrganisationByHandle disabled = %v, %v; want %v", when, got.Disabled, err, want)
		}
		list, err := s.ListOrganisations(ctx, constituency.OrganisationQuery{})
		if err != nil || len(list) != 2 || list[0].Disabled != want || list[1].Disabled {
			t.Errorf("%s: ListOrganisations = %+v, %v; want a disabled %v, b enabled", when, list, err, want)
		}
	}
	wantDisabled("after the disable", true)

	upd := a
	upd.Name = "Renamed"
	upd.Disabled = false // an edit form does not carry it
	if err := s.UpdateOrganisation(ctx, &upd); err != nil {
		t.Fatalf("UpdateOrganisation: %v", err)
	}
	if !upd.Disabled {
		t.Errorf("UpdateOrganisation set Disabled false in its result")
	}
	wantDisabled("after an update", true)

	imported := newOrg("a")
	imported.Name = "Imported"
	if _, err := s.ImportOrganisations(ctx, []constituency.Organisation{imported, newOrg("b")}, true); err != nil {
		t.Fatalf("ImportOrganisations: %v", err)
	}
	wantDisabled("after an import", true)

	if changed, err := s.SetOrganisationDisabled(ctx, a.ID, false); err != nil || !changed {
		t.Fatalf("SetOrganisationDisabled(false) = %v, %v; want a change", changed, err)
	}
	wantDisabled("after the enable", false)
}

package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
)

// TestDisableOrganisation: an administrator disables an organisation and
// enables it again, audited; while it is disabled its constituent's token
// is refused with organisation_disabled, another organisation's is not,
// and the team still reads it (marked disabled). Analysts, publishers and
// constituents cannot disable one.
func TestDisableOrganisation(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	f.constituency()
	a, err := f.store.GetOrganisationByHandle(t.Context(), "uni-a")
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/organisations/%d", a.ID)
	disabled := func(user string) bool {
		t.Helper()
		r := f.get(path, user)
		if r.status != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, r.status, r.body)
		}
		checkSchema(t, "TeamOrganisation", r.body)
		var o struct{ Disabled bool }
		if err := json.Unmarshal(r.body, &o); err != nil {
			t.Fatal(err)
		}
		return o.Disabled
	}

	for _, who := range []string{"ana", "pub", "ca", "cb"} {
		if r := f.do("POST", path+"/disable", who, nil); r.status != http.StatusForbidden {
			t.Errorf("%s disabling an organisation: status %d, want 403", who, r.status)
		}
	}
	if disabled("ana") {
		t.Fatal("disabled by a refused request")
	}
	if r := f.get("/constituent/events", "ca"); r.status != http.StatusOK {
		t.Fatalf("constituent before the disable: %d %s", r.status, r.body)
	}

	r := f.do("POST", path+"/disable", "ada", nil)
	if r.status != http.StatusOK {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	checkSchema(t, "TeamOrganisation", r.body)
	if a := f.lastAudit(); a.Action != "organisation.disable" || a.Target != "uni-a" || a.Actor != "ada" {
		t.Errorf("audit %+v", a)
	}
	if !disabled("ana") {
		t.Error("not disabled after the disable")
	}
	wantError(t, f.get("/constituent/events", "ca"), http.StatusForbidden, "organisation_disabled", "")
	wantError(t, f.get("/constituent/organisation", "ca"), http.StatusForbidden, "organisation_disabled", "")
	if r := f.get("/constituent/events", "cb"); r.status != http.StatusOK {
		t.Errorf("another organisation's constituent while a is disabled: %d %s", r.status, r.body)
	}
	if r := f.do("POST", path+"/disable", "ada", nil); r.status != http.StatusOK {
		t.Errorf("disabling again: %d %s", r.status, r.body)
	}
	if a := f.lastAudit(); a.Action != "organisation.disable" {
		t.Errorf("audit after a no-op disable %+v", a)
	}

	if r := f.do("POST", path+"/enable", "ada", nil); r.status != http.StatusOK {
		t.Fatalf("enable: %d %s", r.status, r.body)
	}
	if a := f.lastAudit(); a.Action != "organisation.enable" || a.Target != "uni-a" {
		t.Errorf("audit %+v", a)
	}
	if disabled("ana") {
		t.Error("still disabled after the enable")
	}
	if r := f.get("/constituent/events", "ca"); r.status != http.StatusOK {
		t.Errorf("constituent after the enable: %d %s", r.status, r.body)
	}
	wantError(t, f.do("POST", "/organisations/999999/disable", "ada", nil), http.StatusNotFound, "not_found", "")
}

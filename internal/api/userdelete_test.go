package api

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestDeleteUser: DELETE /users/{id} removes an account with its tokens,
// audited; its organisation can then be deleted. Only administrators may,
// nobody deletes their own account, and an unknown account is 404.
func TestDeleteUser(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := t.Context()
	o := constituency.Organisation{Handle: "lab", Name: "Lab", Language: "en"}
	if err := f.store.CreateOrganisation(ctx, &o); err != nil {
		t.Fatal(err)
	}
	c := auth.User{Name: "labuser", Role: auth.RoleConstituent, OrgID: o.ID, Language: "en", PasswordHash: "unused"}
	if err := f.store.CreateUser(ctx, &c); err != nil {
		t.Fatal(err)
	}
	f.users[c.Name] = c
	f.tokens[c.Name] = f.newToken(c.ID, "lab-script")
	path := func(u auth.User) string { return fmt.Sprintf("/users/%d", u.ID) }

	t.Run("attackers", func(t *testing.T) {
		for _, who := range []string{"ana", "pub", "labuser", "dis"} {
			r := f.do("DELETE", path(f.users["ana"]), who, nil)
			if r.status != http.StatusForbidden && r.status != http.StatusUnauthorized {
				t.Errorf("%s deleting an account: status %d, want 401 or 403; %s", who, r.status, r.body)
			}
		}
		if r := f.do("DELETE", path(f.users["ana"]), "", nil); r.status != http.StatusUnauthorized {
			t.Errorf("deleting without a token: status %d, want 401", r.status)
		}
		wantError(t, f.do("DELETE", path(f.users["ada"]), "ada", nil), http.StatusConflict, "own_account", "")
		wantError(t, f.do("DELETE", "/users/999999", "ada", nil), http.StatusNotFound, "not_found", "")
		wantError(t, f.do("DELETE", path(c)+"?force=1", "ada", nil), http.StatusBadRequest, "bad_parameter", "force")
		for _, name := range []string{"ada", "ana", "labuser"} {
			if _, err := f.store.GetUserByName(ctx, name); err != nil {
				t.Errorf("%s after the refused deletes: %v", name, err)
			}
		}
	})

	t.Run("delete", func(t *testing.T) {
		wantError(t, f.do("DELETE", fmt.Sprintf("/organisations/%d", o.ID), "ana", nil), http.StatusConflict, "organisation_has_users", "")
		r := f.do("DELETE", path(c), "ada", nil)
		if r.status != http.StatusNoContent {
			t.Fatalf("delete: status %d; %s", r.status, r.body)
		}
		if a := f.lastAudit(); a.Action != "user.delete" || a.Target != "labuser" || a.Actor != "ada" {
			t.Errorf("audit %+v", a)
		}
		if _, err := f.store.GetUser(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted account: %v, want ErrNotFound", err)
		}
		if r := f.get("/constituent/events", "labuser"); r.status != http.StatusUnauthorized {
			t.Errorf("the deleted account's token: status %d, want 401", r.status)
		}
		wantError(t, f.do("DELETE", path(c), "ada", nil), http.StatusNotFound, "not_found", "")
		if r := f.do("DELETE", fmt.Sprintf("/organisations/%d", o.ID), "ana", nil); r.status != http.StatusNoContent {
			t.Errorf("deleting the organisation once its account is gone: status %d; %s", r.status, r.body)
		}
	})
}

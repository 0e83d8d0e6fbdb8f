package console

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
	"github.com/vigil-cert/vigil/internal/store"
)

// TestDeleteUser: an administrator deletes a constituent's account from
// the users page; its session and API token stop working at once, the
// audit log says so, and the organisation it belonged to can then be
// deleted, as org.delete.users tells. Nobody deletes their own account,
// analysts and constituents cannot delete any, and a post without the
// CSRF token is refused.
func TestDeleteUser(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni", Language: "en"})
	const constituentPassword = portalPassword
	c := env.addUser("constituent", auth.RoleConstituent, constituentPassword)
	c.OrgID = o.ID
	if err := env.store.UpdateUser(ctx, c); err != nil {
		t.Fatal(err)
	}
	portal := env.browser()
	portal.login("constituent", constituentPassword)
	if r := portal.get("/portal/organisation"); r.status != http.StatusOK {
		t.Fatalf("the constituent's portal: status %d", r.status)
	}
	token, _, err := auth.NewAPIToken(ctx, env.store, c.ID, "script")
	if err != nil {
		t.Fatal(err)
	}
	admin := env.admin()
	self, err := env.store.GetUserByName(ctx, "admin")
	if err != nil {
		t.Fatal(err)
	}
	path := func(u auth.User) string { return fmt.Sprintf("/users/%d/delete", u.ID) }

	page := admin.get("/users")
	mustContain(t, page.body, `action="`+path(c)+`"`, `class="danger"`, "Delete the account constituent for good?")

	t.Run("attackers", func(t *testing.T) {
		analyst := env.browser()
		analyst.login("analyst", analystPassword)
		if r := analyst.post(path(c), url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("analyst deleting an account: status %d, want 403", r.status)
		}
		if r := portal.post(path(self), url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("constituent deleting the administrator: status %d, want 403", r.status)
		}
		if r := admin.post(path(c), url.Values{"csrf": {""}}); r.status != http.StatusForbidden {
			t.Errorf("delete without the CSRF token: status %d, want 403", r.status)
		}
		r := admin.post(path(self), url.Values{})
		if r.status != http.StatusBadRequest {
			t.Errorf("deleting oneself: status %d, want 400", r.status)
		}
		mustContain(t, r.body, "You cannot delete your own account")
		if r := admin.post("/users/999999/delete", url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("deleting an unknown account: status %d, want 404", r.status)
		}
		for _, name := range []string{"admin", "analyst", "constituent"} {
			if _, err := env.store.GetUserByName(ctx, name); err != nil {
				t.Errorf("%s after the refused deletes: %v", name, err)
			}
		}
	})

	t.Run("the organisation waits for its account", func(t *testing.T) {
		r := admin.post(orgPath(o)+"/delete", url.Values{"confirm": {o.Handle}})
		if r.status != http.StatusConflict {
			t.Fatalf("deleting an organisation with an account: status %d, want 409", r.status)
		}
		mustContain(t, r.body, "portal account belongs to it: delete it")
	})

	t.Run("delete", func(t *testing.T) {
		r := admin.post(path(c), url.Values{})
		if r.status != http.StatusSeeOther || r.location != "/users?done=user-deleted" {
			t.Fatalf("delete: status %d to %q; body %.300s", r.status, r.location, r.body)
		}
		mustContain(t, admin.get(r.location).body, "The account was deleted.")
		if _, err := env.store.GetUser(ctx, c.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("deleted account: %v, want ErrNotFound", err)
		}
		if r := portal.get("/portal/organisation"); r.status != http.StatusSeeOther {
			t.Errorf("the deleted account's session still works: status %d", r.status)
		}
		if _, err := env.store.GetAPITokenByHash(ctx, auth.HashAPIToken(token)); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the deleted account's token: %v, want ErrNotFound", err)
		}
		if !contains(env.auditActions(), "user.delete") {
			t.Errorf("audit lacks user.delete: %v", env.auditActions())
		}
		if r := admin.post(orgPath(o)+"/delete", url.Values{"confirm": {o.Handle}}); r.status != http.StatusSeeOther {
			t.Errorf("deleting the organisation once its account is gone: status %d, body %.300s", r.status, r.body)
		}
	})
}

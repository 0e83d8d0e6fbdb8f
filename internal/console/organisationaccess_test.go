package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
)

// TestDisableOrganisation walks the disable flow: only an administrator
// may disable (analysts, constituents and a post without the CSRF token
// are refused); the organisation is then marked in the list, its page and
// "who owns this?", its constituent is signed out and cannot sign in again
// (with a message that says why, only after the right password), and
// enabling it lets the constituent in again. Both changes are audited.
func TestDisableOrganisation(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Example University", Language: "en",
		Networks: prefixes("198.51.100.0/24")})
	env.createOrganisation(constituency.Organisation{Handle: "other", Name: "Other", Language: "en"})
	c := env.addUser("constituent", auth.RoleConstituent, portalPassword)
	c.OrgID = o.ID
	if err := env.store.UpdateUser(ctx, c); err != nil {
		t.Fatal(err)
	}
	portal := env.browser()
	portal.login("constituent", portalPassword)
	if r := portal.get("/portal/organisation"); r.status != http.StatusOK {
		t.Fatalf("portal before the disable: %d", r.status)
	}
	page := orgPath(o)
	admin := env.admin()

	t.Run("attackers", func(t *testing.T) {
		analyst := env.browser()
		analyst.login("analyst", analystPassword)
		if r := analyst.get(page); strings.Contains(r.body, `action="`+page+`/disable"`) {
			t.Error("an analyst is offered the disable")
		}
		if r := analyst.post(page+"/disable", url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("analyst disabling: status %d, want 403", r.status)
		}
		if r := portal.post(page+"/disable", url.Values{}); r.status != http.StatusForbidden {
			t.Errorf("constituent disabling: status %d, want 403", r.status)
		}
		admin.get(page)
		if r := admin.post(page+"/disable", url.Values{"csrf": {""}}); r.status != http.StatusForbidden {
			t.Errorf("disable without the CSRF token: status %d, want 403", r.status)
		}
		if got, _ := env.store.GetOrganisation(ctx, o.ID); got.Disabled {
			t.Fatal("disabled by a refused request")
		}
	})

	t.Run("disable", func(t *testing.T) {
		r := admin.get(page)
		mustContain(t, r.body, `action="`+page+`/disable"`, `id="disable-submit"`, `class="danger"`, "Disable Example University?")
		r = admin.post(page+"/disable", url.Values{})
		if r.status != http.StatusSeeOther || r.location != page+"?done=organisation-disabled" {
			t.Fatalf("disable: status %d to %q; %.300s", r.status, r.location, r.body)
		}
		mustContain(t, admin.get(r.location).body, "The organisation was disabled.", `id="org-disabled"`, `id="org-disabled-notice"`,
			"held until it is enabled again", `action="`+page+`/enable"`)
		list := admin.get("/constituency").body
		if !strings.Contains(list, `class="badge bad org-disabled"`) || strings.Count(list, "org-disabled") != 1 {
			t.Errorf("the list marks %d organisations disabled, want 1", strings.Count(list, "org-disabled"))
		}
		mustContain(t, admin.get("/constituency?lookup=198.51.100.7").body, "Example University", "org-disabled")
		if !contains(env.auditActions(), "organisation.disable") {
			t.Errorf("audit lacks organisation.disable: %v", env.auditActions())
		}
	})

	t.Run("its constituent is locked out", func(t *testing.T) {
		if r := portal.get("/portal/organisation"); r.status != http.StatusSeeOther {
			t.Errorf("the constituent's session after the disable: status %d, want a redirect to the login", r.status)
		}
		b := env.browser()
		b.get("/login")
		r := b.post("/login", url.Values{"name": {"constituent"}, "password": {"a wrong passphrase"}})
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, "disabled") {
			t.Errorf("wrong password: status %d, and the page tells the organisation is disabled: %v", r.status, strings.Contains(r.body, "disabled"))
		}
		r = b.post("/login", url.Values{"name": {"constituent"}, "password": {portalPassword}})
		if r.status != http.StatusForbidden {
			t.Fatalf("login of a disabled organisation's constituent: status %d, want 403", r.status)
		}
		mustContain(t, r.body, "Your organisation&#39;s access to the portal is disabled.")
		if r := b.get("/portal/organisation"); r.status != http.StatusSeeOther {
			t.Errorf("a refused login left a session: status %d", r.status)
		}
	})

	t.Run("enable", func(t *testing.T) {
		admin.get(page)
		r := admin.post(page+"/enable", url.Values{})
		if r.status != http.StatusSeeOther || r.location != page+"?done=organisation-enabled" {
			t.Fatalf("enable: status %d to %q", r.status, r.location)
		}
		if strings.Contains(admin.get(page).body, `id="org-disabled"`) {
			t.Error("still marked disabled after the enable")
		}
		if !contains(env.auditActions(), "organisation.enable") {
			t.Errorf("audit lacks organisation.enable: %v", env.auditActions())
		}
		b := env.browser()
		b.login("constituent", portalPassword)
		if r := b.get("/portal/organisation"); r.status != http.StatusOK {
			t.Errorf("portal after the enable: status %d", r.status)
		}
	})
}

// TestDisabledOrganisationLateSession: a constituent session that
// survives the disable of its organisation (one that began in the same
// instant; here the flag is set in the store, which ends no session) is
// refused on every member page, /account as well as the portal, with the
// disabled message, and ended.
func TestDisabledOrganisationLateSession(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Example University", Language: "en"})
	c := env.addUser("constituent", auth.RoleConstituent, portalPassword)
	c.OrgID = o.ID
	if err := env.store.UpdateUser(ctx, c); err != nil {
		t.Fatal(err)
	}
	b := env.browser()
	b.login("constituent", portalPassword)
	if r := b.get("/account"); r.status != http.StatusOK {
		t.Fatalf("/account before the disable: %d", r.status)
	}
	if _, err := env.store.SetOrganisationDisabled(ctx, o.ID, true); err != nil {
		t.Fatal(err)
	}
	r := b.get("/account")
	if r.status != http.StatusForbidden {
		t.Fatalf("/account after the disable: status %d, want 403", r.status)
	}
	mustContain(t, r.body, "Your organisation&#39;s access to the portal is disabled.")
	if r := b.get("/account"); r.status != http.StatusSeeOther {
		t.Errorf("/account once more: status %d, want the session ended (303 to the login)", r.status)
	}
}

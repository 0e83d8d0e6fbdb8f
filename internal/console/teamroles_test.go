package console

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/constituency"
)

// TestTeamRoutesPerRole goes through every constituency and notification
// route with every role: administrators may use all of them, analysts all
// but the team key, publishers and constituents none.
func TestTeamRoutesPerRole(t *testing.T) {
	env := newTeamEnv(t, nil)
	ctx := context.Background()
	o := env.createOrganisation(constituency.Organisation{Handle: "uni", Name: "Uni", Language: "en"})
	env.addUser("publisher", auth.RolePublisher, "the publisher's passphrase")
	c := env.addUser("constituent", auth.RoleConstituent, "the constituent's passphrase")
	c.OrgID = o.ID
	if err := env.store.UpdateUser(ctx, c); err != nil {
		t.Fatal(err)
	}
	req := constituency.ChangeRequest{OrgID: o.ID, UserID: c.ID, Actor: c.Name, Text: "please"}
	if err := env.store.AddChangeRequest(ctx, &req); err != nil {
		t.Fatal(err)
	}
	org := orgPath(o)
	routes := []struct {
		method, path string
		keyOnly      bool // the team key: administrators only
	}{
		{"GET", "/constituency", false},
		{"GET", "/constituency/new", false},
		{"GET", "/constituency/export.csv", false},
		{"GET", "/constituency/export.json", false},
		{"GET", "/constituency/import", false},
		{"GET", "/constituency/requests", false},
		{"GET", org, false},
		{"GET", org + "/edit", false},
		{"GET", org + "/delete", false},
		{"GET", org + "/policy", false},
		{"GET", "/notifications", false},
		{"GET", "/notifications/settings", false},
		{"GET", "/notifications/policy", false},
		{"GET", "/notifications/templates/en/digest", false},
		{"GET", "/notifications/identity", true},
		{"GET", "/notifications/identity/public.asc", true},
		{"POST", "/constituency/new", false},
		{"POST", "/constituency/import", false},
		{"POST", fmt.Sprintf("/constituency/requests/%d/done", req.ID), false},
		{"POST", org, false},
		{"POST", org + "/delete", false},
		{"POST", org + "/policy", false},
		{"POST", "/notifications/policy", false},
		{"POST", "/notifications/templates/en/digest", false},
		{"POST", "/notifications/identity/generate", true},
		{"POST", "/notifications/identity/import", true},
	}
	for _, tc := range []struct {
		user, password string
		may            func(keyOnly bool) bool
		nav            bool
	}{
		{"admin", adminPassword, func(bool) bool { return true }, true},
		{"analyst", analystPassword, func(keyOnly bool) bool { return !keyOnly }, true},
		{"publisher", "the publisher's passphrase", func(bool) bool { return false }, false},
		{"constituent", "the constituent's passphrase", func(bool) bool { return false }, false},
	} {
		t.Run(tc.user, func(t *testing.T) {
			b := env.browser()
			b.login(tc.user, tc.password)
			account := b.get("/account") // the session's CSRF token, for every role
			for link, want := range map[string]bool{`href="/constituency"`: tc.nav, `href="/notifications"`: tc.nav} {
				if strings.Contains(account.body, link) != want {
					t.Errorf("navigation shows %s: %v, want %v", link, !want, want)
				}
			}
			for _, rt := range routes {
				var r response
				if rt.method == http.MethodGet {
					r = b.get(rt.path)
				} else {
					// A form that deletes, replaces or generates nothing
					// where it is allowed: no confirmation, no name.
					r = b.post(rt.path, url.Values{"action": {"preview"}, "body": {"x"}})
				}
				refused := r.status == http.StatusForbidden && strings.Contains(r.body, "Your role does not give access to this page.")
				if tc.may(rt.keyOnly) == refused {
					t.Errorf("%s %s: status %d, want allowed %v; %.200s", rt.method, rt.path, r.status, tc.may(rt.keyOnly), text(r.body))
				}
			}
		})
	}
	if _, err := env.store.GetOrganisation(ctx, o.ID); err != nil {
		t.Fatalf("the organisation did not survive: %v", err)
	}
}

package console

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/vigil-cert/vigil/internal/auth"
	"github.com/vigil-cert/vigil/internal/savedsearch"
)

// savedLink finds the links of saved searches: href, name.
var savedLink = regexp.MustCompile(`<a href="([^"]*)" class="saved-link">([^<]*)</a>`)

// savedLinks lists a page's saved searches as "name=href".
func savedLinks(body string) []string {
	var out []string
	for _, m := range savedLink.FindAllStringSubmatch(body, -1) {
		out = append(out, html.UnescapeString(m[2])+"="+html.UnescapeString(m[1]))
	}
	return out
}

// savedID returns the id of the search named name owned by userID.
func (e *testEnv) savedID(userID int64, name string) int64 {
	e.t.Helper()
	list, err := e.store.ListSavedSearches(context.Background(), userID, false)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, s := range list {
		if s.Name == name {
			return s.ID
		}
	}
	e.t.Fatalf("user %d has no saved search %q", userID, name)
	return 0
}

func (e *testEnv) user(name string) auth.User {
	e.t.Helper()
	users, err := e.store.ListUsers(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	for _, u := range users {
		if u.Name == name {
			return u
		}
	}
	e.t.Fatalf("no user %s", name)
	return auth.User{}
}

// TestSavedSearchSaveAndOpen: an analyst saves the page's search (its
// filters, sort and grouping), finds it in the list, opens it with one
// link, renames it and deletes it.
func TestSavedSearchSaveAndOpen(t *testing.T) {
	env, b := tableEnv(t)
	if r := b.get("/events"); !strings.Contains(r.body, `id="saved-none"`) {
		t.Fatal("no hint that there are no saved searches")
	}
	page := b.get("/events?type=scanner&sort=source.ip&dir=asc&group=feed")
	mustContain(t, page.body, `id="save-search"`, `name="back" value="type=scanner&amp;dir=asc&amp;group=feed&amp;sort=source.ip"`)
	r := b.post("/events/saved", url.Values{"name": {" Scanners by address "}, "back": {"type=scanner&dir=asc&group=feed&sort=source.ip"}})
	if r.status != http.StatusSeeOther || r.location != "/events?dir=asc&group=feed&sort=source.ip&type=scanner&done=saved" {
		t.Fatalf("save: %d to %q", r.status, r.location)
	}
	r = b.get(r.location)
	mustSay(t, r.body, "The search is saved.")
	want := "Scanners by address=/events?dir=asc&group=feed&sort=source.ip&type=scanner"
	if got := savedLinks(r.body); !slices.Equal(got, []string{want}) {
		t.Fatalf("saved searches %q, want %q", got, want)
	}
	// Opening it is following its link: the search, sorted and grouped.
	opened := b.get("/events?dir=asc&group=feed&sort=source.ip&type=scanner")
	if m := countLine.FindStringSubmatch(opened.body); m == nil || !strings.HasPrefix(m[1], "3 events match") {
		t.Fatalf("count of the opened search %q", m)
	}
	if got := sourceIPs(opened.body); !slices.Equal(got, []string{"192.0.2.9", "198.51.100.1", "2001:db8::1"}) {
		t.Errorf("opened search rows %v", got)
	}
	mustContain(t, opened.body, `id="groups"`)

	analyst := env.user("analyst")
	id := env.savedID(analyst.ID, "Scanners by address")
	path := "/events/saved/" + strconv.FormatInt(id, 10)
	r = b.post(path, url.Values{"name": {"Scanners"}, "back": {"feed=feed-a"}})
	if r.status != http.StatusSeeOther || r.location != "/events?feed=feed-a&done=saved-changed" {
		t.Fatalf("rename: %d to %q", r.status, r.location)
	}
	if got := savedLinks(b.get("/events").body); len(got) != 1 || !strings.HasPrefix(got[0], "Scanners=") {
		t.Fatalf("after rename %q", got)
	}
	r = b.post(path+"/delete", url.Values{"back": {"evil=https://attacker.example/"}})
	if r.status != http.StatusSeeOther || r.location != "/events?done=saved-deleted" {
		t.Fatalf("delete: %d to %q (the return address must stay the event list)", r.status, r.location)
	}
	if got := savedLinks(b.get("/events").body); len(got) != 0 {
		t.Fatalf("after delete %q", got)
	}
	// Nothing was shared, so nothing was audited.
	for _, a := range env.auditActions() {
		if strings.HasPrefix(a, "savedsearch.") {
			t.Errorf("private search audited: %s", a)
		}
	}
}

// TestSavedSearchSharing: a shared search is in every analyst's list,
// audited when shared, renamed, unshared or deleted; the owner alone
// changes it and an admin may delete it.
func TestSavedSearchSharing(t *testing.T) {
	env, owner := tableEnv(t)
	env.addUser("colleague", auth.RoleAnalyst, "the colleague's passphrase")
	env.addUser("admin", auth.RoleAdmin, "the admin's passphrase")
	r := owner.post("/events/saved", url.Values{"name": {"Phishing"}, "shared": {"on"}, "back": {"type=phishing"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("share: %d %s", r.status, text(r.body))
	}
	colleague := env.browser()
	colleague.login("colleague", "the colleague's passphrase")
	page := colleague.get("/events").body
	if got := savedLinks(page); !slices.Equal(got, []string{"Phishing=/events?type=phishing"}) {
		t.Fatalf("the colleague's list %q", got)
	}
	mustSay(t, page, "Shared by the team", "by analyst")
	if strings.Contains(page, `action="/events/saved/`) {
		t.Error("the colleague is offered to change or delete another's search")
	}
	id := env.savedID(env.user("analyst").ID, "Phishing")
	path := "/events/saved/" + strconv.FormatInt(id, 10)
	// Attacker tries: the colleague renames, unshares or deletes it.
	if r := colleague.post(path, url.Values{"name": {"Mine"}}); r.status != http.StatusForbidden {
		t.Errorf("a colleague renamed a shared search: %d", r.status)
	}
	if r := colleague.post(path+"/delete", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("a colleague deleted a shared search: %d", r.status)
	}
	if s, err := env.store.GetSavedSearch(context.Background(), id); err != nil || s.Name != "Phishing" || !s.Shared {
		t.Fatalf("after the tries: %+v, %v", s, err)
	}
	// The owner renames it, then stops sharing it, then shares it again.
	for _, form := range []url.Values{
		{"name": {"Phishing sites"}, "shared": {"on"}},
		{"name": {"Phishing sites"}},
		{"name": {"Phishing sites"}, "shared": {"on"}},
	} {
		if r := owner.post(path, form); r.status != http.StatusSeeOther {
			t.Fatalf("change %v: %d", form, r.status)
		}
	}
	// The start page lists them too, each a link to its search.
	if got := savedLinks(colleague.get("/").body); !slices.Equal(got, []string{"Phishing sites=/events?type=phishing"}) {
		t.Errorf("the colleague's start page lists %q", got)
	}
	admin := env.browser()
	admin.login("admin", "the admin's passphrase")
	if !strings.Contains(admin.get("/events").body, `action="/events/saved/`+strconv.FormatInt(id, 10)+`/delete"`) {
		t.Error("an admin is not offered to delete a shared search")
	}
	if r := admin.post(path, url.Values{"name": {"Admin's now"}, "shared": {"on"}}); r.status != http.StatusForbidden {
		t.Errorf("an admin renamed another's search: %d", r.status)
	}
	if r := admin.post(path+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("an admin's delete of a shared search: %d", r.status)
	}
	var got []string
	for _, a := range env.auditActions() {
		if strings.HasPrefix(a, "savedsearch.") {
			got = append(got, a)
		}
	}
	slices.Reverse(got) // the audit log lists the newest first
	want := []string{"savedsearch.share", "savedsearch.rename", "savedsearch.unshare", "savedsearch.share", "savedsearch.delete"}
	if !slices.Equal(got, want) {
		t.Errorf("audited %q, want %q", got, want)
	}
}

// TestSavedSearchPrivacy keeps the attacker's tries: another analyst, an
// admin and constituents never see, open, change or delete a private
// search, constituents never see the team's, and the team never sees a
// constituent's.
func TestSavedSearchPrivacy(t *testing.T) {
	env := newPortalEnv(t)
	env.addUser("analyst2", auth.RoleAnalyst, "the other analyst's passphrase")
	owner := env.browser()
	owner.login("analyst", "the analyst's passphrase")
	for _, f := range []url.Values{
		{"name": {"Secret watch"}, "back": {"ip=10.2.0.7"}},
		{"name": {"Team watch"}, "shared": {"on"}, "back": {"org=uni-b"}},
	} {
		if r := owner.post("/events/saved", f); r.status != http.StatusSeeOther {
			t.Fatalf("save %v: %d", f, r.status)
		}
	}
	analyst := env.user("analyst")
	secret := strconv.FormatInt(env.savedID(analyst.ID, "Secret watch"), 10)
	team := strconv.FormatInt(env.savedID(analyst.ID, "Team watch"), 10)

	other := env.browser()
	other.login("analyst2", "the other analyst's passphrase")
	admin := env.browser()
	admin.login("admin", "the admin's passphrase")
	for name, b := range map[string]*browser{"another analyst": other, "an admin": admin} {
		page := b.get("/events").body
		if strings.Contains(page, "Secret watch") || strings.Contains(page, "10.2.0.7") {
			t.Errorf("%s sees a private search", name)
		}
		if !strings.Contains(page, "Team watch") {
			t.Errorf("%s does not see the shared search", name)
		}
		for _, path := range []string{"/events/saved/" + secret, "/events/saved/" + secret + "/delete"} {
			if r := b.post(path, url.Values{"name": {"taken over"}}); r.status != http.StatusNotFound {
				t.Errorf("%s posts %s: %d, want 404 (as for a missing one)", name, path, r.status)
			}
		}
	}

	ca := env.browser()
	ca.login("ca", portalPassword)
	portal := ca.get("/portal/").body
	for _, leak := range []string{"Secret watch", "Team watch", "uni-b", "10.2.0.7"} {
		if strings.Contains(portal, leak) {
			t.Errorf("the portal shows %q", leak)
		}
	}
	mustContain(t, portal, `id="saved-none"`, `action="/portal/saved"`)
	if strings.Contains(portal, `name="shared"`) {
		t.Error("the portal offers to share with the team")
	}
	// A constituent reaching for the team's searches, by the team's
	// routes and by the portal's.
	for _, path := range []string{"/events/saved", "/events/saved/" + team, "/events/saved/" + team + "/delete"} {
		if r := ca.post(path, url.Values{"name": {"x"}, "back": {"org=uni-b"}}); r.status != http.StatusForbidden {
			t.Errorf("a constituent posts %s: %d, want 403", path, r.status)
		}
	}
	for _, id := range []string{secret, team} {
		for _, path := range []string{"/portal/saved/" + id, "/portal/saved/" + id + "/delete"} {
			if r := ca.post(path, url.Values{"name": {"x"}}); r.status != http.StatusNotFound {
				t.Errorf("a constituent posts %s: %d, want 404", path, r.status)
			}
		}
	}
	// Sharing from the portal is refused, and saves nothing.
	if r := ca.post("/portal/saved", url.Values{"name": {"Shared?"}, "shared": {"on"}, "back": {"feed=feed-a"}}); r.status != http.StatusForbidden {
		t.Errorf("a constituent shared a search: %d", r.status)
	}
	// The portal's search names no organisation: a saved org filter is
	// refused, not kept for later.
	if r := ca.post("/portal/saved", url.Values{"name": {"Theirs"}, "back": {"org=uni-b"}}); r.status != http.StatusBadRequest {
		t.Errorf("a constituent saved a search of another organisation: %d", r.status)
	}
	// A constituent's own search, seen by its owner only.
	r := ca.post("/portal/saved", url.Values{"name": {"Our scanners"}, "back": {"type=scanner&group=feed"}})
	if r.status != http.StatusSeeOther || r.location != "/portal/?group=feed&type=scanner&done=saved" {
		t.Fatalf("a constituent's save: %d to %q", r.status, r.location)
	}
	if got := savedLinks(ca.get("/portal/").body); !slices.Equal(got, []string{"Our scanners=/portal/?group=feed&type=scanner"}) {
		t.Errorf("the constituent's list %q", got)
	}
	cb := env.browser()
	cb.login("cb", portalPassword)
	if strings.Contains(cb.get("/portal/").body, "Our scanners") {
		t.Error("a constituent of another organisation sees the search")
	}
	ours := strconv.FormatInt(env.savedID(env.user("ca").ID, "Our scanners"), 10)
	if r := cb.post("/portal/saved/"+ours+"/delete", url.Values{}); r.status != http.StatusNotFound {
		t.Errorf("another constituent deletes it: %d", r.status)
	}
	for name, b := range map[string]*browser{"an analyst": owner, "an admin": admin} {
		if strings.Contains(b.get("/events").body, "Our scanners") {
			t.Errorf("%s sees a constituent's search", name)
		}
		if r := b.post("/events/saved/"+ours+"/delete", url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("%s deletes a constituent's search: %d", name, r.status)
		}
	}
	if r := ca.post("/portal/saved/"+ours+"/delete", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("the constituent's own delete: %d", r.status)
	}
}

// TestSavedSearchBounds: bad names, bad searches, a name used twice and
// one search too many are refused with a message that says what to do.
func TestSavedSearchBounds(t *testing.T) {
	env, b := tableEnv(t)
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		says   string
	}{
		{"no name", url.Values{"name": {"  "}, "back": {"type=scanner"}}, http.StatusBadRequest, "at most 100 characters"},
		{"a long name", url.Values{"name": {strings.Repeat("n", 101)}, "back": {"type=scanner"}}, http.StatusBadRequest, "at most 100 characters"},
		{"a bad filter", url.Values{"name": {"x"}, "back": {"ip=not-an-address"}}, http.StatusBadRequest, "one of its fields is not valid"},
		{"an unknown parameter", url.Values{"name": {"x"}, "back": {"cursor=abc"}}, http.StatusBadRequest, "one of its fields is not valid"},
		{"a long search", url.Values{"name": {"x"}, "back": {"url=http://example.org/" + strings.Repeat("a", 2100)}}, http.StatusBadRequest, "too long to save"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := b.post("/events/saved", tc.form)
			if r.status != tc.status {
				t.Fatalf("status %d, want %d", r.status, tc.status)
			}
			mustSay(t, r.body, tc.says)
		})
	}
	analyst := env.user("analyst")
	if r := b.post("/events/saved", url.Values{"name": {"Twice"}, "back": {""}}); r.status != http.StatusSeeOther || r.location != "/events?done=saved" {
		t.Fatalf("an empty search is a search too: %d %q", r.status, r.location)
	}
	r := b.post("/events/saved", url.Values{"name": {"Twice"}, "back": {"type=scanner"}})
	if r.status != http.StatusConflict {
		t.Fatalf("the same name twice: %d", r.status)
	}
	mustSay(t, r.body, "You already have a saved search of that name")
	// The refused page still shows the search it was on.
	if m := countLine.FindStringSubmatch(r.body); m == nil || !strings.HasPrefix(m[1], "3 events match") {
		t.Errorf("the refused save does not show its search: %q", m)
	}
	for i := 1; i < savedsearch.MaxPerUser; i++ {
		s := savedsearch.Search{UserID: analyst.ID, Name: fmt.Sprintf("search %03d", i), Query: "type=scanner"}
		if err := env.store.CreateSavedSearch(context.Background(), &s); err != nil {
			t.Fatal(err)
		}
	}
	page := b.get("/events").body
	mustContain(t, page, `id="saved-full"`)
	if strings.Contains(page, `id="save-search"`) {
		t.Error("the save form is offered with the list full")
	}
	r = b.post("/events/saved", url.Values{"name": {"One too many"}, "back": {"type=scanner"}})
	if r.status != http.StatusConflict {
		t.Fatalf("one too many: %d", r.status)
	}
	mustSay(t, r.body, "200 saved searches")
	if r := b.post("/events/saved/abc", url.Values{"name": {"x"}}); r.status != http.StatusNotFound {
		t.Errorf("a search id that is no number: %d", r.status)
	}
}
